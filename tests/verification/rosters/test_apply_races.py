"""Applying a roster while someone decides about one of its people, with real
concurrent transactions on PostgreSQL (tests/onboarding/test_race_pg.py's race)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from portal.audit.services import _CHAIN_LOCK_KEY, audit_verify
from portal.mail.models import OutboxMessage
from tests.factories import UserFactory
from tests.onboarding.approval_helpers import TRANSACTIONAL
from tests.onboarding.test_race_pg import race
from tests.verification.helpers import GovernmentProfileFactory
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification import services as verification_services
from verification.models import GovernmentProfile, VerificationStatus
from verification.rosters import services as rosters_services
from verification.rosters.apply import roster_apply_run
from verification.rosters.invitations import invitation_resend
from verification.rosters.models import Invitation, InvitationMail, RosterImport, RosterStatus

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("require_postgresql")]


@pytest.fixture
def queued(world):
    """A roster of two people with accounts (both verified by applying it), the second
    with a request waiting in another organisation; queued as roster_apply_request
    leaves it, the Celery task's code run here."""
    UserFactory(email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    two = UserFactory(email="person2@pune.mahaagri.gov.in", full_name="Person 2")
    elsewhere = GovernmentProfileFactory(user=two, organisation=world["other"])
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    assert roster.verify_count == 2
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.QUEUED, apply_requested_by=world["admin_office"],
                                                     progress_total=2)
    return roster, two, elsewhere


def _applied(roster):
    roster.refresh_from_db()
    assert roster.status == RosterStatus.APPLIED, (roster.status, roster.error)
    assert audit_verify() == []


# The roster's batch starts first (its first audit event then waits on the audit log's lock,
# held here); the other contender starts once it waits. The batch used to audit its first
# person, then lock the second, whom the other had locked before waiting for the log: a deadlock.
# Each person is now verified in a transaction of their own, which locks them and audits.

def test_an_admin_elsewhere_deciding_about_a_person_while_the_roster_is_applied(world, queued):
    roster, two, elsewhere = queued
    results = race([
        lambda: roster_apply_run(roster_id=roster.pk),
        lambda: verification_services.join_request_decide(profile_id=elsewhere.pk, decision="reject", reason="Not ours.",
                                                          actor=world["admin_other"]),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY], staggered=True)
    assert results[0][0] == "ok", results
    # The first person's transaction held no lock on the second: the rejection, which
    # locked them first, is decided, and the roster verifies them after it (no deadlock).
    assert results[1][0] == "ok", results
    _applied(roster)
    assert GovernmentProfile.objects.get(user=two, organisation=world["office"]).status == VerificationStatus.VERIFIED
    assert GovernmentProfile.objects.get(pk=elsewhere.pk).status == VerificationStatus.REJECTED


def test_a_person_withdrawing_their_request_while_a_roster_naming_them_is_applied(world, queued):
    roster, two, elsewhere = queued
    browser = Client(raise_request_exception=False)
    browser.force_login(two)
    results = race([
        lambda: roster_apply_run(roster_id=roster.pk),
        lambda: browser.post(f"/verification/requests/{elsewhere.pk}/withdraw/", {"confirm": "on"}),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY], staggered=True)
    outcome, response = results[1]
    assert outcome == "ok" and response.status_code == 302, results
    _applied(roster)


def test_two_uploads_at_once_cannot_both_pass_the_daily_limit(world, settings):
    """One roster short of the limit, two admins upload at once: one is checked, the other
    told the limit is reached (each used to count before either was kept: both passed)."""
    settings.ROSTER_UPLOADS_PER_DAY = 2
    upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    results = race([
        lambda: upload(world["office"], world["admin_office"], csv_bytes([person(2)])),
        lambda: upload(world["office"], world["admin_parent"], csv_bytes([person(3)])),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s, %s)",
        hold_params=[rosters_services.UPLOADS_LOCK_NAMESPACE, world["office"].pk])
    outcomes = sorted(outcome for outcome, _value in results)
    assert outcomes == ["error", "ok"], results
    [refusal] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refusal, rosters_services.RosterFileError) and "2 rosters of this organisation" in str(refusal)
    assert RosterImport.objects.filter(organisation=world["office"]).count() == 2


