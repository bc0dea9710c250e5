"""Applying a roster: people with a confirmed account verified (method roster, through
the verification services: audited, told, other requests cancelled, a verification
elsewhere ended), the others invited (mail in the organisation's languages, token
stored hashed), details changed; the Celery task's progress; a second import of the
same file changes nothing."""

import csv
import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.utils import timezone

from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage
from portal.organisations.models import Membership, MembershipRole, OrganisationDomain, PlatformRole, PlatformRoleGrant
from portal.permissions import may_administer
from tests.factories import PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import delivered_body
from tests.verification.helpers import (
    GovernmentProfileFactory,
    contacts_shown_to_verified_users,
    make_admin,
    signed_in,
)
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification import tasks
from verification.models import GovernmentProfile, VerificationMethod, VerificationStatus
from verification.rosters import services
from verification.rosters.invitations import invitation_accept, mails_record
from verification.rosters.models import Invitation, InvitationStatus, RosterImport, RosterRow, RosterStatus, RowOutcome
from verification.rosters.parsing import HEADERS
from verification.rosters.refusals import reasons_of
from verification.rosters.tasks import roster_apply
from verification.rosters.tokens import token_hash

pytestmark = pytest.mark.django_db


def apply(roster, actor, capture):
    with capture(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=actor)
    roster.refresh_from_db()
    return roster


@pytest.fixture
def people(world):
    """Person 1 has an account (address confirmed) and waits in another organisation's
    queue; person 2 is verified in another organisation; person 3 is verified here with
    other details; persons 4 and 5 have no account."""
    one = UserFactory(email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    elsewhere_request = GovernmentProfileFactory(user=one, organisation=world["other"])
    two = UserFactory(email="person2@pune.mahaagri.gov.in", full_name="Person 2")
    elsewhere = GovernmentProfileFactory(user=two, organisation=world["other"], status=VerificationStatus.VERIFIED)
    three = UserFactory(email="person3@pune.mahaagri.gov.in")
    here = GovernmentProfileFactory(user=three, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                    designation="Typist", mobile="+919876500003", employee_code="E00003",
                                    office="Establishment", superannuation_date="2041-03-31")
    return {"one": one, "two": two, "three": three, "elsewhere_request": elsewhere_request, "elsewhere": elsewhere,
            "here": here}


def test_apply_verifies_invites_and_changes(world, people, django_capture_on_commit_callbacks, settings):
    settings.ROSTER_APPLY_BATCH = 2  # several batches: the progress moves
    content = csv_bytes([person(i) for i in range(1, 6)] + [person(6, Mobile="1")])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.verify_count, roster.invite_count, roster.change_count, roster.refused_count) == (2, 2, 1, 1)
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.status == RosterStatus.APPLIED
    assert (roster.progress_done, roster.progress_total, roster.progress_percent) == (5, 5, 100)
    assert roster.outcome == {"verified": 2, "invited": 2, "changed": 1}

    one = GovernmentProfile.objects.get(user=people["one"], organisation=world["office"])
    assert (one.status, one.method, one.verified_by, one.designation) == (
        VerificationStatus.VERIFIED, VerificationMethod.ROSTER, world["admin_office"], "Clerk")
    people["elsewhere_request"].refresh_from_db()
    people["elsewhere"].refresh_from_db()
    assert people["elsewhere_request"].status == VerificationStatus.CANCELLED  # other requests cancelled
    assert people["elsewhere"].status == VerificationStatus.REVOKED  # one organisation at a time
    people["here"].refresh_from_db()
    assert people["here"].designation == "Clerk"

    verified = AuditEvent.objects.filter(action=AuditAction.VERIFICATION_VERIFIED)
    assert verified.count() == 2 and {e.new_values["method"] for e in verified} == {"roster"}
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED).get().new_values["designation"] == "Clerk"
    sent = AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT)  # one event a batch, naming each invitation
    assert sorted(email for e in sent for _pk, email in e.new_values["invitations"]) == [
        "person4@pune.mahaagri.gov.in", "person5@pune.mahaagri.gov.in"]
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_REQUESTED).get().actor_id == world["admin_office"].pk
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLIED).get().new_values["invited"] == 2

    invitations = Invitation.objects.order_by("email")
    assert [i.email for i in invitations] == ["person4@pune.mahaagri.gov.in", "person5@pune.mahaagri.gov.in"]
    mail = OutboxMessage.objects.get(to=["person4@pune.mahaagri.gov.in"])
    body = delivered_body(mail)
    token = re.search(r"/verification/invitations/([A-Za-z0-9_-]{43})/", body)[1]
    assert invitations[0].token_hash == token_hash(token)
    assert token not in mail.body  # the stored copy of a sent mail keeps no working link
    assert body.startswith("Dear Person 4,") and "---" in body  # English, then Marathi (Maharashtra)
    assert mail.subject.startswith("District Agriculture Office, Pune invites you to Sandes")
    assert OutboxMessage.objects.filter(to=["person1@pune.mahaagri.gov.in"]).exists()  # told they are verified


def test_the_name_a_roster_gives_is_the_one_its_people_are_verified_under(world, people,
                                                                          django_capture_on_commit_callbacks):
    """The admin applying a roster vouches for the names it gives: a person verified from
    it is verified under its name, whatever their account says; a person verified here
    already gets the roster's name as the one verified (a change of that alone is a change,
    audited), and a second import of the file changes nothing."""
    people["one"].full_name = "Chief Secretary"
    people["one"].save(update_fields=["full_name"])
    GovernmentProfile.objects.filter(pk=people["here"].pk).update(designation="Clerk", mobile="+919876500003",
                                                                  employee_code="E00003", verified_name="P. Three")
    content = csv_bytes([person(1), person(3)])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.verify_count, roster.change_count, roster.unchanged_count) == (1, 1, 0)
    apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    one = GovernmentProfile.objects.get(user=people["one"], organisation=world["office"])
    assert (one.status, one.verified_name) == (VerificationStatus.VERIFIED, "Person 1")
    people["here"].refresh_from_db()
    assert people["here"].verified_name == "Person 3"
    changed = AuditEvent.objects.get(action=AuditAction.ROSTER_DETAILS_CHANGED)
    assert (changed.old_values, changed.new_values) == ({"verified_name": "P. Three"},
                                                        {"roster": roster.pk, "verified_name": "Person 3"})
    assert "verified_name" in changed.personal_keys
    again = upload(world["office"], world["admin_office"], content)
    assert (again.verify_count, again.change_count, again.unchanged_count) == (0, 0, 2)


def test_importing_the_same_file_again_changes_nothing(world, people, django_capture_on_commit_callbacks):
    content = csv_bytes([person(i) for i in range(1, 6)])
    apply(upload(world["office"], world["admin_office"], content), world["admin_office"], django_capture_on_commit_callbacks)
    mails, events = OutboxMessage.objects.count(), AuditEvent.objects.count()
    again = upload(world["office"], world["admin_office"], content)
    assert (again.verify_count, again.invite_count, again.change_count, again.unchanged_count) == (0, 0, 0, 5)
    again = apply(again, world["admin_office"], django_capture_on_commit_callbacks)
    assert again.status == RosterStatus.APPLIED and again.progress_total == 0
    assert OutboxMessage.objects.count() == mails  # no invitation sent again
    assert Invitation.objects.count() == 2
    # The upload, the request to apply and the end of the import: nothing about any person.
    assert AuditEvent.objects.count() == events + 3


@pytest.mark.parametrize("without", ["blank cell", "no column"])
def test_a_row_without_the_optional_date_leaves_the_date_known_here(world, people, django_capture_on_commit_callbacks,
                                                                    without):
    """The date of superannuation is optional: a roster that does not give it says nothing
    of it, and the date a verified person or an invitation has stays (or the verification
    would never lapse)."""
    rows = [person(3, Designation="Typist"), person(4)]
    apply(upload(world["office"], world["admin_office"], csv_bytes(rows)), world["admin_office"],
          django_capture_on_commit_callbacks)
    if without == "blank cell":
        content = csv_bytes([{**row, "Date of superannuation": ""} for row in rows])
    else:
        content = csv_bytes(rows, headers=[h for h in HEADERS if h != "Date of superannuation"])
    again = upload(world["office"], world["admin_office"], content)
    assert (again.change_count, again.unchanged_count) == (0, 2)
    apply(again, world["admin_office"], django_capture_on_commit_callbacks)
    people["here"].refresh_from_db()
    assert str(people["here"].superannuation_date) == "2041-03-31"
    assert str(Invitation.objects.get(email="person4@pune.mahaagri.gov.in").superannuation_date) == "2041-03-31"
    # Another detail changed without the date: the change is made, the date stays.
    changed = upload(world["office"], world["admin_office"], csv_bytes(
        [{**rows[0], "Designation": "Head Clerk", "Date of superannuation": ""}]))
    assert changed.change_count == 1
    apply(changed, world["admin_office"], django_capture_on_commit_callbacks)
    people["here"].refresh_from_db()
    assert (people["here"].designation, str(people["here"].superannuation_date)) == ("Head Clerk", "2041-03-31")


