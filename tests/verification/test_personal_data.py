"""A person's verification data held about them from rosters (invitations to their
addresses, the audit events that name them): what their data download holds and what an
erasure granted to them removes (verification/personal_data.py, verification/erasure.py)."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.privacy.requests import privacy_request_make
from tests.factories import UserFactory
from tests.onboarding.approval_helpers import signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification.rosters import services as roster_services
from verification.rosters.invitations import invitation_accept
from verification.rosters.models import Invitation, InvitationStatus

pytestmark = pytest.mark.django_db

ADDRESS = "person4@pune.mahaagri.gov.in"  # person(4) of the rosters below


def apply_roster(world, rows, capture):
    roster = upload(world["office"], world["admin_office"], csv_bytes(rows))
    with capture(execute=True):
        roster_services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    return roster


def invited_twice(world, capture):
    """Person 4 on two rosters: the first invitation expired and was cancelled by the
    second roster, whose invitation waits. Person 5 is on both rosters too."""
    apply_roster(world, [person(4), person(5)], capture)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(days=1))
    apply_roster(world, [person(4), person(5)], capture)
    assert sorted(Invitation.objects.filter(email=ADDRESS).values_list("status", flat=True)) == ["cancelled", "pending"]


def grant_erasure(root, user):
    made = privacy_request_make(user=user, kind="erasure", details="Please erase my account.")
    admin = signed_in(root)
    response = admin.post(f"/portal/privacy/requests/{made.pk}/",
                          {"decision": "grant", "reason": "Nothing requires keeping it.", "confirm": "on"})
    assert response.status_code == 302, response.content[:2000]


def download(user):
    client = Client()
    client.force_login(user)
    response = client.get("/privacy/my-data/download/")
    assert response.status_code == 200
    return json.loads(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).read("data.json"))


def test_the_download_holds_every_invitation_to_the_persons_address_whatever_its_status(
        world, django_capture_on_commit_callbacks):
    """An invitation cancelled (expired, replaced by a later roster's) still holds the
    person's name, mobile and employee code as the organisation gave them: it is theirs."""
    invited_twice(world, django_capture_on_commit_callbacks)
    four = UserFactory(email=ADDRESS, full_name="Person 4")
    rows = download(four)["roster_invitations"]
    assert sorted(row["status"] for row in rows) == ["cancelled", "pending"], rows
    assert {row["email"] for row in rows} == {ADDRESS}


def test_an_erasure_removes_every_invitation_to_the_persons_address_whatever_its_status(
        world, django_capture_on_commit_callbacks):
    invited_twice(world, django_capture_on_commit_callbacks)
    four = UserFactory(email=ADDRESS, full_name="Person 4")
    assert invitation_accept(user=four, email=ADDRESS) is not None
    grant_erasure(world["superadmin"], four)
    assert list(Invitation.objects.filter(email=ADDRESS).values("status", "name", "mobile", "employee_code")) == []
    # Person 5's stay, whatever their status.
    assert sorted(Invitation.objects.filter(email="person5@pune.mahaagri.gov.in").values_list("status", flat=True)) == [
        InvitationStatus.CANCELLED, InvitationStatus.PENDING]


def test_an_erasure_redacts_the_invitation_sent_events_that_list_the_person(world, django_capture_on_commit_callbacks):
    """A roster's batch event (on the roster) lists every invitation it sent by id and
    address: the organisation's audit log must not keep the erased person's address. The
    batch events of a roster that does not list them stay whole."""
    invited_twice(world, django_capture_on_commit_callbacks)
    other = apply_roster(world, [person(6)], django_capture_on_commit_callbacks)
    four = UserFactory(email=ADDRESS, full_name="Person 4")
    assert invitation_accept(user=four, email=ADDRESS) is not None
    grant_erasure(world["superadmin"], four)
    naming = [(e.action, e.target_type, e.new_values) for e in AuditEvent.objects.all()
              if ADDRESS in str([e.actor_email, e.target_repr, e.old_values, e.new_values])]
    assert naming == []
    kept = AuditEvent.objects.get(action=AuditAction.INVITATION_SENT, target_id=str(other.pk))
    assert kept.redacted_at is None and kept.new_values["invitations"][0][1] == "person6@pune.mahaagri.gov.in"
    assert audit_verify() == []


def test_an_erasure_of_the_admin_who_applied_a_roster_redacts_its_invitation_sent_events(
        world, django_capture_on_commit_callbacks):
    """A roster's batch event is the system's, and names the admin who had the roster
    applied (``invited_by``): their erasure redacts it (the organisation's audit log keeps
    their address no longer); the batch event of a roster a colleague applied stays whole."""
    from tests.verification.helpers import make_admin

    admin = world["admin_office"]
    apply_roster(world, [person(4), person(5)], django_capture_on_commit_callbacks)
    colleague = make_admin(world["office"], email="deputy@pune.mahaagri.gov.in")
    theirs = upload(world["office"], colleague, csv_bytes([person(6)]))
    with django_capture_on_commit_callbacks(execute=True):
        roster_services.roster_apply_request(roster_id=theirs.pk, actor=colleague)
    sent = AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT)
    assert sorted(sent.values_list("new_values__invited_by", flat=True)) == [
        "admin@pune.mahaagri.gov.in", "deputy@pune.mahaagri.gov.in"]

    grant_erasure(world["superadmin"], admin)

    naming = [(e.action, e.actor_role, e.new_values) for e in AuditEvent.objects.all()
              if admin.email in str([e.actor_email, e.target_repr, e.old_values, e.new_values])]
    assert naming == []
    kept = sent.get(target_id=str(theirs.pk))
    assert kept.redacted_at is None and kept.new_values["invited_by"] == "deputy@pune.mahaagri.gov.in"
    assert audit_verify() == []


