"""What an erasure removes besides the account's name and addresses (portal/privacy/requests.py
person_erase; the retention rule for unused accounts, portal/privacy/accounts_retention.py):
the Django admin's history of the account and its addresses, what names the person by an
address they had before, their second factors."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record, audit_verify
from portal.privacy.requests import person_erase
from tests.factories import UserFactory
from tests.onboarding.approval_helpers import second_factor_given, with_totp
from tests.portal.test_role_audit import post_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(root)
    client.force_login(root)
    return second_factor_given(client, root)


def naming(text):
    return [(entry.object_repr, entry.change_message) for entry in LogEntry.objects.all()
            if text in entry.object_repr or text in entry.change_message]


def test_an_erasure_deletes_the_admin_history_of_the_persons_account_and_addresses(admin_client):
    """A superuser changed the person's account and deleted an address of theirs in the
    Django admin: its history pages name them by address. Erased, neither history names
    them (the account's page shows no history at all)."""
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    old = EmailAddress.objects.create(user=asha, email="asha.old@mha.gov.in", verified=True, primary=False)
    post_change(admin_client, asha, full_name="Asha Kulkarni")
    assert admin_client.post(f"/admin/account/emailaddress/{old.pk}/delete/", {"post": "yes"}).status_code == 302
    assert LogEntry.objects.filter(object_id=str(asha.pk)).exists() and naming("asha.old@mha.gov.in")
    assert "asha@mha.gov.in" in admin_client.get(f"/admin/accounts/user/{asha.pk}/history/").content.decode()

    person_erase(user_id=asha.pk, actor=None)

    assert list(LogEntry.objects.filter(object_id=str(asha.pk)).values_list("object_repr", flat=True)) == []
    assert naming("asha") == []
    assert "asha" not in admin_client.get(f"/admin/accounts/user/{asha.pk}/history/").content.decode()


def test_an_erasure_reaches_no_address_the_person_never_confirmed(admin_client):
    """In the Django admin, a staff account added two addresses to Asha's account,
    unconfirmed (their owner confirms an address): her colleagues', by mistake. One it
    deleted again. Neither was proven hers: her erasure removes her own mail from the
    outbox, not the mail of the two colleagues at their own addresses."""
    from django.core.mail import send_mail

    from portal.mail.models import OutboxMessage

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    ravi, meena = "ravi.deshpande@mha.gov.in", "meena.p@mha.gov.in"
    for address in (ravi, meena):
        response = admin_client.post("/admin/account/emailaddress/add/",
                                     {"user": asha.pk, "email": address, "verified": "", "primary": ""})
        assert response.status_code == 302
    mistaken = EmailAddress.objects.get(user=asha, email=meena, verified=False)
    assert admin_client.post(f"/admin/account/emailaddress/{mistaken.pk}/delete/", {"post": "yes"}).status_code == 302
    for address in (asha.email, ravi, meena):
        send_mail("Your verification", "Body.", None, [address])

    person_erase(user_id=asha.pk, actor=None)

    assert sorted(row.to[0] for row in OutboxMessage.objects.all()) == [meena, ravi]


def test_an_unused_account_erased_by_retention_leaves_no_admin_history(admin_client):
    from portal.privacy.accounts_retention import unused_accounts_erase

    clerk = UserFactory(email="clerk@mha.gov.in", full_name="Clerk")
    post_change(admin_client, clerk, full_name="A Clerk")
    assert naming("clerk@mha.gov.in")
    unused_accounts_erase([clerk.pk], timezone.now())
    assert naming("clerk@mha.gov.in") == [] and not LogEntry.objects.filter(object_id=str(clerk.pk)).exists()


def test_an_erasure_redacts_the_membership_events_that_name_the_person_by_an_earlier_address():
    """Her admin role was revoked while her address was another; she changed it since. The
    organisation's event of the revocation names her by the earlier address: it is redacted
    too, and the event about her colleague stays whole."""
    from portal.organisations.services import organisation_admin_revoke
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import make_admin

    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    ravi = make_admin(office, email="ravi@pune.mahaagri.gov.in")
    asha = make_admin(office, email="asha.old@pune.mahaagri.gov.in")
    colleague = make_admin(office, email="colleague@pune.mahaagri.gov.in")
    organisation_admin_revoke(organisation_id=office.pk, user_id=asha.pk, actor=ravi)
    organisation_admin_revoke(organisation_id=office.pk, user_id=colleague.pk, actor=ravi)
    EmailAddress.objects.filter(user=asha, email="asha.old@pune.mahaagri.gov.in").delete()
    EmailAddress.objects.create(user=asha, email="asha.new@pune.mahaagri.gov.in", verified=True, primary=True)
    type(asha).objects.filter(pk=asha.pk).update(email="asha.new@pune.mahaagri.gov.in")
    audit_record(actor=asha, action=AuditAction.USER_EMAIL_CHANGED, target=asha,
                 old={"email": "asha.old@pune.mahaagri.gov.in"}, new={"email": "asha.new@pune.mahaagri.gov.in"})
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED,
                                     old_values__user="asha.old@pune.mahaagri.gov.in").exists()

    person_erase(user_id=asha.pk, actor=None)

    naming_her = [(event.action, event.old_values, event.new_values) for event in AuditEvent.objects.all()
                  if "asha" in str([event.actor_email, event.target_repr, event.old_values, event.new_values])]
    assert naming_her == []
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, redacted_at__isnull=True,
                                     old_values__user="colleague@pune.mahaagri.gov.in").exists()
    assert audit_verify() == []