def test_asking_twice_or_running_the_task_twice_applies_once(world, django_capture_on_commit_callbacks):
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    roster_apply.apply(args=[roster.pk])
    assert Invitation.objects.count() == 1 and OutboxMessage.objects.count() == 1
    assert RosterRow.objects.get(roster=roster).done


def test_an_invitation_made_meanwhile_by_another_roster_is_not_doubled(world, django_capture_on_commit_callbacks):
    first = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    second = upload(world["office"], world["admin_parent"], csv_bytes([person(4)]))  # previewed before the first applied
    apply(first, world["admin_office"], django_capture_on_commit_callbacks)
    second = apply(second, world["admin_parent"], django_capture_on_commit_callbacks)
    assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 1
    assert second.outcome == {"unchanged": 1}


def test_plus_tagged_copies_of_one_address_invite_its_mailbox_once(world, django_capture_on_commit_callbacks):
    """A roster listing one official's address again and again, each time with another
    "+tag" and mobile number, invites that mailbox once: one invitation, one mail."""
    rows = [person(4), *(person(10 + i, **{"Official email": f"person4+{i}@pune.mahaagri.gov.in"}) for i in range(1, 30))]
    roster = apply(upload(world["office"], world["admin_office"], csv_bytes(rows)), world["admin_office"],
                   django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1}
    assert list(Invitation.objects.values_list("email", flat=True)) == ["person4@pune.mahaagri.gov.in"]
    assert [message.to for message in OutboxMessage.objects.all()] == [["person4@pune.mahaagri.gov.in"]]


def test_a_mailbox_invited_here_under_another_spelling_is_not_invited_again(world, django_capture_on_commit_callbacks):
    """One invitation waits per mailbox in an organisation: a later roster naming the mailbox
    with another "+tag" finds the waiting invitation (the row changes its details, as for the
    same address), however many rosters or admins do it; none is mailed again."""
    apply(upload(world["office"], world["admin_office"], csv_bytes([person(4)])), world["admin_office"],
          django_capture_on_commit_callbacks)
    again = upload(world["office"], world["admin_parent"], csv_bytes(
        [person(4, **{"Official email": "person4+x@pune.mahaagri.gov.in"})]))
    assert (again.invite_count, again.unchanged_count) == (0, 1)
    changed = upload(world["office"], world["admin_parent"], csv_bytes(
        [person(4, Designation="Head Clerk", **{"Official email": "Person4+y@pune.mahaagri.gov.in"})]))
    assert (changed.invite_count, changed.change_count) == (0, 1)
    changed = apply(changed, world["admin_parent"], django_capture_on_commit_callbacks)
    assert changed.outcome == {"changed": 1}
    waiting = Invitation.objects.get(status=InvitationStatus.PENDING)
    assert (waiting.email, waiting.designation) == ("person4@pune.mahaagri.gov.in", "Head Clerk")
    assert OutboxMessage.objects.count() == 1


def test_two_rosters_previewed_at_once_with_one_mailbox_spelt_two_ways_invite_it_once(
        world, django_capture_on_commit_callbacks):
    first = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    second = upload(world["office"], world["admin_parent"], csv_bytes(
        [person(4, **{"Official email": "person4+2@pune.mahaagri.gov.in"})]))  # previewed before the first applied
    apply(first, world["admin_office"], django_capture_on_commit_callbacks)
    second = apply(second, world["admin_parent"], django_capture_on_commit_callbacks)
    assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 1
    assert second.outcome == {"unchanged": 1} and OutboxMessage.objects.count() == 1


def test_an_admin_who_lost_the_role_stops_the_import(world, django_capture_on_commit_callbacks):
    from guardian.shortcuts import remove_perm

    from portal.permissions import ADMINISTER_ORGANISATION

    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    remove_perm(ADMINISTER_ORGANISATION, world["admin_office"], world["office"])
    for callback in callbacks:
        callback()
    roster.refresh_from_db()
    assert (roster.status, roster.error) == (RosterStatus.FAILED, "not_allowed")
    assert not Invitation.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_FAILED).exists()
    # The page says why, in the reader's language.
    parent_admin = signed_in(world["admin_parent"])
    assert "no longer administers the organisation" in parent_admin.get(f"/verification/rosters/{roster.pk}/").content.decode()
    parent_admin.cookies["django_language"] = "mr"
    page = parent_admin.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "no longer administers" not in page and "प्रशासन" in page


def a_departed_admins_roster(world, capture, *, run):
    """The office's admin uploads a roster of three and presses "Apply"; before a worker takes
    it (the workers busy, or the broker down) the department's admin revokes their role
    (transferred); a successor administers the office. ``run``: whether the queued task
    then runs (and stops, the admin who started it no longer allowed). (roster, successor)"""
    from portal.organisations.services import organisation_admin_revoke

    departing = world["admin_office"]
    successor = make_admin(world["office"], email="successor@pune.mahaagri.gov.in", full_name="Successor")
    roster = upload(world["office"], departing, csv_bytes([person(4), person(5), person(6)]))
    with capture(execute=False) as callbacks:
        services.roster_apply_request(roster_id=roster.pk, actor=departing)
    organisation_admin_revoke(organisation_id=world["office"].pk, user_id=departing.pk, actor=world["admin_parent"],
                              reason="Transferred")
    if run:
        for callback in callbacks:
            callback()
    roster.refresh_from_db()
    return roster, successor


@pytest.mark.parametrize("run", [False, True], ids=["queued", "stopped"])
def test_the_successor_admin_carries_on_a_roster_the_departed_admin_set_applying(
        world, django_capture_on_commit_callbacks, run):
    """Pressing "Apply" again queued the task again, still in the departed admin's name: it
    found no right and stopped as "not allowed", for good (only a previewed roster could be
    applied), its rows staged in the portal, which the successor may never have had. Now the
    successor, who may decide, is recorded as the one who applies it (audited), and a roster
    stopped that way, its rows kept, is queued again: it carries on to the end."""
    roster, successor = a_departed_admins_roster(world, django_capture_on_commit_callbacks, run=run)
    departing = world["admin_office"]
    assert roster.status == (RosterStatus.FAILED if run else RosterStatus.QUEUED)
    roster = apply(roster, successor, django_capture_on_commit_callbacks)
    assert (roster.status, roster.error, roster.apply_requested_by) == (RosterStatus.APPLIED, "", successor)
    assert (Invitation.objects.count(), roster.outcome) == (3, {"invited": 3})
    assert set(Invitation.objects.values_list("invited_by", flat=True)) == {successor.pk}
    first, again = AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_REQUESTED).order_by("id")
    assert first.actor_id == departing.pk
    assert (again.actor_id, again.target_id) == (successor.pk, str(roster.pk))
    old_status = RosterStatus.FAILED if run else RosterStatus.QUEUED
    assert again.old_values == {"status": old_status, "apply_requested_by_id": departing.pk,
                                **({"error": "not_allowed"} if run else {})}
    assert again.new_values == {"status": RosterStatus.QUEUED, "apply_requested_by_id": successor.pk, "rows": 3}


