"""Writes of the roster import: uploading (check and preview), applying (a Celery task
records its progress), and what applying does to each row: verify people who have an
account with the address confirmed (through verification.services, with every rule
of a decision by hand), invite the others (rosters.invitations), change the details
of people already verified or invited here. Every change is audited."""

import hashlib
import logging
import time
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.models import AuditAction
from portal.audit.services import audit_record, audit_record_many
from portal.organisations.models import Organisation, OrganisationStatus
from portal.permissions import AnyUser
from verification.models import HELD_STATUSES, GovernmentProfile
from verification.rosters import checks, staging
from verification.rosters.invitations import DETAILS, invite_rows, verify_row
from verification.rosters.models import Invitation, InvitationStatus, RosterImport, RosterRow, RosterStatus, RowOutcome
from verification.rosters.parsing import RosterFileError, detect_format, max_bytes, read_roster, utf8_bom_check
from verification.services import check_decider

logger = logging.getLogger(__name__)
SYSTEM = "system:roster_import"
NAME_MAX = RosterImport._meta.get_field("file_name").max_length


def apply_batch_size() -> int:
    return getattr(settings, "ROSTER_APPLY_BATCH", 500)


# Uploading ------------------------------------------------------------------------------------

def _sha256(binary: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: binary.read(1024 * 1024), b""):
        digest.update(chunk)
    binary.seek(0)
    return digest.hexdigest()


def _checked_batches(binary: BinaryIO, *, file_format: str, own_emails: set[str]) -> Iterator[list[checks.CheckedRow]]:
    judge = checks.EmailJudge()
    for batch in staging.batched(read_roster(binary, file_format=file_format)):
        yield checks.check_batch(batch, judge=judge, own_emails=own_emails)


def roster_upload(
    *, organisation_id: int, binary: BinaryIO, file_name: str, size: int, actor: AnyUser, request: HttpRequest | None = None
) -> RosterImport:
    """Check a roster file for the organisation and keep its preview (a RosterImport in
    status "previewed", its rows staged). Raises RosterFileError (the file cannot be a
    roster: nothing is kept) or PermissionDenied."""
    organisation = Organisation.objects.get(pk=organisation_id)
    check_decider(actor, organisation)
    if organisation.status != OrganisationStatus.ACTIVE:
        raise RosterFileError(_("%(organisation)s is not active: nobody can be verified in it now.")
                              % {"organisation": organisation.name})
    if size > max_bytes():
        raise RosterFileError(_("The file is larger than %(mb)s MB: split it into smaller files.")
                              % {"mb": max_bytes() // (1024 * 1024)})
    head = binary.read(8)
    binary.seek(0)
    utf8_bom_check(head)
    file_format = detect_format(file_name, head)
    sha = _sha256(binary)
    own = {actor.email.lower()}
    with transaction.atomic():
        roster = RosterImport.objects.create(
            organisation=organisation, uploaded_by=actor, uploaded_at=timezone.now(), file_name=file_name[:NAME_MAX],
            file_sha256=sha, file_format=file_format,
        )
        roster.row_count = staging.stage(roster, _checked_batches(binary, file_format=file_format, own_emails=own))
        staging.classify(roster)
        summary = staging.summarise(roster)
        counts = summary["per_outcome"]
        roster.verify_count = counts.get(RowOutcome.VERIFY, 0)
        roster.invite_count = counts.get(RowOutcome.INVITE, 0)
        roster.change_count = counts.get(RowOutcome.CHANGE, 0)
        roster.unchanged_count = counts.get(RowOutcome.UNCHANGED, 0)
        roster.refused_count = counts.get(RowOutcome.REFUSED, 0)
        roster.problems = summary["problems"]
        roster.save()
        audit_record(actor=actor, action=AuditAction.ROSTER_UPLOADED, target=roster, request=request,
                     new={"organisation": organisation.pk, "file_sha256": sha, "rows": roster.row_count,
                          "verify": roster.verify_count, "invite": roster.invite_count, "change": roster.change_count,
                          "unchanged": roster.unchanged_count, "refused": roster.refused_count})
    return roster


# Applying -------------------------------------------------------------------------------------

def roster_apply_request(*, roster_id: int, actor: AnyUser, request: HttpRequest | None = None) -> RosterImport:
    """Start applying a previewed roster (a Celery task does it, after commit). Asking
    again, or for a roster already applied, changes nothing."""
    from verification.rosters.tasks import roster_apply_dispatch  # noqa: PLC0415 (tasks call services)

    with transaction.atomic():
        roster = RosterImport.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=roster_id)
        check_decider(actor, roster.organisation)
        if roster.is_running:  # asked again (a lost task, a broker that was down): queue it again
            transaction.on_commit(lambda: roster_apply_dispatch(roster.pk))
            return roster
        if roster.status != RosterStatus.PREVIEWED:
            return roster
        roster.status = RosterStatus.QUEUED
        roster.apply_requested_at, roster.apply_requested_by = timezone.now(), actor
        roster.progress_total, roster.progress_done = roster.to_apply, 0
        roster.save(update_fields=["status", "apply_requested_at", "apply_requested_by", "progress_total", "progress_done"])
        audit_record(actor=actor, action=AuditAction.ROSTER_APPLY_REQUESTED, target=roster, request=request,
                     old={"status": RosterStatus.PREVIEWED}, new={"status": RosterStatus.QUEUED, "rows": roster.to_apply})
        transaction.on_commit(lambda: roster_apply_dispatch(roster.pk))
    return roster


def _tally(outcome: dict, key: str, n: int = 1) -> None:
    if n:
        outcome[key] = outcome.get(key, 0) + n


def _change_rows(roster: RosterImport, rows: list[RosterRow], outcome: dict) -> None:
    """New details for people already verified (their profile) or invited (their invitation) here."""
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
    audit_record_many(events)


def _apply_batch(roster_id: int) -> bool:
    """Apply the next batch of rows in one transaction; False when none was left."""
    with transaction.atomic():
        roster = RosterImport.objects.select_for_update(of=("self",)).select_related("organisation", "apply_requested_by").get(
            pk=roster_id)
        if roster.status not in (RosterStatus.QUEUED, RosterStatus.APPLYING):
            return False
        actor = roster.apply_requested_by
        check_decider(actor, roster.organisation)
        if roster.organisation.status != OrganisationStatus.ACTIVE:
            raise PermissionDenied("organisation not active")
        rows = list(RosterRow.objects.filter(
            roster=roster, done=False, outcome__in=[RowOutcome.VERIFY, RowOutcome.INVITE, RowOutcome.CHANGE]
        ).order_by("line")[:apply_batch_size()])
        outcome = dict(roster.outcome)
        if rows:
            invites = [row for row in rows if row.outcome == RowOutcome.INVITE]
            for row in rows:
                if row.outcome == RowOutcome.VERIFY:
                    _tally(outcome, verify_row(roster, row, actor=actor))
            _change_rows(roster, [row for row in rows if row.outcome == RowOutcome.CHANGE], outcome)
            for key, n in invite_rows(roster, invites, actor=actor).items():
                _tally(outcome, key, n)
            RosterRow.objects.filter(pk__in=[row.pk for row in rows]).update(done=True)
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
        return bool(rows)


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
        while _apply_batch(roster_id):
            if time.monotonic() - started > budget_seconds:
                return False
    except PermissionDenied:
        _fail(roster_id, "The administrator who started the import no longer administers the organisation, "
                         "or it is no longer active.")
    except Exception as exc:
        logger.exception("Roster import %s stopped", roster_id)
        _fail(roster_id, f"{type(exc).__name__}")
    return True
