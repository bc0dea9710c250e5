"""verification.lifecycle and its beat tasks, with the clock moved forward: lapse at
superannuation, the yearly confirmation of the official address (request, one
reminder, suspension after the grace period), the confirmation link in each of its
states, and that a second run changes nothing and sends nothing."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationStatus,
    ReactivationReason,
    SuspensionReason,
)
from portal.organisations.services import organisation_reactivate, organisation_suspend
from portal.redaction import redact_secret_paths, remove_secret_links
from tests.factories import UserFactory
from tests.onboarding.approval_helpers import messages_to
from tests.verification.helpers import GovernmentProfileFactory, signed_in
from verification import lifecycle, services, tasks
from verification.forms import EndForm
from verification.models import AddressConfirmation, EndReason, GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
START = datetime(2026, 1, 5, 10, 0, tzinfo=IST)
LINK = re.compile(r"http://127\.0\.0\.1:8000(/verification/confirm/[A-Za-z0-9_-]{43}/)")
YEAR = timedelta(days=365)
# The deadline of the request made at START + YEAR (10:00 in India): the end of the day,
# in India's time, 30 days later (VERIFICATION_RECONFIRM_GRACE_DAYS), the date the mails give.
END_OF_DEADLINE = datetime(2027, 2, 4, 23, 59, 59, 999999, tzinfo=IST)


def member(profile):
    return Membership.objects.filter(organisation=profile.organisation, user=profile.user, role=MembershipRole.MEMBER,
                                     is_active=True).exists()


def verified(world, user="person", organisation="office", **fields):
    """A verified profile with its membership, as the services leave one."""
    profile = GovernmentProfileFactory(user=world[user], organisation=world[organisation],
                                       status=VerificationStatus.VERIFIED, **fields)
    Membership.objects.get_or_create(organisation=profile.organisation, user=profile.user,
                                     defaults={"role": MembershipRole.MEMBER})
    return profile


def events(action, profile):
    return list(AuditEvent.objects.filter(action=action, target_type="verification.governmentprofile",
                                          target_id=str(profile.pk)).order_by("id"))


def counts():
    return OutboxMessage.objects.count(), AuditEvent.objects.count(), AddressConfirmation.objects.count()


# Superannuation -------------------------------------------------------------------------------

def test_a_verification_lapses_the_day_after_superannuation_by_the_system_in_the_persons_language(world):
    with time_machine.travel(START, tick=False):
        profile = verified(world, superannuation_date=date(2026, 3, 31), request_language="hi")
    with time_machine.travel(datetime(2026, 3, 31, 23, 0, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 0}  # the date itself: still serving
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.REVOKED and profile.reason_code == EndReason.RETIREMENT
    assert profile.decided_by is None and profile.decided_by_email == ""
    assert profile.verified_at is not None  # history kept
    assert not member(profile)
    [event] = events(AuditAction.VERIFICATION_REVOKED, profile)
    assert event.actor_id is None and event.actor_role == lifecycle.SUPERANNUATION
    assert event.old_values == {"status": "verified"}
    assert event.new_values["reason_code"] == "retirement" and event.new_values["superannuation_date"] == "2026-03-31"
    [mail] = messages_to(world["person"].email)
    assert "District Agriculture Office, Pune" in mail.subject
    assert "31 मार्च 2026" in mail.body  # rendered in Hindi (Django's month names; our messages once translated)
    assert "/verification/organisations/" in mail.body


def test_a_verification_of_a_deactivated_account_lapses_without_a_mail_to_it(world):
    """The lapse's mail asks the person to sign in (their verifications, a request to be
    verified again), which an account deactivated cannot: it lapses, told to nobody."""
    with time_machine.travel(START, tick=False):
        profile = verified(world, superannuation_date=date(2026, 3, 31))
    type(world["person"]).objects.filter(pk=world["person"].pk).update(is_active=False)
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.REVOKED
    assert messages_to(world["person"].email) == []


def test_suspended_profiles_lapse_too_and_nothing_else_is_touched(world):
    past = date(2026, 2, 1)
    with time_machine.travel(START, tick=False):
        suspended = verified(world, superannuation_date=past)
        GovernmentProfile.objects.filter(pk=suspended.pk).update(status=VerificationStatus.SUSPENDED)
        pending = GovernmentProfileFactory(user=world["public"], organisation=world["office"], superannuation_date=past)
        later = verified(world, user="admin_other", organisation="other", superannuation_date=date(2027, 1, 1))
        unknown = verified(world, user="auditor", organisation="parent")
    with time_machine.travel(START + timedelta(days=60), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    assert GovernmentProfile.objects.get(pk=suspended.pk).status == VerificationStatus.REVOKED
    assert [GovernmentProfile.objects.get(pk=p.pk).status for p in (pending, later, unknown)] == [
        VerificationStatus.PENDING, VerificationStatus.VERIFIED, VerificationStatus.VERIFIED]
    assert [e.old_values for e in events(AuditAction.VERIFICATION_REVOKED, suspended)] == [{"status": "suspended"}]


def test_a_suspension_for_a_reason_keeps_it_when_the_verification_lapses(world):
    """An administrator suspended the person, with a reason and their words; their date of
    superannuation then passes: the verification ends, and the record keeps why it was
    suspended (as being verified elsewhere does), the audit row saying what ended it."""
    with time_machine.travel(START, tick=False):
        profile = verified(world, superannuation_date=date(2026, 2, 1))
        services.profile_suspend(profile_id=profile.pk, reason_code=EndReason.MISUSE,
                                 reason="Shared the office's login with a contractor.", actor=world["admin_office"])
    with time_machine.travel(START + timedelta(days=60), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code, profile.reason) == (
        VerificationStatus.REVOKED, EndReason.MISUSE, "Shared the office's login with a contractor.")
    [suspended] = events(AuditAction.VERIFICATION_SUSPENDED, profile)
    assert suspended.new_values["reason_code"] == "misuse"
    [lapsed] = events(AuditAction.VERIFICATION_REVOKED, profile)
    assert lapsed.actor_role == lifecycle.SUPERANNUATION and lapsed.old_values == {"status": "suspended"}
    assert (lapsed.new_values["reason_code"], lapsed.new_values["ended_by"]) == ("misuse", "superannuation")


def lapsing_admin(organisation, superannuation_date, *, granted_by, email):
    """Someone verified in ``organisation`` (their date of superannuation given), made its
    admin by ``granted_by``."""
    from portal.organisations.services import organisation_admin_grant

    admin = UserFactory(email=email, full_name="Resident Deputy Collector")
    GovernmentProfileFactory(user=admin, organisation=organisation, status=VerificationStatus.VERIFIED,
                             official_email=email, superannuation_date=superannuation_date)
    Membership.objects.create(organisation=organisation, user=admin, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=organisation.pk, user_id=admin.pk, actor=granted_by)
    return admin


def test_when_the_system_ends_an_organisations_last_admin_the_superadmins_are_told(world):
    """The collectorate's only admin (verified there, made admin) reaches superannuation: the
    hourly job ends the verification and, the system's ending not held back by the
    last-admin rule, the admin role with it. Requests wait in its queue; nobody administers
    it and nobody was told but the retired admin. With no organisation above it, the
    superadmins, who alone act for it now, are told; an auditor is not."""
    from portal.organisations.models import OrganisationDomain
    from tests.factories import OrganisationFactory

    collectorate = OrganisationFactory(name="Collectorate Pune", short_code="COLL-PUNE")
    OrganisationDomain.objects.create(organisation=collectorate, domain="pune.gov.in", is_verified=True)
    with time_machine.travel(START, tick=False):
        admin = lapsing_admin(collectorate, date(2026, 3, 31), granted_by=world["superadmin"], email="rdc@pune.gov.in")
        GovernmentProfileFactory(user=UserFactory(email="clerk@pune.gov.in"), organisation=collectorate)  # waiting
    told, told_admin = len(messages_to(world["superadmin"].email)), len(messages_to(admin.email))
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    assert not Membership.objects.filter(organisation=collectorate, role=MembershipRole.ADMIN, is_active=True).exists()
    [mail] = messages_to(world["superadmin"].email)[told:]
    assert mail.subject == "Collectorate Pune has no admin any more"
    assert ("The admin role of rdc@pune.gov.in in Collectorate Pune on the Sandes onboarding portal ended by itself "
            "with the verification it rested on, and Collectorate Pune has no admin left whose role does not end.") in mail.body
    assert "No active organisation above it has an admin: as a superadmin, you act for it" in mail.body
    assert f"/roles/organisations/{collectorate.pk}/" in mail.body
    assert not messages_to(world["auditor"].email)
    assert len(messages_to(admin.email)) == told_admin + 1  # their own: the lapse


def test_when_the_system_ends_an_offices_last_admin_the_admins_above_are_told_in_their_language(world):
    """The office's only admin lapses: the department above it has an admin, who acts for the
    office and is told, in the language the portal knows them by; the superadmins are not."""
    from portal.organisations.services import organisation_admin_revoke

    office, parent_admin = world["office"], world["admin_parent"]
    GovernmentProfileFactory(user=parent_admin, organisation=world["parent"], request_language="mr")
    with time_machine.travel(START, tick=False):
        lapsing_admin(office, date(2026, 3, 31), granted_by=parent_admin, email="deputy@pune.mahaagri.gov.in")
        organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk, actor=parent_admin)
    told = len(messages_to(world["superadmin"].email))
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    [mail] = messages_to(parent_admin.email)
    assert "District Agriculture Office, Pune" in mail.subject and "प्रशासक" in mail.subject  # Marathi
    assert "Agriculture Department, Maharashtra" in mail.body
    assert len(messages_to(world["superadmin"].email)) == told
    assert not messages_to(world["admin_office"].email)[1:]  # the revoked admin: only the revocation


def test_an_office_left_without_admin_under_a_suspended_department_is_told_to_the_superadmins(world):
    """The office's only admin lapses while the department above it is suspended: the
    department's admins act for nothing below it (portal.permissions), so they are not told
    they act for the office; the superadmins, who alone act for it now, are, and the mail
    says that no active organisation above it has an admin."""
    from portal.organisations.services import organisation_admin_revoke

    office, parent_admin, root = world["office"], world["admin_parent"], world["superadmin"]
    with time_machine.travel(START, tick=False):
        lapsing_admin(office, date(2026, 3, 31), granted_by=parent_admin, email="deputy@pune.mahaagri.gov.in")
        organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk, actor=parent_admin)
    Organisation.objects.filter(pk=world["parent"].pk).update(status=OrganisationStatus.SUSPENDED)
    told_root, told_parent = len(messages_to(root.email)), len(messages_to(parent_admin.email))
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
    assert not messages_to(parent_admin.email)[told_parent:]
    [mail] = messages_to(root.email)[told_root:]
    assert mail.subject == "District Agriculture Office, Pune has no admin any more"
    assert "No active organisation above it has an admin: as a superadmin, you act for it" in mail.body


def test_one_lapse_run_tells_each_person_who_acts_once_listing_the_organisations_left_without_admin(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Superannuation ends the only admins of five collectorates (nobody above them) and of
    two offices below the agriculture department in one run: every superadmin was sent five
    "has no admin any more" mails, and the department's admin two, one per organisation
    (as many as the batch ended). Each person who acts for them now gets one mail listing
    those they act for, in their language, each with who lost the role, in what capacity
    they act for it and the link to its admins; a person told of one organisation still gets
    that organisation's own mail."""
    from portal.organisations.models import OrganisationDomain
    from tests.factories import OrganisationFactory
    from tests.smtp import text_of
    from tests.test_every_mail_over_smtp import send_and_receive

    root, parent, parent_admin = world["superadmin"], world["parent"], world["admin_parent"]
    GovernmentProfileFactory(user=parent_admin, organisation=parent, request_language="mr")
    collectorates, offices = [], []
    with time_machine.travel(START, tick=False):
        for n in range(5):
            collectorate = OrganisationFactory(name=f"Collectorate {n}", short_code=f"COLL-{n}")
            OrganisationDomain.objects.create(organisation=collectorate, domain=f"coll{n}.gov.in", is_verified=True)
            lapsing_admin(collectorate, date(2026, 3, 31), granted_by=root, email=f"rdc@coll{n}.gov.in")
            collectorates.append(collectorate)
        for n in range(2):
            office = OrganisationFactory(name=f"Taluka Agriculture Office {n}", short_code=f"TAO-{n}", parent=parent)
            OrganisationDomain.objects.create(organisation=office, domain=f"tao{n}.mahaagri.gov.in", is_verified=True)
            lapsing_admin(office, date(2026, 3, 31), granted_by=parent_admin, email=f"tao@tao{n}.mahaagri.gov.in")
            offices.append(office)
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, tasks.superannuation_lapse)
    by_recipient = {}
    for _raw, message in received:
        for address in message["To"].addresses:
            by_recipient.setdefault(address.addr_spec, []).append(message)
    assert len(by_recipient[root.email]) == 1, [str(m["Subject"]) for m in by_recipient[root.email]]
    assert len(by_recipient[parent_admin.email]) == 1, [str(m["Subject"]) for m in by_recipient[parent_admin.email]]
    assert world["auditor"].email not in by_recipient

    [to_root] = by_recipient[root.email]
    assert str(to_root["Subject"]) == "5 organisations have no admin any more"
    body = text_of(to_root)
    for n, collectorate in enumerate(collectorates):
        assert body.count(f"Collectorate {n}:") == 1, body
        assert (f"Collectorate {n}: the admin role of rdc@coll{n}.gov.in ended; no active organisation above it has an "
                f"admin, so you act for it as a superadmin. Its admins: "
                f"{settings.SITE_URL}/portal/roles/organisations/{collectorate.pk}/") in " ".join(body.split()), body
    assert "Taluka" not in body

    [to_parent] = by_recipient[parent_admin.email]
    assert str(to_parent["Subject"]) == "2 संस्थांना आता कोणीही प्रशासक नाही"  # Marathi, theirs
    body = text_of(to_parent)
    for n, office in enumerate(offices):
        assert f"Taluka Agriculture Office {n}" in body and f"tao@tao{n}.mahaagri.gov.in" in body
        assert f"{settings.SITE_URL}/portal/roles/organisations/{office.pk}/" in body
    assert "Agriculture Department, Maharashtra" in body and "Collectorate" not in body