def test_asking_again_keeps_the_admin_who_applies_a_roster_while_they_may(world, django_capture_on_commit_callbacks):
    """Another admin pressing "Apply" on a roster queued by an admin who still may decide
    queues it again in its first admin's name, as before: no new request is recorded."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    with django_capture_on_commit_callbacks(execute=False):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    roster = apply(roster, world["admin_parent"], django_capture_on_commit_callbacks)
    assert (roster.status, roster.apply_requested_by) == (RosterStatus.APPLIED, world["admin_office"])
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_REQUESTED).count() == 1


def test_a_roster_stopped_for_another_error_or_without_its_rows_is_not_queued_again(
        world, django_capture_on_commit_callbacks):
    roster, successor = a_departed_admins_roster(world, django_capture_on_commit_callbacks, run=True)
    RosterImport.objects.filter(pk=roster.pk).update(error="OperationalError")
    assert apply(roster, successor, django_capture_on_commit_callbacks).status == RosterStatus.FAILED
    RosterImport.objects.filter(pk=roster.pk).update(error="not_allowed", rows_removed_at=timezone.now())
    assert apply(roster, successor, django_capture_on_commit_callbacks).status == RosterStatus.FAILED
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_REQUESTED).count() == 1
    assert not Invitation.objects.exists()


def test_a_roster_takes_no_one_verified_elsewhere_at_an_address_not_on_its_domains(world,
                                                                                django_capture_on_commit_callbacks):
    """Verifying someone ends the verification they hold elsewhere (and an admin role
    resting on it): another state's administrator listing a department's admin must not
    take them away. Their row is invited, as any address off the roster's domains is
    (the preview does not tell who holds it), and accepting it would not move them; at an
    address on the roster's own domains (or those of the offices below) the move is made."""
    victim = world["admin_parent"]  # admin@mahaagri.gov.in, admin of the Maharashtra department
    held = GovernmentProfileFactory(user=victim, organisation=world["parent"], status=VerificationStatus.VERIFIED,
                                    official_email=victim.email)
    mover = UserFactory(email="ravi@karhealth.gov.in", full_name="Ravi Rao")
    GovernmentProfileFactory(user=mover, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             official_email=mover.email)
    content = csv_bytes([person(1, **{"Official email": victim.email}), person(2, domain="karhealth.gov.in"),
                         person(3, **{"Official email": mover.email})])
    roster = upload(world["other"], world["admin_other"], content)
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {2: ("invite", ""), 3: ("invite", ""), 4: ("verify", "")}
    roster = apply(roster, world["admin_other"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1, "invited": 2}
    held.refresh_from_db()
    assert held.status == VerificationStatus.VERIFIED
    assert may_administer(type(victim).objects.get(pk=victim.pk), world["parent"])
    assert not GovernmentProfile.objects.filter(user=victim, organisation=world["other"]).exists()
    # On the roster's own domain, the move is made (the verification in the office ends).
    assert GovernmentProfile.objects.get(user=mover, organisation=world["other"]).status == VerificationStatus.VERIFIED
    assert GovernmentProfile.objects.get(user=mover, organisation=world["office"]).status == VerificationStatus.REVOKED


def test_a_roster_verifies_no_one_holding_a_role_elsewhere_at_an_address_not_on_its_domains(
        world, django_capture_on_commit_callbacks):
    """Another organisation's admin and a superadmin, on no domain of the office: a roster
    listing them does not make them verified members of the office with the details it
    gives: they are invited, as anyone off its domains (the preview does not tell who holds
    a role), and accepting does not verify them. The office's own admin, on its domain,
    is verified."""
    content = csv_bytes([person(1, **{"Official email": world["admin_other"].email, "Mobile": "9000000001"}),
                         person(2, **{"Official email": world["superadmin"].email, "Mobile": "9000000002"}),
                         person(3, **{"Official email": world["admin_office"].email, "Mobile": "9000000003"})])
    roster = upload(world["office"], world["admin_parent"], content)
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {2: ("invite", ""), 3: ("invite", ""), 4: ("verify", "")}
    client = signed_in(world["admin_parent"])
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "hold a role elsewhere" not in page
    roster = apply(roster, world["admin_parent"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1, "invited": 2}
    verified = set(GovernmentProfile.objects.filter(organisation=world["office"], status=VerificationStatus.VERIFIED)
                   .values_list("official_email", flat=True))
    assert verified == {world["admin_office"].email}


def test_a_person_given_a_role_elsewhere_between_preview_and_apply_is_not_verified(
        world, django_capture_on_commit_callbacks):
    """An account at an address off the roster's domains is invited, not verified at once,
    at the preview and at the apply alike: a role given between the two is not told by
    the apply's counts either."""
    person_ = UserFactory(email="ravi@karhealth.gov.in", full_name="Ravi Rao")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": person_.email})]))
    assert RosterRow.objects.get(roster=roster).outcome == "invite"
    Membership.objects.create(organisation=world["other"], user=person_, role=MembershipRole.ADMIN)
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert not GovernmentProfile.objects.filter(user=person_, status=VerificationStatus.VERIFIED).exists()
    assert roster.outcome == {"invited": 1}
    assert Invitation.objects.get(email=person_.email).status == InvitationStatus.PENDING


def test_a_roster_verifies_no_auditor_even_at_an_address_on_its_domains(world, django_capture_on_commit_callbacks):
    """An auditor's account is read-only: it is nobody's verified member. Their row is
    refused in the preview with the reason, on the roster's own domain too; someone made
    auditor between the preview and the apply is skipped then, with the same reason, and
    no request is left waiting in their name."""
    auditor = UserFactory(email="ravi@pune.mahaagri.gov.in", full_name="Ravi Rao")
    PlatformRoleFactory(user=auditor, role="auditor", jurisdiction="")
    later = UserFactory(email="meera@pune.mahaagri.gov.in", full_name="Meera Shah")
    content = csv_bytes([person(1, **{"Official email": auditor.email}), person(2, **{"Official email": later.email})])
    roster = upload(world["office"], world["admin_office"], content)
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {2: ("refused", "auditor"), 3: ("verify", "")}
    page = signed_in(world["admin_office"]).get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "1 person is an auditor, whose account is read-only" in page
    PlatformRoleFactory(user=later, role="auditor", jurisdiction="MH")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome.get("skipped") == 1
    assert RosterRow.objects.get(roster=roster, line=3).problems == "auditor"
    assert reasons_of(RosterRow.objects.get(roster=roster, line=3)) == [
        "This person is an auditor: an auditor's account is read-only, and no organisation verifies it."]
    assert not GovernmentProfile.objects.filter(user__in=[auditor, later]).exists()


def test_the_admin_who_applies_a_roster_changes_none_of_their_own_details_through_it(
        world, django_capture_on_commit_callbacks):
    """Another admin uploaded the roster, so its preview does not find the row at the
    applying admin's address their own ("change"): applying it does not change their own
    verified details (nobody decides on their own verification; a roster's row of one's
    own address is refused, as another administrator verifies them). The row is skipped
    with that reason."""
    applier = make_admin(world["office"], email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    own = GovernmentProfileFactory(user=applier, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                   employee_code="OWN-1", mobile="+919800000001")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    assert (roster.change_count, roster.invite_count) == (1, 1)
    roster = apply(roster, applier, django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1, "invited": 1}
    own.refresh_from_db()
    assert (own.employee_code, own.mobile) == ("OWN-1", "+919800000001")
    assert reasons_of(RosterRow.objects.get(roster=roster, line=2)) == [
        "This is your own address: another administrator verifies you."]
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED).exists()


def test_the_admin_who_applies_a_roster_changes_none_of_the_details_of_another_account_of_their_mailbox(
        world, django_capture_on_commit_callbacks):
    """Accounts are one per address, "+tag" and all: the verified details of the applying
    admin's other account ("person1+2@" for "person1@") are theirs too, and stay."""
    applier = make_admin(world["office"], email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    mine = UserFactory(email="person1+2@pune.mahaagri.gov.in", full_name="Person 1")
    EmailAddress.objects.update_or_create(user=mine, email=mine.email, defaults={"verified": True, "primary": True})
    own = GovernmentProfileFactory(user=mine, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                   official_email=mine.email, employee_code="OWN-1", mobile="+919800000001")
    row = person(1, **{"Official email": mine.email, "Name": "Chief Secretary"})
    roster = upload(world["office"], world["admin_office"], csv_bytes([row, person(2)]))
    assert (roster.change_count, roster.invite_count) == (1, 1)
    roster = apply(roster, applier, django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1, "invited": 1}
    own.refresh_from_db()
    assert (own.employee_code, own.mobile, own.verified_name) == ("OWN-1", "+919800000001", mine.full_name)
    assert reasons_of(RosterRow.objects.get(roster=roster, line=2)) == [
        "This is your own address: another administrator verifies you."]
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED).exists()


def test_the_admin_who_applies_a_roster_makes_no_request_in_the_name_of_another_account_of_their_mailbox(
        world, django_capture_on_commit_callbacks):
    applier = make_admin(world["office"], email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    mine = UserFactory(email="person1+2@pune.mahaagri.gov.in", full_name="Person 1")
    EmailAddress.objects.update_or_create(user=mine, email=mine.email, defaults={"verified": True, "primary": True})
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": mine.email})]))
    assert roster.verify_count == 1
    roster = apply(roster, applier, django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert reasons_of(RosterRow.objects.get(roster=roster, line=2)) == [
        "This is your own address: another administrator verifies you."]
    assert not GovernmentProfile.objects.filter(user=mine).exists()


def test_a_roster_changes_no_verified_auditor_s_details(world, django_capture_on_commit_callbacks):
    """Someone verified here who was made an auditor since holds a read-only account: a row
    giving other details for them is refused at the preview with the reason, as a row
    verifying an auditor is; someone made auditor between the preview and the apply keeps
    their details, the row skipped with the same reason."""
    auditor = world["auditor"]
    EmailAddress.objects.create(user=auditor, email="person1@pune.mahaagri.gov.in", verified=True, primary=False)
    held = GovernmentProfileFactory(user=auditor, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                    official_email="person1@pune.mahaagri.gov.in", employee_code="A-1")
    later = UserFactory(email="person2@pune.mahaagri.gov.in")
    kept = GovernmentProfileFactory(user=later, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                    employee_code="A-2")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {2: ("refused", "auditor"), 3: ("change", "")}
    PlatformRoleFactory(user=later, role="auditor", jurisdiction="MH")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert reasons_of(RosterRow.objects.get(roster=roster, line=3)) == [
        "This person is an auditor: an auditor's account is read-only, and no organisation verifies it."]
    held.refresh_from_db()
    kept.refresh_from_db()
    assert (held.employee_code, kept.employee_code) == ("A-1", "A-2")
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED).exists()


def test_a_person_verified_elsewhere_between_preview_and_apply_is_not_moved(world, django_capture_on_commit_callbacks):
    """An account at an address not on the roster's domains is invited; by the time the
    roster is applied the person holds a verification in another organisation: the apply
    leaves it, and invites them as the preview said (its counts tell nothing of them)."""
    person_ = UserFactory(email="ravi@karhealth.gov.in", full_name="Ravi Rao")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": person_.email})]))
    assert RosterRow.objects.get(roster=roster).outcome == "invite"
    held = GovernmentProfileFactory(user=person_, organisation=world["other"], status=VerificationStatus.VERIFIED,
                                    official_email=person_.email)
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    held.refresh_from_db()
    assert held.status == VerificationStatus.VERIFIED
    assert not GovernmentProfile.objects.filter(user=person_, organisation=world["office"],
                                                status=VerificationStatus.VERIFIED).exists()
    assert roster.outcome == {"invited": 1}


def test_a_row_of_someone_superannuated_since_the_preview_is_skipped_and_the_rest_applied(
        world, django_capture_on_commit_callbacks):
    """A date of superannuation ahead at the preview (one already past is refused there) has
    passed by the apply; the person, who has an account, cannot be verified
    (join_request_decide refuses it): their row is skipped, their request waits for an
    admin, and the other rows are applied."""
    retired = UserFactory(email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    soon = timezone.localdate() + timedelta(days=3)
    content = csv_bytes([person(1, **{"Date of superannuation": soon.isoformat()}), person(2)])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.verify_count, roster.invite_count) == (1, 1)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.status == RosterStatus.APPLIED
    assert roster.outcome == {"skipped": 1, "invited": 1}
    waiting = GovernmentProfile.objects.get(user=retired, organisation=world["office"])
    assert waiting.status == VerificationStatus.PENDING
    # The request made in the person's name has a history of its own, naming the roster.
    [event] = AuditEvent.objects.filter(target_type="verification.governmentprofile", target_id=str(waiting.pk))
    assert (event.action, event.actor_role, event.new_values["roster"]) == (
        AuditAction.VERIFICATION_REQUESTED, "system:roster_import", roster.pk)


def test_a_past_date_of_superannuation_for_someone_verified_here_is_refused_at_the_preview(
        world, people, django_capture_on_commit_callbacks):
    """An old list giving a member verified here a date of superannuation already past
    would, once applied, have them revoked for good by the next hourly sweep: the row is
    refused at the preview with the reason (as asking to be verified with a past date
    is), the member keeps their date, and the rest of the roster is applied."""
    content = csv_bytes([person(3, Designation="Typist", **{"Date of superannuation": "2020-03-31"}), person(4)])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.change_count, roster.invite_count, roster.refused_count) == (0, 1, 1)
    assert roster.problems == {"superannuation_past": 1}
    refused = RosterRow.objects.get(roster=roster, line=2)
    assert reasons_of(refused) == [
        "The date of superannuation has passed: applying it would end this member's verification. If they have "
        "retired, revoke their verification on their page; else correct the date."]
    page = signed_in(world["admin_office"]).get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "1 date of superannuation has passed for a member verified here" in page
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1}
    tasks.superannuation_lapse()
    people["here"].refresh_from_db()
    assert (people["here"].status, people["here"].superannuation_date.isoformat()) == (VerificationStatus.VERIFIED,
                                                                                       "2041-03-31")


PASSED = {
    "en": ("2 dates of superannuation have passed for people not verified here",
           "The date of superannuation has passed: nobody is verified or invited after it. Correct the date if it is "
           "wrong."),
    "hi": ("यहाँ सत्यापित न किए गए 2 व्यक्तियों की अधिवर्षिता की तिथियाँ बीत चुकी हैं",
           "अधिवर्षिता की तिथि बीत चुकी है: उसके बाद किसी को सत्यापित या आमंत्रित नहीं किया जाता। यदि तिथि गलत है तो "
           "उसे सुधारें।"),
    "mr": ("येथे न पडताळलेल्या 2 व्यक्तींचे सेवानिवृत्तीचे दिनांक उलटून गेले आहेत",
           "सेवानिवृत्तीचा दिनांक उलटून गेला आहे: त्यानंतर कोणालाही पडताळले किंवा आमंत्रित केले जात नाही. दिनांक "
           "चुकीचा असल्यास तो दुरुस्त करा."),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_past_date_of_superannuation_for_someone_to_be_invited_or_verified_is_refused_at_the_preview(
        world, people, language, django_capture_on_commit_callbacks):
    """A roster row for someone not verified here whose date of superannuation has passed
    would invite them (no account) or verify them (an account), only for their verification
    to end at once: the row is refused at the preview with the reason, in the reader's
    language, and nothing is sent for it."""
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    content = csv_bytes([person(1, **{"Date of superannuation": yesterday}),
                         person(4, **{"Date of superannuation": yesterday}), person(5)])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (0, 1, 2)
    assert roster.problems == {"superannuation_passed": 2}
    client = signed_in(world["admin_office"])
    client.cookies["django_language"] = language
    summary, reason = PASSED[language]
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert summary in page
    assert page.count(reason) == 2
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1}
    assert not Invitation.objects.filter(email="person4@pune.mahaagri.gov.in").exists()
    assert not GovernmentProfile.objects.filter(user=people["one"], organisation=world["office"]).exists()


def test_a_date_of_superannuation_passed_between_preview_and_apply_is_not_written(
        world, people, django_capture_on_commit_callbacks):
    """The date was ahead at the preview and has passed by the apply: the row is skipped,
    its reason kept on it, and the member keeps the date known here."""
    soon = timezone.localdate() + timedelta(days=3)
    roster = upload(world["office"], world["admin_office"],
                    csv_bytes([person(3, Designation="Typist", **{"Date of superannuation": soon.isoformat()})]))
    assert roster.change_count == 1
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert RosterRow.objects.get(roster=roster).problems == "superannuation_past"
    people["here"].refresh_from_db()
    assert people["here"].superannuation_date.isoformat() == "2041-03-31"


def test_an_invitation_whose_date_of_superannuation_passed_between_preview_and_apply_is_not_sent(
        world, people, django_capture_on_commit_callbacks):
    """The date was ahead at the preview and has passed by the apply, for someone to be
    invited (no account) and for an invitation waiting here whose details change: accepting
    such an invitation verifies nobody (the date has passed), so none is made or changed and
    no mail goes; both rows are skipped with the preview's reason for such a date."""
    soon = (timezone.localdate() + timedelta(days=3)).isoformat()
    first = upload(world["office"], world["admin_office"], csv_bytes([person(5)]))
    apply(first, world["admin_office"], django_capture_on_commit_callbacks)
    waiting = Invitation.objects.get(email="person5@pune.mahaagri.gov.in")
    mails = OutboxMessage.objects.count()
    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(4, **{"Date of superannuation": soon}), person(5, **{"Date of superannuation": soon})]))
    assert (roster.invite_count, roster.change_count) == (1, 1)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 2}
    assert list(RosterRow.objects.filter(roster=roster).order_by("line").values_list("problems", flat=True)) == [
        "superannuation_passed", "superannuation_passed"]
    assert not Invitation.objects.filter(email="person4@pune.mahaagri.gov.in").exists()
    assert Invitation.objects.get(pk=waiting.pk).superannuation_date == waiting.superannuation_date
    assert OutboxMessage.objects.count() == mails


