"""A roster's rows hold every person's details as uploaded: they are needed to apply it
and to list its refusals, then removed by a daily job (the counts stay)."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from tests.factories import UserFactory
from tests.verification.helpers import signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification.rosters import services
from verification.rosters.models import RosterImport, RosterRow, RosterStatus
from verification.rosters.retention import roster_rows_remove
from verification.rosters.tasks import roster_rows_remove as roster_rows_remove_task

pytestmark = pytest.mark.django_db

ROWS = csv_bytes([person(1), person(2, **{"Official email": "someone@gmail.com"})])


def aged(roster, days, **fields):
    """As if uploaded (and applied, when it was) ``days`` ago."""
    when = timezone.now() - timedelta(days=days)
    RosterImport.objects.filter(pk=roster.pk).update(uploaded_at=when, **{name: when for name in fields})
    roster.refresh_from_db()
    return roster


def test_rows_go_keep_days_after_applying_or_uploading_and_the_counts_stay(world, django_capture_on_commit_callbacks):
    keep = settings.ROSTER_ROWS_KEEP_DAYS
    applied = upload(world["office"], world["admin_office"], ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=applied.pk, actor=world["admin_office"])
    applied = aged(applied, keep + 1, applied_at=True)
    recent = aged(upload(world["office"], world["admin_parent"], ROWS), keep - 1)  # another admin's: not replaced below
    never = aged(upload(world["office"], world["admin_office"], ROWS), keep + 1)
    assert RosterRow.objects.count() == 6
    assert roster_rows_remove_task.delay().get() == 2  # the real task, in this process
    assert set(RosterRow.objects.values_list("roster_id", flat=True)) == {recent.pk}
    for roster in (applied, never):
        roster.refresh_from_db()
        assert roster.rows_removed_at is not None and roster.refused_count == 1  # the counts stay
    assert roster_rows_remove() == 0  # done once

    client = signed_in(world["admin_office"])
    page = client.get(f"/verification/rosters/{never.pk}/").content.decode()
    assert "its rows have been removed: upload the file again to import it" in page
    assert "Apply this roster" not in page
    assert "were removed on" in page and "The counts above stay." in page
    refused = client.get(f"/verification/rosters/{never.pk}/refused-rows.csv", follow=True)
    assert refused.redirect_chain == [(f"/verification/rosters/{never.pk}/", 302)]
    assert "there is no list of refusals to download" in refused.content.decode()
    # A roster never applied whose rows are gone cannot be applied, by page or service.
    assert client.post(f"/verification/rosters/{never.pk}/apply/", {"confirm": "on"}).status_code == 302
    services.roster_apply_request(roster_id=never.pk, actor=world["admin_office"])
    never.refresh_from_db()
    assert never.status == RosterStatus.PREVIEWED


@pytest.mark.parametrize("status", [RosterStatus.QUEUED, RosterStatus.APPLYING])
def test_a_roster_whose_apply_never_finished_loses_its_rows_once_no_apply_can_be_running(world, status):
    """A roster queued or being applied when its worker died stayed so, and kept every
    person's details for good: the job took only rosters applied, previewed or stopped by
    an error. Once it was uploaded more than ROSTER_ROWS_KEEP_DAYS ago and its apply began
    more than a day ago (longer than any apply runs), it is marked stopped and its rows go;
    one whose apply began within the day keeps them."""
    from portal.audit.models import AuditAction, AuditEvent

    keep = settings.ROSTER_ROWS_KEEP_DAYS
    stuck = aged(upload(world["office"], world["admin_office"], ROWS), keep + 1)
    running = aged(upload(world["office"], world["admin_parent"], ROWS), keep + 1)
    now = timezone.now()
    RosterImport.objects.filter(pk=stuck.pk).update(status=status, apply_requested_at=now - timedelta(days=2))
    RosterImport.objects.filter(pk=running.pk).update(status=status, apply_requested_at=now - timedelta(hours=2))
    assert roster_rows_remove() == 1
    assert set(RosterRow.objects.values_list("roster_id", flat=True)) == {running.pk}
    stuck.refresh_from_db()
    assert stuck.rows_removed_at is not None and stuck.status == RosterStatus.FAILED
    [failed] = AuditEvent.objects.filter(action=AuditAction.ROSTER_APPLY_FAILED)
    assert failed.target_id == str(stuck.pk) and failed.old_values == {"status": status}
    running.refresh_from_db()
    assert running.status == status and running.rows_removed_at is None
    page = signed_in(world["admin_office"]).get(f"/verification/rosters/{stuck.pk}/").content.decode()
    assert "The import stopped because of an error." in page


def test_the_job_is_on_the_beat_schedule_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["verification-roster-rows-remove"]
    assert entry == {"task": "verification.rosters.tasks.roster_rows_remove", "schedule": crontab(hour=1, minute=45)}


def test_a_roster_that_lists_a_person_under_a_legal_hold_keeps_its_rows(world):
    from portal.privacy.retention import legal_hold_set

    listed = UserFactory(email="person1@pune.mahaagri.gov.in", full_name="Person 1")  # the roster's first row
    legal_hold_set(target_type="accounts.user", target_id=listed.pk, reason="Vigilance inquiry", actor=world["superadmin"])
    held = aged(upload(world["office"], world["admin_office"], ROWS), settings.ROSTER_ROWS_KEEP_DAYS + 1)
    other = aged(upload(world["office"], world["admin_office"], csv_bytes([person(5)])), settings.ROSTER_ROWS_KEEP_DAYS + 1)
    assert roster_rows_remove() == 1
    assert set(RosterRow.objects.values_list("roster_id", flat=True)) == {held.pk}
    other.refresh_from_db()
    assert other.rows_removed_at is not None


@pytest.mark.parametrize("held", ["person", "verification"])
def test_a_roster_that_lists_a_held_person_at_an_address_their_account_no_longer_holds_keeps_its_rows(world, held):
    """Asha was verified at the office at her official address, which the roster lists, and
    has since taken it off her account (her verification, suspended, still names it). A
    legal hold on her, or on that verification record, keeps the record from retention;
    the roster's rows, her details as uploaded, stay too while it lasts (another roster's
    go), as they do for an address her account holds."""
    from allauth.account.models import EmailAddress

    from portal.privacy.retention import legal_hold_set
    from tests.verification.helpers import GovernmentProfileFactory
    from verification import lifecycle
    from verification.models import VerificationStatus

    official = "person1@pune.mahaagri.gov.in"  # the roster's first row
    asha = UserFactory(email="asha.k@mha.gov.in", full_name="Asha K")
    EmailAddress.objects.create(user=asha, email=official, verified=True, primary=False)
    profile = GovernmentProfileFactory(user=asha, organisation=world["office"], official_email=official,
                                       status=VerificationStatus.VERIFIED)
    listing = aged(upload(world["office"], world["admin_office"], ROWS), settings.ROSTER_ROWS_KEEP_DAYS + 1)
    other = aged(upload(world["office"], world["admin_parent"], csv_bytes([person(5)])),
                 settings.ROSTER_ROWS_KEEP_DAYS + 1)
    EmailAddress.objects.filter(user=asha, email=official).delete()
    lifecycle.profiles_suspend_address_removed(user_id=asha.pk, email=official)
    target = ("accounts.user", asha.pk) if held == "person" else ("verification.governmentprofile", profile.pk)
    legal_hold_set(target_type=target[0], target_id=target[1], reason="Vigilance inquiry", actor=world["superadmin"])

    assert roster_rows_remove() == 1
    assert set(RosterRow.objects.values_list("roster_id", flat=True)) == {listing.pk}
    other.refresh_from_db()
    assert other.rows_removed_at is not None


def test_the_invitation_batchs_event_keeps_its_addresses_in_its_personal_part(world, django_capture_on_commit_callbacks):
    """Who invited and whom (every invited address) are personal: redacted with the data
    of an erasure, not part of what the chain hashes in the clear."""
    from portal.audit.models import AuditAction, AuditEvent

    roster = upload(world["office"], world["admin_office"], ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_SENT)
    assert {"invited_by", "invitations"} <= set(event.personal_keys)


def test_each_roster_whose_rows_go_gets_one_system_event_with_counts_only(world):
    """The daily job's removal is on record in the organisation's audit log: one system
    event per roster, about the roster, saying how many rows went and why, never whose."""
    from portal.audit.models import AuditAction, AuditEvent
    from portal.audit.services import audit_verify

    keep = settings.ROSTER_ROWS_KEEP_DAYS
    first = aged(upload(world["office"], world["admin_office"], ROWS), keep + 1)
    second = aged(upload(world["office"], world["admin_parent"], csv_bytes([person(5)])), keep + 1)
    assert roster_rows_remove() == 2
    events = AuditEvent.objects.filter(action=AuditAction.ROSTER_ROWS_REMOVED)
    # target_id is text: "100" sorts before "99"; the rosters in the order they were made.
    assert sorted(((e.actor_id, e.target_type, e.target_id, e.new_values) for e in events),
                  key=lambda row: int(row[2])) == [
        (None, "rosters.rosterimport", str(first.pk), {"rows": 2, "reason": "kept_days"}),
        (None, "rosters.rosterimport", str(second.pk), {"rows": 1, "reason": "kept_days"})]
    assert "pune.mahaagri.gov.in" not in str([(e.target_repr, e.old_values, e.new_values) for e in events])
    assert roster_rows_remove() == 0 and events.count() == 2
    assert audit_verify() == []


def test_a_preview_replaced_by_a_new_upload_is_on_record_as_the_uploaders(world):
    from portal.audit.models import AuditAction, AuditEvent

    earlier = upload(world["office"], world["admin_office"], ROWS)
    upload(world["office"], world["admin_office"], csv_bytes([person(5)]))
    event = AuditEvent.objects.get(action=AuditAction.ROSTER_ROWS_REMOVED)
    assert (event.actor_id, event.target_id, event.new_values) == (
        world["admin_office"].pk, str(earlier.pk), {"rows": 2, "reason": "replaced"})
