from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding import workflow
from onboarding.application.selectors import may_change_officer, officer_address_moved
from onboarding.approval.handover import officer_change_open
from onboarding.approval.selectors import authority_steps_refused, steps_of
from onboarding.approval.services import APPEAL_CLOSED_REASON, appeal_deadline
from onboarding.models import (
    DECISION_OUTCOMES,
    WITHDRAWN_NOT_CORRECTED,
    ApplicationDocument,
    ApplicationStatus,
    Decision,
    DocumentKind,
    Section,
    SectionStatus,
    Stage,
)
from portal.audit.models import AuditAction
from portal.mail.refusals import unknown_mailboxes

register = template.Library()

ADDRESS_CHECKED = {ApplicationStatus.WITH_AUTHORITY, ApplicationStatus.WITH_STATE, ApplicationStatus.REJECTED,
                   ApplicationStatus.UNDER_APPEAL}


@register.inclusion_tag("onboarding/includes/approval_panel.html", takes_context=True)
def approval_panel(context, application):
    """Where the application is in its approval: the open step and its due date,
    earlier decisions with their remarks, the approval letter, what the nodal
    officer can do next (appeal, new link for the authority), and whether the mail
    relay refused the authority's address as one that does not exist."""
    user = context.get("user")
    is_officer = bool(user and user.is_authenticated and application.nodal_officer_id == user.pk)
    steps = steps_of(application) if application.reference else []
    open_step = next((step for step in steps if not step.decision), None)
    deadline = appeal_deadline(application) if application.status == ApplicationStatus.REJECTED else None
    letter = None
    if application.status == ApplicationStatus.APPROVED:
        letter = ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).only("id").first()
    now = timezone.now()
    authority_refused = ""
    address_unknown = None  # its record (portal/mail/refusals.py): no mail reaches the authority
    if open_step is not None and open_step.stage == Stage.AUTHORITY:
        authority_refused = authority_steps_refused([open_step]).get(open_step.pk, "")
        address_unknown = unknown_mailboxes([open_step.assignee_email]).get(open_step.assignee_email)
    return {
        "application": application,
        "open_step": open_step,
        "history": [step for step in steps if step.decision],
        "now": now,
        "overdue": bool(open_step and open_step.due_at <= now),
        "is_officer": is_officer,
        "authority_refused": authority_refused,
        "address_unknown": address_unknown,
        # Nobody may decide it (no administrator who may, every superadmin refused): it waits
        # for one. Told to the officer only: an administrator appointed since, reading the page
        # before the job tells them (undecided_steps_assign), may decide it.
        "nobody_may_decide": is_officer and bool(open_step and open_step.nobody_may_decide_since),
        # Sent for a decision and no longer the officer's to correct: their account's address
        # is no longer the form's, which final approval refuses (what to do, on the panel).
        "address_moved": officer_address_moved(application) if is_officer and application.status in ADDRESS_CHECKED
        else None,
        # Handed over to them: the form's Nodal officer section, still the previous officer's,
        # was marked as needing their details (onboarding.approval.handover).
        "handed_over": application.status_of(Section.NODAL_OFFICER) != SectionStatus.COMPLETE,
        "can_resend": is_officer and open_step is not None and open_step.stage == Stage.AUTHORITY and not authority_refused
        and address_unknown is None,
        "can_appeal": is_officer and deadline is not None and now <= deadline
        and workflow.allowed(application.status, workflow.Event.APPEAL),
        "appeal_deadline": deadline,
        "letter": letter,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def may_hand_over(context, application):
    """Whether the reader may hand the application over to another nodal officer now (the
    link on its page): onboarding.approval.handover."""
    user = context.get("user")
    return bool(user is not None and may_change_officer(user, application) and officer_change_open(application))


@register.simple_tag
def timeline_entry(event):
    """(what, who) of a timeline event: a decision says which, a withdrawal by the
    retention run why, and the competent authority (who has no account) is named by the
    address the link went to."""
    what = event.get_action_display()
    if event.action == AuditAction.STEP_DECIDED:
        decision = (event.new_values or {}).get("decision", "")
        stage = (event.new_values or {}).get("stage", "")
        labels = [str(Stage(stage).label)] if stage in Stage.values else []
        if decision in Decision.values:
            labels.append(str(DECISION_OUTCOMES[Decision(decision)]))
        what = f"{what}: {' — '.join(labels)}" if labels else what
    elif event.action == AuditAction.APPLICATION_WITHDRAWN and \
            (event.new_values or {}).get("reason") == WITHDRAWN_NOT_CORRECTED:
        what = _("Withdrawn automatically because it was not corrected in time")
    who = event.actor_email
    if not who and event.actor_role == "competent_authority":
        who = (event.new_values or {}).get("email", "")
    elif not who and event.actor_role.startswith("competent_authority:"):  # written before the address moved
        who = event.actor_role.split(":", 1)[1]
    elif not who and event.actor_role == "system" and (event.new_values or {}).get("reason") == APPEAL_CLOSED_REASON:
        who = _("closed by the portal: its nodal officer's account was erased")
    return {"what": what, "who": who}
