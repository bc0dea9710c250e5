import pytest
from django.core.cache import caches
from django.test import Client

from api.services import api_client_create, api_client_revoke
from portal.organisations.models import OrganisationStatus
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, with_totp
from tests.verification.helpers import GovernmentProfileFactory, contacts_shown_to_verified_users, make_admin
from verification.models import VerificationStatus


@pytest.fixture
def world(db):
    """Two organisations (A, with an office below it, and B), an admin of each, a
    superadmin, an auditor; a client of A and a client of B with their tokens; and
    government users: verified in A, verified in B, suspended in A, waiting in A. The
    three organisations show their people's official address and mobile number to
    verified government users (the API finds a person by nothing else)."""
    a = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=a)
    b = OrganisationFactory(name="Directorate of Health Services, Karnataka", short_code="DHS-KA", state="KA")
    contacts_shown_to_verified_users(a, office, b)
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


@pytest.fixture
def revoked_while_its_client_is_read(world, monkeypatch, django_capture_on_commit_callbacks):
    """Make the next request's lookup of client A (a cache miss) meet the revocation of
    client A: it reads the client, still active, from the database; the revocation
    commits (with what it does to the cache then and on commit); then the request puts
    what it read in the cache. The list it gives holds True once that happened."""
    revoked = []

    def revoking_first(put):
        def put_after_revocation(key, *args, **kwargs):
            if not revoked and key.startswith("api-client:"):
                # Marked first: the revocation's own write of the client's entry (on commit)
                # goes through this method too, and must not revoke it a second time.
                revoked.append(True)
                with django_capture_on_commit_callbacks(execute=True):
                    api_client_revoke(client_id=world["client_a"].pk, actor=world["admin_a"])
            return put(key, *args, **kwargs)
        return put_after_revocation

    # On the cache backend itself, not on django.core.cache.cache: that proxy sets and
    # restores attributes on whichever backend is the default when it is asked, and a test
    # whose cache setting is put back before this is undone would leave the next backend
    # writing with this one's methods.
    backend = caches["default"]
    for name in ("set", "add"):
        monkeypatch.setattr(backend, name, revoking_first(getattr(backend, name)))
    return revoked