def test_verifying_a_roster_s_people_does_not_hold_the_audit_log_s_lock_from_one_person_to_the_next(world, monkeypatch):
    """Appending an audit event takes the audit log's lock until its transaction commits,
    and every audited write in the portal (a sign-in) waits for it: a batch verifying
    thousands of people in one transaction held it for minutes. Each person is verified
    in a transaction of their own: when the next one starts, the lock is not held."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db import connection

    from verification.rosters import apply as apply_module

    users = get_user_model().objects.bulk_create(
        [get_user_model()(email=f"person{i}@pune.mahaagri.gov.in", full_name=f"Person {i}") for i in range(1, 6)])
    EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in range(1, 6)]))
    assert roster.verify_count == 5
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.QUEUED, apply_requested_by=world["admin_office"],
                                                     progress_total=5)
    held = []
    real_verify_row = apply_module.verify_row

    def verify_row(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                           "AND objid = (%s::bigint & 4294967295)", [_CHAIN_LOCK_KEY])
            held.append(cursor.fetchone()[0])
        return real_verify_row(*args, **kwargs)

    monkeypatch.setattr(apply_module, "verify_row", verify_row)
    assert roster_apply_run(roster_id=roster.pk)
    _applied(roster)
    assert roster.outcome == {"verified": 5}
    assert held == [0, 0, 0, 0, 0]


def _one_at_work(waiting, results):
    """One run waits on the import's row, each other one has left it to that run."""
    return waiting == 1 and waiting + sum(result is not None for result in results) == len(results)


def test_two_runs_of_the_apply_at_once_apply_each_row_once(world):
    """The beat job queues an idle import again, and its lost task may turn up after all
    (a worker that was only slow): of two runs at once, the one that finds the other at work
    leaves the import to it; each person is verified once, invited once, each row counted
    once and the import finished once."""
    from portal.audit.models import AuditAction, AuditEvent
    from portal.mail.models import OutboxMessage
    from verification.rosters.models import Invitation

    for i in (1, 2):
        UserFactory(email=f"person{i}@pune.mahaagri.gov.in", full_name=f"Person {i}")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in (1, 2, 4, 5)]))
    assert (roster.verify_count, roster.invite_count) == (2, 2)
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.QUEUED, apply_requested_by=world["admin_office"],
                                                     progress_total=4)
    mails_before = OutboxMessage.objects.count()
    results = race([lambda: roster_apply_run(roster_id=roster.pk), lambda: roster_apply_run(roster_id=roster.pk)],
                   hold_sql=f"SELECT id FROM {RosterImport._meta.db_table} WHERE id = %s FOR UPDATE",
                   hold_params=[roster.pk], ready=_one_at_work)
    assert results == [("ok", True), ("ok", True)]
    _applied(roster)
    assert (roster.progress_done, roster.outcome) == (4, {"verified": 2, "invited": 2})
    assert GovernmentProfile.objects.filter(organisation=world["office"], status=VerificationStatus.VERIFIED,
                                            user__email__in=["person1@pune.mahaagri.gov.in",
                                                             "person2@pune.mahaagri.gov.in"]).count() == 2
    assert Invitation.objects.filter(roster=roster).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLIED).count() == 1
    # Told once each: the two verified, the two invited.
    assert OutboxMessage.objects.count() - mails_before == 4


def _queued(organisation, admin, rows):
    """A roster of ``rows`` checked and queued as roster_apply_request leaves it."""
    roster = upload(organisation, admin, csv_bytes(rows))
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.QUEUED, apply_requested_by=admin,
                                                     progress_total=len(rows))
    return roster


# The contenders count a mailbox's mails of the day, mail it, then wait on the audit log's
# lock, held here: without a lock of the mailbox from counting to committing, both counted
# before either's mail was recorded, and both mailed it.

