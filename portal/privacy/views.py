"""Superadmins' pages of data protection: the retention policies and the legal holds."""

import shlex
from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from portal.access import asked_on_this_site, rule
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import shown
from portal.privacy.breach import breach_drafts, breach_findings, record_kinds
from portal.privacy.forms import BreachForm, LegalHoldForm, LegalHoldReleaseForm, RetentionPolicyForm
from portal.privacy.models import LegalHold, RetentionKind, RetentionRun
from portal.privacy.retention import (
    NEWLY_DUE_COUNTED,
    ReleaseEffect,
    legal_hold_release,
    legal_hold_release_effects,
    legal_hold_set,
    retention_policies,
    retention_policy_check,
    retention_policy_newly_due,
    retention_policy_promise,
    retention_policy_update,
    retention_policy_values,
    retention_rule_deletes,
)
from portal.shown import ChangedMeanwhile, shown_digest, shown_on_page, shown_sent

RELEASED_SHOWN = 50


# The hidden input naming the settings and the number of records a retention page asked to confirm.
CONFIRMED_FIELD = "confirmed_for"
# The hidden input naming what a hold's release page listed the next daily run doing.
EFFECTS_SHOWN_FIELD = "effects_shown"


def _newly_due_message(count: int, kind: str) -> str:
    shown = intcomma(count) + ("+" if count >= NEWLY_DUE_COUNTED else "")
    if kind == RetentionKind.RETURNED_APPLICATION:  # withdrawn, not erased
        return ngettext(
            "With these settings the next daily run withdraws %(count)s application returned for correction that "
            "is open now. Tick the box to save them.",
            "With these settings the next daily run withdraws %(count)s applications returned for correction that "
            "are open now. Tick the box to save them.",
            count) % {"count": shown}
    return ngettext(
        "With these settings the next daily run erases or reduces %(count)s record that is kept now. "
        "Tick the box to save them.",
        "With these settings the next daily run erases or reduces %(count)s records that are kept now. "
        "Tick the box to save them.",
        count) % {"count": shown}


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def retention(request):
    policies = retention_policies()
    posted_kind = request.POST.get("kind") if request.method == "POST" else None
    rows = []
    for policy in policies:
        bound = posted_kind == policy.kind
        form = RetentionPolicyForm(
            request.POST if bound else None, prefix=policy.kind, initial=retention_policy_values(policy), kind=policy.kind,
        )
        form.newly_due = 0
        stored = shown_digest(retention_policy_values(policy))
        # As the page it was typed on showed it when what was typed is shown again (a post, or
        # input kept over a sign-in), else as stored now.
        form.shown_values = shown_on_page(request, stored) if bound or form.restored else stored
        if bound and form.is_valid():
            posted = {name: form.cleaned_data[name] for name in ("days", "grace_days", "enabled")}
            try:
                retention_policy_check(kind=policy.kind, days=posted["days"], grace_days=posted["grace_days"])
                form.newly_due = retention_policy_newly_due(kind=policy.kind, **posted)
                # The box confirms the settings and the number the page said: other settings, or
                # another number now, are asked again (the box unticked), not saved.
                asked = shown_digest({**posted, "newly_due": form.newly_due})
                if form.newly_due:  # the box is on the page again whatever stops the save
                    form.confirmed_for = asked
                if form.newly_due and not (form.cleaned_data["confirm"]
                                           and shown_sent(request.POST, CONFIRMED_FIELD) == asked):
                    form.confirm_again(_newly_due_message(form.newly_due, policy.kind))
                else:
                    retention_policy_update(kind=policy.kind, actor=request.user, request=request,
                                            shown_values=shown_sent(request.POST), **posted)
            except ChangedMeanwhile:
                # Another superadmin changed it since the page was opened: what is stored now,
                # said at each field that differs, what was typed kept; saved at the next "Save".
                policy.refresh_from_db()
                form.shown_values = shown_digest(retention_policy_values(policy))
                form.say_changed_meanwhile(retention_policy_values(policy))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field, error)
            if form.is_valid():
                messages.success(request, _("Policy saved: %(kind)s.") % {"kind": policy.get_kind_display()})
                return redirect("privacy:retention")
        days = form.cleaned_data.get("days", policy.days) if bound else policy.days
        if promise := retention_policy_promise(kind=policy.kind, days=days):
            form.warn("days", promise)
        rows.append((policy, form))
    runs = RetentionRun.objects.all()[:10]
    return render(request, "privacy/retention.html", {"rows": rows, "runs": runs})


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def legal_holds(request):
    form = LegalHoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            legal_hold_set(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field, error)
        else:
            messages.success(request, _("Legal hold set."))
            return redirect("privacy:legal_holds")
    active = LegalHold.objects.filter(released_at__isnull=True).select_related("set_by")
    released = LegalHold.objects.filter(released_at__isnull=False).select_related("set_by", "released_by") \
        .order_by("-released_at")[:RELEASED_SHOWN]
    return render(request, "privacy/legal_holds.html", {
        "form": form, "active": active, "released": released, "release_form": LegalHoldReleaseForm(),
    })


