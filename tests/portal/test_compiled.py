"""portal.compiled: a query built once per process answers as the ORM does, for each
call's own values, and refuses a query whose values the ORM would change."""

from datetime import timedelta

import pytest
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from onboarding.models import Application, ApplicationVersion, Attachment
from portal import compiled
from portal.organisations.models import PlatformRoleGrant, in_force_q
from tests.factories import ApplicationFactory, AttachmentFactory, PlatformRoleFactory, UserFactory

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


def applications_of_query(*, officer_id):
    return (Application.objects.filter(nodal_officer_id=officer_id).select_related("nodal_officer")
            .annotate(has_letter=Exists(Attachment.objects.filter(application=OuterRef("pk"))))
            .defer("data").order_by("pk"))


def test_objects_are_the_instances_the_orm_makes(django_assert_num_queries):
    officer = UserFactory()
    with_letter, without = ApplicationFactory(nodal_officer=officer), ApplicationFactory(nodal_officer=officer)
    AttachmentFactory(application=with_letter)
    other = ApplicationFactory()
    for user, expected in ((officer, [with_letter, without]), (other.nodal_officer, [other]), (officer, [with_letter, without])):
        with django_assert_num_queries(1):
            got = compiled.objects(applications_of_query, officer_id=user.pk)
            # The related row came with it, the annotation is set, a deferred field is left to load.
            assert [a.nodal_officer.email for a in got] == [user.email] * len(expected)
        orm = list(applications_of_query(officer_id=user.pk))
        assert got == expected == orm
        assert [a.has_letter for a in got] == [a.has_letter for a in orm]
        for mine, theirs in zip(got, orm, strict=True):
            assert {k: v for k, v in vars(mine).items() if k != "_state"} == {
                k: v for k, v in vars(theirs).items() if k != "_state"}
            assert mine._state.db == theirs._state.db and not mine._state.adding
        with django_assert_num_queries(1):
            assert got[0].data == expected[0].data
    assert compiled.objects(applications_of_query, officer_id=UserFactory().pk) == []


def version_query(*, application_id, number):
    return ApplicationVersion.objects.filter(application_id=application_id, number=number)


def test_a_value_for_a_small_positive_integer_field_is_passed_through():
    # The ORM answers a value outside an integer field's range with no query: the markers are in every one's range.
    application = ApplicationFactory()
    version = ApplicationVersion.objects.create(application=application, number=7, data={"a": 1})
    assert compiled.objects(version_query, application_id=application.pk, number=7) == [version]
    assert compiled.objects(version_query, application_id=application.pk, number=8) == []


def shape_from_value_query(*, user_id):
    queryset = PlatformRoleGrant.objects.filter(user_id=user_id)
    return queryset.filter(role="auditor") if user_id < 31_500 else queryset


def constant_like_a_marker_query(*, user_id):
    return PlatformRoleGrant.objects.filter(user_id=user_id).exclude(pk=31_000).values_list("role")


def test_a_query_shaped_by_its_values_or_holding_a_markers_value_is_refused():
    with pytest.raises(ValueError, match="depends on its values"):
        compiled.rows(shape_from_value_query, user_id=1)
    with pytest.raises(ValueError, match="depends on its values"):
        compiled.rows(constant_like_a_marker_query, user_id=1)


def test_first_is_the_first_instance_or_none():
    application = ApplicationFactory()
    ApplicationVersion.objects.create(application=application, number=9, data={})
    assert compiled.first(version_query, application_id=application.pk, number=9).number == 9
    assert compiled.first(version_query, application_id=application.pk, number=10) is None


def grants_by_jurisdiction_query(descending, *, role):
    order = ("-jurisdiction", "-id") if descending else ("jurisdiction", "id")
    return PlatformRoleGrant.objects.filter(role=role).order_by(*order).values_list("pk", "jurisdiction")


def test_slices_are_the_orms_slices_one_part_after_the_other(django_assert_num_queries):
    from django.db import connection

    for jurisdiction in ("AP", "DL", "GA", "KA", "MH", "TN", "UP"):
        PlatformRoleFactory(role="auditor", jurisdiction=jurisdiction)
    PlatformRoleFactory(role="state_admin", jurisdiction="MH")
    for one, other in [((0, 3), (2, 5)), ((5, 7), (0, 0)), ((6, 20), (1, 2)), ((0, 0), (3, 3))]:
        parts = [(grants_by_jurisdiction_query, (False,), *one, {"role": "auditor"}),
                 (grants_by_jurisdiction_query, (True,), *other, {"role": "auditor"})]
        expected = [*grants_by_jurisdiction_query(False, role="auditor")[slice(*one)],
                    *grants_by_jurisdiction_query(True, role="auditor")[slice(*other)]]
        queries = 1 if connection.features.supports_slicing_ordering_in_compound else 2
        with django_assert_num_queries(queries):
            assert compiled.slices(parts) == expected
        assert compiled.slices(parts[:1]) == list(grants_by_jurisdiction_query(False, role="auditor")[slice(*one)])
    assert compiled.slices([(grants_by_jurisdiction_query, (False,), 0, 5, {"role": "state_admin"})]) == list(
        grants_by_jurisdiction_query(False, role="state_admin"))
    assert compiled.slices([]) == []


