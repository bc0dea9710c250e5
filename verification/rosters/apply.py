"""Applying a roster, batch by batch, as the Celery task runs it (rosters.tasks): the
people of a batch who have an account are verified one a transaction (each audit
event holds the audit log's lock until its transaction commits), then one transaction
changes and invites the batch's other rows; each transaction marks its rows done and
records the progress on the import: safe to run twice."""

import logging
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from allauth.account.models import EmailAddress
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from portal.advisory import SessionLock
from portal.among import among
from portal.audit.models import AuditAction
from portal.audit.services import audit_record_many
from portal.organisations.models import OrganisationStatus
from portal.permissions import AnyUser
from verification.models import GovernmentProfile
from verification.rosters.invitations import (
    DETAILS,
    details_changed_event,
    details_given,
    invite_rows,
    mailboxes_lock,
    people_lock,
    unofficial_rows,
    verify_row,
)
from verification.rosters.models import (
    NOT_ALLOWED,
    Invitation,
    InvitationStatus,
    RosterImport,
    RosterRow,
    RosterStatus,
    RowOutcome,
)
from verification.rosters.staging import auditors_among, held_here, mobile_taken, own_domains_of_row
from verification.services import check_decider, is_own

logger = logging.getLogger(__name__)
SYSTEM = "system:roster_import"


APPLICABLE = [RowOutcome.VERIFY, RowOutcome.INVITE, RowOutcome.CHANGE]


class Staged(NamedTuple):
    """What making an invitation needs of a staged row."""

    pk: int
    email: str
    name: str
    mailbox: str


def apply_batch_size() -> int:
    from django.conf import settings  # noqa: PLC0415

    return getattr(settings, "ROSTER_APPLY_BATCH", 5000)


def _tally(outcome: dict, key: str, n: int = 1) -> None:
    if n:
        outcome[key] = outcome.get(key, 0) + n


def _tally_all(outcome: dict, counts: dict[str, int]) -> None:
    for key, n in counts.items():
        _tally(outcome, key, n)


# A verified person's name as the roster gives it: vouched for by the admin who applies
# it, as the name they are verified under (GovernmentProfile.verified_name).
PROFILE_FIELDS = ("verified_name", *DETAILS)
ROW_COLUMN = {"verified_name": "name"}


def _change_rows(roster: RosterImport, rows: list[RosterRow], outcome: dict, *, actor: AnyUser) -> list[dict]:
    """New details for people already verified (their profile, and the name they are
    verified under) or invited (their invitation, waiting for the row's mailbox however its
    address was written) here; returns the audit events, for the caller to record once
    every row it needs is locked."""
    by_email = {row.email: row for row in rows}
    by_mailbox = {row.mailbox: row for row in rows}
    # A verification whose address has left its holder's account since the preview (a
    # successor may hold it now) is no longer known here: the row is skipped (not_held_here).
    profiles = list(held_here(roster.organisation_id).select_for_update(of=("self",)).select_related("user")
                    .filter(among("official_email", by_email, "text")))
    invitations = list(Invitation.objects.select_for_update().filter(
        among("mailbox", by_mailbox, "text"),
        organisation_id=roster.organisation_id, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()))
    events, taken, past, passed, auditors, own = [], [], [], [], [], []
    today = timezone.localdate()
    # Made an auditor since the preview (staging.classify refuses the row of one): an
    # auditor's account is read-only, their verified details left as they are.
    auditor_ids = auditors_among({profile.user_id for profile in profiles})
    for model, found, fields in ((GovernmentProfile, profiles, PROFILE_FIELDS), (Invitation, invitations, ("name", *DETAILS))):
        changed = []
        for obj in found:
            row = by_email.get(obj.official_email) if model is GovernmentProfile else by_mailbox.get(obj.mailbox)
            if row is None or row.email not in by_email:
                continue
            old = {name: getattr(obj, name) for name in fields}
            new = details_given(old, {name: getattr(row, ROW_COLUMN.get(name, name)) for name in fields})
            by_email.pop(row.email)
            if model is GovernmentProfile and obj.user_id in auditor_ids:
                auditors.append(row.pk)
                continue
            if model is GovernmentProfile and is_own(actor, obj):
                # The applying admin's own verification, or that of another account of their
                # mailbox (another admin uploaded the roster, whose preview refuses the
                # uploader's own addresses): nobody decides on their own, as verify_row
                # skips a row of theirs to verify.
                own.append(row.pk)
                continue
            if old == new:
                _tally(outcome, "unchanged")
                continue
            if new["superannuation_date"] != old["superannuation_date"] and new["superannuation_date"] < today:
                # A date that has passed since the preview (staging.classify refuses one
                # already past): written, the next sweep would revoke the person for good,
                # and an invitation with it would verify nobody when accepted.
                (past if model is GovernmentProfile else passed).append(row.pk)
                continue
            if model is GovernmentProfile and new["mobile"] != old["mobile"] and mobile_taken(new["mobile"],
                                                                                               user_id=obj.user_id):
                # Another verified person holds the new number now (given it since the
                # preview): the row is skipped, its reason kept on it, as verify_row does.
                taken.append(row.pk)
                continue
            for name, value in new.items():
                setattr(obj, name, value)
            changed.append(obj)
            events.append(details_changed_event(obj, old, new, {"roster": roster.pk}))
        model.objects.bulk_update(changed, list(fields), batch_size=500)
        _tally(outcome, "changed", len(changed))
    # A number taken, a date passed; verified or invited here no longer (the preview's
    # "change" changes nothing).
    _skip(outcome, {"auditor": auditors, "own_address": own, "mobile_taken": taken, "superannuation_past": past,
                    "superannuation_passed": passed, "not_held_here": [row.pk for row in by_email.values()]})
    return events


