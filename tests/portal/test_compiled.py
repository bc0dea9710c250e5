"""portal.compiled: a query built once per process answers as the ORM does, for each
call's own values, and refuses a query whose values the ORM would change."""

from datetime import timedelta

import pytest
from django.utils import timezone

from onboarding.models import Application
from portal import compiled
from portal.organisations.models import PlatformRoleGrant, in_force_q
from tests.factories import ApplicationFactory, PlatformRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def grants_query(*, user_id, now):
    return PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user_id).values_list("role", "jurisdiction")


def grants_of_kind_query(role, *, user_id):
    return PlatformRoleGrant.objects.filter(role=role, user_id=user_id).values("pk")


def jurisdiction_like_query(*, user_id, part):
    return PlatformRoleGrant.objects.filter(user_id=user_id, jurisdiction__icontains=part).values_list("role")


def test_each_call_answers_for_its_own_values_as_the_orm_does(django_assert_num_queries):
    now = timezone.now()
    first, second = UserFactory(), UserFactory()
    PlatformRoleFactory(user=first, role="state_admin", jurisdiction="MH")
    PlatformRoleFactory(user=first, role="auditor", jurisdiction="KA", ends_at=now - timedelta(days=1))
    PlatformRoleFactory(user=second, role="auditor", jurisdiction="")
    for user in (first, second, first):
        for at in (now, now - timedelta(days=2)):
            with django_assert_num_queries(1):
                got = compiled.rows(grants_query, user_id=user.pk, now=at)
            assert sorted(got) == sorted(grants_query(user_id=user.pk, now=at))
    assert sorted(compiled.rows(grants_query, user_id=first.pk, now=now)) == [("state_admin", "MH")]


def test_a_subquery_to_filter_by_and_constants_that_shape_the_query():
    user = UserFactory()
    admin = PlatformRoleFactory(user=user, role="state_admin", jurisdiction="MH")
    auditor = PlatformRoleFactory(user=user, role="auditor", jurisdiction="MH")
    for role, grant in (("state_admin", admin), ("auditor", auditor)):
        found = PlatformRoleGrant.objects.filter(pk__in=compiled.subquery(grants_of_kind_query, (role,), user_id=user.pk))
        assert list(found) == [grant]


def answers_query(*, officer_id):
    return Application.objects.filter(nodal_officer_id=officer_id).values_list("data", "created_at")


def test_columns_are_converted_as_the_orm_converts_them():
    application = ApplicationFactory()
    # A JSON field's document is read as text and decoded by the field (on every database).
    assert compiled.rows(answers_query, officer_id=application.nodal_officer_id) == list(
        answers_query(officer_id=application.nodal_officer_id)
    )
    data, created_at = compiled.rows(answers_query, officer_id=application.nodal_officer_id)[0]
    assert isinstance(data, dict) and data == application.data and created_at == application.created_at


def test_a_value_the_orm_changes_is_refused():
    with pytest.raises(ValueError, match="part not passed through"):
        compiled.rows(jurisdiction_like_query, user_id=1, part="M")