def collectorates_left_without_admin(root, count):
    """``count`` collectorates whose one admin's role rests on a verification lapsing on 31 March
    2026 (granted by ``root``); the nightly lapse run on 1 April: the one mail ``root`` gets of it."""
    from tests.factories import OrganisationFactory

    with time_machine.travel(START, tick=False):
        for n in range(count):
            lapsing_admin(OrganisationFactory(name=f"Collectorate {n}", short_code=f"COLL-{n}"), date(2026, 3, 31),
                          granted_by=root, email=f"rdc@coll{n}.gov.in")
    told = len(messages_to(root.email))
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=IST), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": count}
    [mail] = messages_to(root.email)[told:]
    return mail


def test_a_list_of_organisations_left_without_admin_is_bounded_the_rest_counted(world, monkeypatch):
    """However many organisations one run leaves without an admin, the mail listing them
    names at most ORGANISATIONS_LISTED (two here), and counts the rest, with the link to the
    roles page where each is found."""
    from portal.organisations import services as role_services

    monkeypatch.setattr(role_services, "ORGANISATIONS_LISTED", 2)
    root = world["superadmin"]
    mail = collectorates_left_without_admin(root, 3)
    assert mail.subject == "3 organisations have no admin any more"
    assert "Collectorate 0:" in mail.body and "Collectorate 1:" in mail.body and "Collectorate 2" not in mail.body
    assert mail.body.rstrip().endswith(
        f"… and 1 more organisation left with no admin; find it on the roles page: {settings.SITE_URL}/portal/roles/")