def _skip(outcome: dict, skipped: dict[str, list[int]]) -> None:
    """Mark the rows skipped when applying with their reason ({reason: row ids}) and count them."""
    for reason, pks in skipped.items():
        if pks:
            RosterRow.objects.filter(pk__in=pks).update(problems=reason)
            _tally(outcome, "skipped", len(pks))


def _running(roster_id: int) -> RosterImport | None:
    """The import, locked, while it is to be applied (else None); its admin's right and
    its organisation's status checked again (PermissionDenied)."""
    roster = RosterImport.objects.select_for_update(of=("self",)).select_related("organisation", "apply_requested_by").get(
        pk=roster_id)
    if roster.status not in (RosterStatus.QUEUED, RosterStatus.APPLYING):
        return None
    check_decider(roster.apply_requested_by, roster.organisation)
    if roster.organisation.status != OrganisationStatus.ACTIVE:
        raise PermissionDenied("organisation not active")
    return roster


def _verify_one(roster_id: int, row_id: int) -> bool:
    """Verify one row in its own transaction, with its progress: an audit event holds the
    audit log's lock until its transaction commits, and every audited write in the
    portal waits for it meanwhile (a few milliseconds a row, not a whole batch). False
    when the import is no longer to be applied."""
    with transaction.atomic():
        roster = _running(roster_id)
        if roster is None:
            return False
        row = RosterRow.objects.select_for_update().filter(pk=row_id, done=False).first()
        if row is None:  # done meanwhile by another run of the task
            return True
        outcome = dict(roster.outcome)
        _tally_all(outcome, verify_row(roster, row, actor=roster.apply_requested_by))
        row.done = True
        row.save(update_fields=["done"])
        roster.status, roster.outcome = RosterStatus.APPLYING, outcome
        roster.progress_done, roster.progressed_at = F("progress_done") + 1, timezone.now()
        roster.runs_without_progress = 0
        roster.save(update_fields=["status", "progress_done", "progressed_at", "outcome", "runs_without_progress"])
    return True


