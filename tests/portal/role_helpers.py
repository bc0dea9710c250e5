"""The people and organisations of the role tests: a state department (parent) with a
district office below it in Maharashtra, an unrelated Karnataka directorate, and one
person of each kind (built directly with factories; admins as organisation_activate
makes them: an admin membership and guardian's object permissions)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from guardian.shortcuts import assign_perm

from portal.organisations.models import Membership, MembershipRole
from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import second_factor_given, with_totp

ROLES = [
    "superadmin", "state_admin_mh", "state_admin_ka", "auditor", "admin_office", "admin_parent", "admin_other",
    "member", "public", "anonymous",
]


def make_admin(organisation, **fields):
    user = UserFactory(**fields)
    Membership.objects.create(organisation=organisation, user=user, role=MembershipRole.ADMIN)
    assign_perm(ADMINISTER_ORGANISATION, user, organisation)
    assign_perm(VIEW_ORGANISATION_DASHBOARD, user, organisation)
    return user


def make_member(organisation, **fields):
    """A verified member, as verification keeps Membership in step."""
    user = UserFactory(**fields)
    Membership.objects.create(organisation=organisation, user=user, role=MembershipRole.MEMBER)
    return user


def platform(role, jurisdiction, email):
    user = PlatformRoleFactory(role=role, jurisdiction=jurisdiction, user__email=email).user
    with_totp(user)
    return user


@pytest.fixture
def roles_world(db):
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", state="MH", parent=parent)
    other = OrganisationFactory(name="Directorate of Health Services, Karnataka", short_code="DHS-KA", state="KA")
    return {
        "parent": parent, "office": office, "other": other,
        "superadmin": platform("superadmin", "", "root@sandes.nic.in"),
        "state_admin_mh": platform("state_admin", "MH", "state.admin@maharashtra.gov.in"),
        "state_admin_ka": platform("state_admin", "KA", "state.admin@karnataka.gov.in"),
        "auditor": platform("auditor", "", "auditor@nic.in"),
        "admin_office": make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin"),
        "admin_parent": make_admin(parent, email="admin@mahaagri.gov.in", full_name="Parent Admin"),
        "admin_other": make_admin(other, email="admin@karhealth.gov.in", full_name="Other Admin"),
        "member": make_member(office, email="asha.kulkarni@pune.mahaagri.gov.in", full_name="Asha Kulkarni"),
        "member_parent": make_member(parent, email="vijay.more@mahaagri.gov.in", full_name="Vijay More"),
        "member_other": make_member(other, email="lakshmi.rao@karhealth.gov.in", full_name="Lakshmi Rao"),
        "public": UserFactory(email="someone@gmail.com", full_name="Some One"),
        "anonymous": AnonymousUser(),
    }


def client_of(world, who):
    client = Client()
    if who != "anonymous":
        client.force_login(world[who])
        second_factor_given(client, world[who])
    return client
