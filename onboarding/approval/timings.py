"""The approval timings (due days of each stage, the reminder, the appeal period, the
competent authority's link) and the most times one application may be returned for
correction: read through ``approval_timings``, changed by superadmins through
``approval_timings_update``.

A change applies to the stages opened, and the rejections decided, after it: a step
already open keeps its due date (stored with it), its reminder day and the lifetime of
the links mailed for it, and a rejection its appeal period, as the mails told them
(``ApprovalTimings.in_force_at``). A change of the returns' limit applies to the decisions
made after it: it times nothing, and the periods of earlier timings do not keep it."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from onboarding.models import APPROVAL_SETTINGS, TIMING_FIELDS, ApprovalTimings
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.permissions import AnyUser, is_superadmin

# Each timing's bounds (both ends included), as the settings that give the first values have them.
DAYS_MIN = {"authority_due_days": 1, "state_due_days": 1, "appeal_due_days": 1, "reminder_days_before": 0,
            "appeal_window_days": 1, "token_ttl_days": 1}
DAYS_MAX = 365
DUE_FIELDS = ("authority_due_days", "state_due_days", "appeal_due_days")
# The returns' limit's bounds (both included), as the setting that gives its first value has them.
RETURNS_LEAST, RETURNS_MOST = 1, 20
SINGLE_ROW = 1


def timings_from_settings() -> ApprovalTimings:
    """The timings the settings give (the first values, and the row migration 0021 made)."""
    return ApprovalTimings(
        pk=SINGLE_ROW,
        authority_due_days=settings.ONBOARDING_AUTHORITY_DUE_DAYS,
        state_due_days=settings.ONBOARDING_STATE_DUE_DAYS,
        appeal_due_days=settings.ONBOARDING_APPEAL_DUE_DAYS,
        reminder_days_before=settings.ONBOARDING_REMINDER_DAYS_BEFORE,
        appeal_window_days=settings.ONBOARDING_APPEAL_WINDOW_DAYS,
        token_ttl_days=settings.ONBOARDING_TOKEN_TTL_DAYS,
        returns_max=settings.ONBOARDING_RETURNS_MAX,
    )


def approval_timings() -> ApprovalTimings:
    """The platform's approval timings, with those each change replaced
    (``in_force_at``). One query; the settings' values while no row exists."""
    return ApprovalTimings.objects.filter(pk=SINGLE_ROW).first() or timings_from_settings()


def approval_timings_check(values: dict[str, int]) -> None:
    """ValidationError, at its field, for timings the portal cannot work with: each from its
    least to 365 days, and the reminder a day before the shortest stage at least, so that
    no stage is reminded of on the day it opens; the returns' limit from 1 to 20. No query."""
    errors = {}
    for name in TIMING_FIELDS:
        if not DAYS_MIN[name] <= values[name] <= DAYS_MAX:
            errors[name] = _("Give a whole number of days from %(least)s to %(most)s.") % {
                "least": DAYS_MIN[name], "most": DAYS_MAX}
    if not RETURNS_LEAST <= values["returns_max"] <= RETURNS_MOST:
        errors["returns_max"] = _("Give a whole number from %(least)s to %(most)s.") % {
            "least": RETURNS_LEAST, "most": RETURNS_MOST}
    shortest = min(values[name] for name in DUE_FIELDS)
    if "reminder_days_before" not in errors and not set(DUE_FIELDS) & set(errors) \
            and values["reminder_days_before"] >= shortest:
        errors["reminder_days_before"] = ngettext(
            "Remind at most %(most)s day before the due date: a day less than the shortest stage, so that no "
            "stage is reminded of on the day it opens.",
            "Remind at most %(most)s days before the due date: a day less than the shortest stage, so that no "
            "stage is reminded of on the day it opens.", shortest - 1) % {"most": shortest - 1}
    if errors:
        raise ValidationError(errors)


def approval_timings_update(
    *, values: dict[str, int], seen: dict[str, int] | None = None, actor: AnyUser, request: HttpRequest | None = None,
) -> ApprovalTimings:
    """Change the platform's timings to ``values`` (every field of APPROVAL_SETTINGS), for the
    stages opened and rejections decided from now on; the timings replaced are kept
    (``ApprovalTimings.earlier``) for those opened before (the returns' limit applies to the
    next decisions: a change of it alone adds no period). ``seen``: the timings the
    superadmin confirmed the change against; a change saved meanwhile by someone else
    refuses this one (ValidationError), which they then confirm again. Audited
    (APPROVAL_TIMINGS_CHANGED, old and new values)."""
    if not is_superadmin(actor):
        raise PermissionDenied
    approval_timings_check(values)
    with transaction.atomic():
        timings = ApprovalTimings.objects.select_for_update().filter(pk=SINGLE_ROW).first()
        if timings is None:
            timings_from_settings().save(force_insert=True)
            timings = ApprovalTimings.objects.select_for_update().get(pk=SINGLE_ROW)
        if not is_superadmin(actor):  # a role revoked while this waited for the lock
            raise PermissionDenied
        old = timings.values()
        if seen is not None and seen != old:
            raise ValidationError(_("Another superadmin changed the timings meanwhile: look at the change again "
                                    "and confirm it."), code="changed_meanwhile")
        new = {name: values[name] for name in APPROVAL_SETTINGS}
        if new == old:
            return timings
        now = timezone.now()
        if any(new[name] != old[name] for name in TIMING_FIELDS):
            timings.earlier = [*timings.earlier, {"until": now.isoformat(), **timings.timing_values()}]
        for name, value in new.items():
            setattr(timings, name, value)
        timings.changed_at, timings.changed_by = now, actor
        timings.save(update_fields=[*APPROVAL_SETTINGS, "earlier", "changed_at", "changed_by"])
        audit_record(actor=actor, action=AuditAction.APPROVAL_TIMINGS_CHANGED, target=timings, old=old, new=new,
                     request=request)
    return timings


def due_days(timings: ApprovalTimings, stage: str) -> int:
    """The days a step of ``stage`` has under ``timings``."""
    return getattr(timings, f"{stage}_due_days")


def opened_in(start: datetime | None, until: datetime | None, field: str) -> dict:
    """Filter arguments: ``field`` from ``start`` (included) to ``until`` (left out), None an open end."""
    bounds = {}
    if start is not None:
        bounds[f"{field}__gte"] = start
    if until is not None:
        bounds[f"{field}__lt"] = until
    return bounds