def _apply_batch(roster_id: int, after_line: int = 0, *, deadline: float | None = None) -> int | None:
    """Apply the next batch of rows: its last line, or None when none was left (or the
    import is no longer to be applied). ``after_line``: the last line of this run's
    previous batch (the rows up to it are done), so that the rows done before are not
    read again. The batch's people who have an account with the address confirmed, on
    the organisation's domains (``_to_verify``), are verified one a transaction
    (``_verify_one``), until ``deadline`` (time.monotonic()): past it, ``after_line`` is
    returned and the rest of the batch is left for the next run. Then one transaction
    changes and invites the others (set-based)."""
    roster = RosterImport.objects.select_related("organisation").filter(pk=roster_id).first()
    if roster is None or roster.status not in (RosterStatus.QUEUED, RosterStatus.APPLYING):
        return None
    rows = RosterRow.objects.filter(roster_id=roster_id, done=False, outcome__in=APPLICABLE, line__gt=after_line)
    size = apply_batch_size()
    last_line = next(iter(rows.order_by("line").values_list("line", flat=True)[size - 1:size]), None)
    batch = rows.filter(line__lte=last_line) if last_line is not None else rows
    for pk in _to_verify(batch, roster.organisation).values_list("pk", flat=True).order_by("line"):
        if deadline is not None and time.monotonic() > deadline:
            return after_line
        if not _verify_one(roster_id, pk):
            return None
    return _apply_rest(roster_id, after_line, last_line)


def _to_verify(rows, organisation):
    """The rows of people to verify: those the preview found with an account, and those
    to invite at an address on a domain of ``organisation`` (or of one below it) that an
    account has confirmed since (one query for the batch): an invitation to them would
    wait for a confirmation already made. A row at any other address is invited whoever
    holds it, as the preview said (staging.classify): its holder accepts the invitation
    on its page."""
    confirmed = EmailAddress.objects.filter(email=OuterRef("email"), verified=True)
    ours = own_domains_of_row(organisation)
    return rows.filter(Q(outcome=RowOutcome.VERIFY) | Q(Exists(confirmed), Exists(ours), outcome=RowOutcome.INVITE))


def _apply_rest(roster_id: int, after_line: int, last_line: int | None) -> int | None:
    """The batch's rows after ``after_line`` (up to ``last_line``; all when None) not
    done yet, in one transaction: details changed, people invited (set-based), the rows
    marked done and the progress recorded; the import finished when none was left."""
    with transaction.atomic():
        roster = _running(roster_id)
        if roster is None:
            return None
        actor = roster.apply_requested_by
        left = RosterRow.objects.filter(roster=roster, done=False, outcome__in=APPLICABLE, line__gt=after_line)
        if last_line is not None:
            left = left.filter(line__lte=last_line)
        rows = list(left.order_by("line").values_list("pk", "line", "outcome", "email", "name", "mailbox"))
        outcome = dict(roster.outcome)
        # The mailboxes of the rows to invite locked first (mailboxes_lock), before the people's
        # rows and the audit log's lock this batch takes before it invites.
        mailboxes_lock({mailbox for _pk, _line, kind, _email, _name, mailbox in rows if kind == RowOutcome.INVITE})
        if rows:
            # Confirmed since the rows to verify were read, or left by a run stopped before
            # verifying them (both rare): verified here, each row
            # locked before the first audit event, which holds the audit log's lock until
            # the batch commits (someone deciding about one of these people locks them
            # first and audits after: a deadlock the other way).
            verify = set(_to_verify(left, roster.organisation).values_list("pk", flat=True))
            whole = {row.pk: row for row in RosterRow.objects.filter(among(
                "pk", [pk for pk, _line, kind, _email, _name, _mailbox in rows if kind == RowOutcome.CHANGE or pk in verify],
                "bigint"))}
            people_lock([email for pk, _line, _kind, email, _name, _mailbox in rows if pk in verify])
            changes = _change_rows(roster, [row for row in whole.values() if row.outcome == RowOutcome.CHANGE], outcome,
                                   actor=actor)
            for pk, _line, _kind, _email, _name, _mailbox in rows:
                if pk in verify:
                    _tally_all(outcome, verify_row(roster, whole[pk], actor=actor))
            audit_record_many(changes)
            invites = [Staged(pk, email, name, mailbox) for pk, _line, kind, email, name, mailbox in rows
                       if kind == RowOutcome.INVITE and pk not in verify]
            invites = _invitable(roster, invites, outcome)
            _tally_all(outcome, invite_rows(roster, invites, actor=actor))
            left.update(done=True)
        roster.status = RosterStatus.APPLYING if rows or last_line is not None else RosterStatus.APPLIED
        roster.progress_done, roster.progressed_at = F("progress_done") + len(rows), timezone.now()
        roster.outcome, roster.runs_without_progress = outcome, 0
        fields = ["status", "progress_done", "progressed_at", "outcome", "runs_without_progress"]
        if roster.status == RosterStatus.APPLIED:
            roster.applied_at = timezone.now()
            fields.append("applied_at")
            audit_record_many([{"action": AuditAction.ROSTER_APPLIED, "target": roster, "actor_role": SYSTEM,
                                "old": {"status": RosterStatus.APPLYING},
                                "new": {"status": RosterStatus.APPLIED, **outcome}}])
        roster.save(update_fields=fields)
        return rows[-1][1] if rows else last_line


