import pytest

from portal.organisations.models import OrganisationDomain
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, with_totp
from tests.verification.helpers import make_admin


@pytest.fixture
def world(db):
    """A state department (parent) with a district office below it, an unrelated
    organisation, each with a verified domain; an admin of each; a superadmin, an
    auditor and a person who asks to be verified (their address on the office's domain)."""
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=parent)
    other = OrganisationFactory(name="Directorate of Health Services, Karnataka", short_code="DHS-KA", state="KA")
    for organisation, domain in ((parent, "mahaagri.gov.in"), (office, "pune.mahaagri.gov.in"), (other, "karhealth.gov.in")):
        OrganisationDomain.objects.create(organisation=organisation, domain=domain, is_verified=True)
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)
    return {
        "parent": parent, "office": office, "other": other,
        "admin_parent": make_admin(parent, email="admin@mahaagri.gov.in", full_name="Parent Admin"),
        "admin_office": make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin"),
        "admin_other": make_admin(other, email="admin@karhealth.gov.in", full_name="Other Admin"),
        "superadmin": make_superadmin(email="root@sandes.nic.in"),
        "auditor": auditor,
        "person": UserFactory(email="asha.kulkarni@pune.mahaagri.gov.in", full_name="Asha Kulkarni"),
        "public": UserFactory(email="someone@gmail.com", full_name="Some One"),
    }