def test_an_erasure_removes_the_roster_rows_at_an_official_address_the_person_took_off_the_account():
    """The roster lists her at her official address, which she later removed from her
    account (her verification is suspended for it): the erasure removes that row too; a row
    at an official address another account holds now stays (it passed with the post)."""
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import GovernmentProfileFactory, make_admin
    from verification import lifecycle
    from verification.models import VerificationStatus
    from verification.rosters.models import RosterImport, RosterRow

    office = OrganisationFactory(name="Home Department", short_code="HOME-MH")
    admin = make_admin(office, email="admin@mha.gov.in")
    asha = UserFactory(email="asha.home@gmail.com", full_name="Asha Kulkarni")
    official, passed = "asha.kulkarni@mha.gov.in", "section.officer@mha.gov.in"
    EmailAddress.objects.create(user=asha, email=official, verified=True, primary=False)
    GovernmentProfileFactory(user=asha, organisation=office, official_email=official, status=VerificationStatus.VERIFIED)
    GovernmentProfileFactory(user=asha, organisation=office, official_email=passed, status=VerificationStatus.REVOKED)
    UserFactory(email=passed, full_name="Ravi Deshpande")
    roster = RosterImport.objects.create(organisation=office, uploaded_by=admin, uploaded_at=timezone.now(),
                                         file_name="roster.csv", file_sha256="0" * 64, file_format="csv", row_count=3)
    for line, (name, email) in enumerate((("Asha Kulkarni", official), ("Ravi Deshpande", passed),
                                          ("Meena P", "meena@mha.gov.in")), 2):
        RosterRow.objects.create(roster=roster, line=line, name=name, email=email, mobile="+919876543210",
                                 outcome="unchanged")
    EmailAddress.objects.filter(user=asha, email=official).delete()
    lifecycle.profiles_suspend_address_removed(user_id=asha.pk, email=official)

    person_erase(user_id=asha.pk, actor=None)

    assert sorted(RosterRow.objects.values_list("email", flat=True)) == ["meena@mha.gov.in", passed]


