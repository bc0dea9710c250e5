import pytest
from django.test import Client

from api.services import api_client_create
from portal.organisations.models import OrganisationStatus
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, with_totp
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification.models import VerificationStatus


@pytest.fixture
def world(db):
    """Two organisations (A, with an office below it, and B), an admin of each, a
    superadmin, an auditor; a client of A and a client of B with their tokens; and
    government users: verified in A, verified in B, suspended in A, waiting in A."""
    a = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=a)
    b = OrganisationFactory(name="Directorate of Health Services, Karnataka", short_code="DHS-KA", state="KA")
    admin_a = make_admin(a, email="admin@mahaagri.gov.in", full_name="Admin A")
    admin_b = make_admin(b, email="admin@karhealth.gov.in", full_name="Admin B")
    client_a, token_a = api_client_create(organisation_id=a.pk, name="e-Office", actor=admin_a)
    client_b, token_b = api_client_create(organisation_id=b.pk, name="HRMS", actor=admin_b)
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)

    def person(organisation, status, email, mobile):
        return GovernmentProfileFactory(
            organisation=organisation, status=status, official_email=email, mobile=mobile,
            user=UserFactory(email=email, full_name="Asha Kulkarni"),
        )

    return {
        "a": a, "office": office, "b": b, "admin_a": admin_a, "admin_b": admin_b,
        "superadmin": make_superadmin(email="root@sandes.nic.in"), "auditor": auditor,
        "client_a": client_a, "token_a": token_a, "client_b": client_b, "token_b": token_b,
        "verified_a": person(a, VerificationStatus.VERIFIED, "asha.kulkarni@mahaagri.gov.in", "+919876543210"),
        "verified_b": person(b, VerificationStatus.VERIFIED, "ravi.rao@karhealth.gov.in", "+919812345678"),
        "verified_office": person(office, VerificationStatus.VERIFIED, "meena@pune.mahaagri.gov.in", "+917000000001"),
        "suspended_a": person(a, VerificationStatus.SUSPENDED, "suspended@mahaagri.gov.in", "+916000000002"),
        "pending_a": person(a, VerificationStatus.PENDING, "pending@mahaagri.gov.in", "+918000000003"),
    }


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def api_get(world):
    """GET an API URL with a token (client A's unless told)."""
    client = Client()

    def get(url, token=None, **params):
        return client.get(url, params, **bearer(world["token_a"] if token is None else token))

    return get


@pytest.fixture
def inactive_organisation(world):
    world["b"].status = OrganisationStatus.SUSPENDED
    world["b"].save(update_fields=["status"])
    return world["b"]
