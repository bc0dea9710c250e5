"""portal.prepared, through portal.compiled: on PostgreSQL a query built once per process is
a statement prepared once per connection, planned once, answering as the ORM does; a
statement the connection lost, or whose columns a migration changed, is prepared again."""

import re
from datetime import timedelta

import pytest
from django.db import DataError, connection, transaction
from django.db.models import Q
from django.db.utils import ProgrammingError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal import compiled, prepared
from portal.accounts.models import User
from portal.organisations.models import PlatformRoleGrant, in_force_q
from tests.factories import PlatformRoleFactory, UserFactory
from tests.pg_trace import column_retyped, plans


@pytest.fixture(autouse=True)
def _postgresql(require_postgresql):
    pass


def grants_query(*, user_id, now):
    return PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user_id).values_list("role", "jurisdiction")


def grants_in_states_starting_query(prefix, *, user_id):
    """A constant that is a pattern ("M%"): written into the statement's text as the ORM sends it."""
    return PlatformRoleGrant.objects.filter(user_id=user_id, jurisdiction__startswith=prefix).values_list("jurisdiction")


@pytest.mark.django_db
def test_a_query_is_prepared_once_per_connection_and_then_not_planned_again():
    # A connection none of whose statements is prepared yet (one of the same text, made by
    # an earlier test on this connection, would have the same name and its plans counted).
    connection.ensure_connection()
    connection.connection.execute("DEALLOCATE ALL")
    prepared._prepared_on.pop(connection.connection, None)
    now = timezone.now()
    users = [UserFactory() for _ in range(3)]
    PlatformRoleFactory(user=users[0], role="state_admin", jurisdiction="MH")
    PlatformRoleFactory(user=users[1], role="auditor", jurisdiction="", ends_at=now - timedelta(days=1))
    with CaptureQueriesContext(connection) as captured:
        for _ in range(4):
            for user in users:
                assert sorted(compiled.rows(grants_query, user_id=user.pk, now=now)) == sorted(
                    grants_query(user_id=user.pk, now=now))
    ours = [q["sql"] for q in captured.captured_queries if "pg_prepared_statements" not in q["sql"]
            and "accounts_user" not in q["sql"] and "organisations_platformrolegrant" not in q["sql"]]
    names = {sql.split()[1].split("(")[0] for sql in ours}
    assert len(ours) == 12 and len(names) == 1 and all(sql.startswith("EXECUTE c") for sql in ours), ours
    (name,) = names
    assert re.fullmatch(r"c[0-9a-f]{12}_grants_query", name), name  # named after what builds it, for reading a query log
    generic, custom = plans(f"^{name}$")
    # PostgreSQL plans the first five runs for their values, then uses the one generic plan.
    assert custom == 5 and generic == 7, (generic, custom)


@pytest.mark.django_db
def test_constants_are_written_into_the_statement_as_the_orm_sends_them():
    user = UserFactory()
    for jurisdiction in ("MH", "MP", "KA", "M%"):
        PlatformRoleFactory(user=user, role="state_admin", jurisdiction=jurisdiction)
    for prefix in ("M", "K", "M%"):
        assert sorted(compiled.rows(grants_in_states_starting_query, (prefix,), user_id=user.pk)) == sorted(
            grants_in_states_starting_query(prefix, user_id=user.pk))
    assert compiled.rows(grants_in_states_starting_query, ("M%",), user_id=user.pk) == [("M%",)]


@pytest.mark.django_db(transaction=True)
def test_a_statement_the_connection_lost_is_prepared_again():
    """A DISCARD ALL or DEALLOCATE ALL by something between the portal and the database."""
    user = UserFactory()
    PlatformRoleFactory(user=user, role="state_admin", jurisdiction="MH")
    now = timezone.now()
    assert compiled.rows(grants_query, user_id=user.pk, now=now) == [("state_admin", "MH")]
    connection.connection.execute("DEALLOCATE ALL")
    assert compiled.rows(grants_query, user_id=user.pk, now=now) == [("state_admin", "MH")]
    together = compiled.together(("rows", grants_query, (), {"user_id": user.pk, "now": now}),
                                 ("rows", grants_in_states_starting_query, ("M",), {"user_id": user.pk}))
    assert together == [[("state_admin", "MH")], [("MH",)]]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_lost_statement_is_an_error_not_a_second_try():
    """In a transaction the failed EXECUTE has ended it: running again there would only fail
    again, so the error is the caller's (outside one, the read is run once more)."""
    user = UserFactory()
    now = timezone.now()
    assert compiled.rows(grants_query, user_id=user.pk, now=now) == []
    connection.connection.execute("DEALLOCATE ALL")
    with pytest.raises(ProgrammingError, match="does not exist"), transaction.atomic():
        compiled.rows(grants_query, user_id=user.pk, now=now)
    assert compiled.rows(grants_query, user_id=user.pk, now=now) == []  # and outside it, prepared again


