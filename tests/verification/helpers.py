"""Data for the verification tests: profiles in a state, built directly (factories),
organisation admins made as organisation_activate makes them, and signed-in clients."""

import factory
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from portal.organisations.models import Membership, MembershipRole
from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD
from tests.factories import OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import second_factor_given
from verification.models import HELD_STATUSES, GovernmentProfile, VerificationMethod, VerificationStatus
from verification.visibility.models import Audience, VisibilityPolicy

DETAILS = {
    "designation": "Section Officer",
    "office": "Establishment Section",
    "employee_code": "EMP-1042",
    "official_email": "asha.kulkarni@pune.mahaagri.gov.in",  # the person's account address (world)
    "mobile": "98765 43210",
    "superannuation_date": "",
}


class GovernmentProfileFactory(factory.django.DjangoModelFactory):
    """A profile in ``status`` (pending unless told), with its decision fields filled as
    the services fill them for that status."""

    class Meta:
        model = GovernmentProfile

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    designation = "Assistant Section Officer"
    office = factory.Sequence(lambda n: f"Section {n}")
    employee_code = factory.Sequence(lambda n: f"E{n:05d}")
    official_email = factory.LazyAttribute(lambda profile: profile.user.email)
    mobile = "+919876543210"
    status = VerificationStatus.PENDING
    requested_at = factory.LazyFunction(timezone.now)
    request_language = "en"
    method = factory.LazyAttribute(
        lambda p: VerificationMethod.MANUAL if p.status in (VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED,
                                                            VerificationStatus.REVOKED) else ""
    )
    verified_at = factory.LazyAttribute(lambda p: timezone.now() if p.method else None)
    # Held: vouched for under the account's name, as verifying records it.
    verified_name = factory.LazyAttribute(lambda p: p.user.full_name if p.status in HELD_STATUSES else "")
    decided_at = factory.LazyAttribute(lambda p: None if p.status == VerificationStatus.PENDING else timezone.now())


def contacts_shown_to_verified_users(*organisations):
    """The organisations' visibility policy (written directly, the defaults otherwise)
    showing their people's official address and mobile number to any verified
    government user: what the verification API finds a person by (under the defaults
    it finds nobody, both being kept narrower)."""
    for organisation in organisations:
        VisibilityPolicy.objects.update_or_create(
            organisation=organisation, defaults={"official_email": Audience.VERIFIED, "mobile": Audience.VERIFIED})


def make_admin(organisation, **fields):
    """An admin of ``organisation``, as organisation_activate makes one (membership and guardian object permissions)."""
    user = UserFactory(**fields)
    Membership.objects.create(organisation=organisation, user=user, role=MembershipRole.ADMIN)
    assign_perm(ADMINISTER_ORGANISATION, user, organisation)
    assign_perm(VIEW_ORGANISATION_DASHBOARD, user, organisation)
    return user


def signed_in(user):
    client = Client()
    client.force_login(user)
    return second_factor_given(client, user)


def form_data(**changes):
    return {**DETAILS, **changes}
