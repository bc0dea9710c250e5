"""Applying a roster, batch by batch, as the Celery task runs it (rosters.tasks):
each batch one transaction that verifies, invites and changes its rows and records
the progress on the import; safe to run twice (rows applied are marked done)."""

import logging
import time
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.audit.models import AuditAction
from portal.audit.services import audit_record_many
from portal.organisations.models import OrganisationStatus
from verification.models import HELD_STATUSES, GovernmentProfile
from verification.rosters.invitations import DETAILS, invite_rows, people_lock, verify_row
from verification.rosters.models import Invitation, InvitationStatus, RosterImport, RosterRow, RosterStatus, RowOutcome
from verification.services import check_decider

logger = logging.getLogger(__name__)
SYSTEM = "system:roster_import"


APPLICABLE = [RowOutcome.VERIFY, RowOutcome.INVITE, RowOutcome.CHANGE]


class Staged(NamedTuple):
    """What making an invitation needs of a staged row."""

    pk: int
    email: str
    name: str


def apply_batch_size() -> int:
    from django.conf import settings  # noqa: PLC0415

    return getattr(settings, "ROSTER_APPLY_BATCH", 5000)


def _tally(outcome: dict, key: str, n: int = 1) -> None:
    if n:
        outcome[key] = outcome.get(key, 0) + n


def _change_rows(roster: RosterImport, rows: list[RosterRow], outcome: dict) -> list[dict]:
    """New details for people already verified (their profile) or invited (their
    invitation) here; returns the audit events, for the caller to record once every
    row it needs is locked."""
    by_email = {row.email: row for row in rows}
    profiles = list(GovernmentProfile.objects.select_for_update().filter(
        organisation_id=roster.organisation_id, status__in=HELD_STATUSES, official_email__in=by_email))
    invitations = list(Invitation.objects.select_for_update().filter(
        organisation_id=roster.organisation_id, status=InvitationStatus.PENDING, email__in=by_email))
    events = []
    for model, found, fields in ((GovernmentProfile, profiles, DETAILS), (Invitation, invitations, ("name", *DETAILS))):
        changed = []
        for obj in found:
            row = by_email.get(obj.official_email if model is GovernmentProfile else obj.email)
            if row is None:
                continue
            old = {name: getattr(obj, name) for name in fields}
            new = {name: getattr(row, name) for name in fields}
            if new["superannuation_date"] is None:  # not given: the date known here stays
                new["superannuation_date"] = old["superannuation_date"]
            by_email.pop(row.email)
            if old == new:
                _tally(outcome, "unchanged")
                continue
            for name, value in new.items():
                setattr(obj, name, value)
            changed.append(obj)
            events.append({"action": AuditAction.ROSTER_DETAILS_CHANGED, "target": obj, "actor_role": SYSTEM,
                           "old": {k: str(v) for k, v in old.items() if new[k] != v},
                           "new": {"roster": roster.pk, **{k: str(v) for k, v in new.items() if old[k] != v}}})
        model.objects.bulk_update(changed, list(fields), batch_size=500)
        _tally(outcome, "changed", len(changed))
    _tally(outcome, "skipped", len(by_email))  # verified or invited here no longer
    return events


