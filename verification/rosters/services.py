"""Writes of the roster import: uploading (check and preview) and asking to apply it
(a Celery task then applies it: rosters.apply, which verifies people who have an
account with the address confirmed through verification.services, with every rule of
a decision by hand, invites the others and changes details). Every change is audited."""

import hashlib
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.mail_limits import mailbox_key
from portal.advisory import advisory_lock
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.limits import hourly_audited, next_allowed_among, shown_from
from portal.organisations.models import Organisation, OrganisationStatus
from portal.permissions import AnyUser
from verification.rosters import checks, invitations, retention, staging
from verification.rosters.models import RosterImport, RosterStatus, RowOutcome
from verification.rosters.parsing import (
    HEAD_BYTES,
    LETTERS_LOST_NAMED,
    RosterFileError,
    check_seconds,
    detect_format,
    letters_lost,
    letters_may_be_lost,
    max_bytes,
    read_roster,
    utf8_bom_check,
)
from verification.rosters.tasks import roster_apply_dispatch
from verification.services import check_decider

logger = logging.getLogger(__name__)
SYSTEM = "system:roster_import"
NAME_MAX = RosterImport._meta.get_field("file_name").max_length


# Uploading ------------------------------------------------------------------------------------

def _sha256(binary: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: binary.read(1024 * 1024), b""):
        digest.update(chunk)
    binary.seek(0)
    return digest.hexdigest()


def _checked_batches(binary: BinaryIO, *, organisation: Organisation, file_format: str, own_emails: set[str],
                     deadline: float) -> Iterator[list[checks.CheckedRow]]:
    """The file's rows, checked a batch at a time; RosterFileError after the last when a
    row's letters were lost (checks.letters_lost: a plain CSV saved in a code page without
    them, letters_may_be_lost), naming those rows: the rows staged are then rolled back."""
    judge = checks.EmailJudge(organisation)
    lost, lost_count = [], 0
    may_be_lost = letters_may_be_lost(binary, file_format=file_format)
    for batch in staging.batched(read_roster(binary, file_format=file_format, deadline=deadline)):
        checked = checks.check_batch(batch, judge=judge, own_emails=own_emails)
        for row in checked:
            if row.letters_lost and may_be_lost:
                lost_count += 1
                if len(lost) < LETTERS_LOST_NAMED:
                    lost.append(row.line)
        yield checked
    if lost_count:
        raise letters_lost(lost, lost_count)


# The first of PostgreSQL's two advisory-lock keys: one organisation's roster uploads ("RSTR").
UPLOADS_LOCK_NAMESPACE = 0x52535452


def _uploads_lock(organisation: Organisation) -> None:
    """Until the transaction ends, the organisation's other uploads wait here, so that two
    at once cannot both pass the daily limit (SQLite, for development, has one writer at a time)."""
    advisory_lock(UPLOADS_LOCK_NAMESPACE, organisation.pk)


def _uploads_within_limit(organisation: Organisation) -> None:
    """Files checked for the organisation in the last 24 hours: the rosters kept, and the
    files refused once their check had started (each read, checked and staged as far as
    it went: the same work), whose audit rows outlive the rolled-back roster. The refusal
    names the moment the next file may be checked (a rolling 24 hours, not the next day)."""
    per_day = settings.ROSTER_UPLOADS_PER_DAY
    refused = AuditEvent.objects.filter(target_type=Organisation._meta.label_lower, target_id=str(organisation.pk),
                                        action=AuditAction.ROSTER_REFUSED)
    allowed = next_allowed_among([(RosterImport.objects.filter(organisation=organisation), "uploaded_at"),
                                  (refused, "created_at")], per_day, timezone.now())
    if allowed:
        raise RosterFileError(_("%(count)s rosters of this organisation were checked in the last 24 hours, the most "
                                "allowed: apply one of them, or upload this file from %(when)s.")
                              % {"count": per_day, "when": shown_from(allowed)})


def _own_addresses(actor: AnyUser) -> set[str]:
    """The uploader's mailboxes (``mailbox_key``: accounts are one per address, "+tag" and
    all, so another account of one of them is theirs too): their account's and every other
    address they confirmed (one query). A row reaching any of them is refused as their own
    (checks.check_batch): another administrator verifies them."""
    confirmed = EmailAddress.objects.filter(user_id=actor.pk, verified=True).values_list("email", flat=True)
    return {mailbox_key(address) for address in [actor.email, *confirmed] if address}