def test_an_invitation_to_an_address_no_longer_official_since_the_preview_is_not_sent(
        world, django_capture_on_commit_callbacks):
    """Between the preview and "Apply" a superadmin marks a domain a personal mail service,
    and another domain accepted for this office goes to another organisation: the rows to
    invite at them are skipped with the preview's reasons (no invitation, no mail), as
    sending an invitation again would refuse them, and so is the row of someone to verify
    whose account no longer has the address (invited instead); the row still official is
    invited."""
    OrganisationDomain.objects.create(organisation=world["office"], domain="pune.agri.res.in", is_verified=True)
    one = UserFactory(email="person1@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(1), person(4), person(5, domain="pune.agri.res.in"), person(6, domain="mahaagri.gov.in")]))
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (1, 3, 0)
    EmailSuffixRule.objects.create(suffix="pune.mahaagri.gov.in", kind=SuffixKind.CONSUMER)
    OrganisationDomain.objects.filter(domain="pune.agri.res.in").update(organisation=world["other"])
    EmailAddress.objects.filter(user=one).delete()
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 3, "invited": 1}
    rows = RosterRow.objects.filter(roster=roster).order_by("line")
    assert list(rows.values_list("problems", flat=True)) == [
        "email_consumer", "email_consumer", "email_not_official", ""]
    assert list(Invitation.objects.values_list("email", flat=True)) == ["person6@mahaagri.gov.in"]
    assert list(OutboxMessage.objects.values_list("to", flat=True)) == [["person6@mahaagri.gov.in"]]
    assert reasons_of(rows[0]) == ["The email address is a personal mail service, never official."]


