"""How long a roster's rows are kept: they hold every person's details as uploaded,
needed to apply the roster and to list its refusals, not after."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone

from portal.audit.models import AuditAction
from portal.audit.services import audit_record_many
from portal.permissions import AnyUser
from portal.privacy.retention import held_person_addresses
from verification.rosters.apply import STALLED, SYSTEM
from verification.rosters.models import RosterImport, RosterRow, RosterStatus

# Longer than any apply runs (a task stopped at its time limit is queued again at once):
# a roster still queued or being applied this long after its apply began has no worker.
APPLY_STALLED_AFTER = timedelta(days=1)


def roster_rows_remove(*, now: datetime | None = None, limit: int = 10) -> int:
    """Remove the rows (each person's details as uploaded) of at most ``limit`` rosters
    applied, or never applied and uploaded, more than ROSTER_ROWS_KEEP_DAYS ago, but not of
    one that lists a person under a legal hold. Their counts and what applying did stay,
    and one never applied can no longer be. A roster uploaded that long ago and still
    queued or being applied APPLY_STALLED_AFTER after its apply began (its worker died) is
    one never applied: it is marked stopped by an error (``apply.STALLED``, audited as
    such) and loses its rows too. Returns how many rosters lost their rows (the daily job
    runs again for the rest)."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.ROSTER_ROWS_KEEP_DAYS)
    stalled = Q(status__in=[RosterStatus.QUEUED, RosterStatus.APPLYING], uploaded_at__lt=before) & (
        Q(apply_requested_at__lt=now - APPLY_STALLED_AFTER) | Q(apply_requested_at__isnull=True))
    due = (Q(status=RosterStatus.APPLIED, applied_at__lt=before)
           | Q(status__in=[RosterStatus.PREVIEWED, RosterStatus.FAILED], uploaded_at__lt=before) | stalled)
    with transaction.atomic():
        rosters = list(RosterImport.objects.select_for_update(skip_locked=True, of=("self",))
                       .filter(due, rows_removed_at__isnull=True).exclude(lists_someone_held())
                       .order_by("id").values_list("id", "status")[:limit])
        _stalled_stop([(pk, status) for pk, status in rosters
                       if status in (RosterStatus.QUEUED, RosterStatus.APPLYING)])
        rows_remove([pk for pk, _status in rosters], now=now, reason="kept_days")
    return len(rosters)


def _stalled_stop(rosters: list[tuple[int, str]]) -> None:
    """Mark the rosters (id, status; locked by the caller) whose apply stalled as stopped by
    an error, one system event each, as a failed apply is (apply._fail)."""
    if rosters:
        RosterImport.objects.filter(pk__in=[pk for pk, _status in rosters]).update(
            status=RosterStatus.FAILED, error=STALLED)
        audit_record_many([{"action": AuditAction.ROSTER_APPLY_FAILED, "target": RosterImport(pk=pk), "actor_role": SYSTEM,
                            "old": {"status": status}, "new": {"status": RosterStatus.FAILED, "error": STALLED}}
                           for pk, status in rosters])


def lists_someone_held() -> Exists:
    """A roster (``pk``) listing someone under a legal hold, at one of their addresses (their
    account's, or one their verification records name: held_person_addresses), or the
    address a held verification record names: it keeps its rows."""
    return Exists(RosterRow.objects.filter(roster_id=OuterRef("pk"), email__in=held_person_addresses()))


def rows_remove(roster_ids: list[int], *, now: datetime, reason: str, actor: AnyUser | None = None,
                request: HttpRequest | None = None) -> None:
    """Remove the rows of the rosters ``roster_ids`` (locked by the caller); their counts stay.
    One event per roster, about it, says how many rows went and why (``reason``: "kept_days",
    the daily job's, a system event; "replaced", by the uploader's new upload), never whose."""
    if roster_ids:
        counts = dict(RosterRow.objects.filter(roster_id__in=roster_ids).order_by().values_list("roster_id")
                      .annotate(rows=Count("pk")))
        RosterRow.objects.filter(roster_id__in=roster_ids).delete()
        RosterImport.objects.filter(pk__in=roster_ids).update(rows_removed_at=now)
        audit_record_many([{"action": AuditAction.ROSTER_ROWS_REMOVED, "target": roster,
                            "new": {"rows": counts.get(roster.pk, 0), "reason": reason}}
                           for roster in (RosterImport(pk=pk) for pk in sorted(roster_ids))],
                          actor=actor, request=request)


def person_rows_remove(addresses: list[str]) -> None:
    """Remove the rows that list a person whose erasure was granted, at one of
    ``addresses``, whatever their roster's state; its counts stay. Their rosters are
    locked first: an apply under way takes each batch under that lock."""
    roster_ids = sorted(set(RosterRow.objects.filter(email__in=addresses).values_list("roster_id", flat=True)))
    if roster_ids:
        list(RosterImport.objects.select_for_update().filter(pk__in=roster_ids).order_by("pk").values_list("pk", flat=True))
        RosterRow.objects.filter(roster_id__in=roster_ids, email__in=addresses).delete()