def _apply_batch(roster_id: int, after_line: int = 0) -> int | None:
    """Apply the next batch of rows in one transaction: its last line, or None when none
    was left. ``after_line``: the last line of this run's previous batch (the rows up to it
    are done), so that the rows done before are not read again."""
    with transaction.atomic():
        roster = RosterImport.objects.select_for_update(of=("self",)).select_related("organisation", "apply_requested_by").get(
            pk=roster_id)
        if roster.status not in (RosterStatus.QUEUED, RosterStatus.APPLYING):
            return None
        actor = roster.apply_requested_by
        check_decider(actor, roster.organisation)
        if roster.organisation.status != OrganisationStatus.ACTIVE:
            raise PermissionDenied("organisation not active")
        # The next rows by line; only those that verify or change are read whole (the
        # invitations are made from the staging table by one statement).
        rows = list(RosterRow.objects.filter(roster=roster, done=False, outcome__in=APPLICABLE, line__gt=after_line)
                    .order_by("line").values_list("pk", "line", "outcome", "email", "name")[:apply_batch_size()])
        outcome = dict(roster.outcome)
        if rows:
            whole = {row.pk: row for row in RosterRow.objects.filter(
                pk__in=[pk for pk, _line, kind, _email, _name in rows if kind != RowOutcome.INVITE])}
            # Every row this batch changes is locked before its first audit event: an event
            # holds the audit log's lock until the batch commits, and someone deciding about
            # one of these people locks them first and audits after (a deadlock the other way).
            people_lock([email for _pk, _line, kind, email, _name in rows if kind == RowOutcome.VERIFY])
            changes = _change_rows(roster, [row for row in whole.values() if row.outcome == RowOutcome.CHANGE], outcome)
            for pk, _line, kind, _email, _name in rows:
                if kind == RowOutcome.VERIFY:
                    _tally(outcome, verify_row(roster, whole[pk], actor=actor))
            audit_record_many(changes)
            invites = [Staged(pk, email, name) for pk, _line, kind, email, name in rows if kind == RowOutcome.INVITE]
            for key, n in invite_rows(roster, invites, actor=actor).items():
                _tally(outcome, key, n)
            # The rows of this batch are the first ones not done, by line, up to its last.
            RosterRow.objects.filter(roster=roster, done=False, outcome__in=APPLICABLE, line__gt=after_line,
                                     line__lte=rows[-1][1]).update(done=True)
        roster.status = RosterStatus.APPLYING if rows else RosterStatus.APPLIED
        roster.progress_done = F("progress_done") + len(rows)
        roster.outcome = outcome
        fields = ["status", "progress_done", "outcome"]
        if not rows:
            roster.applied_at = timezone.now()
            fields.append("applied_at")
            audit_record_many([{"action": AuditAction.ROSTER_APPLIED, "target": roster, "actor_role": SYSTEM,
                                "old": {"status": RosterStatus.APPLYING},
                                "new": {"status": RosterStatus.APPLIED, **outcome}}])
        roster.save(update_fields=fields)
        return rows[-1][1] if rows else None


# Why an import stopped, when the page can say so (roster.error; the page translates it).
NOT_ALLOWED = "not_allowed"  # the admin who started it no longer administers the organisation, or it is not active


def _fail(roster_id: int, error: str) -> None:
    with transaction.atomic():
        roster = RosterImport.objects.select_for_update().get(pk=roster_id)
        if roster.status not in (RosterStatus.QUEUED, RosterStatus.APPLYING):
            return
        old = roster.status
        roster.status, roster.error = RosterStatus.FAILED, error[:500]
        roster.save(update_fields=["status", "error"])
        audit_record_many([{"action": AuditAction.ROSTER_APPLY_FAILED, "target": roster, "actor_role": SYSTEM,
                            "old": {"status": old}, "new": {"status": RosterStatus.FAILED, "error": roster.error}}])


def roster_apply_run(*, roster_id: int, budget_seconds: float = 200) -> bool:
    """Apply a queued roster batch by batch (each its own transaction, its progress
    recorded) for at most about ``budget_seconds``; True when it is finished (or
    stopped), False when rows are left for another run. Safe to run twice: applied
    rows are marked done and skipped."""
    started = time.monotonic()
    try:
        last_line = 0
        while (last_line := _apply_batch(roster_id, last_line)) is not None:
            if time.monotonic() - started > budget_seconds:
                return False
    except PermissionDenied:
        _fail(roster_id, NOT_ALLOWED)
    except Exception as exc:
        logger.exception("Roster import %s stopped", roster_id)
        _fail(roster_id, f"{type(exc).__name__}")  # for the operators (the audit row, the log); the page says no more
    return True