def test_the_task_s_soft_time_limit_leaves_the_import_to_carry_on(world, monkeypatch, django_capture_on_commit_callbacks):
    """Celery raises SoftTimeLimitExceeded inside the running batch, whose transaction is
    rolled back: the import is not stopped as failed, the task runs again and carries on."""
    from celery.exceptions import SoftTimeLimitExceeded

    from verification.rosters import apply as apply_module
    from verification.rosters import tasks

    for i in range(1, 4):
        UserFactory(email=f"person{i}@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in range(1, 4)]))
    with django_capture_on_commit_callbacks(execute=False):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    real_verify_row, calls, dispatched = apply_module.verify_row, [], []

    def verify_row(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return real_verify_row(*args, **kwargs)

    monkeypatch.setattr(apply_module, "verify_row", verify_row)
    monkeypatch.setattr(tasks, "roster_apply_dispatch", dispatched.append)
    tasks.roster_apply(roster.pk)
    roster.refresh_from_db()
    assert (roster.status, roster.error, roster.progress_done) == (RosterStatus.APPLYING, "", 1)
    assert dispatched == [roster.pk]
    tasks.roster_apply(roster.pk)  # the next run
    roster.refresh_from_db()
    assert (roster.status, roster.progress_done, roster.outcome) == (RosterStatus.APPLIED, 3, {"verified": 3})
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_FAILED).exists()


@pytest.mark.parametrize("error", ["OperationalError", "InterfaceError"])
def test_a_batch_that_meets_a_transient_database_error_is_tried_again_not_failed_for_good(
        world, monkeypatch, django_capture_on_commit_callbacks, error):
    """A batch meets a transient database error (PostgreSQL's "deadlock detected" against an
    admin deciding about the same person, a connection reset during a failover): its
    transaction is rolled back, nothing half-written. The import is queued again, as at the
    soft time limit, and the next run finishes it; nothing is failed or audited as such."""
    from django import db

    from verification.rosters import apply as apply_module
    from verification.rosters import tasks

    UserFactory(email="person1@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    with django_capture_on_commit_callbacks(execute=False):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    real_apply_rest, calls, dispatched = apply_module._apply_rest, [], []

    def apply_rest(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise getattr(db, error)("deadlock detected")
        return real_apply_rest(*args, **kwargs)

    monkeypatch.setattr(apply_module, "_apply_rest", apply_rest)
    monkeypatch.setattr(tasks, "roster_apply_dispatch", dispatched.append)
    tasks.roster_apply(roster.pk)
    roster.refresh_from_db()
    assert (roster.status, roster.error, dispatched) == (RosterStatus.APPLYING, "", [roster.pk])
    tasks.roster_apply(roster.pk)  # the next run
    roster.refresh_from_db()
    assert (roster.status, roster.outcome) == (RosterStatus.APPLIED, {"verified": 1, "invited": 1})
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_FAILED).exists()


def test_a_batch_the_database_keeps_refusing_stops_the_import_after_a_few_tries_and_its_page_says_why(
        world, monkeypatch, django_capture_on_commit_callbacks):
    """The same batch meets a database error at every try: the import is tried again a few
    times (APPLY_RUNS_WITHOUT_PROGRESS), then stopped, audited as a failure, and its page
    says why, in the admin's language."""
    from django.db import OperationalError
    from django.utils import translation

    from verification.rosters import apply as apply_module
    from verification.rosters import tasks

    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4), person(5)]))
    with django_capture_on_commit_callbacks(execute=False):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])

    def refused(*args, **kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(apply_module, "_apply_rest", refused)
    dispatched = []
    monkeypatch.setattr(tasks, "roster_apply_dispatch", dispatched.append)
    for _try in range(apply_module.APPLY_RUNS_WITHOUT_PROGRESS):
        tasks.roster_apply(roster.pk)
    roster.refresh_from_db()
    assert (roster.status, roster.error) == (RosterStatus.FAILED, apply_module.DATABASE_REFUSED)
    assert len(dispatched) == apply_module.APPLY_RUNS_WITHOUT_PROGRESS - 1
    failed = AuditEvent.objects.get(action=AuditAction.ROSTER_APPLY_FAILED)
    assert failed.new_values == {"status": RosterStatus.FAILED, "error": apply_module.DATABASE_REFUSED}
    admin = signed_in(world["admin_office"])
    for language in ("en", "hi", "mr"):
        admin.cookies["django_language"] = language
        body = admin.get(f"/verification/rosters/{roster.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        with translation.override(language):
            said = translation.gettext("The database refused its rows at every try (it was busy, or its connection "
                                       "was lost), so it was stopped.")
        assert said in body and (language == "en" or "The database" not in said), language


def test_verifying_stops_at_the_end_of_the_task_s_slice_and_carries_on(world, monkeypatch):
    """A batch's verifications stop once the run's time is up (a batch of 5,000 of them
    took longer than the margin between the slice and the task's soft time limit)."""
    from verification.rosters import apply as apply_module

    for i in range(1, 4):
        UserFactory(email=f"person{i}@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in range(1, 4)]))
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.QUEUED, apply_requested_by=world["admin_office"],
                                                     progress_total=3)
    clock = iter(range(0, 1000, 75))  # each look at the clock 75 s later: the third row is past 200 s
    monkeypatch.setattr(apply_module, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    assert apply_module.roster_apply_run(roster_id=roster.pk, budget_seconds=200) is False
    roster.refresh_from_db()
    assert (roster.status, roster.progress_done) == (RosterStatus.APPLYING, 2)


def test_someone_who_confirms_the_address_between_preview_and_apply_is_verified_not_invited(
        world, django_capture_on_commit_callbacks):
    """Invited at the preview (no account had the address); the person signs up and
    confirms it before the roster is applied. An invitation could never be accepted
    (accepting it is confirming the address): they are verified instead."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    assert roster.invite_count == 2
    late = UserFactory(email="person1@pune.mahaagri.gov.in")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1, "invited": 1}
    profile = GovernmentProfile.objects.get(user=late, organisation=world["office"])
    assert (profile.status, profile.method) == (VerificationStatus.VERIFIED, VerificationMethod.ROSTER)
    assert list(Invitation.objects.values_list("email", flat=True)) == ["person2@pune.mahaagri.gov.in"]


def verified_elsewhere_with(world, mobile, *, shown=True):
    """Another person verified, in another organisation, with ``mobile`` (since a preview),
    shown to verified government users (``shown``: what the verification API finds them by)."""
    holder = UserFactory(email="ravi.rao@karhealth.gov.in")
    GovernmentProfileFactory(user=holder, organisation=world["other"], status=VerificationStatus.VERIFIED,
                             official_email=holder.email, mobile=mobile)
    if shown:
        contacts_shown_to_verified_users(world["other"])


def test_a_mobile_number_another_person_was_verified_with_since_the_preview_is_not_verified_twice(
        world, django_capture_on_commit_callbacks):
    """The preview found the number free; by the apply another verified person holds it:
    the row is skipped, its reason kept on it, and the number keeps one holder."""
    one = UserFactory(email="person1@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert roster.verify_count == 1
    verified_elsewhere_with(world, "+919876500001")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert not GovernmentProfile.objects.filter(user=one, status=VerificationStatus.VERIFIED).exists()
    assert RosterRow.objects.get(roster=roster).problems == "mobile_taken"


def test_a_waiting_request_whose_own_mobile_number_another_verified_person_holds_is_not_verified_by_a_roster(
        world, django_capture_on_commit_callbacks):
    """The person asked the office with a number another verified person holds; the roster
    lists them with a free one (the request made after the preview, which refuses a row whose
    person's request gives other details). Applying it would verify their waiting request as
    they made it: with their own number, which would then have two holders. The row is skipped
    instead, its reason kept on it."""
    verified_elsewhere_with(world, "+919999900000")
    one = UserFactory(email="person1@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert roster.verify_count == 1
    GovernmentProfileFactory(user=one, organisation=world["office"], official_email=one.email, mobile="+919999900000",
                             designation="Peon")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert GovernmentProfile.objects.filter(status=VerificationStatus.VERIFIED, mobile="+919999900000").count() == 1
    assert RosterRow.objects.get(roster=roster).problems == "mobile_taken"
    assert GovernmentProfile.objects.get(user=one, organisation=world["office"]).status == VerificationStatus.PENDING


def test_a_row_to_verify_whose_address_left_its_account_counts_what_inviting_did(
        world, settings, django_capture_on_commit_callbacks):
    """The address of a row to verify was removed from its account before the apply: the
    person is invited instead, and the finished line counts what inviting did. Already
    invited here (by another roster): nothing is invited, and none is counted so; invited
    but not mailed (the mailbox had its day's invitation mails): said so, its row listed."""
    one = UserFactory(email="person1@pune.mahaagri.gov.in")
    two = UserFactory(email="person2@pune.mahaagri.gov.in")
    first = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    assert first.verify_count == 2
    EmailAddress.objects.filter(user__in=[one, two]).delete()
    second = upload(world["office"], world["admin_parent"], csv_bytes([person(1)]))
    apply(second, world["admin_parent"], django_capture_on_commit_callbacks)
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    mails_record(["person2@pune.mahaagri.gov.in"], timezone.now())
    first = apply(first, world["admin_office"], django_capture_on_commit_callbacks)
    assert first.outcome == {"unchanged": 1, "invited": 1, "mail_held": 1}
    assert Invitation.objects.get(email="person2@pune.mahaagri.gov.in").send_count == 0
    assert RosterRow.objects.get(roster=first, line=3).problems == "mail_held"
    page = signed_in(world["admin_office"]).get(f"/verification/rosters/{first.pk}/").content.decode()
    assert "1 invited without a mail" in page


def test_the_refused_rows_download_holds_the_rows_to_correct_and_is_audited_with_their_number(
        world, settings, django_capture_on_commit_callbacks):
    """A row refused and a row invited without a mail (its mailbox had the day's invitation
    mails): the page lists both; the download, of the rows to correct and upload again, holds
    the refused one, which its link and its audit row (the breach report counts it) count."""
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    mails_record(["person4@pune.mahaagri.gov.in"], timezone.now())
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4), person(6, Mobile="1")]))
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1, "mail_held": 1}
    client = signed_in(world["admin_office"])
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert re.findall(r"<tr>\s*<td>(\d+)</td>", page) == ["2", "3"]
    assert re.search(r'refused-rows\.csv" download>([^<]*)<', page).group(1) == "Download the refused row (CSV)"
    body = b"".join(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    assert [(row[0], row[3]) for row in rows] == [("3", "person6@pune.mahaagri.gov.in")]
    assert AuditEvent.objects.get(action=AuditAction.ROSTER_REFUSALS_EXPORTED).new_values["rows"] == len(rows)


def test_rows_skipped_when_applying_are_counted_and_listed_with_their_reasons(world, django_capture_on_commit_callbacks):
    """A row the preview counted as "verify" that applying skips (its mobile number taken by
    another verified person since) is said on the finished line and listed with its reason,
    on the page and in the download, besides the rows refused at the preview."""
    UserFactory(email="person1@pune.mahaagri.gov.in")
    content = csv_bytes([person(1), person(2), person(3, **{"Official email": "x@gmail.com"})])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (1, 1, 1)
    verified_elsewhere_with(world, "+919876500001")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1, "invited": 1}
    client = signed_in(world["admin_office"])
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    status = re.search(r'id="roster-progress-status"[^>]*>(.*?)</p>', page, re.S).group(1).strip()
    assert status == ("Finished: 0 verified, 1 invited, 0 changed, 0 unchanged. 1 skipped: its row is listed below "
                      "with the reason.")
    assert "Download the 2 rows left out (CSV)" in page
    listed = re.findall(r"<tr>\s*<td>(\d+)</td>.*?</tr>", page, re.S)
    assert listed == ["2", "4"]
    assert "person1@pune.mahaagri.gov.in" in page and "Skipped when applied" in page
    download = b"".join(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content)
    rows = list(csv.reader(io.StringIO(download.decode("utf-8-sig"))))
    assert [(row[0], row[1], row[3]) for row in rows[1:]] == [
        ("2", "Skipped when applied: This mobile number is held by another verified government user: check the "
              "number with the person.", "person1@pune.mahaagri.gov.in"),
        ("4", "The email address is a personal mail service, never official.", "x@gmail.com")]
    hindi = signed_in(world["admin_office"])
    hindi.cookies["django_language"] = "hi"
    assert "1 पंक्ति छोड़ी गई" in hindi.get(f"/verification/rosters/{roster.pk}/").content.decode()