@pytest.mark.django_db(transaction=True)
def test_a_statement_is_prepared_again_after_a_migration_changed_a_column_it_reads():
    """PostgreSQL refuses a prepared statement whose result's types changed ("cached plan
    must not change result type"), as between `make migrate` and the workers' restart."""
    user = UserFactory()
    PlatformRoleFactory(user=user, role="state_admin", jurisdiction="MH")
    now = timezone.now()
    assert compiled.rows(grants_query, user_id=user.pk, now=now) == [("state_admin", "MH")]
    with column_retyped("organisations_platformrolegrant", "jurisdiction"):
        assert compiled.rows(grants_query, user_id=user.pk, now=now) == [("state_admin", "MH")]



def named_query(*, name):
    return User.objects.filter(full_name=name).values_list("full_name")


def grants_in_force_both_ways_query(*, user_id, now):
    return PlatformRoleGrant.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now), Q(revoked_at__isnull=True) | Q(revoked_at__gt=now), user_id=user_id,
    ).values_list("role")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["x'); DELETE FROM accounts_user; --", "a\\b %s %% $1 ; E'\\'", "आशा कुलकर्णी"])
def test_a_text_argument_is_the_value_itself_whatever_it_holds(name):
    UserFactory(full_name=name)
    UserFactory(full_name="Someone Else")
    assert compiled.rows(named_query, name=name) == [(name,)]
    assert compiled.rows(named_query, name=name + "'") == []
    assert User.objects.count() == 2


@pytest.mark.django_db
def test_a_text_argument_holding_a_nul_is_refused_as_the_orm_refuses_it():
    """libpq's quoting would end the text at the NUL (looking up "a" for "a\\x00b")."""
    UserFactory(full_name="a")
    with pytest.raises(DataError, match="NUL"):
        list(User.objects.filter(full_name="a\x00b"))
    with pytest.raises(DataError, match="NUL"):
        compiled.rows(named_query, name="a\x00b")


@pytest.mark.django_db
def test_a_value_used_in_several_places_is_one_argument():
    now = timezone.now()
    user = UserFactory()
    PlatformRoleFactory(user=user, role="state_admin", jurisdiction="MH")
    with CaptureQueriesContext(connection) as captured:
        assert compiled.rows(grants_in_force_both_ways_query, user_id=user.pk, now=now) == [("state_admin",)]
    (sql,) = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("EXECUTE ")]
    assert sql.count(now.isoformat()) == 1 and sql.count("::timestamptz") == 1, sql



def plan_cache_mode():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def grants_of_query(*, user_id, now):
    """grants_query's twin, a statement of its own (prepared afresh on the test's connection)."""
    return grants_query(user_id=user_id, now=now)


@pytest.mark.django_db
def test_inside_generic_plan_a_statement_runs_with_its_generic_plan_and_only_there():
    now = timezone.now()
    user = UserFactory()
    PlatformRoleFactory(user=user, role="state_admin", jurisdiction="MH")
    with prepared.generic_plan(), CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert compiled.rows(grants_of_query, user_id=user.pk, now=now) == [("state_admin", "MH")]
            # with another statement in the same round trip: each one's rows read in turn
            grants, [(name,)] = compiled.together(("rows", grants_of_query, (), {"user_id": user.pk, "now": now}),
                                                  ("rows", named_query, (), {"name": user.full_name}))
            assert grants == [("state_admin", "MH")] and name == user.full_name
    assert len(captured) == 6, captured.captured_queries
    assert all(q["sql"].startswith("SET plan_cache_mode = force_generic_plan;\nEXECUTE c")
               and q["sql"].endswith(";\nRESET plan_cache_mode") for q in captured.captured_queries)
    (name,) = set(re.findall(r"EXECUTE (c[0-9a-f]{12}_grants_of_query)", captured.captured_queries[0]["sql"]))
    assert plans(f"^{name}$") == (6, 0)
    assert compiled.rows(grants_of_query, user_id=user.pk, now=now) == [("state_admin", "MH")]
    # Outside it, PostgreSQL's own choice again: the first five runs planned for their values.
    assert plans(f"^{name}$") == (6, 1)
    assert plan_cache_mode() == "auto"


@pytest.mark.django_db(transaction=True)
def test_a_failed_statement_inside_generic_plan_leaves_the_setting_as_it_was():
    user = UserFactory()
    with transaction.atomic():
        with pytest.raises(DataError), transaction.atomic(), prepared.generic_plan():
            compiled.rows(grants_query, user_id=2**63, now=timezone.now())  # past the column's integers
        assert plan_cache_mode() == "auto"
    with pytest.raises(DataError), prepared.generic_plan():  # outside a transaction
        compiled.rows(grants_query, user_id=2**63, now=timezone.now())
    assert plan_cache_mode() == "auto"
    assert compiled.rows(grants_query, user_id=user.pk, now=timezone.now()) == []