def test_an_erasure_deletes_the_persons_second_factors_and_their_sessions_end():
    """Her authenticator app's secret and her recovery codes are hers: the erasure deletes
    them. A browser still signed in as her is signed in no longer."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from django.test import Client

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    with_totp(asha)
    RecoveryCodes.activate(asha)
    ravi = UserFactory(email="ravi@mha.gov.in")
    with_totp(ravi)
    browser = Client()
    browser.force_login(asha)
    second_factor_given(browser, asha)
    assert browser.get("/privacy/my-data/").status_code == 200

    person_erase(user_id=asha.pk, actor=None)

    assert list(Authenticator.objects.filter(user_id=asha.pk).values_list("type", flat=True)) == []
    assert Authenticator.objects.filter(user=ravi).count() == 1
    assert browser.get("/privacy/my-data/").status_code == 302


@pytest.mark.parametrize("engine", ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"])
def test_every_browser_signed_in_as_the_person_is_signed_out_by_the_erasure_granted(settings, engine):
    """Signed in through allauth's own sign-in on two browsers, she asks for her erasure and
    a superadmin grants it: from the next request neither browser reaches a signed-in page,
    whether the sign-ins are kept in the database or in the cache in front of it
    (production's): the account each request reads is inactive, with no usable password."""
    from django.test import Client

    from portal.privacy.requests import privacy_request_make
    from tests.factories import PASSWORD
    from tests.onboarding.approval_helpers import make_superadmin, signed_in

    settings.SESSION_ENGINE = engine
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    browsers = [Client(), Client()]
    for browser in browsers:
        assert browser.post("/accounts/login/", {"login": asha.email, "password": PASSWORD}).status_code == 302
        assert browser.get("/privacy/my-data/").status_code == 200
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    admin = signed_in(make_superadmin(email="root@sandes.nic.in"))
    assert admin.post(f"/portal/privacy/requests/{made.pk}/",
                      {"decision": "grant", "reason": "Nothing requires keeping it.", "confirm": "on"}).status_code == 302

    for browser in browsers:
        response = browser.get("/privacy/my-data/")
        assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=%2Fprivacy%2Fmy-data%2F")
        assert "Asha K" not in browser.get("/").content.decode()


def test_an_erasure_leaves_the_persons_address_in_no_outbox_requeue_event(django_capture_on_commit_callbacks):
    """A superadmin queued a failed mail to her again: the event's text named the message by
    its subject and recipients, and her erasure (which deletes the mail) left her address in
    it. The event names the message by its number only."""
    from django.core.mail import send_mail

    from portal.mail.models import OutboxMessage, OutboxStatus
    from portal.mail.services import outbox_requeue

    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    asha = UserFactory(email="asha.kulkarni@mha.gov.in", full_name="Asha Kulkarni")
    send_mail("Your verification", "Body.", None, [asha.email])
    row = OutboxMessage.objects.get(to=[asha.email])
    OutboxMessage.objects.filter(pk=row.pk).update(status=OutboxStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=False):
        assert outbox_requeue(outbox_id=row.pk, actor=root)
    event = AuditEvent.objects.get(action=AuditAction.OUTBOX_REQUEUED)
    assert (event.target_type, event.target_id, event.target_repr) == (
        "mail.outboxmessage", str(row.pk), f"Outbox message #{row.pk}")

    person_erase(user_id=asha.pk, actor=root)

    assert not OutboxMessage.objects.filter(pk=row.pk).exists()
    naming_her = [(e.action, e.target_repr) for e in AuditEvent.objects.all()
                  if "asha.kulkarni" in str([e.actor_email, e.target_repr, e.old_values, e.new_values])]
    assert naming_her == []
    assert audit_verify() == []


def test_an_erasure_redacts_the_transfer_events_that_name_the_admin_who_verified_elsewhere():
    """Ravi, an admin, verified two people in his office: their verification in another
    organisation ended, and a request waiting in a third was cancelled, by the transfer,
    events of the system that name him in their details (``transferred_by``, as his
    address was typed, capitals and all). His erasure redacts them; a transfer made by
    his colleague stays whole."""
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import GovernmentProfileFactory, make_admin
    from verification import services
    from verification.models import VerificationStatus

    home, health, revenue = (OrganisationFactory(name=name, short_code=code) for name, code in (
        ("Home Department", "HOME-MH"), ("Health Department", "HEALTH-MH"), ("Revenue Department", "REV-MH")))
    ravi = make_admin(home, email="Ravi.Admin@mha.gov.in")
    colleague = make_admin(home, email="colleague@mha.gov.in")
    for number, admin in ((1, ravi), (2, colleague)):
        person = UserFactory(email=f"person{number}@mha.gov.in")
        GovernmentProfileFactory(user=person, organisation=health, status=VerificationStatus.VERIFIED)
        GovernmentProfileFactory(user=person, organisation=revenue)
        moved = GovernmentProfileFactory(user=person, organisation=home)
        services.join_request_decide(profile_id=moved.pk, decision="verify", actor=admin)
    transfers = AuditEvent.objects.filter(actor_role=services.TRANSFER)
    assert sorted(transfers.values_list("action", "new_values__transferred_by")) == [
        (AuditAction.VERIFICATION_CANCELLED, "Ravi.Admin@mha.gov.in"),
        (AuditAction.VERIFICATION_CANCELLED, "colleague@mha.gov.in"),
        (AuditAction.VERIFICATION_ENDED, "Ravi.Admin@mha.gov.in"),
        (AuditAction.VERIFICATION_ENDED, "colleague@mha.gov.in")]

    person_erase(user_id=ravi.pk, actor=None)

    naming_him = [(e.action, e.actor_role, e.new_values) for e in AuditEvent.objects.all()
                  if "ravi.admin" in str([e.actor_email, e.target_repr, e.old_values, e.new_values]).lower()]
    assert naming_him == []
    assert sorted(transfers.filter(redacted_at__isnull=True).values_list("action", "new_values__transferred_by")) == [
        (AuditAction.VERIFICATION_CANCELLED, "colleague@mha.gov.in"),
        (AuditAction.VERIFICATION_ENDED, "colleague@mha.gov.in")]
    assert audit_verify() == []


def test_an_erasure_redacts_the_deadline_events_that_list_the_person_among_those_told(officer):
    """A state administrator told of an overdue application is named in the escalation's event
    (its ``to``): her erasure left her address there, readable in every audit log that shows the
    application. Those events are redacted; one that lists only a colleague stays whole."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    import time_machine

    from portal.privacy.requests import privacy_request_decide, privacy_request_make
    from tests.factories import application_with_authority
    from tests.onboarding.approval_helpers import make_state_admin, make_superadmin, run_beat_jobs

    admin = make_state_admin("MH", email="Admin.MH@maharashtra.gov.in", totp=False)
    root = make_superadmin(email="root@nic.in", totp=False)
    start = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(start, tick=False):
        application_with_authority(nodal_officer=officer)
    with time_machine.travel(start + timedelta(days=7, hours=14, minutes=1), tick=False):
        assert run_beat_jobs()["escalated"] == 1
    escalated = AuditEvent.objects.get(action=AuditAction.STEP_ESCALATED)
    assert escalated.new_values["to"] == ["Admin.MH@maharashtra.gov.in"]
    kept = audit_record(actor=None, action=AuditAction.STEP_REMINDED, target=officer,
                        new={"step": 1, "to": ["colleague@maharashtra.gov.in", "x.admin.mh@maharashtra.gov.in"]})
    # One written before "to" was a personal key: its hash covers the list whole, which no
    # redaction can empty; it is not marked redacted with her address still in it.
    from portal.audit.personal import PERSONAL_VALUE_KEYS

    PERSONAL_VALUE_KEYS.discard("to")
    try:
        older = audit_record(actor=None, action=AuditAction.STEP_ESCALATED, target=officer,
                             new={"step": 1, "to": ["Admin.MH@maharashtra.gov.in"]})
    finally:
        PERSONAL_VALUE_KEYS.add("to")

    made = privacy_request_make(user=admin, kind="erasure", details="Erase my account.")
    privacy_request_decide(request_id=made.pk, grant=True, reason="Granted.", actor=root)

    naming_her = [(e.action, e.new_values) for e in AuditEvent.objects.exclude(pk__in=[kept.pk, older.pk])
                  if "admin.mh@maharashtra.gov.in" in str([e.actor_email, e.target_repr, e.old_values,
                                                           e.new_values]).lower()]
    assert naming_her == []
    escalated.refresh_from_db()
    assert escalated.redacted_at is not None and escalated.new_values["stage"] == "authority"
    kept.refresh_from_db()
    assert kept.redacted_at is None and kept.new_values["to"][0] == "colleague@maharashtra.gov.in"
    older.refresh_from_db()
    assert older.redacted_at is None
    assert audit_verify() == []


def test_an_erasure_of_an_account_whose_address_was_released_leaves_none_of_its_addresses():
    """Releasing a closed account's address recorded every address it had (``addresses``) in
    its event, a key the redaction did not know as personal: the person's erasure marked the
    event redacted and left them all there."""
    from portal.accounts.services import account_address_release
    from portal.privacy.requests import privacy_request_decide, privacy_request_make

    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    asha = UserFactory(email="asha@mha.gov.in")
    EmailAddress.objects.get_or_create(user=asha, email="asha@mha.gov.in", defaults={"verified": True, "primary": True})
    EmailAddress.objects.create(user=asha, email="asha.personal@gmail.com", verified=True, primary=False)
    made = privacy_request_make(user=asha, kind="erasure", details="Erase my account.")
    asha.is_active = False
    asha.save(update_fields=["is_active"])
    account_address_release(user_id=asha.pk, actor=root)
    privacy_request_decide(request_id=made.pk, grant=True, reason="Granted.", actor=root)

    naming_her = [(e.action, e.old_values, e.new_values) for e in AuditEvent.objects.all()
                  if "asha" in str([e.actor_email, e.target_repr, e.old_values, e.new_values])]
    assert naming_her == []
    assert audit_verify() == []
