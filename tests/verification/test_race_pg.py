"""Two administrators deciding about one person at the same moment, in real concurrent
transactions on PostgreSQL: the person's row lock puts one after the other, so the
person ends verified in exactly one organisation (and the database's constraint
would refuse a second anyway)."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY
from tests.onboarding.approval_helpers import TRANSACTIONAL, official_email_rules  # noqa: F401 (a fixture)
from tests.onboarding.test_race_pg import race
from tests.verification.helpers import GovernmentProfileFactory
from verification import services
from verification.models import GovernmentProfile, VerificationStatus
from verification.visibility import services as visibility_services
from verification.visibility.selectors import EXPORTS_PER_HOUR

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("require_postgresql")]


def test_two_organisations_verifying_one_person_at_once_verify_once(world):
    person = world["person"]
    in_office = GovernmentProfileFactory(user=person, organisation=world["office"])
    in_other = GovernmentProfileFactory(user=person, organisation=world["other"])
    results = race(
        [
            lambda: services.join_request_decide(profile_id=in_office.pk, decision="verify", actor=world["admin_office"]),
            lambda: services.join_request_decide(profile_id=in_other.pk, decision="verify", actor=world["admin_other"]),
        ],
        hold_sql="SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", hold_params=[person.pk],
    )
    outcomes = sorted(outcome for outcome, _value in results)
    assert outcomes == ["error", "ok"], results
    [error] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(error, services.StatusChanged) and error.profile.status == VerificationStatus.CANCELLED
    assert GovernmentProfile.objects.filter(user=person, status=VerificationStatus.VERIFIED).count() == 1
    assert GovernmentProfile.objects.filter(user=person, status=VerificationStatus.CANCELLED).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.VERIFICATION_VERIFIED).count() == 1


def test_two_admins_deciding_one_request_at_once_decide_once(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    results = race(
        [
            lambda: services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"]),
            lambda: services.join_request_decide(profile_id=profile.pk, decision="reject", reason="No.",
                                                 actor=world["admin_parent"]),
        ],
        hold_sql="SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", hold_params=[world["person"].pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert all(isinstance(value, services.StatusChanged) for outcome, value in results if outcome == "error")
    decided = AuditEvent.objects.filter(action__in=[AuditAction.VERIFICATION_VERIFIED, AuditAction.VERIFICATION_REJECTED])
    assert decided.count() == 1


def test_an_address_removed_while_an_admin_verifies_with_it_leaves_no_verification_on_it(world):
    """The admin's decision holds the person's row while it checks the address and
    verifies; the removal of the address waits for it, then finds the verification and
    suspends it (it found none, and the verification stood on an address gone)."""
    person = world["public"]
    address = EmailAddress.objects.create(user=person, email="some.one@pune.mahaagri.gov.in", verified=True)
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], official_email=address.email)
    results = race(
        [
            lambda: services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"]),
            lambda: EmailAddress.objects.get(pk=address.pk).delete(),
        ],
        # The decision takes the person's row, then waits here (its profile's row); the
        # removal then waits for the person's row.
        hold_sql="SELECT id FROM verification_governmentprofile WHERE id = %s FOR UPDATE", hold_params=[profile.pk],
        staggered=True,
    )
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    profile.refresh_from_db()
    assert not EmailAddress.objects.filter(pk=address.pk).exists()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, "address_removed")


def test_directory_downloads_asked_at_once_make_no_more_than_the_hourly_limit(world):
    """The limit was read before the download's audit row was written, with nothing held
    between: two downloads asked at the same moment, the person one short of the limit,
    each found them under it and both were made. The count and the row are now made under
    a lock of the person's, as the monitoring export's are."""
    person = world["public"]
    for _ in range(EXPORTS_PER_HOUR - 1):
        visibility_services.directory_export_record(query="kulkarni", rows=0, actor=person)

    def download():
        client = Client()
        client.force_login(person)
        return client.get("/people/export.csv", {"q": "kulkarni"}).status_code

    # The audit chain held: the download that found the person under the limit waits there
    # to write its row; the other waits on the person's lock.
    results = race([download, download], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(value for _outcome, value in results) == [200, 302], results  # the second sent back to the search
    assert AuditEvent.objects.filter(actor_id=person.pk, action=AuditAction.DIRECTORY_EXPORTED).count() == EXPORTS_PER_HOUR


def test_two_accounts_of_one_mailbox_asking_at_once_leave_no_more_waiting_than_the_most(world, settings):
    """Each account of one mailbox ("+tag" forms) locks its own row: two of them asking at
    once, the person one short of VERIFICATION_WAITING_MAX, would both find room. The count
    is made under the mailbox's lock (the daily limit's), so the second waits for the first
    and is refused."""
    from django.core.exceptions import ValidationError

    from portal.accounts.mail_limits import mailbox_key
    from tests.factories import UserFactory
    from tests.verification.helpers import DETAILS

    settings.VERIFICATION_WAITING_MAX = 2
    person = world["person"]
    GovernmentProfileFactory(user=person, organisation=world["parent"])
    tagged = UserFactory(email="asha.kulkarni+2@pune.mahaagri.gov.in", full_name="Asha Kulkarni")

    def ask(user, organisation):
        return lambda: services.join_request_create(organisation_id=organisation.pk, language="en", actor=user,
                                                    details={**DETAILS, "official_email": user.email})

    results = race([ask(person, world["office"]), ask(tagged, world["other"])],
                   hold_sql="SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                   hold_params=[services.REQUESTS_MAILBOX_LOCK_NAMESPACE, mailbox_key(person.email)])
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [error] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(error, ValidationError) and error.code == "too_many_waiting"
    assert GovernmentProfile.objects.filter(status=VerificationStatus.PENDING,
                                            user__in=[person, tagged]).count() == 2


def test_refusals_downloads_asked_at_once_make_no_more_than_the_hourly_limit(world):
    """A roster's refused rows asked twice at the same moment by an admin one short of the
    hourly limit: the count and the audit row are made under the admin's lock, so one is
    downloaded and the other sent back to the roster's page."""
    from tests.verification.rosters.helpers import csv_bytes, person, upload
    from verification.rosters import services as roster_services

    admin = world["admin_office"]
    roster = upload(world["office"], admin, csv_bytes([person(1, **{"Official email": "x@gmail.com"})]))
    for _ in range(roster_services.REFUSALS_DOWNLOADS_PER_HOUR - 1):
        roster_services.roster_refusals_export_record(roster=roster, actor=admin)

    def download():
        client = Client()
        client.force_login(admin)
        response = client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
        if response.status_code == 200:
            b"".join(response.streaming_content)
        return response.status_code

    results = race([download, download], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(value for _outcome, value in results) == [200, 302], results
    assert AuditEvent.objects.filter(actor_id=admin.pk, action=AuditAction.ROSTER_REFUSALS_EXPORTED).count() == (
        roster_services.REFUSALS_DOWNLOADS_PER_HOUR)


@pytest.mark.usefixtures("official_email_rules")
def test_a_link_confirmed_while_a_domain_removal_suspends_its_verification_confirms_nothing(world):
    """The person presses Confirm on their yearly link while a superadmin removes the domain
    their verification was made at: the confirmation waited for the removal's locks, then
    read the verification as in force as the statement started, and confirmed a verification
    the removal had suspended. It finds the verification no longer in force."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.organisations.models import Membership, MembershipRole, OrganisationDomain
    from portal.organisations.services import organisation_domain_remove
    from portal.tokens import token_new
    from verification.lifecycle import LinkState, address_confirm
    from verification.models import AddressConfirmation, VerificationMethod

    person, office = world["person"], world["office"]
    now = timezone.now()
    profile = GovernmentProfileFactory(user=person, organisation=office, status=VerificationStatus.VERIFIED,
                                       official_email=person.email, method=VerificationMethod.OFFICIAL_EMAIL,
                                       verified_at=now - timedelta(days=400), address_confirmed_at=now - timedelta(days=400),
                                       confirmation_requested_at=now - timedelta(days=1),
                                       confirmation_mailed_at=now - timedelta(days=1))
    membership = Membership.objects.create(organisation=office, user=person, role=MembershipRole.MEMBER)
    _raw, digest = token_new()
    AddressConfirmation.objects.create(profile=profile, token_hash=digest, email=person.email, created_at=now,
                                       expires_at=profile.confirmation_deadline)
    row = OrganisationDomain.objects.get(organisation=office, domain="pune.mahaagri.gov.in")
    results = race(
        [lambda: organisation_domain_remove(domain_id=row.pk, reason="A lookalike", actor=world["superadmin"]),
         lambda: address_confirm(digest=digest)[0]],
        hold_sql="SELECT id FROM organisations_membership WHERE id = %s FOR UPDATE", hold_params=[membership.pk],
        staggered=True,
    )
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    assert results[1] == ("ok", LinkState.CLOSED), results
    assert profile.address_confirmed_at == now - timedelta(days=400)
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_ADDRESS_CONFIRMED).exists()