def _released_already_by_you(request, hold):
    """The release sent again by whoever released the hold (a double click without
    JavaScript, Back and send again): no refusal, no form offered again; the reason that
    stands is the one of their first release."""
    messages.info(request, _("You already released this hold on %(when)s: %(reason)s")
                  % {"when": shown(hold.released_at), "reason": hold.release_reason})
    return redirect("privacy:legal_holds")


def _release_effect_lines(effects: list[ReleaseEffect]) -> list[str]:
    """Each kind's records a hold's release lets the next daily run act on, as its page says it."""
    names = dict(RetentionKind.choices)
    lines = []
    for effect in effects:
        kind = names.get(effect.kind, effect.kind)
        withdrawn = effect.kind == RetentionKind.RETURNED_APPLICATION
        reduced = not withdrawn and not retention_rule_deletes(effect.kind)
        if effect.due:
            values = {"kind": kind, "count": effect.due}
            if withdrawn:
                lines.append(ngettext(
                    "%(kind)s: %(count)s application is past its retention time: the next daily run withdraws it.",
                    "%(kind)s: %(count)s applications are past their retention time: the next daily run withdraws "
                    "them.", effect.due) % values)
            elif reduced:
                lines.append(ngettext(
                    "%(kind)s: %(count)s record is past its retention time: the next daily run reduces it to what the "
                    "policy keeps.",
                    "%(kind)s: %(count)s records are past their retention time: the next daily run reduces them to "
                    "what the policy keeps.", effect.due) % values)
            else:
                lines.append(ngettext(
                    "%(kind)s: %(count)s record is past its retention time: the next daily run erases it.",
                    "%(kind)s: %(count)s records are past their retention time: the next daily run erases them.",
                    effect.due) % values)
        if effect.reminded:
            values = {"kind": kind, "count": effect.reminded, "day": date_format(effect.acted_on, "j F Y")}
            if withdrawn:
                lines.append(ngettext(
                    "%(kind)s: %(count)s application is past its retention time: the next daily run sends its "
                    "reminder, and withdraws it from %(day)s unless it is sent again meanwhile.",
                    "%(kind)s: %(count)s applications are past their retention time: the next daily run sends their "
                    "reminders, and withdraws them from %(day)s unless they are sent again meanwhile.",
                    effect.reminded) % values)
            else:
                lines.append(ngettext(
                    "%(kind)s: %(count)s record is past its retention time: the next daily run sends its reminder, "
                    "and erases it from %(day)s unless it is saved meanwhile.",
                    "%(kind)s: %(count)s records are past their retention time: the next daily run sends their "
                    "reminders, and erases them from %(day)s unless they are saved meanwhile.",
                    effect.reminded) % values)
    return lines


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def legal_hold_end(request, pk):
    # A hold released meanwhile (the page was left open) is refused at the form, with the
    # reason typed and who released it; asked for afresh, it is gone.
    held = LegalHold.objects.all() if request.method == "POST" else LegalHold.objects.filter(released_at__isnull=True)
    hold = get_object_or_404(held, pk=pk)
    if request.method == "POST" and hold.released_by_id == request.user.pk:
        return _released_already_by_you(request, hold)
    # What the release lets the next daily run do, said (and confirmed) before it, as it stands when sent.
    acts = [] if hold.released_at else legal_hold_release_effects(hold)
    effects = _release_effect_lines(acts)
    form = LegalHoldReleaseForm(request.POST or None, acts=bool(effects))
    # The box confirms what the page listed: listed otherwise now (another hold released
    # meanwhile, a policy changed), the page lists it again and asks for the box again.
    form.effects_shown = shown_digest([asdict(effect) for effect in acts])
    if (request.method == "POST" and form.is_valid() and effects
            and shown_sent(request.POST, EFFECTS_SHOWN_FIELD) != form.effects_shown):
        form.confirm_again(_("Nothing was released: since this page was opened, what the next daily run does once "
                             "the hold ends changed. It is listed above as it is now: check it, then tick the box "
                             "again."))
    if request.method == "POST" and form.is_valid():
        try:
            legal_hold_release(hold_id=hold.pk, actor=request.user, request=request, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            if getattr(exc, "code", None) == "released":  # released while this one waited for the row
                hold.refresh_from_db()
                if hold.released_by_id == request.user.pk:
                    return _released_already_by_you(request, hold)
            for error in exc.messages:
                form.add_error(None, error)
        else:
            messages.success(request, _("Legal hold released."))
            return redirect("privacy:legal_holds")
    # Said with the effects, which a released hold's page does not show.
    last_run = None if hold.released_at else RetentionRun.objects.order_by("-started_at").only("started_at").first()
    return render(request, "privacy/legal_hold_release.html", {"hold": hold, "form": form, "effects": effects,
                                                               "last_run": last_run})


def _breach_command(data) -> str:
    """The breach_report command line for the page's period, actor, address and language,
    quoted for a shell: it reads the request log with no time limit."""
    words = ["manage.py", "breach_report",
             "--from", timezone.localtime(data["start"]).isoformat(timespec="minutes"),
             "--to", timezone.localtime(data["end"]).isoformat(timespec="minutes")]
    if actor := data["actor"].strip():
        words += ["--actor", actor]
    if data["ip"]:
        words += ["--ip", data["ip"]]
    return shlex.join([*words, "--language", data["second_language"]])


@rule("superadmin")
@require_http_methods(["GET"])
@asked_on_this_site("privacy:breach", when=lambda request: "start" in request.GET)
def breach(request):
    form = BreachForm(request.GET if "start" in request.GET else None)
    findings = drafts = command = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        # Read inside the web request: for a time well under the worker's timeout, not to the
        # command's line budget (minutes of reading).
        findings = breach_findings(start=data["start"], end=data["end"], actor=data["actor"].strip(),
                                   ip=data["ip"] or "", max_log_seconds=settings.PRIVACY_BREACH_PAGE_LOG_SECONDS)
        command = _breach_command(data)
        drafts = breach_drafts(findings, second_language=data["second_language"])
        audit_record(actor=request.user, action=AuditAction.BREACH_REPORT_DRAFTED, request=request,
                     new={"start": data["start"], "end": data["end"], "events": findings.events,
                          "reads": findings.log.reads, "people": findings.people_count})
    return render(request, "privacy/breach.html", {
        "form": form, "findings": findings, "drafts": drafts, "command": command,
        # In the page's language, as the notice to the people affected names them (not the models' labels).
        "record_kinds": record_kinds(findings.record_types) if findings else [],
        "page_seconds": settings.PRIVACY_BREACH_PAGE_LOG_SECONDS, "max_lines": settings.PRIVACY_BREACH_LOG_MAX_LINES,
    })