def test_a_change_to_a_mobile_number_another_person_was_verified_with_since_the_preview_is_skipped(
        world, people, django_capture_on_commit_callbacks):
    """The preview found the new number free for a member verified here ("change"); by the
    apply another verified person holds it: the member keeps their number, the row is
    skipped with its reason kept on it, and the number keeps one holder."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(3, Mobile="9876500099")]))
    assert roster.change_count == 1
    verified_elsewhere_with(world, "+919876500099")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    people["here"].refresh_from_db()
    assert (people["here"].mobile, people["here"].designation) == ("+919876500003", "Typist")
    assert GovernmentProfile.objects.filter(status=VerificationStatus.VERIFIED, mobile="+919876500099").count() == 1
    assert RosterRow.objects.get(roster=roster).problems == "mobile_taken"
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED).exists()


def test_an_address_the_uploader_confirms_between_preview_and_apply_is_skipped_leaving_no_request(
        world, django_capture_on_commit_callbacks):
    """Invited at the preview (no account had the address); the admin who applies the
    roster confirms it on their own account before the apply: nobody verifies themselves,
    and no waiting request is made in their name (they ask themselves if they mean to)."""
    admin = world["admin_office"]
    address = "office.admin.2@pune.mahaagri.gov.in"
    roster = upload(world["office"], admin, csv_bytes([person(1, **{"Official email": address})]))
    assert roster.invite_count == 1
    EmailAddress.objects.create(user=admin, email=address, verified=True, primary=False)
    roster = apply(roster, admin, django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert not GovernmentProfile.objects.filter(user=admin).exists()
    assert not Invitation.objects.exists()


def test_the_last_admin_of_another_organisation_is_refused_in_the_preview_with_the_reason(
        world, django_capture_on_commit_callbacks):
    """The directorate's only admin also has a confirmed address on the office's domain, on
    its roster: verifying them would end the directorate's last admin role, which apply
    refuses. The preview says so already (a refused row, its reason, the count by kind, the
    download) rather than "verified at once". Someone else on the roster who is an admin of
    the department, where another admin's role does not end either, is verified."""
    admin = world["admin_other"]
    GovernmentProfileFactory(user=admin, organisation=world["other"], status=VerificationStatus.VERIFIED)
    EmailAddress.objects.create(user=admin, email="person1@pune.mahaagri.gov.in", verified=True)
    second = UserFactory(email="person2@pune.mahaagri.gov.in", full_name="Person 2")
    GovernmentProfileFactory(user=second, organisation=world["parent"], status=VerificationStatus.VERIFIED,
                             official_email=second.email)
    Membership.objects.create(organisation=world["parent"], user=second, role=MembershipRole.ADMIN)
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {2: ("refused", "last_admin_elsewhere"), 3: ("verify", "")}
    assert (roster.verify_count, roster.refused_count) == (1, 1)
    client = signed_in(world["admin_office"])
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "1 person is the last admin of another organisation and would leave it without one" in page
    assert "This person is the last admin of another organisation" in page
    download = b"".join(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content).decode()
    assert download.count("This person is the last admin of another organisation") == 1
    hindi = signed_in(world["admin_office"])
    hindi.cookies["django_language"] = "hi"
    assert "1 व्यक्ति किसी अन्य संगठन के अंतिम प्रशासक हैं" in hindi.get(f"/verification/rosters/{roster.pk}/").content.decode()
    apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert may_administer(type(admin).objects.get(pk=admin.pk), world["other"])
    assert not GovernmentProfile.objects.filter(user=admin, organisation=world["office"]).exists()
    assert GovernmentProfile.objects.get(user=second, organisation=world["office"]).status == VerificationStatus.VERIFIED