def test_two_organisations_rosters_applied_at_once_mail_one_address_no_more_than_the_day_allows(world, settings):
    """Two organisations' rosters list the same person, applied at the same moment, one mail
    short of the day's limit for that address: one roster mails them, the other invites them
    without a mail (each used to count before either's mail was recorded: both mailed)."""
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    rosters = [_queued(world["office"], world["admin_office"], [person(4)]),
               _queued(world["other"], world["admin_other"], [person(4)])]
    results = race([lambda roster=roster: roster_apply_run(roster_id=roster.pk) for roster in rosters],
                   hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    for roster in rosters:
        _applied(roster)
    assert OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).count() == 1
    assert InvitationMail.objects.filter(mailbox="person4@pune.mahaagri.gov.in").count() == 1
    assert sorted(Invitation.objects.values_list("send_count", flat=True)) == [0, 1]


def test_two_organisations_sending_one_address_its_invitation_at_once_mail_it_no_more_than_the_day_allows(
        world, settings):
    """Each of two organisations has an invitation to the same person made but not mailed;
    their admins send them at the same moment, one mail short of the day's limit: one is
    sent, the other refused naming the limit (both used to be sent)."""
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    for roster in (_queued(world["office"], world["admin_office"], [person(4)]),
                   _queued(world["other"], world["admin_other"], [person(4)])):
        roster_apply_run(roster_id=roster.pk)
    Invitation.objects.update(send_count=0)  # made, not mailed
    InvitationMail.objects.all().delete()
    OutboxMessage.objects.all().delete()
    invitations = {invitation.organisation_id: invitation for invitation in Invitation.objects.all()}
    results = race([
        lambda: invitation_resend(invitation_id=invitations[world["office"].pk].pk, actor=world["admin_office"]),
        lambda: invitation_resend(invitation_id=invitations[world["other"].pk].pk, actor=world["admin_other"]),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refusal] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refusal, ValidationError) and refusal.code == "address_too_many", refusal
    assert OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).count() == 1
    assert audit_verify() == []


def test_a_roster_batch_that_audits_before_it_invites_and_an_invitation_sent_again_at_once_do_not_deadlock(world):
    """A batch changing one person's details (audited, holding the audit log's lock to its
    commit) and inviting another, while an administrator elsewhere sends that other person
    an invitation again: the batch took the mailbox's lock after the audit log's, the sending
    the other way round, and PostgreSQL ended one of them as a deadlock. Both now take the
    mailboxes' lock first: both finish."""
    first = _queued(world["other"], world["admin_other"], [person(5)])
    roster_apply_run(roster_id=first.pk)
    _applied(first)
    roster_apply_run(roster_id=_queued(world["office"], world["admin_office"], [person(4)]).pk)
    sending = Invitation.objects.get(organisation=world["office"])
    Invitation.objects.filter(pk=sending.pk).update(send_count=0)  # made, not mailed: no wait before sending again
    batch = _queued(world["other"], world["admin_other"], [person(5, Designation="Senior Clerk"), person(4)])
    assert (batch.change_count, batch.invite_count) == (1, 1)
    results = race([
        lambda: roster_apply_run(roster_id=batch.pk),
        lambda: invitation_resend(invitation_id=sending.pk, actor=world["admin_office"]),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY], staggered=True)
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    _applied(batch)
    assert Invitation.objects.get(pk=sending.pk).send_count == 1


def test_deliveries_of_the_task_at_once_apply_the_roster_and_are_not_counted_as_runs_without_progress(world, queued):
    """The task is queued again when an admin asks to apply an import already queued, by the
    beat job, and by Celery delivering it again: six deliveries waiting on the import's row
    each counted a run that got no further, and the sixth stopped the import as failed
    ("no_progress") though nothing was wrong. A delivery finding a run of the same import
    at work now leaves it to that run."""
    roster, _two, _elsewhere = queued
    results = race([lambda: roster_apply_run(roster_id=roster.pk)] * 6,
                   hold_sql=f"SELECT id FROM {RosterImport._meta.db_table} WHERE id = %s FOR UPDATE",
                   hold_params=[roster.pk], ready=_one_at_work)
    assert [outcome for outcome, _value in results] == ["ok"] * 6, results
    _applied(roster)
    roster.refresh_from_db()
    assert roster.runs_without_progress == 0
