"""The portal's authentication backends read the signed-in user with a query built once per
process: the same user the ORM reads, in one query; nobody for an unknown or deactivated
account, so that deactivating someone signs them out at their next request."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.test import Client

from portal.accounts.backends import AuthenticationBackend, ModelBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [ModelBackend(), AuthenticationBackend()])
def test_the_user_read_is_the_one_the_orm_reads(backend, django_assert_num_queries):
    for user in UserFactory.create_batch(3):
        expected = DjangoModelBackend().get_user(user.pk)
        with django_assert_num_queries(1):
            found = backend.get_user(user.pk)
        assert type(found) is get_user_model()
        assert {f.attname: getattr(found, f.attname) for f in found._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in expected._meta.concrete_fields}
        assert found._state.adding is False and found._state.db == "default"


@pytest.mark.parametrize("user_id", [0, -1, 2**63, 10**30, 987_654_321, None])
def test_no_user_for_an_id_no_account_has(user_id):
    UserFactory()
    assert ModelBackend().get_user(user_id) is None
    assert AuthenticationBackend().get_user(user_id) is None


def test_a_deactivated_account_is_signed_out_at_its_next_request():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    assert client.get("/onboarding/").status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/onboarding/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_user_comes_with_the_roles_and_second_factor_the_permissions_would_read(django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    from portal import permissions
    from tests.factories import OrganisationFactory, PlatformRoleFactory
    from tests.onboarding.approval_helpers import make_state_admin, with_totp
    from tests.portal.role_helpers import make_admin

    state_admin = make_state_admin("MH")
    PlatformRoleFactory(user=state_admin, role="auditor", jurisdiction="")
    parent = OrganisationFactory()
    admin = make_admin(OrganisationFactory(parent=parent))
    make_admin(parent, email="second@mahaagri.gov.in")
    nobody = UserFactory()
    with_totp(nobody)  # a second factor without any role
    for user in (state_admin, admin, nobody, UserFactory()):
        fresh = get_user_model().objects.get(pk=user.pk)  # reads its roles with a query of its own
        expected = (permissions.platform_roles_of(fresh), permissions.administers_some_organisation(fresh),
                    permissions.has_second_factor(fresh), permissions.decided_jurisdictions(fresh))
        with django_assert_num_queries(1):
            found = ModelBackend().get_user(user.pk)
            assert (permissions.platform_roles_of(found), permissions.administers_some_organisation(found),
                    permissions.has_second_factor(found), permissions.decided_jurisdictions(found)) == expected
        assert not hasattr(found, "portal_roles_read")
    assert permissions.platform_roles_of(ModelBackend().get_user(state_admin.pk)) == {
        ("state_admin", "MH"), ("auditor", "")}
    assert permissions.has_second_factor(ModelBackend().get_user(nobody.pk))
    assert permissions.administers_some_organisation(ModelBackend().get_user(admin.pk))
    assert not permissions.has_second_factor(AnonymousUser())