def roster_upload(
    *, organisation_id: int, binary: BinaryIO, file_name: str, size: int, actor: AnyUser, request: HttpRequest | None = None
) -> RosterImport:
    """Check a roster file for the organisation and keep its preview (a RosterImport in
    status "previewed", its rows staged). Raises RosterFileError (the file cannot be a
    roster: nothing is kept but, when its check had started, the audit row of the refusal,
    which counts towards ROSTER_UPLOADS_PER_DAY) or PermissionDenied. Reading, checking
    and staging the rows stops with RosterFileError past ROSTER_CHECK_SECONDS from here
    (parsing._out_of_time)."""
    deadline = time.monotonic() + check_seconds()
    organisation = Organisation.objects.get(pk=organisation_id)
    check_decider(actor, organisation)
    if organisation.status != OrganisationStatus.ACTIVE:
        raise RosterFileError(_("%(organisation)s is not active: nobody can be verified in it now.")
                              % {"organisation": organisation.name})
    if size > max_bytes():
        raise RosterFileError(_("The file is larger than %(mb)s MB: split it into smaller files.")
                              % {"mb": max_bytes() // (1024 * 1024)})
    _uploads_within_limit(organisation)
    head = binary.read(HEAD_BYTES)
    binary.seek(0)
    utf8_bom_check(head)
    file_format = detect_format(file_name, head)
    sha = _sha256(binary)
    own = _own_addresses(actor)
    with transaction.atomic():
        _uploads_lock(organisation)
        _uploads_within_limit(organisation)  # again: another upload may have been kept meanwhile
        try:
            # The check in a savepoint: a file refused on the way (a byte not UTF-8 at its
            # end, a row past the limit) leaves no roster and no row, but its refusal is
            # recorded under the same lock, and counts towards the day's limit.
            with transaction.atomic():
                roster = _check_and_keep(organisation, binary=binary, file_name=file_name, file_format=file_format,
                                         sha=sha, own=own, deadline=deadline, actor=actor, request=request)
        except RosterFileError as error:
            audit_record(actor=actor, action=AuditAction.ROSTER_REFUSED, target=organisation, request=request,
                         new={"organisation": organisation.pk, "file_sha256": sha, "refused": str(error)[:300]})
            refused = error
        else:
            return roster
    try:
        raise refused  # after the commit: the refusal's audit row stays
    finally:
        del refused  # else this frame, its traceback and the exception hold each other (and the file's reader)


def _check_and_keep(
    organisation: Organisation, *, binary: BinaryIO, file_name: str, file_format: str, sha: str, own: set[str],
    deadline: float, actor: AnyUser, request: HttpRequest | None,
) -> RosterImport:
    """Read, check and stage the file's rows as a new roster (its preview), replacing the
    uploader's earlier previews here never applied; audited. Raises RosterFileError."""
    roster = RosterImport.objects.create(
        organisation=organisation, uploaded_by=actor, uploaded_at=timezone.now(), file_name=file_name[:NAME_MAX],
        file_sha256=sha, file_format=file_format,
    )
    roster.row_count = staging.stage(roster, _checked_batches(binary, organisation=organisation, file_format=file_format,
                                                             own_emails=own, deadline=deadline))
    staging.classify(roster)
    summary = staging.summarise(roster)
    counts = summary["per_outcome"]
    roster.verify_count = counts.get(RowOutcome.VERIFY, 0)
    roster.invite_count = counts.get(RowOutcome.INVITE, 0)
    roster.change_count = counts.get(RowOutcome.CHANGE, 0)
    roster.unchanged_count = counts.get(RowOutcome.UNCHANGED, 0)
    roster.refused_count = counts.get(RowOutcome.REFUSED, 0)
    roster.problems = summary["problems"]
    # Not a refusal: rows to invite whose mailbox had the day's invitation mails already
    # (by any organisation) would be invited but not mailed; the preview says how many.
    held = invitations.mail_held_count(roster)
    if held:
        roster.problems[invitations.MAIL_HELD_PREVIEW] = held
    roster.save()
    # The uploader's earlier previews here, never applied, are replaced by this one: their
    # rows (every person's details as uploaded, some 55 MB for 100,000 rows) go now,
    # not a month later; their counts stay, and they can no longer be applied.
    # Not one listing someone under a legal hold (it keeps its rows, as retention does).
    replaced = list(RosterImport.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        organisation=organisation, uploaded_by=actor, status=RosterStatus.PREVIEWED, rows_removed_at__isnull=True,
    ).exclude(pk=roster.pk).exclude(retention.lists_someone_held()).values_list("pk", flat=True))
    retention.rows_remove(replaced, now=timezone.now(), reason="replaced", actor=actor, request=request)
    audit_record(actor=actor, action=AuditAction.ROSTER_UPLOADED, target=roster, request=request,
                 new={"organisation": organisation.pk, "file_sha256": sha, "rows": roster.row_count,
                      "verify": roster.verify_count, "invite": roster.invite_count, "change": roster.change_count,
                      "unchanged": roster.unchanged_count, "refused": roster.refused_count})
    return roster


# Downloads of rosters' refused rows an administrator may make in an hour: each may be up
# to ROSTER_MAX_ROWS people's names, addresses and mobile numbers.
REFUSALS_DOWNLOADS_PER_HOUR = 10
# The first of PostgreSQL's two advisory-lock keys: an account's downloads of refused rows ("RFSX").
REFUSALS_EXPORT_LOCK_NAMESPACE = 0x52465358


def _refusals_export_lock(user_id: int) -> None:
    """Until the transaction ends, the account's other downloads of refused rows wait here,
    so that two at once cannot both find it under its hourly limit (SQLite, for
    development, has one writer at a time)."""
    advisory_lock(REFUSALS_EXPORT_LOCK_NAMESPACE, user_id)


def roster_refusals_export_record(*, roster: RosterImport, actor: AnyUser, limit: int = REFUSALS_DOWNLOADS_PER_HOUR,
                                  request: HttpRequest | None = None) -> datetime | None:
    """The audit row of a download of a roster's refused rows (people's names, addresses
    and mobile numbers): who, which roster, how many rows, as the directory's and the
    dashboard's exports are recorded (the breach report counts it as an export). The
    download's limit (``limit`` an hour per account) is counted from those rows, under the
    account's lock, as the other exports' are (``hourly_audited``): when the account made
    ``limit`` in the last hour, nothing is written and the moment the next is possible is
    returned (None once written)."""
    return hourly_audited(actor=actor, action=AuditAction.ROSTER_REFUSALS_EXPORTED, limit=limit,
                          lock=lambda: _refusals_export_lock(actor.pk), target=roster, request=request,
                          new={"organisation": roster.organisation_id, "rows": roster.left_out_count})


# Applying -------------------------------------------------------------------------------------

def _may_decide(user: AnyUser | None, organisation: Organisation) -> bool:
    """Whether ``user`` may still decide about the organisation's people (check_decider)."""
    if user is None:
        return False
    try:
        check_decider(user, organisation)
    except PermissionDenied:
        return False
    return True


def roster_apply_request(*, roster_id: int, actor: AnyUser, request: HttpRequest | None = None) -> RosterImport:
    """Start applying a previewed roster (a Celery task does it, after commit). Asking
    again while it is queued or being applied queues its task again (the beat job
    tasks.roster_applies_resume does so too, for an import idle a few minutes); asking for
    a roster applied already changes nothing. The roster is applied in the name of the
    admin who asked (rosters.apply checks their right at every batch): when that admin may
    no longer decide here (their role revoked, say) and ``actor`` may, ``actor`` carries it
    on in their own name (audited, as a new request); a roster stopped for that
    (``may_carry_on``: failed "not allowed", its rows kept) is queued again, the rows
    applied already staying done."""
    with transaction.atomic():
        roster = (RosterImport.objects.select_for_update(of=("self",)).select_related("organisation", "apply_requested_by")
                  .get(pk=roster_id))
        check_decider(actor, roster.organisation)
        if roster.is_running or roster.may_carry_on:
            old = {"status": roster.status}
            fields = []
            if roster.may_carry_on:
                old["error"], roster.status, roster.error = roster.error, RosterStatus.QUEUED, ""
                roster.progressed_at, roster.runs_without_progress = timezone.now(), 0
                fields += ["status", "error", "progressed_at", "runs_without_progress"]
            if roster.apply_requested_by_id != actor.pk and not _may_decide(roster.apply_requested_by,
                                                                            roster.organisation):
                # By id: this event is the asker's, and the admin it replaces may be erased later.
                old["apply_requested_by_id"] = roster.apply_requested_by_id
                roster.apply_requested_at, roster.apply_requested_by = timezone.now(), actor
                fields += ["apply_requested_at", "apply_requested_by"]
            if fields:
                roster.save(update_fields=fields)
                audit_record(actor=actor, action=AuditAction.ROSTER_APPLY_REQUESTED, target=roster, request=request,
                             old=old, new={"status": roster.status, "rows": roster.to_apply,
                                           **({"apply_requested_by_id": actor.pk}
                                              if "apply_requested_by_id" in old else {})})
            # Asked again (a lost task, a broker that was down, its admin gone): queue it again.
            transaction.on_commit(lambda: roster_apply_dispatch(roster.pk))
            return roster
        if roster.status != RosterStatus.PREVIEWED or roster.rows_removed_at is not None:
            return roster
        roster.status = RosterStatus.QUEUED
        roster.apply_requested_at, roster.apply_requested_by = timezone.now(), actor
        roster.progress_total, roster.progress_done, roster.progressed_at = roster.to_apply, 0, roster.apply_requested_at
        roster.save(update_fields=["status", "apply_requested_at", "apply_requested_by", "progress_total", "progress_done",
                                   "progressed_at"])
        audit_record(actor=actor, action=AuditAction.ROSTER_APPLY_REQUESTED, target=roster, request=request,
                     old={"status": RosterStatus.PREVIEWED}, new={"status": RosterStatus.QUEUED, "rows": roster.to_apply})
        transaction.on_commit(lambda: roster_apply_dispatch(roster.pk))
    return roster
