"""What changed between two submitted versions of an application, for the
person who decides on it again (the competent authority after a correction)."""

from onboarding.application.forms import SECTION_FORMS
from onboarding.application.summary import applies, display_value, section_fields
from onboarding.approval.selectors import last_seen_step
from onboarding.models import ApplicationVersion, Attachment, Decision


def version_changes(application, old_data, new_data):
    """[{section, label, old, new}] for every answer that differs."""
    rows = []
    for section in SECTION_FORMS:
        old = (old_data or {}).get(section.value, {}) or {}
        new = (new_data or {}).get(section.value, {}) or {}
        for name, field, choices in section_fields(section):
            # An answer to a choice not taken (a parent kept after "It has no parent") is none.
            before = old.get(name) if applies(field, old) else None
            after = new.get(name) if applies(field, new) else None
            if before != after:
                rows.append({
                    "section": section.label, "label": field.label,
                    "old": display_value(field, before, choices), "new": display_value(field, after, choices),
                })
    return rows


def changes_since_last_seen(step, *, steps=None):
    """None when the decider sees the application for the first time; otherwise
    {"since": earlier step, "rows": [...], "letter_replaced": bool}. ``steps``: the
    application's steps (``steps_of``), when the caller read them already."""
    previous = last_seen_step(step, steps=steps)
    if previous is None:
        return None
    versions = {
        v.number: v
        for v in ApplicationVersion.objects.filter(application_id=step.application_id,
                                                   number__in=[previous.version_number, step.version_number])
    }
    old, new = versions.get(previous.version_number), versions.get(step.version_number)
    if old is None or new is None:
        return None
    letter_replaced = Attachment.objects.filter(
        application_id=step.application_id, uploaded_at__gt=old.created_at, uploaded_at__lte=new.created_at
    ).exists()
    return {"since": previous, "rows": version_changes(step.application, old.data, new.data), "letter_replaced": letter_replaced,
            **reply_to_remarks(step, new, steps=steps)}


def reply_to_remarks(step, version, *, steps=None):
    """{"reply": the officer's reply sent with ``version`` (step's), "answered": the step
    whose return remarks it answers (the return of the version before), or None}; {} when
    the version carries no reply."""
    if not version.reply:
        return {}
    if steps is None:
        steps = list(step.application.steps.filter(decision=Decision.RETURN, version_number=version.number - 1))
    returns = [s for s in steps if s.decision == Decision.RETURN and s.version_number == version.number - 1]
    return {"reply": version.reply, "answered": max(returns, key=lambda s: (s.decided_at, s.pk), default=None)}