# The opening of the list mail, plainly: each organisation has no admin, the last one's role has ended.
NO_ADMIN_LEFT = {
    "en": ("On the Sandes onboarding portal, each of these organisations now has no admin: the last admin's role "
           "ended by itself with the verification it rested on. You act for each of them:", "whose role does not end"),
    "hi": ("संदेस ऑनबोर्डिंग पोर्टल पर इनमें से हर संगठन का अब कोई प्रशासक नहीं है: अंतिम प्रशासक की भूमिका उस सत्यापन "
           "के साथ अपने आप समाप्त हो गई जिस पर वह टिकी थी। आप इनमें से हर एक के लिए कार्य करते हैं:",
           "जिसकी भूमिका समाप्त नहीं होती"),
    "mr": ("संदेस ऑनबोर्डिंग पोर्टलवरील या प्रत्येक संस्थेला आता कोणीही प्रशासक नाही: शेवटच्या प्रशासकाची भूमिका ती ज्या "
           "पडताळणीवर आधारित होती तिच्यासोबत आपोआप संपली. तुम्ही यांपैकी प्रत्येक संस्थेसाठी काम करता:",
           "भूमिका न संपणारा"),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_list_of_organisations_left_without_admin_says_plainly_that_none_has_one(world, language):
    """The mail opened "none of them has an admin left whose role does not end", hard to
    follow (and as literal in Hindi and Marathi): it says that each has no admin now, the
    last one's role having ended."""

    root = world["superadmin"]
    GovernmentProfileFactory(user=root, organisation=world["parent"], request_language=language)
    mail = collectorates_left_without_admin(root, 2)
    said, not_said = NO_ADMIN_LEFT[language]
    body = " ".join(mail.body.split())
    assert body.startswith(said) and not_said not in body, mail.body


def test_lapsing_twice_changes_nothing_the_second_time(world):
    with time_machine.travel(START, tick=False):
        verified(world, superannuation_date=date(2026, 1, 10))
    with time_machine.travel(START + timedelta(days=10), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 1}
        before = counts()
        assert tasks.superannuation_lapse() == {"revoked": 0}
        # and the service handed the same ids again (a second worker with a stale list)
        assert lifecycle.profiles_lapse(profile_ids=GovernmentProfile.objects.values_list("pk", flat=True)) == 0
    assert counts() == before


def test_lapse_runs_in_batches_until_none_is_left(world, settings):
    settings.VERIFICATION_SWEEP_BATCH = 2
    with time_machine.travel(START, tick=False):
        for _n in range(5):
            GovernmentProfileFactory(status=VerificationStatus.VERIFIED, superannuation_date=date(2026, 1, 1),
                                     organisation=world["office"])
    with time_machine.travel(START + timedelta(days=1), tick=False):
        assert tasks.superannuation_lapse() == {"revoked": 5}
    assert not GovernmentProfile.objects.filter(status=VerificationStatus.VERIFIED).exists()
    assert OutboxMessage.objects.count() == 5


def test_a_batchs_queries_do_not_depend_on_its_size(world, django_assert_num_queries):
    def lapse(n):
        with time_machine.travel(START, tick=False):
            ids = [GovernmentProfileFactory(status=VerificationStatus.VERIFIED, superannuation_date=date(2025, 12, 31),
                                            organisation=world["office"]).pk for _ in range(n)]
        with time_machine.travel(START + timedelta(days=1), tick=False):
            # claim, update, memberships, admin roles resting on them, audit (lock head, read head,
            # insert, move head), outbox
            with django_assert_num_queries(QUERIES_PER_LAPSE_BATCH):
                assert lifecycle.profiles_lapse(profile_ids=ids) == n

    lapse(1)
    lapse(12)


# Counted once, here, for both sizes above; SQLite (the embedded default) takes no advisory
# lock for the audit chain (its write transaction is the lock).
QUERIES_PER_LAPSE_BATCH = 13 if connection.vendor == "postgresql" else 12


# Yearly confirmation --------------------------------------------------------------------------

def run_reconfirmation(at):
    with time_machine.travel(at, tick=False):
        return tasks.address_reconfirmation()


def link_in(message):
    return LINK.search(message.body).group(1)


@pytest.fixture
def due(world):
    """A person verified at START (in Marathi), their official address differing from their
    account's primary one (both confirmed on the account)."""
    EmailAddress.objects.create(user=world["person"], email="asha.k@pune.mahaagri.gov.in", verified=True)
    with time_machine.travel(START, tick=False):
        return verified(world, official_email="asha.k@pune.mahaagri.gov.in", request_language="mr",
                        address_confirmed_at=START)


def test_a_year_after_verification_the_official_address_is_asked_once(world, due):
    assert run_reconfirmation(START + YEAR - timedelta(hours=1)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(START + YEAR) == {"asked": 1, "reminded": 0, "suspended": 0}
    due.refresh_from_db()
    assert due.confirmation_requested_at == START + YEAR
    [mail] = messages_to("asha.k@pune.mahaagri.gov.in")
    assert messages_to(world["person"].email) == []  # to the official address, not the account's
    assert "4 फेब्रुवारी 2027" in mail.body and link_in(mail)  # in Marathi: the deadline's month
    [link] = AddressConfirmation.objects.filter(profile=due)
    assert link.expires_at == END_OF_DEADLINE and link.email == "asha.k@pune.mahaagri.gov.in"
    assert len(link.token_hash) == 64 and link_in(mail).split("/")[-2] not in link.token_hash  # only the hash kept
    before = counts()
    assert run_reconfirmation(START + YEAR + timedelta(days=1)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert counts() == before


def test_one_reminder_then_suspension_after_the_grace_period(world, due):
    asked = START + YEAR
    run_reconfirmation(asked)
    assert run_reconfirmation(asked + timedelta(days=22)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(asked + timedelta(days=23)) == {"asked": 0, "reminded": 1, "suspended": 0}
    assert run_reconfirmation(asked + timedelta(days=24)) == {"asked": 0, "reminded": 0, "suspended": 0}
    first, reminder = messages_to("asha.k@pune.mahaagri.gov.in")
    assert link_in(first) != link_in(reminder)
    assert AddressConfirmation.objects.filter(profile=due, expires_at=END_OF_DEADLINE).count() == 2
    assert run_reconfirmation(asked + timedelta(days=30)) == {"asked": 0, "reminded": 0, "suspended": 0}  # the day told
    assert run_reconfirmation(asked + timedelta(days=31)) == {"asked": 0, "reminded": 0, "suspended": 1}
    due.refresh_from_db()
    assert due.status == VerificationStatus.SUSPENDED and due.reason_code == EndReason.UNCONFIRMED
    assert due.decided_by is None and not member(due)
    [event] = events(AuditAction.VERIFICATION_SUSPENDED, due)
    assert event.actor_id is None and event.actor_role == lifecycle.RECONFIRMATION
    [told] = messages_to(world["person"].email)
    assert "asha.k@pune.mahaagri.gov.in" in told.body and "तुमच्या पडताळण्या" in told.body  # "Your verifications:" in Marathi
    before = counts()
    assert run_reconfirmation(asked + timedelta(days=32)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(asked + YEAR * 2) == {"asked": 0, "reminded": 0, "suspended": 0}  # suspended: not asked
    assert counts() == before


def test_the_date_the_mails_name_is_the_persons_to_the_end_of_that_day_in_indias_time(world, due, client):
    """The mails give a date ("press the button by 4 February 2027"): the link works, and
    the verification stands, to the end of that day in India's time, wherever in the day
    the request went; the job that runs after midnight suspends."""
    asked = START + YEAR  # 5 January 2027, 10:00 in India
    run_reconfirmation(asked)
    run_reconfirmation(asked + timedelta(days=23))
    first, reminder = messages_to("asha.k@pune.mahaagri.gov.in")
    assert "4 फेब्रुवारी 2027" in first.body and "4 फेब्रुवारी 2027" in reminder.body  # the date told (in Marathi)
    assert set(AddressConfirmation.objects.filter(profile=due).values_list("expires_at", flat=True)) == {END_OF_DEADLINE}
    late_that_evening = datetime(2027, 2, 4, 23, 30, tzinfo=IST)
    assert run_reconfirmation(late_that_evening) == {"asked": 0, "reminded": 0, "suspended": 0}
    with time_machine.travel(late_that_evening, tick=False):
        assert open_link(client, link_in(first)).status_code == 200
    assert run_reconfirmation(datetime(2027, 2, 5, 0, 30, tzinfo=IST)) == {"asked": 0, "reminded": 0, "suspended": 1}


CONFIRM_BY = {
    "en": ("Confirm your official address for District Agriculture Office, Pune by 4 February 2027",
           "Reminder: confirm your official address for District Agriculture Office, Pune by 4 February 2027"),
    "hi": ("District Agriculture Office, Pune के लिए अपने आधिकारिक पते की पुष्टि 4 फ़रवरी 2027 तक करें",
           "अनुस्मारक: District Agriculture Office, Pune के लिए अपने आधिकारिक पते की पुष्टि 4 फ़रवरी 2027 तक करें"),
    "mr": ("District Agriculture Office, Pune साठी तुमच्या अधिकृत पत्त्याची पुष्टी 4 फेब्रुवारी 2027 पर्यंत करा",
           "स्मरणपत्र: District Agriculture Office, Pune साठी तुमच्या अधिकृत पत्त्याची पुष्टी 4 फेब्रुवारी 2027 पर्यंत करा"),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_subjects_of_the_request_and_its_reminder_say_by_when(world, due, language):
    """The subject asks the person to confirm their address: it says by when (the day the
    body gives, in India's time), in the language they asked in; not only the body."""
    GovernmentProfile.objects.filter(pk=due.pk).update(request_language=language)
    asked = START + YEAR  # 5 January 2027, 10:00 in India
    run_reconfirmation(asked)
    run_reconfirmation(asked + timedelta(days=23))
    first, reminder = messages_to("asha.k@pune.mahaagri.gov.in")
    assert (first.subject, reminder.subject) == CONFIRM_BY[language]


# How often the request comes, as VERIFICATION_RECONFIRM_DAYS has it; and what it said whatever that was.
EVERY = {
    1: {"en": "Every day we ask you", "hi": "हर दिन हम आपसे", "mr": "दररोज आम्ही तुम्हाला"},
    90: {"en": "Every 90 days we ask you", "hi": "हर 90 दिन में हम आपसे", "mr": "दर 90 दिवसांनी आम्ही तुम्हाला"},
}
ONCE_A_YEAR = {"en": "Once a year", "hi": "वर्ष में एक बार", "mr": "वर्षातून एकदा"}


@pytest.mark.parametrize("days", [90, 1])
@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_request_says_how_often_it_comes_as_configured(world, due, settings, language, days):
    """VERIFICATION_RECONFIRM_DAYS may be anything from 1 to 3,650: the request names that period,
    in the person's language, not a year whatever it is."""
    settings.VERIFICATION_RECONFIRM_DAYS = days
    GovernmentProfile.objects.filter(pk=due.pk).update(request_language=language)
    assert run_reconfirmation(START + timedelta(days=days))["asked"] == 1
    [mail] = messages_to("asha.k@pune.mahaagri.gov.in")
    assert EVERY[days][language] in mail.body and ONCE_A_YEAR[language] not in mail.body, mail.body


# What the request says to someone who did not expect it: ignoring it suspends the verification.
UNEXPECTED = {
    "en": ("If you did not expect this email, or this address is no longer yours, do not press the button: tell your "
           "organisation's administrators on Sandes. Ignoring this email does not stop the suspension.", "ignore it"),
    "hi": ("यदि आपको इस ईमेल की अपेक्षा नहीं थी, या यह पता अब आपका नहीं है, तो बटन न दबाएँ: संदेस पर अपने संगठन के "
           "प्रशासकों को बताएँ। इस ईमेल को अनदेखा करने से निलंबन नहीं रुकता।", "अनदेखा कर सकते"),
    "mr": ("तुम्हाला या ईमेलची अपेक्षा नसल्यास, किंवा हा पत्ता आता तुमचा नसल्यास, बटण दाबू नका: संदेसवरील तुमच्या "
           "संस्थेच्या प्रशासकांना कळवा. या ईमेलकडे दुर्लक्ष केल्याने निलंबन थांबत नाही.", "दुर्लक्ष करू शकता"),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_request_does_not_tell_someone_who_did_not_expect_it_to_ignore_it(world, due, language):
    """Right after saying that the verification is suspended unless confirmed, the request
    ended "If you did not expect this email, you can ignore it": ignored, it suspends the
    verification. It says what to do instead (and not to confirm an address not theirs)."""
    GovernmentProfile.objects.filter(pk=due.pk).update(request_language=language)
    assert run_reconfirmation(START + YEAR)["asked"] == 1
    [mail] = messages_to("asha.k@pune.mahaagri.gov.in")
    said, not_said = UNEXPECTED[language]
    body = " ".join(mail.body.split())
    assert said in body and not_said not in body, mail.body


def test_the_deadline_is_a_day_in_indias_time_not_in_utc(world, due):
    """Asked at 00:30 in India (still the day before in UTC): the day told, the link's end
    and the suspension are India's."""
    asked = datetime(2027, 1, 6, 0, 30, tzinfo=IST)  # 5 January, 19:00 UTC
    assert run_reconfirmation(asked)["asked"] == 1
    [mail] = messages_to("asha.k@pune.mahaagri.gov.in")
    assert "5 फेब्रुवारी 2027" in mail.body
    [link] = AddressConfirmation.objects.filter(profile=due)
    assert link.expires_at == datetime(2027, 2, 5, 23, 59, 59, 999999, tzinfo=IST)
    assert run_reconfirmation(datetime(2027, 2, 5, 23, 30, tzinfo=IST))["suspended"] == 0
    assert run_reconfirmation(datetime(2027, 2, 6, 0, 30, tzinfo=IST))["suspended"] == 1


def test_the_yearly_request_and_its_reminder_are_in_the_profiles_history(world, due):
    """The request and its reminder each mail a link that decides whether the person is
    suspended: each is audited (the administrators read the profile's history before
    reinstating), by the yearly confirmation, with the address the link went to kept in
    the personal part, and the deadline told."""
    run_reconfirmation(START + YEAR)
    [asked] = events("verification.confirmation_requested", due)
    run_reconfirmation(START + YEAR + timedelta(days=23))
    [reminded] = events("verification.confirmation_reminded", due)
    for event, at in ((asked, START + YEAR), (reminded, START + YEAR + timedelta(days=23))):
        assert event.actor_id is None and event.actor_role == lifecycle.RECONFIRMATION
        new = dict(event.new_values)
        assert (datetime.fromisoformat(new.pop("confirmation_requested_at")),
                datetime.fromisoformat(new.pop("deadline"))) == (START + YEAR, END_OF_DEADLINE)
        assert new == {"email": "asha.k@pune.mahaagri.gov.in", "user": world["person"].email,
                       "organisation": world["office"].pk}
        assert {"email", "user"} <= set(event.personal_keys)
        assert event.created_at == at
    history = signed_in(world["admin_office"]).get(f"/verification/profiles/{due.pk}/").content.decode()
    assert "Official address asked to be confirmed" in history and "for the year" not in history
    assert "Reminder to confirm the official address sent" in history
    before = counts()
    assert run_reconfirmation(START + YEAR + timedelta(days=24)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert counts() == before


def test_a_request_or_reminder_batchs_queries_do_not_depend_on_its_size(world, django_assert_num_queries):
    def links(n):
        with time_machine.travel(START, tick=False):
            ids = [GovernmentProfileFactory(status=VerificationStatus.VERIFIED, organisation=world["office"],
                                            address_confirmed_at=START).pk for _ in range(n)]
        # (savepoint) claim, mark, links, outbox, audit (savepoint, lock head, read head, insert,
        # move head, release), (release)
        with time_machine.travel(START + YEAR, tick=False), django_assert_num_queries(QUERIES_PER_LINKS_BATCH):
            assert lifecycle.confirmations_request(profile_ids=ids) == n
        with time_machine.travel(START + YEAR + timedelta(days=23), tick=False), \
                django_assert_num_queries(QUERIES_PER_LINKS_BATCH):
            assert lifecycle.confirmations_remind(profile_ids=ids) == n

    links(1)
    links(12)


# Counted once, here, for both sizes above; SQLite takes no advisory lock for the audit chain.
QUERIES_PER_LINKS_BATCH = 12 if connection.vendor == "postgresql" else 11


def test_giving_back_a_batchs_grace_takes_queries_that_do_not_depend_on_its_size(world, django_assert_num_queries):
    def given_back(n):
        with time_machine.travel(START, tick=False):
            ids = [GovernmentProfileFactory(status=VerificationStatus.VERIFIED, organisation=world["office"],
                                            address_confirmed_at=START).pk for _ in range(n)]
        with time_machine.travel(START + YEAR, tick=False):
            lifecycle.confirmations_request(profile_ids=ids)
        suspend_organisation(world)
        with time_machine.travel(START + YEAR + timedelta(days=2), tick=False), django_assert_num_queries(4):
            assert lifecycle.confirmations_pause(profile_ids=ids) == n  # savepoint, claim, mark, release
        suspend_organisation(world, OrganisationStatus.ACTIVE)
        # (savepoint) claim, profiles, links, audit (savepoint, lock head, read head, insert, move head, release), (release)
        with time_machine.travel(START + YEAR + timedelta(days=9), tick=False), \
                django_assert_num_queries(QUERIES_PER_GIVING_BACK):
            assert lifecycle.confirmations_resume(profile_ids=ids) == n
        assert {profile.confirmation_deadline for profile in GovernmentProfile.objects.filter(pk__in=ids)} == {
            END_OF_DEADLINE + timedelta(days=7)}

    given_back(1)
    given_back(12)


QUERIES_PER_GIVING_BACK = 11 if connection.vendor == "postgresql" else 10


def test_a_late_first_run_sends_no_reminder_and_suspends_at_the_end_of_the_grace_period(world, due):
    """The beat was down for weeks: the request goes out, its reminder comes a grace period later at the earliest."""
    assert run_reconfirmation(START + YEAR + timedelta(days=100)) == {"asked": 1, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(START + YEAR + timedelta(days=123)) == {"asked": 0, "reminded": 1, "suspended": 0}
    assert run_reconfirmation(START + YEAR + timedelta(days=130)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(START + YEAR + timedelta(days=131)) == {"asked": 0, "reminded": 0, "suspended": 1}


def test_a_deactivated_account_is_neither_asked_nor_reminded_nor_suspended(world, due):
    """A deactivated account's verification stays as it was while it is (verified_in_force),
    and the yearly confirmation goes on from where it was once the account is active again:
    its grace period did not count meanwhile (the link confirmed nothing), so it is given
    back, and the reminder names the new date."""
    User = type(world["person"])
    run_reconfirmation(START + YEAR)  # asked while active
    User.objects.filter(pk=world["person"].pk).update(is_active=False)
    before = counts()
    assert run_reconfirmation(START + YEAR + timedelta(days=23)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(START + YEAR + timedelta(days=30)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert counts() == before and GovernmentProfile.objects.get(pk=due.pk).status == VerificationStatus.VERIFIED
    # Another, never asked: not asked while the account is deactivated.
    world["ravi"] = UserFactory(email="ravi@pune.mahaagri.gov.in", full_name="Ravi", is_active=False)
    with time_machine.travel(START, tick=False):
        verified(world, user="ravi", address_confirmed_at=START)
    assert run_reconfirmation(START + YEAR + timedelta(days=31)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert counts() == before
    User.objects.filter(pk=world["person"].pk).update(is_active=True)
    # Not counted from the run that saw the account deactivated (day 23) to this one: 9
    # days given back, the deadline 13 February, the reminder's moment already come.
    assert run_reconfirmation(START + YEAR + timedelta(days=32)) == {"asked": 0, "reminded": 1, "suspended": 0}
    assert GovernmentProfile.objects.get(pk=due.pk).confirmation_deadline == END_OF_DEADLINE + timedelta(days=9)
    assert run_reconfirmation(START + YEAR + timedelta(days=39)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(START + YEAR + timedelta(days=40)) == {"asked": 0, "reminded": 0, "suspended": 1}


def suspend_organisation(world, status=OrganisationStatus.SUSPENDED):
    Organisation.objects.filter(pk=world["office"].pk).update(status=status)


def test_the_grace_the_organisations_suspension_took_is_given_back_with_the_reminder(world, due, client):
    """Asked to confirm (by 4 February), the person cannot: two days later their organisation
    is suspended, and the link answers "There is nothing to confirm" while it is. It was
    suspended at the first hourly run after the reactivation, with no reminder and no day
    left of the grace they were told they had. The days it did not count (from the run that
    saw it stop counting to the one that sees it count again) move the deadline on, the
    links mailed work to the new one, the one reminder comes at its usual moment before it,
    naming it, and only a grace period's days that counted end the verification."""
    asked = START + YEAR  # 5 January 2027, 10:00 in India
    assert run_reconfirmation(asked)["asked"] == 1
    [first] = messages_to("asha.k@pune.mahaagri.gov.in")
    suspend_organisation(world)
    assert run_reconfirmation(asked + timedelta(days=2)) == {"asked": 0, "reminded": 0, "suspended": 0}
    with time_machine.travel(asked + timedelta(days=10), tick=False):
        assert open_link(client, link_in(first)).status_code == 410
    assert run_reconfirmation(asked + timedelta(days=31)) == {"asked": 0, "reminded": 0, "suspended": 0}
    suspend_organisation(world, OrganisationStatus.ACTIVE)
    assert run_reconfirmation(asked + timedelta(days=40)) == {"asked": 0, "reminded": 0, "suspended": 0}
    due.refresh_from_db()
    moved = END_OF_DEADLINE + timedelta(days=38)  # 14 March 2027, the end of the day in India
    assert due.status == VerificationStatus.VERIFIED and due.confirmation_deadline == moved
    [given_back] = events("verification.confirmation_resumed", due)
    assert given_back.actor_id is None and given_back.actor_role == lifecycle.RECONFIRMATION
    assert datetime.fromisoformat(given_back.old_values["deadline"]) == END_OF_DEADLINE
    assert datetime.fromisoformat(given_back.new_values["deadline"]) == moved
    assert datetime.fromisoformat(given_back.new_values["not_counted_from"]) == asked + timedelta(days=2)
    assert AddressConfirmation.objects.get(profile=due).expires_at == moved
    assert run_reconfirmation(asked + timedelta(days=60)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(asked + timedelta(days=61)) == {"asked": 0, "reminded": 1, "suspended": 0}
    _first, reminder = messages_to("asha.k@pune.mahaagri.gov.in")
    assert "14 मार्च 2027" in reminder.body  # the new date, in Marathi
    assert run_reconfirmation(datetime(2027, 3, 14, 23, 30, tzinfo=IST))["suspended"] == 0
    with time_machine.travel(datetime(2027, 3, 14, 23, 30, tzinfo=IST), tick=False):
        assert open_link(client, link_in(first)).status_code == 200  # the first link, to the new end
    assert run_reconfirmation(datetime(2027, 3, 15, 0, 30, tzinfo=IST))["suspended"] == 1


def test_suspending_and_reactivating_the_organisation_stops_the_grace_then_gives_it_all_back_at_once(
        world, due, client, django_capture_on_commit_callbacks):
    """The organisation is suspended by a superadmin twenty minutes before its person's
    deadline to confirm, and reactivated ten days later. The grace stopped counting at the
    suspension itself, not at the next hourly run (the deadline passed in the hour between:
    nothing was marked, and the first run after the reactivation suspended the verification
    at once, with no reminder), and it is given back at the reactivation, not at the run
    after it (the twenty minutes left, made the reminder's seven days from then): the link
    mailed works again at once, to the new end, and the reminder names it."""
    asked = START + YEAR
    assert run_reconfirmation(asked)["asked"] == 1
    assert run_reconfirmation(asked + timedelta(days=23))["reminded"] == 1
    [first, _reminder] = messages_to("asha.k@pune.mahaagri.gov.in")
    office = world["office"]
    suspended_at = END_OF_DEADLINE - timedelta(minutes=20)  # 4 February 2027, 23:39 in India
    with time_machine.travel(suspended_at, tick=False):
        organisation_suspend(organisation_id=office.pk, reason_code=SuspensionReason.UNDER_REVIEW,
                             reason="Under review.", actor=world["superadmin"])
    due.refresh_from_db()
    assert due.confirmation_paused_at == suspended_at
    assert run_reconfirmation(END_OF_DEADLINE + timedelta(minutes=30)) == {"asked": 0, "reminded": 0, "suspended": 0}
    back = suspended_at + timedelta(days=10)
    with time_machine.travel(back, tick=False), django_capture_on_commit_callbacks(execute=True):
        organisation_reactivate(organisation_id=office.pk, reason_code=ReactivationReason.REVIEW_COMPLETED,
                                reason="Reviewed.", actor=world["superadmin"])
    due.refresh_from_db()
    moved = datetime(2027, 2, 21, 23, 59, 59, 999999, tzinfo=IST)  # 7 days after the reactivation
    assert due.confirmation_paused_at is None and due.confirmation_deadline == moved
    assert due.confirmation_reminded_at is None  # the date the mails gave changed: reminded again
    [given_back] = events(AuditAction.VERIFICATION_CONFIRMATION_RESUMED, due)
    assert datetime.fromisoformat(given_back.new_values["not_counted_from"]) == suspended_at
    with time_machine.travel(back + timedelta(minutes=5), tick=False):
        assert open_link(client, link_in(first)).status_code == 200  # before any hourly run
    assert run_reconfirmation(back + timedelta(minutes=30)) == {"asked": 0, "reminded": 1, "suspended": 0}
    assert run_reconfirmation(moved + timedelta(minutes=30)) == {"asked": 0, "reminded": 0, "suspended": 1}


def test_a_reactivation_with_the_broker_down_leaves_the_grace_to_the_hourly_job(world, due, monkeypatch,
                                                                               django_capture_on_commit_callbacks):
    asked = START + YEAR
    run_reconfirmation(asked)
    with time_machine.travel(asked + timedelta(days=2), tick=False):
        organisation_suspend(organisation_id=world["office"].pk, reason_code=SuspensionReason.MISUSE,
                             reason="Under review.", actor=world["superadmin"])

    def refused(*args, **kwargs):
        raise OSError("broker down")

    monkeypatch.setattr(tasks.confirmations_resume_in, "delay", refused)
    with time_machine.travel(asked + timedelta(days=5), tick=False), django_capture_on_commit_callbacks(execute=True):
        organisation_reactivate(organisation_id=world["office"].pk, reason_code=ReactivationReason.OTHER,
                                reason="Reviewed.", actor=world["superadmin"])
    assert GovernmentProfile.objects.get(pk=due.pk).confirmation_paused_at is not None  # reactivated all the same
    run_reconfirmation(asked + timedelta(days=5, minutes=30))
    due.refresh_from_db()
    assert due.confirmation_paused_at is None
    assert due.confirmation_deadline == END_OF_DEADLINE + timedelta(days=3)  # 3 days and the half hour: a day ends it


def reminded_then_suspended_a_fortnight(world):
    """The person asked a year after START and reminded 23 days on; their organisation
    suspended a day before their deadline and active again a fortnight later (no run in
    between gave anything back). Returns when they were asked."""
    asked = START + YEAR
    run_reconfirmation(asked)
    assert run_reconfirmation(asked + timedelta(days=23))["reminded"] == 1
    suspend_organisation(world)
    run_reconfirmation(asked + timedelta(days=29))
    suspend_organisation(world, OrganisationStatus.ACTIVE)
    return asked


def test_a_grace_nearly_over_when_it_stopped_counting_leaves_the_reminders_days_after_it_counts_again(world, due):
    """Suspended a day before the deadline, the organisation active again a fortnight later:
    a day and a half given back would leave no time to read a reminder. The person has at
    least the reminder's days (VERIFICATION_RECONFIRM_REMINDER_DAYS) from then, and is
    reminded at once with the new date."""
    asked = reminded_then_suspended_a_fortnight(world)
    back = asked + timedelta(days=45)  # 19 February 2027
    assert run_reconfirmation(back) == {"asked": 0, "reminded": 1, "suspended": 0}
    due.refresh_from_db()
    assert due.confirmation_deadline == datetime(2027, 2, 26, 23, 59, 59, 999999, tzinfo=IST)  # 7 days on
    *_earlier, reminder = messages_to("asha.k@pune.mahaagri.gov.in")
    assert "26 फेब्रुवारी 2027" in reminder.body
    assert run_reconfirmation(datetime(2027, 2, 26, 23, 0, tzinfo=IST))["suspended"] == 0
    assert run_reconfirmation(datetime(2027, 2, 27, 0, 30, tzinfo=IST))["suspended"] == 1


ONLY_REMINDER = "This is the only reminder. The link works once; a link from an earlier email works too."
DATE_MOVED = ("The date has moved since our earlier email: the days your verification did not count (while your "
              "organisation was suspended, say) are given back to you. The link works once; a link from an earlier "
              "email works too.")


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_second_reminder_after_the_grace_is_given_back_says_the_date_moved_not_that_it_is_the_only_one(
        world, language):
    """The person is reminded (the one reminder, "This is the only reminder"), then their
    organisation is suspended and reactivated: the grace is given back and the reminder goes
    again with the new date, as designed. The second says the date has moved since, in the
    person's language, not that it is the only reminder, which they read the first time."""
    from django.utils import translation

    EmailAddress.objects.create(user=world["person"], email="asha.k@pune.mahaagri.gov.in", verified=True)
    with time_machine.travel(START, tick=False):
        verified(world, official_email="asha.k@pune.mahaagri.gov.in", request_language=language,
                 address_confirmed_at=START)
    asked = reminded_then_suspended_a_fortnight(world)
    assert run_reconfirmation(asked + timedelta(days=45))["reminded"] == 1
    _request, first, second = messages_to("asha.k@pune.mahaagri.gov.in")
    with translation.override(language):
        only, moved = translation.gettext(ONLY_REMINDER), translation.gettext(DATE_MOVED)
    assert language == "en" or moved != DATE_MOVED
    assert only in first.body and moved not in first.body
    assert only not in second.body and moved in second.body, second.body


def test_the_hourly_selectors_of_reminders_and_suspensions_read_an_index(world, require_postgresql):
    """Every hour the job looks for those due for a reminder and for suspension: an index of
    the verified profiles asked to confirm (few of them) answers, not a reading of every profile."""
    with time_machine.travel(START, tick=False):
        for n in range(30):
            GovernmentProfileFactory(status=VerificationStatus.VERIFIED, organisation=world["office"],
                                     address_confirmed_at=START - timedelta(days=n * 10),
                                     confirmation_requested_at=START - timedelta(days=n) if n % 10 == 0 else None)
    with connection.cursor() as cursor:
        # The test's tables are tiny: statistics, as a database in use has them, and no
        # reading of a whole table (which would be cheapest here). Every table: the plan's
        # joins are chosen with the others' statistics too, which autovacuum may have taken
        # when earlier tests of the worker filled them.
        cursor.execute("ANALYZE")
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as selects:
            lifecycle.confirmation_due_ids(now=START + YEAR)
        plans = {}
        for kind, query in zip(("ask", "remind", "suspend"), selects.captured_queries, strict=True):
            cursor.execute("EXPLAIN " + query["sql"])
            plans[kind] = "\n".join(line for (line,) in cursor.fetchall())
        with CaptureQueriesContext(connection) as selects:
            lifecycle.confirmation_pause_ids(now=START + YEAR)
        for kind, query in zip(("pause", "resume"), selects.captured_queries, strict=True):
            cursor.execute("EXPLAIN " + query["sql"])
            plans[kind] = "\n".join(line for (line,) in cursor.fetchall())
    for kind in ("remind", "suspend", "pause", "resume"):
        assert re.search(r"Index Scan (using|on) verification_confirm_asked_idx\b", plans[kind]), plans[kind]
        assert "verification_governmentprofile_pkey" not in plans[kind], plans[kind]


def open_link(client, path):
    response = client.get(path)
    if response.status_code == 302:
        assert response["Location"] == "/verification/confirm/" and response["Referrer-Policy"] == "no-referrer"
        response = client.get(response["Location"])
    return response


def test_confirming_from_the_link_starts_a_new_year(world, due, client):
    asked = START + YEAR
    run_reconfirmation(asked)
    path = link_in(messages_to("asha.k@pune.mahaagri.gov.in")[0])
    with time_machine.travel(asked + timedelta(days=3), tick=False):
        page = open_link(client, path)  # no account needed
        assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
        assert "asha.k@pune.mahaagri.gov.in" in page.text and "District Agriculture Office, Pune" in page.text
        assert GovernmentProfile.objects.get(pk=due.pk).address_confirmed_at == START  # opening confirms nothing
        done = client.post("/verification/confirm/")
    assert done.status_code == 200 and "Your official address is confirmed" in done.text
    due.refresh_from_db()
    assert due.address_confirmed_at == asked + timedelta(days=3)
    assert due.confirmation_requested_at is None and due.status == VerificationStatus.VERIFIED
    [event] = events(AuditAction.VERIFICATION_ADDRESS_CONFIRMED, due)
    assert event.actor_id is None and event.actor_role == "official_address"
    assert event.new_values["email"] == "asha.k@pune.mahaagri.gov.in" and "email" in event.personal_keys
    # No reminder, no suspension; the next request a year after the confirmation.
    assert run_reconfirmation(asked + timedelta(days=40)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(asked + timedelta(days=3) + YEAR) == {"asked": 1, "reminded": 0, "suspended": 0}


def test_a_used_link_says_so(world, due, client):
    run_reconfirmation(START + YEAR)
    run_reconfirmation(START + YEAR + timedelta(days=23))
    first, reminder = (link_in(m) for m in messages_to("asha.k@pune.mahaagri.gov.in"))
    with time_machine.travel(START + YEAR + timedelta(days=24), tick=False):
        open_link(client, reminder)
        assert client.post("/verification/confirm/").status_code == 200
        again = open_link(client, reminder)
        assert again.status_code == 410 and "This link has already been used" in again.text
        # the earlier email's link was used by the same confirmation
        other = open_link(client, first)
        assert other.status_code == 410 and "This link has already been used" in other.text
        # a second press of the button (the page kept open) finds no link in the session
        assert client.post("/verification/confirm/").status_code == 404
    assert len(events(AuditAction.VERIFICATION_ADDRESS_CONFIRMED, due)) == 1


def test_an_expired_link_says_so_and_confirms_nothing(world, due, client):
    run_reconfirmation(START + YEAR)
    path = link_in(messages_to("asha.k@pune.mahaagri.gov.in")[0])
    with time_machine.travel(END_OF_DEADLINE - timedelta(hours=1), tick=False):
        open_link(client, path)  # opened in time, the page left open
    run_reconfirmation(END_OF_DEADLINE + timedelta(minutes=30))
    with time_machine.travel(END_OF_DEADLINE + timedelta(minutes=35), tick=False):
        late = client.post("/verification/confirm/")
        assert late.status_code == 410 and "This link has expired" in late.text
        assert "suspended because no confirmation came in time" in late.text
        page = open_link(client, path)
    assert page.status_code == 410 and "This link has expired" in page.text
    assert GovernmentProfile.objects.get(pk=due.pk).status == VerificationStatus.SUSPENDED
    assert events(AuditAction.VERIFICATION_ADDRESS_CONFIRMED, due) == []


@pytest.mark.parametrize(("status", "reason_code"), [
    (VerificationStatus.SUSPENDED, EndReason.MISUSE),  # by an administrator, within the grace period
    (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED),
    (VerificationStatus.REVOKED, EndReason.TRANSFER),
])
def test_an_expired_link_of_a_verification_ended_otherwise_does_not_blame_the_confirmation(world, client, status,
                                                                                           reason_code):
    """Only a suspension for want of a confirmation is said to be one: whoever holds the
    mailbox is told no other reason, only that the verification is no longer active."""
    from portal.tokens import token_new

    now = timezone.now()
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=status,
                                       reason_code=reason_code, reason="Shared the account")
    raw, digest = token_new()
    AddressConfirmation.objects.create(profile=profile, token_hash=digest, email=profile.official_email,
                                       created_at=now - timedelta(days=31), expires_at=now - timedelta(days=1))
    page = client.get(f"/verification/confirm/{raw}/")
    assert page.status_code == 410 and "This link has expired" in page.text
    assert "no confirmation came in time" not in page.text and "Shared the account" not in page.text
    assert "This verification is no longer active" in page.text


@pytest.mark.parametrize("path", [f"/verification/confirm/{'A' * 43}/", "/verification/confirm/short/",
                                  f"/verification/confirm/{'A' * 44}/", "/verification/confirm/%00%27/"])
def test_an_unknown_link_says_so(client, path):
    page = client.get(path)
    assert page.status_code == 404 and "This link is not valid" in page.text


def test_the_confirm_page_without_a_link_says_where_to_start(client):
    assert "Open the link from your email" in client.get("/verification/confirm/").text
    assert client.post("/verification/confirm/").status_code == 404


def test_a_link_of_a_verification_no_longer_active_confirms_nothing(world, due, client):
    run_reconfirmation(START + YEAR)
    path = link_in(messages_to("asha.k@pune.mahaagri.gov.in")[0])
    with time_machine.travel(START + YEAR + timedelta(days=1), tick=False):
        services.profile_revoke(profile_id=due.pk, reason_code=EndReason.TRANSFER, actor=world["admin_office"])
        page = open_link(client, path)
    assert page.status_code == 410 and "There is nothing to confirm" in page.text


def test_a_link_mailed_before_a_suspension_confirms_nothing_once_the_person_is_reinstated(world, due, client):
    """Reinstating counts as confirming the address and starts a new year: the link of the
    request before the suspension is done with, its page saying the address was confirmed
    then; it neither moves the year nor writes a confirmation."""
    asked = START + YEAR
    run_reconfirmation(asked)
    path = link_in(messages_to("asha.k@pune.mahaagri.gov.in")[0])
    with time_machine.travel(asked + timedelta(days=2), tick=False):
        services.profile_suspend(profile_id=due.pk, reason_code=EndReason.MISUSE, reason="Shared the account.",
                                 actor=world["admin_office"])
        assert open_link(client, path).status_code == 410
    back = asked + timedelta(days=5)
    with time_machine.travel(back, tick=False):
        services.profile_reinstate(profile_id=due.pk, actor=world["admin_office"])
    with time_machine.travel(asked + timedelta(days=10), tick=False):
        page = open_link(client, path)
        done = client.post("/verification/confirm/")
    assert page.status_code == 410 and "This link has already been used" in page.text
    assert done.status_code == 404  # no link kept to confirm with: the page without one
    due.refresh_from_db()
    assert due.address_confirmed_at == back and due.confirmation_requested_at is None
    assert events(AuditAction.VERIFICATION_ADDRESS_CONFIRMED, due) == []


def test_a_link_of_a_verification_past_superannuation_confirms_nothing(world, due, client):
    """The day after superannuation counts at once, before the hourly job revokes it."""
    GovernmentProfile.objects.filter(pk=due.pk).update(superannuation_date=date(2027, 1, 6))
    run_reconfirmation(START + YEAR)
    path = link_in(messages_to("asha.k@pune.mahaagri.gov.in")[0])
    with time_machine.travel(datetime(2027, 1, 6, 23, 0, tzinfo=IST), tick=False):  # still in force
        assert open_link(client, path).status_code == 200
    with time_machine.travel(datetime(2027, 1, 7, 0, 30, tzinfo=IST), tick=False):  # the page left open past midnight
        page = client.get("/verification/confirm/")
        done = client.post("/verification/confirm/")
        again = open_link(client, path)
    assert (page.status_code, done.status_code, again.status_code) == (410, 410, 410)
    assert "There is nothing to confirm" in done.text and "There is nothing to confirm" in again.text
    assert events(AuditAction.VERIFICATION_ADDRESS_CONFIRMED, due) == []
    assert GovernmentProfile.objects.get(pk=due.pk).address_confirmed_at == START


def test_a_link_of_a_verification_in_a_suspended_organisation_confirms_nothing(world, due, client):
    """A suspended organisation vouches for nobody while it is (verified_in_force)."""
    run_reconfirmation(START + YEAR)
    path = link_in(messages_to("asha.k@pune.mahaagri.gov.in")[0])
    Organisation.objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.SUSPENDED)
    with time_machine.travel(START + YEAR + timedelta(days=2), tick=False):
        page = open_link(client, path)
        done = client.post("/verification/confirm/")
    assert page.status_code == 410 and "There is nothing to confirm" in page.text
    assert done.status_code == 404  # the link never reached the session
    assert events(AuditAction.VERIFICATION_ADDRESS_CONFIRMED, due) == []


def test_a_verification_no_longer_in_force_is_not_asked_to_confirm(world, due):
    GovernmentProfile.objects.filter(pk=due.pk).update(superannuation_date=date(2026, 12, 1))
    verified(world, user="admin_other", organisation="other", address_confirmed_at=START - YEAR)
    Organisation.objects.filter(pk=world["other"].pk).update(status=OrganisationStatus.SUSPENDED)
    assert run_reconfirmation(START + YEAR) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert OutboxMessage.objects.count() == 0


def test_reinstating_restarts_the_year(world, due):
    run_reconfirmation(START + YEAR)
    run_reconfirmation(START + YEAR + timedelta(days=31))
    back = START + YEAR + timedelta(days=40)
    with time_machine.travel(back, tick=False):
        services.profile_reinstate(profile_id=due.pk, actor=world["admin_office"])
    due.refresh_from_db()
    assert due.status == VerificationStatus.VERIFIED and due.address_confirmed_at == back
    assert due.confirmation_requested_at is None and due.confirmation_reminded_at is None
    assert run_reconfirmation(back + timedelta(days=60)) == {"asked": 0, "reminded": 0, "suspended": 0}
    assert run_reconfirmation(back + YEAR) == {"asked": 1, "reminded": 0, "suspended": 0}


def test_verifying_starts_the_year(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    profile.refresh_from_db()
    assert profile.address_confirmed_at == profile.verified_at


def test_the_link_never_reaches_a_log_line_or_a_sent_emails_copy(world, due):
    run_reconfirmation(START + YEAR)
    [mail] = messages_to("asha.k@pune.mahaagri.gov.in")
    path = link_in(mail)
    assert redact_secret_paths(f"GET {path} HTTP/1.1") == "GET /verification/confirm/[redacted]/ HTTP/1.1"
    assert "/verification/confirm/" not in remove_secret_links(mail.body)


def test_administrators_cannot_give_the_systems_reason(world):
    with time_machine.travel(START, tick=False):
        profile = verified(world)
    assert "unconfirmed" not in [value for value, _label in EndForm(confirm_label="Yes").fields["reason_code"].choices]
    with pytest.raises(services.ValidationError):
        services.profile_suspend(profile_id=profile.pk, reason_code=EndReason.UNCONFIRMED, actor=world["admin_office"])


def test_both_jobs_are_on_the_beat_schedule():
    scheduled = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled["verification.tasks.superannuation_lapse"] <= timedelta(days=1)
    assert scheduled["verification.tasks.address_reconfirmation"] <= timedelta(days=1)
    assert tasks.superannuation_lapse.name == "verification.tasks.superannuation_lapse"
    assert tasks.address_reconfirmation.name == "verification.tasks.address_reconfirmation"


def test_the_person_sees_when_they_next_confirm(world, due):
    assert lifecycle.next_confirmation_due(due) == due.verified_at + YEAR
    assert timezone.is_aware(lifecycle.next_confirmation_due(due))


# Over SMTP --------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_every_lifecycle_mail_decodes_exactly_over_smtp(world, language, smtp_server, django_capture_on_commit_callbacks):
    """The jobs' mails (request, reminder, suspension, lapse) delivered to a real SMTP
    server on loopback: each subject decodes to exactly the text rendered, the address
    is the one meant, and the sent copy keeps no working link."""
    organisation = world["office"]
    organisation.name = "जिल्हा कृषी अधिकारी कार्यालय, पुणे — District Agriculture Office, Pune, Government of Maharashtra"
    organisation.save(update_fields=["name"])
    with time_machine.travel(START, tick=False):
        profile = verified(world, official_email="asha.k@pune.mahaagri.gov.in", request_language=language)
        retiring = verified(world, user="public", superannuation_date=date(2026, 2, 1), request_language=language)
    expected = []
    for at, job in ((START + timedelta(days=30), tasks.superannuation_lapse), (START + YEAR, tasks.address_reconfirmation),
                    (START + YEAR + timedelta(days=23), tasks.address_reconfirmation),
                    (START + YEAR + timedelta(days=31), tasks.address_reconfirmation)):
        since = OutboxMessage.objects.count()
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            job()
        expected += list(OutboxMessage.objects.order_by("id")[since:].values_list("message_id", "subject", "to"))
    assert len(expected) == 4
    received = {message["Message-ID"]: message for message in smtp_server.messages}
    for message_id, subject, to in expected:
        message = received[message_id]
        assert str(message["Subject"]) == subject and "=?" not in str(message["Subject"])
        assert [address.addr_spec for address in message["To"].addresses] == to
        assert "District Agriculture Office, Pune" in subject
    assert [to for _id, _subject, to in expected] == [
        [world["public"].email], ["asha.k@pune.mahaagri.gov.in"], ["asha.k@pune.mahaagri.gov.in"], [world["person"].email]]
    stored = OutboxMessage.objects.get(message_id=expected[1][0])
    assert stored.status == "sent" and "/verification/confirm/" not in stored.body and profile.pk and retiring.pk


def test_the_admins_see_when_the_address_was_last_confirmed_and_a_request_waiting(world, due):
    run_reconfirmation(START + YEAR)
    html = signed_in(world["admin_office"]).get(f"/verification/profiles/{due.pk}/").content.decode()
    assert "Official address confirmed" in html and "5 January 2026" in html
    assert "asked again on 5 January 2027, to confirm by 4 February 2027; not yet confirmed" in html


def test_after_grace_given_back_the_admins_see_the_day_the_request_went_and_the_new_deadline(world, due):
    """The grace given back moves the deadline, not the day the request was mailed: the page
    gives the day the mail went (5 January) with the new date to confirm by, and the history
    line of the give-back names that date."""
    asked = START + YEAR  # 5 January 2027
    run_reconfirmation(asked)
    suspend_organisation(world)
    run_reconfirmation(asked + timedelta(days=2))
    suspend_organisation(world, OrganisationStatus.ACTIVE)
    run_reconfirmation(asked + timedelta(days=40))
    html = signed_in(world["admin_office"]).get(f"/verification/profiles/{due.pk}/").content.decode()
    assert "asked again on 5 January 2027, to confirm by 14 March 2027; not yet confirmed" in html
    assert ("Deadline to confirm the official address extended: the verification was on hold for a while "
            "(new deadline: 14 March 2027)") in html


AWAITED = {
    "en": "Confirm your official address for District Agriculture Office, Pune: we emailed a link to "
          "asha.k@pune.mahaagri.gov.in. Open it and press the button by 4 February 2027",
    "hi": "हमने asha.k@pune.mahaagri.gov.in पर एक लिंक ईमेल किया है। उसे खोलें और 4 फ़रवरी 2027 तक बटन दबाएँ",
    "mr": "आम्ही asha.k@pune.mahaagri.gov.in वर एक लिंक ईमेल केली आहे. ती उघडा आणि 4 फेब्रुवारी 2027 पर्यंत बटण दाबा",
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_person_sees_that_a_confirmation_is_awaited_where_the_link_went_and_by_when(world, due, language):
    """The link went to the official address, perhaps the very one that no longer reaches
    them: the person's own page says a confirmation is awaited, where the link went and
    the date by which, while it is (not before it is asked, nor once confirmed)."""
    def page(at):
        with time_machine.travel(at, tick=False):
            return signed_in(world["person"]).get("/verification/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert AWAITED[language] not in page(START + YEAR - timedelta(hours=1))
    run_reconfirmation(START + YEAR)
    html = page(START + YEAR + timedelta(days=1))
    assert AWAITED[language] in html
    assert html.count("asha.k@pune.mahaagri.gov.in") == 1
    with time_machine.travel(START + YEAR + timedelta(days=2), tick=False):
        lifecycle.address_confirm(digest=AddressConfirmation.objects.get(profile=due).token_hash)
    assert AWAITED[language] not in page(START + YEAR + timedelta(days=2))


def test_nothing_is_said_to_be_awaited_of_a_verification_suspended_for_want_of_it(world, due):
    run_reconfirmation(START + YEAR)
    run_reconfirmation(END_OF_DEADLINE + timedelta(minutes=30))
    with time_machine.travel(END_OF_DEADLINE + timedelta(hours=1), tick=False):
        html = signed_in(world["person"]).get("/verification/").content.decode()
    assert "Official address not confirmed in time" in html and "press the button" not in html
