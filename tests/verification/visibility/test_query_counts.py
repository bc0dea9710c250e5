"""Exact query counts of the directory (search results and export) and of a person's
page, the same for 1 person found as for 60 (more than a page of 50): whatever the
number of people, their policies and their own choices, one query fetches and masks them."""

import re

import pytest
from django.test import Client

from tests.factories import OrganisationFactory, UserFactory
from tests.verification.helpers import GovernmentProfileFactory
from tests.verification.visibility.conftest import client_of, set_policy
from verification.models import VerificationStatus
from verification.visibility.models import Audience, PersonalVisibility, ProfileField

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[1, 60], ids=["1 person", "60 people"])
def found(request, people):
    """``n`` more people called Testperson, each in an organisation of their own (half of
    them shown to everyone, half to verified users; a third with choices of their own),
    besides the person."""
    n = request.param
    set_policy(people["home"], dict.fromkeys(ProfileField, Audience.PUBLIC))
    for i in range(n):
        organisation = OrganisationFactory()
        set_policy(organisation, dict.fromkeys(ProfileField, Audience.VERIFIED if i % 2 else Audience.PUBLIC))
        user = UserFactory(full_name=f"Rowena Testperson {i}")
        GovernmentProfileFactory(user=user, organisation=organisation, status=VerificationStatus.VERIFIED)
        if i % 3 == 0:
            PersonalVisibility.objects.create(user=user, mobile=Audience.NOBODY)
    return n


def count(client, url, expected, django_assert_num_queries, status=200):
    client.get(url)  # a first request, so that nothing pending (flash messages) counts
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == status
    return response


# A signed-in page starts with 2 queries: 1 the session, 2 the user with their platform
# roles and whether they have an authenticator app (one query, cached on the user for the
# MFA middleware). Then: the viewer (whether they are verified and where, whether they
# administer an organisation: one query; none for a superadmin or someone signed out),
# and the page of people (their profiles, organisations, policies and own choices, the
# viewer's level for each, the search: one query).
QUERIES = {"anonymous": 1, "public": 4, "outsider": 4, "colleague": 4, "admin": 4, "superadmin": 3, "self": 4}
# A search is also counted against its limit a minute (the client address's, or a verified
# viewer's account's: DIRECTORY_SEARCHES_PER_MINUTE), in the cache: the test settings keep it
# in the database (as the embedded default does), where the counter's increment takes its
# lock (that cache has no atomic increment: portal.limits.minute_counted), reads it, then
# writes it back (counts the rows for culling, savepoint, finds and updates the row, releases
# the savepoint): 7 queries; with Redis (production) one round trip and none.
SEARCH_COUNTED = 7
# A person's page is counted the same way against its own limit (DIRECTORY_PEOPLE_PER_MINUTE).
PERSON_COUNTED = 7


@pytest.mark.parametrize("who", list(QUERIES))
def test_directory_query_count(people, found, who, django_assert_num_queries):
    response = count(client_of(people, who), "/people/?q=testperson", QUERIES[who] + SEARCH_COUNTED,
                     django_assert_num_queries)
    listed = len(re.findall(r'href="/people/\d+/"', response.content.decode()))
    sees_verified = who not in ("anonymous", "public")
    expected = found if sees_verified else (found + 1) // 2  # the other half show their people to verified users only
    assert listed == min(expected, 50)


@pytest.mark.parametrize("who", list(QUERIES))
def test_directory_page_past_the_last_query_count(people, found, who, django_assert_num_queries):
    """A page past the last one of a search counts the people found before it (one more
    query, at most as many rows as the pages before it hold) to say where the results end."""
    response = count(client_of(people, who), "/people/?q=testperson&page=4", QUERIES[who] + SEARCH_COUNTED + 1,
                     django_assert_num_queries)
    assert "There are no results on this page" in response.content.decode()


@pytest.mark.parametrize("who", list(QUERIES))
def test_person_page_query_count(people, found, who, django_assert_num_queries):
    count(client_of(people, who), f"/people/{people['profile'].pk}/", QUERIES[who] + PERSON_COUNTED,
          django_assert_num_queries)


@pytest.mark.parametrize("who", [w for w in QUERIES if w != "anonymous"])
def test_export_query_count(people, found, who, django_assert_num_queries):
    # The page's queries, the person's downloads in the last hour (EXPORTS_PER_HOUR), and in
    # a savepoint (2 more) the person's export lock (PostgreSQL: an advisory lock; none on
    # SQLite), their downloads counted again under it, and the audit event in a savepoint of
    # its own (2 more): the chain's lock (PostgreSQL only), the chain head, the event, the
    # head updated; for an organisation admin, the names of their organisations, which the
    # event names beside their role (1 more).
    from django.db import connection

    audit = 1 + (4 if connection.vendor == "postgresql" else 3) + (6 if connection.vendor == "postgresql" else 5)
    audit += who == "admin"
    response = count(client_of(people, who), "/people/export.csv?q=testperson", QUERIES[who] + audit,
                     django_assert_num_queries)
    rows = response.content.decode().strip().splitlines()[1:]
    assert len(rows) == (found if who not in ("public",) else (found + 1) // 2)


def test_anonymous_export_asks_to_sign_in(people):
    response = Client().get("/people/export.csv?q=testperson")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