def unordered_query(*, role):
    return PlatformRoleGrant.objects.filter(role=role).values_list("pk")


def test_a_slice_needs_bounds_in_order_and_an_ordered_unsliced_query():
    with pytest.raises(ValueError, match="a slice from 3 to 2"):
        compiled.slices([(grants_by_jurisdiction_query, (False,), 3, 2, {"role": "auditor"})])
    with pytest.raises(ValueError, match="ordered, unsliced"):
        compiled.slices([(unordered_query, (), 0, 2, {"role": "auditor"})])


def test_reads_together_answer_as_each_alone_in_one_round_trip_on_postgresql(django_assert_num_queries):
    from django.db import connection

    now = timezone.now()
    user = UserFactory()
    PlatformRoleFactory(user=user, role="state_admin", jurisdiction="MH")
    application = ApplicationFactory()
    ApplicationVersion.objects.create(application=application, number=9, data={"a": 1})
    calls = [
        ("rows", grants_query, (), {"user_id": user.pk, "now": now}),
        ("first", version_query, (), {"application_id": application.pk, "number": 9}),
        ("first", version_query, (), {"application_id": application.pk, "number": 10}),
        ("objects", version_query, (), {"application_id": application.pk, "number": 1}),
        ("rows", answers_query, (), {"officer_id": application.nodal_officer_id}),
    ]
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else len(calls)):
        together = compiled.together(*calls)
    alone = [getattr(compiled, kind)(build, constants, **values) for kind, build, constants, values in calls]
    assert together[0] == alone[0] == [("state_admin", "MH")]
    assert together[1].pk == alone[1].pk and together[1].data == {"a": 1}
    assert together[2] is None and alone[2] is None
    assert [v.pk for v in together[3]] == [v.pk for v in alone[3]] and len(together[3]) == 1
    assert together[4] == alone[4] and isinstance(together[4][0][0], dict)  # the JSON document decoded


def grants_of_users_query(count, *, now, **users):
    """The grants in force of ``count`` users: as many values as an admin of hundreds of
    organisations gives the dashboard's queries, the date and time sorted after them."""
    anyone = Q()
    for index in range(count):
        anyone |= Q(user_id=users[f"id{index:04d}"])
    return PlatformRoleGrant.objects.filter(anyone, in_force_q(now=now)).values_list("user_id", "jurisdiction")


@pytest.mark.parametrize("count", [60, 100, 1_000, 1_800])
def test_a_query_of_many_values_has_a_marker_for_each(count, request):
    """Each value of a query has a marker of its own whatever their number: a date and
    time after 59 other values (its marker is not limited to a minute's seconds), and more
    than a thousand integers (no marker of one taken for another's)."""
    if count > 900:  # a term of an OR each: past SQLite's expression depth (1,000)
        request.getfixturevalue("require_postgresql")
    now = timezone.now()
    users = [UserFactory() for _ in range(3)]
    for user, jurisdiction in zip(users, ("MH", "KA", "GA"), strict=True):
        PlatformRoleFactory(user=user, role="auditor", jurisdiction=jurisdiction)
    PlatformRoleFactory(user=users[1], role="state_admin", jurisdiction="DL", ends_at=now - timedelta(days=1))
    for at in (now, now - timedelta(days=2)):
        ids = dict.fromkeys((f"id{index:04d}" for index in range(count)), 0)
        ids |= {"id0000": users[0].pk, f"id{count // 2:04d}": users[1].pk, f"id{count - 1:04d}": users[2].pk}
        expected = sorted(grants_of_users_query(count, now=at, **ids))
        assert sorted(compiled.rows(grants_of_users_query, (count,), now=at, **ids)) == expected
    assert sorted(expected) == sorted([(users[0].pk, "MH"), (users[1].pk, "KA"), (users[1].pk, "DL"),
                                       (users[2].pk, "GA")])
