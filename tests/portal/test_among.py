"""portal.among: a column among a list of values, one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.among import among
from portal.organisations.models import Organisation
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def test_it_finds_what_in_finds_by_id_by_text_and_through_a_relation():
    organisations = [OrganisationFactory(short_code=f"AMG{n}") for n in range(5)]
    below = OrganisationFactory(short_code="AMG-BELOW", parent=organisations[1])
    ids = [organisations[0].pk, organisations[3].pk, 10**12]
    assert (sorted(Organisation.objects.filter(among("pk", ids, "bigint")).values_list("pk", flat=True))
            == sorted(Organisation.objects.filter(pk__in=ids).values_list("pk", flat=True)) == sorted(ids[:2]))
    codes = ["AMG2", "AMG4", "NONE"]
    assert (set(Organisation.objects.filter(among("short_code", codes, "text")).values_list("short_code", flat=True))
            == {"AMG2", "AMG4"})
    assert list(Organisation.objects.filter(among("parent__short_code", ["AMG1"], "text"))) == [below]
    with CaptureQueriesContext(connection) as queries:  # as IN does: nothing asked
        assert list(Organisation.objects.filter(among("pk", [], "bigint"))) == []
    assert queries.captured_queries == []


@pytest.mark.usefixtures("require_postgresql")  # SQLite is asked IN as Django makes it
def test_on_postgresql_the_values_are_one_array_parameter():
    ids = list(range(1, 5001))
    with CaptureQueriesContext(connection) as queries:
        list(Organisation.objects.filter(among("pk", ids, "bigint")).values_list("pk", flat=True))
    [query] = queries.captured_queries
    assert '"organisations_organisation"."id" = ANY(' in query["sql"] and "::bigint[])" in query["sql"]
    assert " IN (" not in query["sql"]