def test_the_download_holds_the_roster_rows_that_list_the_person(world):
    """A roster uploaded by the office lists the person at their confirmed address with
    their name, mobile, employee code, designation and office: the download holds that row
    (with the organisation, the upload's date and what checking it gave), not the rows of
    anyone else on the roster, nor a row at an address of theirs they never confirmed."""
    from allauth.account.models import EmailAddress

    roster = upload(world["office"], world["admin_office"],
                    csv_bytes([person(4), person(5), person(6, designation="Unconfirmed")]))
    four = UserFactory(email=ADDRESS, full_name="Person 4")
    EmailAddress.objects.create(user=four, email="person6@pune.mahaagri.gov.in", verified=False, primary=False)
    rows = download(four)["roster_rows"]
    assert [(row["organisation"], row["line"], row["name"], row["email"], row["mobile"], row["employee_code"],
             row["designation"], row["office"], row["outcome"]) for row in rows] == [
        (world["office"].name, 2, "Person 4", ADDRESS, "+919876500004", "E00004", "Clerk", "Establishment", "invite")]
    assert rows[0]["uploaded_at"].startswith(roster.uploaded_at.date().isoformat())
    assert "E00005" not in json.dumps(download(four)) and "E00006" not in json.dumps(download(four))


def test_the_download_holds_the_roster_rows_at_an_official_address_the_person_took_off_their_account(world):
    """Verified at their official address, the person took it off their account: an erasure
    granted to them removes the rosters' rows at it (their verification names it), so the
    download, which says it holds what an erasure removes, holds them too; a row at an
    address of theirs now held by another account (the post's next holder) it does not."""
    from allauth.account.models import EmailAddress

    from verification.models import GovernmentProfile, VerificationStatus

    upload(world["office"], world["admin_office"], csv_bytes([person(4), person(5)]))
    four = UserFactory(email="asha.personal@example.com", full_name="Person 4")
    for address in (ADDRESS, "person5@pune.mahaagri.gov.in"):
        GovernmentProfile.objects.create(
            user=four, organisation=world["office"], designation="Clerk", office="Establishment",
            employee_code="E1", official_email=address, mobile="+919876500004", requested_at=timezone.now(),
            status=VerificationStatus.REVOKED)
    UserFactory(email="person5@pune.mahaagri.gov.in")  # the post's next holder
    assert not EmailAddress.objects.filter(user=four, email=ADDRESS).exists()
    rows = download(four)["roster_rows"]
    assert [(row["line"], row["email"], row["employee_code"]) for row in rows] == [(2, ADDRESS, "E00004")]


def test_an_erasure_removes_the_invitation_at_an_official_address_the_person_took_off_their_account(world):
    """The download lists an invitation nobody accepted at an address the person's
    verification knows was theirs (taken off the account, held by nobody else) as theirs;
    the erasure removed only those at the addresses the account still held, leaving their
    name, mobile and employee code to the organisation's admins."""
    from allauth.account.models import EmailAddress

    from portal.privacy.personal_data import personal_data_of
    from portal.privacy.requests import person_erase
    from tests.verification.helpers import GovernmentProfileFactory
    from verification import lifecycle
    from verification.models import VerificationStatus

    asha = UserFactory(email="asha.home@gmail.com", full_name="Asha Kulkarni")
    official = "asha.k@pune.mahaagri.gov.in"
    EmailAddress.objects.create(user=asha, email=official, verified=True, primary=False)
    GovernmentProfileFactory(user=asha, organisation=world["office"], official_email=official,
                             status=VerificationStatus.VERIFIED)
    EmailAddress.objects.filter(user=asha, email=official).delete()
    lifecycle.profiles_suspend_address_removed(user_id=asha.pk, email=official)
    now = timezone.now()
    Invitation.objects.create(organisation=world["office"], email=official, name="Asha Kulkarni", designation="Clerk",
                              office="Pune", employee_code="ASHA-1", mobile="+919876543210",
                              invited_by=world["admin_office"], token_hash="a" * 64, created_at=now, sent_at=now,
                              expires_at=now + timedelta(days=30))
    assert [row["employee_code"] for row in personal_data_of(asha)["roster_invitations"]] == ["ASHA-1"]
    person_erase(user_id=asha.pk, actor=world["superadmin"])
    assert list(Invitation.objects.values_list("name", "mobile")) == []