def test_an_admin_role_that_has_lapsed_is_not_the_other_organisations_admin_who_stays(world):
    """The directorate's other admin holds a role resting on a verification past its date of
    superannuation (it counts for nothing from the next request, before the hourly job ends
    it): it does not keep the directorate administered, so the preview refuses the row of
    its admin in force as it refuses the last admin's."""
    admin = world["admin_other"]
    GovernmentProfileFactory(user=admin, organisation=world["other"], status=VerificationStatus.VERIFIED)
    EmailAddress.objects.create(user=admin, email="person1@pune.mahaagri.gov.in", verified=True)
    lapsed = UserFactory(email="retired@karhealth.gov.in")
    GovernmentProfileFactory(user=lapsed, organisation=world["other"], status=VerificationStatus.VERIFIED,
                             superannuation_date=timezone.localdate() - timedelta(days=1))
    Membership.objects.create(organisation=world["other"], user=lapsed, role=MembershipRole.ADMIN)
    assert not may_administer(lapsed, world["other"])
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert [(row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)] == [
        ("refused", "last_admin_elsewhere")]


def test_an_auditors_admin_role_is_not_the_other_organisations_admin_who_stays(world):
    """The directorate's other admin is an auditor, who changes nothing there: their role
    does not keep the directorate administered (the rule the verification services keep),
    so the preview refuses the row of its admin who acts as it refuses the last admin's."""
    admin = world["admin_other"]
    GovernmentProfileFactory(user=admin, organisation=world["other"], status=VerificationStatus.VERIFIED)
    EmailAddress.objects.create(user=admin, email="person1@pune.mahaagri.gov.in", verified=True)
    watcher = UserFactory(email="audit.cell@karhealth.gov.in")
    Membership.objects.create(organisation=world["other"], user=watcher, role=MembershipRole.ADMIN)
    PlatformRoleGrant.objects.create(user=watcher, role=PlatformRole.AUDITOR, jurisdiction="KA")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert [(row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)] == [
        ("refused", "last_admin_elsewhere")]


def test_the_last_admin_of_another_organisation_on_the_roster_is_not_moved_and_the_row_says_why(
        world, django_capture_on_commit_callbacks):
    """The directorate's admin also has a confirmed address on the office's domain, on its
    roster; when the preview was made another admin's role there did not end, and since
    then it was revoked: verifying them now would end the directorate's last admin role.
    The row is skipped at apply with that reason kept on it (the refusals' list says it),
    their request waits for an administrator, and the directorate keeps its admin."""
    from verification.rosters.refusals import reasons_of  # noqa: PLC0415

    admin = world["admin_other"]
    GovernmentProfileFactory(user=admin, organisation=world["other"], status=VerificationStatus.VERIFIED)
    EmailAddress.objects.create(user=admin, email="person1@pune.mahaagri.gov.in", verified=True)
    other_admin = Membership.objects.create(organisation=world["other"], user=UserFactory(), role=MembershipRole.ADMIN)
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert roster.verify_count == 1
    other_admin.delete()
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    row = RosterRow.objects.get(roster=roster)
    assert row.problems == "last_admin_elsewhere"
    assert "last admin of another organisation" in reasons_of(row)[0]
    assert may_administer(type(admin).objects.get(pk=admin.pk), world["other"])
    assert GovernmentProfile.objects.get(user=admin, organisation=world["office"]).status == VerificationStatus.PENDING
    assert GovernmentProfile.objects.get(user=admin, organisation=world["other"]).status == VerificationStatus.VERIFIED


def test_a_mobile_number_kept_from_verified_users_is_no_holders_when_applying(
        world, people, django_capture_on_commit_callbacks):
    """A number another verified person was given since the preview, but which their
    organisation keeps from verified government users (the defaults: its admins), is no
    holder's for the verification API nor for the roster: the row is applied."""
    one = people["one"]
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(3, Mobile="9876500099")]))
    assert (roster.verify_count, roster.change_count) == (1, 1)
    verified_elsewhere_with(world, "+919876500001", shown=False)
    GovernmentProfileFactory(user=UserFactory(email="kept@karhealth.gov.in"), organisation=world["other"],
                             status=VerificationStatus.VERIFIED, mobile="+919876500099")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1, "changed": 1}
    assert GovernmentProfile.objects.filter(user=one, organisation=world["office"],
                                            status=VerificationStatus.VERIFIED).exists()
    people["here"].refresh_from_db()
    assert people["here"].mobile == "+919876500099"
    assert not RosterRow.objects.filter(roster=roster, problems="mobile_taken").exists()


def test_a_successor_who_confirmed_a_predecessor_s_address_is_verified_and_the_predecessor_left_as_they_are(
        world, django_capture_on_commit_callbacks):
    """The official address of a member verified here left their account (their
    verification suspended, address_removed) and their successor in the post confirmed it:
    a roster listing the address with the successor's details verifies the successor (the
    account holder), as their own request would, and never writes their details onto the
    predecessor's suspended profile, which is no longer known here by that address. The
    same at the apply when the address changed hands after the preview ("change" then):
    the row is skipped, the predecessor's record left as it is."""
    address = "section.officer@pune.mahaagri.gov.in"
    predecessor = UserFactory(email="old.holder@pune.mahaagri.gov.in")
    EmailAddress.objects.create(user=predecessor, email=address, verified=True, primary=False)
    old = GovernmentProfileFactory(user=predecessor, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                   official_email=address, mobile="+919800000001", employee_code="OLD-1")
    row = person(7, **{"Official email": address})
    previewed = upload(world["office"], world["admin_office"], csv_bytes([row]))
    assert RosterRow.objects.get(roster=previewed).outcome == "change"
    EmailAddress.objects.filter(user=predecessor, email=address).delete()  # suspends the verification
    old.refresh_from_db()
    assert (old.status, old.reason_code) == (VerificationStatus.SUSPENDED, "address_removed")
    successor = UserFactory(email=address, full_name="Person 7")
    previewed = apply(previewed, world["admin_office"], django_capture_on_commit_callbacks)
    assert previewed.outcome == {"skipped": 1}
    assert RosterRow.objects.get(roster=previewed).problems == "not_held_here"
    old.refresh_from_db()
    assert (old.employee_code, old.mobile, old.status) == ("OLD-1", "+919800000001", VerificationStatus.SUSPENDED)

    roster = upload(world["office"], world["admin_office"], csv_bytes([row]))
    assert (roster.verify_count, roster.change_count, roster.unchanged_count) == (1, 0, 0)
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1}
    old.refresh_from_db()
    assert (old.employee_code, old.mobile, old.status) == ("OLD-1", "+919800000001", VerificationStatus.SUSPENDED)
    new = GovernmentProfile.objects.get(user=successor, organisation=world["office"])
    assert (new.status, new.employee_code, new.mobile) == (VerificationStatus.VERIFIED, "E00007", "+919876500007")
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED).exists()


DECIDED_BY_HAND = (
    "This person's verification in another organisation is suspended, or one here was revoked, for a reason of "
    "theirs (misuse, retirement, leaving service), or an administrator here refused their request: being verified "
    "would undo that decision, which an administrator makes on their request's page. They ask to be verified "
    "themselves.")


def _invited_and_accepted(world, capture, n):
    """Row ``n`` of a roster applied by the office's admin invites its address; the person
    of the world confirms it on their account: what accepting the invitation came to."""
    roster = apply(upload(world["office"], world["admin_office"], csv_bytes([person(n)])), world["admin_office"], capture)
    assert roster.outcome == {"invited": 1}
    address = f"person{n}@pune.mahaagri.gov.in"
    EmailAddress.objects.create(user=world["person"], email=address, verified=True, primary=False)
    return invitation_accept(user=world["person"], email=address).outcome


def _decided_before(world, where):
    """The person's earlier verification, whose decision verifying them would undo."""
    user = world["person"]
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    status, organisation, reason_code = {
        "suspended_elsewhere": (VerificationStatus.SUSPENDED, world["other"], "misuse"),
        "revoked_here": (VerificationStatus.REVOKED, world["office"], "misuse"),
        "rejected_here": (VerificationStatus.REJECTED, world["office"], ""),
    }[where]
    return GovernmentProfileFactory(user=user, organisation=organisation, status=status, reason_code=reason_code,
                                    official_email=user.email)


@pytest.mark.parametrize("where", ["suspended_elsewhere", "revoked_here", "rejected_here"])
def test_a_roster_verifies_nobody_whose_earlier_decision_only_an_administrator_undoes(
        world, where, django_capture_on_commit_callbacks):
    """As the organisation's automatic verification leaves them to an administrator
    (automatic_verification_withheld), a roster's row does not end a suspension elsewhere, nor
    undo a revocation or a refusal here, for a reason of the person's: refused at the preview."""
    _decided_before(world, where)
    user = world["person"]
    roster = upload(world["office"], world["admin_office"],
                    csv_bytes([person(1, **{"Official email": user.email}), person(2)]))
    row = RosterRow.objects.get(roster=roster, line=2)
    assert (row.outcome, row.problems, reasons_of(row)) == (RowOutcome.REFUSED, "decided_by_hand", [DECIDED_BY_HAND])
    assert roster.problems == {"decided_by_hand": 1}
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1}
    assert not GovernmentProfile.objects.filter(user=user, status=VerificationStatus.VERIFIED).exists()


