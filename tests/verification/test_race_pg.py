"""Two administrators deciding about one person at the same moment, in real concurrent
transactions on PostgreSQL: the person's row lock puts one after the other, so the
person ends verified in exactly one organisation (and the database's constraint
would refuse a second anyway)."""

import pytest
from allauth.account.models import EmailAddress

from portal.audit.models import AuditAction, AuditEvent
from tests.onboarding.approval_helpers import TRANSACTIONAL
from tests.onboarding.test_race_pg import race
from tests.verification.helpers import GovernmentProfileFactory
from verification import services
from verification.models import GovernmentProfile, VerificationStatus

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