def _invitable(roster: RosterImport, invites: list[Staged], outcome: dict) -> list[Staged]:
    """``invites`` less the rows whose address is no longer official for the roster's
    organisation (a superadmin marked its domain a personal mail service, or the domain
    accepted for it went, since the preview: invitation_resend refuses such an address
    too), and those whose date of superannuation has passed since the preview
    (staging.classify refuses one already past: accepting such an invitation verifies
    nobody). None is made or mailed; the row is skipped with the preview's reason."""
    if not invites:
        return invites
    unofficial = unofficial_rows(roster, invites)
    _skip(outcome, unofficial)
    left_out = {pk for pks in unofficial.values() for pk in pks}
    invites = [row for row in invites if row.pk not in left_out]
    if not invites:
        return invites
    passed = set(RosterRow.objects.filter(among("pk", [row.pk for row in invites], "bigint"),
                                          superannuation_date__lt=timezone.localdate()).values_list("pk", flat=True))
    _skip(outcome, {"superannuation_passed": list(passed)})
    return [row for row in invites if row.pk not in passed]


# Why an import stopped, when the page can say so (roster.error; the page translates it);
# also NOT_ALLOWED (models): the admin who started it no longer administers the organisation.
STALLED = "stalled"  # its worker stopped and no run took it up again: the daily removal of rows ends it
DATABASE_REFUSED = "database_refused"  # a transient database error at every one of its last runs
NO_PROGRESS = "no_progress"  # its last runs got no further: a batch that never finishes in a run's time

# Runs in a row that get no further before the import is stopped: a batch rolled back by
# a transient database error (a deadlock, a lost connection: they pass within a try or
# two), cut at the task's soft time limit, or whose worker was killed (each run is counted
# as it begins). A batch that cannot finish in a run's time would otherwise be queued
# again at once, and by the beat job, for as long as the rows are kept.
APPLY_RUNS_WITHOUT_PROGRESS = 5

# Database errors that say nothing of the rows: a deadlock against someone deciding about
# the same person, a connection reset (a failover). The batch's transaction was rolled back.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


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


# An import queued or being applied that made no progress this long lost its task (the
# broker down when it was queued, a worker that died): longer than the apply task's time
# limit (300 s), so that a run still at work on it is not doubled (one would be harmless:
# each row and batch is applied under the import's lock, and a row done is skipped).
APPLY_IDLE_AFTER = timedelta(minutes=10)
RESUMED_PER_RUN = 100