def test_a_suspension_for_misuse_since_the_preview_is_not_ended_by_applying_the_roster(
        world, django_capture_on_commit_callbacks):
    user = world["person"]
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": user.email})]))
    assert roster.verify_count == 1
    suspended = GovernmentProfileFactory(user=user, organisation=world["other"], status=VerificationStatus.SUSPENDED,
                                         reason_code="misuse", official_email="asha@karhealth.gov.in")
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert reasons_of(RosterRow.objects.get(roster=roster, line=2)) == [DECIDED_BY_HAND]
    suspended.refresh_from_db()
    assert suspended.status == VerificationStatus.SUSPENDED
    assert not GovernmentProfile.objects.filter(user=user, status=VerificationStatus.VERIFIED).exists()


@pytest.mark.parametrize("where", ["suspended_elsewhere", "revoked_here", "rejected_here"])
def test_an_invitation_accepted_by_someone_whose_earlier_decision_an_administrator_undoes_waits_for_one(
        world, where, django_capture_on_commit_callbacks):
    earlier = _decided_before(world, where)
    user = world["person"]
    assert _invited_and_accepted(world, django_capture_on_commit_callbacks, 5) == "waiting"
    earlier.refresh_from_db()
    assert earlier.status == {"suspended_elsewhere": VerificationStatus.SUSPENDED, "revoked_here": VerificationStatus.REVOKED,
                              "rejected_here": VerificationStatus.REJECTED}[where]
    [waiting] = GovernmentProfile.objects.filter(user=user, status=VerificationStatus.PENDING)
    assert (waiting.organisation, waiting.official_email) == (world["office"], "person5@pune.mahaagri.gov.in")


REQUEST_DIFFERS = (
    "This person's own request waits here with another official address, mobile number or employee code than the "
    "roster gives: decide it on its page, where both can be compared.")


def _asked_with_other_details(world):
    user = world["person"]
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return GovernmentProfileFactory(user=user, organisation=world["office"], status=VerificationStatus.PENDING,
                                    official_email=user.email, mobile="+919123456789", employee_code="X1",
                                    designation="Director")


def test_a_roster_refuses_at_its_preview_a_row_whose_person_asked_with_other_details(
        world, django_capture_on_commit_callbacks):
    """The admin vouches for what the roster says: a person's own waiting request with
    another official address, mobile or employee code is not verified in its stead, and the
    preview says so, counted with the refusals, rather than counting the row as verified."""
    waiting = _asked_with_other_details(world)
    user = world["person"]
    EmailAddress.objects.create(user=user, email="person1@pune.mahaagri.gov.in", verified=True, primary=False)
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    row = RosterRow.objects.get(roster=roster, line=2)
    assert (row.outcome, row.problems, reasons_of(row)) == (RowOutcome.REFUSED, "request_differs", [REQUEST_DIFFERS])
    assert (roster.verify_count, roster.problems) == (0, {"request_differs": 1})
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1}
    waiting.refresh_from_db()
    assert (waiting.status, waiting.mobile) == (VerificationStatus.PENDING, "+919123456789")


def test_a_roster_leaves_waiting_a_request_made_after_its_preview_with_other_details(
        world, django_capture_on_commit_callbacks):
    """Asked between the preview and the apply: applying the row checks again."""
    user = world["person"]
    EmailAddress.objects.create(user=user, email="person1@pune.mahaagri.gov.in", verified=True, primary=False)
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert roster.verify_count == 1
    waiting = _asked_with_other_details(world)
    roster = apply(roster, world["admin_office"], django_capture_on_commit_callbacks)
    assert roster.outcome == {"skipped": 1}
    assert reasons_of(RosterRow.objects.get(roster=roster, line=2)) == [REQUEST_DIFFERS]
    waiting.refresh_from_db()
    assert (waiting.status, waiting.mobile) == (VerificationStatus.PENDING, "+919123456789")


@pytest.mark.parametrize(("code", "in_row"), [
    ("e00001 ", "E00001"),  # case and spaces aside
    ("\u0958E00001", "\u0958E00001"),  # typed with a decomposed letter (a form keeps it so; every cell is composed)
])
def test_a_roster_verifies_a_waiting_request_that_gives_the_same_details_as_its_row(
        world, django_capture_on_commit_callbacks, code, in_row):
    user = world["person"]
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    waiting = GovernmentProfileFactory(user=user, organisation=world["office"], status=VerificationStatus.PENDING,
                                       official_email=user.email, mobile="+919876500001", employee_code=code)
    row = person(1, **{"Official email": user.email.upper(), "Employee code": in_row})
    roster = apply(upload(world["office"], world["admin_office"], csv_bytes([row])), world["admin_office"],
                   django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1}
    waiting.refresh_from_db()
    assert waiting.status == VerificationStatus.VERIFIED


def test_a_waiting_request_verified_by_a_roster_takes_the_rosters_details_and_a_second_import_changes_nothing(
        world, django_capture_on_commit_callbacks):
    """The person asked as a Peon in Accounts retiring in 2050; the admin's roster says Clerk,
    Establishment, 2041 (the same address, number and employee code). The request was verified
    with its own details, the roster's dropped unsaid (the hourly job would have kept the person
    verified past the date the admin vouched for), and the same file uploaded again read
    "changed". The roster's details are the verified ones, the change audited."""
    from datetime import date

    user = world["person"]
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    waiting = GovernmentProfileFactory(user=user, organisation=world["office"], status=VerificationStatus.PENDING,
                                       official_email=user.email, mobile="+919876500001", employee_code="E00001",
                                       designation="Peon", office="Accounts", superannuation_date=date(2050, 3, 31))
    content = csv_bytes([person(1, **{"Official email": user.email})])
    roster = apply(upload(world["office"], world["admin_office"], content), world["admin_office"],
                   django_capture_on_commit_callbacks)
    assert roster.outcome == {"verified": 1}
    waiting.refresh_from_db()
    assert (waiting.status, waiting.designation, waiting.office, waiting.superannuation_date) == (
        VerificationStatus.VERIFIED, "Clerk", "Establishment", date(2041, 3, 31))
    [changed] = AuditEvent.objects.filter(action=AuditAction.ROSTER_DETAILS_CHANGED, target_id=str(waiting.pk))
    assert changed.old_values == {"designation": "Peon", "office": "Accounts", "superannuation_date": "2050-03-31"}
    assert changed.new_values == {"roster": roster.pk, "designation": "Clerk", "office": "Establishment",
                                  "superannuation_date": "2041-03-31"}
    again = upload(world["office"], world["admin_office"], content)
    assert (again.verify_count, again.invite_count, again.change_count, again.unchanged_count) == (0, 0, 0, 1)


def test_a_waiting_request_verified_by_an_invitation_takes_the_invitations_details(
        world, django_capture_on_commit_callbacks):
    from datetime import date

    user = world["person"]
    waiting = GovernmentProfileFactory(user=user, organisation=world["office"], status=VerificationStatus.PENDING,
                                       official_email="person4@pune.mahaagri.gov.in", mobile="+919876500004",
                                       employee_code="E00004", designation="Peon", office="Accounts",
                                       superannuation_date=None)
    assert _invited_and_accepted(world, django_capture_on_commit_callbacks, 4) == "verified"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.designation, waiting.office, waiting.superannuation_date) == (
        VerificationStatus.VERIFIED, "Clerk", "Establishment", date(2041, 3, 31))


def test_an_invitation_accepted_with_a_request_of_other_details_waiting_leaves_it_for_an_admin(
        world, django_capture_on_commit_callbacks):
    waiting = _asked_with_other_details(world)
    user = world["person"]
    assert _invited_and_accepted(world, django_capture_on_commit_callbacks, 4) == "waiting"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.official_email) == (VerificationStatus.PENDING, user.email)


def test_a_refusal_here_an_admin_undid_since_by_verifying_the_person_refuses_no_row(world):
    """Refused here long ago, verified here later by an admin, moved on since (revoked here as
    a transfer): the roster's row at their address is no decision of an admin's to undo."""
    from datetime import timedelta

    from django.utils import timezone

    user = world["person"]
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    GovernmentProfileFactory(user=user, organisation=world["office"], status=VerificationStatus.REJECTED,
                             official_email=user.email, decided_at=timezone.now() - timedelta(days=900))
    GovernmentProfileFactory(user=user, organisation=world["office"], status=VerificationStatus.REVOKED,
                             reason_code="transfer", official_email=user.email,
                             verified_at=timezone.now() - timedelta(days=400),
                             decided_at=timezone.now() - timedelta(days=30))
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": user.email})]))
    row = RosterRow.objects.get(roster=roster, line=2)
    assert (row.outcome, row.problems) == (RowOutcome.VERIFY, "")