def roster_applies_idle_claim(*, now: datetime | None = None, limit: int = RESUMED_PER_RUN) -> list[int]:
    """The imports queued or being applied (their rows kept) that neither progressed nor
    were queued again for APPLY_IDLE_AFTER, at most ``limit``: each is marked queued again
    now (``progressed_at``), so that it is queued again only after as long again if it is
    still idle then, not at every run of the beat job. One whose batch is being applied
    (locked) is skipped. Returns their ids, for the caller to queue after the commit."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(RosterImport.objects.select_for_update(skip_locked=True)
                   .filter(status__in=[RosterStatus.QUEUED, RosterStatus.APPLYING], rows_removed_at__isnull=True)
                   .filter(Q(progressed_at__lt=now - APPLY_IDLE_AFTER) | Q(progressed_at__isnull=True))
                   .order_by("id").values_list("pk", flat=True)[:limit])
        RosterImport.objects.filter(pk__in=ids).update(progressed_at=now)
    return ids


def _run_begin(roster_id: int) -> bool:
    """Count a run of the import as it begins (``runs_without_progress``: any progress it
    makes starts the count again); False, the run doing nothing, when the import is no
    longer to be applied or the APPLY_RUNS_WITHOUT_PROGRESS runs before it in a row got no
    further (one whose worker was killed says nothing when it ends): it is then stopped,
    as failed (NO_PROGRESS)."""
    with transaction.atomic():
        runs = (RosterImport.objects.select_for_update().filter(
            pk=roster_id, status__in=[RosterStatus.QUEUED, RosterStatus.APPLYING])
            .values_list("runs_without_progress", flat=True).first())
        if runs is None:
            return False
        if runs >= APPLY_RUNS_WITHOUT_PROGRESS:
            _fail(roster_id, NO_PROGRESS)
            return False
        RosterImport.objects.filter(pk=roster_id).update(runs_without_progress=runs + 1)
    return True


def _no_progress(roster_id: int, error: str) -> bool:
    """A run of the import got no further (its batch rolled back): True (stopped, as failed
    with ``error``) when it was the APPLY_RUNS_WITHOUT_PROGRESS-th in a row, else False
    (the next run carries on)."""
    with transaction.atomic():
        runs = RosterImport.objects.filter(pk=roster_id).values_list("runs_without_progress", flat=True).first()
        if runs is None or runs < APPLY_RUNS_WITHOUT_PROGRESS:
            return False
        _fail(roster_id, error)
    return True


def _connection_again() -> None:
    """After a transient database error outside any transaction: a connection it left
    unusable (reset by a failover) is closed, for the next query to open a new one."""
    if connection.connection is not None and connection.get_autocommit() and not connection.is_usable():
        connection.close()


# The first of PostgreSQL's two advisory-lock keys: a run of a roster import at work ("RSTR").
APPLY_RUN_LOCK_NAMESPACE = 0x52535452


def roster_apply_run(*, roster_id: int, budget_seconds: float = 200) -> bool:
    """Apply a queued roster batch by batch (each its own transaction, its progress
    recorded) for at most about ``budget_seconds``; True when it is finished (or
    stopped), False when rows are left for another run (the time is up, the task's soft
    time limit stopped a batch, or a transient database error rolled one back). Each run
    is counted as it begins (``_run_begin``): APPLY_RUNS_WITHOUT_PROGRESS in a row that
    get no further and the import is stopped. Safe to run twice: applied rows are marked
    done and skipped. A run that finds another of the same import at work (the task
    delivered again: asked for again by an admin, queued by the beat job, or by Celery)
    leaves the import to it, uncounted, and returns True: that run queues the next."""
    lock = SessionLock(APPLY_RUN_LOCK_NAMESPACE, roster_id)
    if not lock.try_take():
        return True
    try:
        return _run(roster_id, budget_seconds)
    finally:
        lock.release()


def _run(roster_id: int, budget_seconds: float) -> bool:
    if not _run_begin(roster_id):
        return True
    started = time.monotonic()
    try:
        last_line = 0
        while (last_line := _apply_batch(roster_id, last_line, deadline=started + budget_seconds)) is not None:
            if time.monotonic() - started > budget_seconds:
                return False
    except SoftTimeLimitExceeded:
        # The task's soft time limit, in a transaction that was rolled back: nothing is
        # wrong with the rows, the next run of the task carries on from those not done.
        logger.warning("Roster import %s reached the task's time limit: it carries on in the next run", roster_id)
        return _no_progress(roster_id, NO_PROGRESS)
    except TRANSIENT_ERRORS as exc:
        # Rolled back too, and nothing wrong with the rows: the next run carries on, unless
        # the last runs all met such an error (then it is stopped, its page says why).
        logger.warning("Roster import %s met a database error (%s): it carries on in the next run", roster_id,
                       type(exc).__name__, exc_info=True)
        _connection_again()
        return _no_progress(roster_id, DATABASE_REFUSED)
    except PermissionDenied:
        _fail(roster_id, NOT_ALLOWED)
    except Exception as exc:
        logger.exception("Roster import %s stopped", roster_id)
        _fail(roster_id, f"{type(exc).__name__}")  # for the operators (the audit row, the log); the page says no more
    return True
