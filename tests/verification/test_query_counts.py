"""Exact query counts of the verification list pages, the same for 1 row as for
many (more than a page of 50): CONVENTIONS, query counts are asserted exactly; when
a count changes, the commit says why."""

import re

import pytest

from tests.factories import OrganisationFactory, UserFactory
from tests.html_tree import parse
from tests.verification.helpers import GovernmentProfileFactory, signed_in
from verification.models import VerificationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[1, 60], ids=["1 row", "60 rows"])
def rows(request, world):
    """``n`` waiting requests and ``n`` verified members in the district office (each of
    another person, half of them with their address on its domain), ``n`` requests of
    the asking person in other organisations, and ``n`` organisations found by a search."""
    n = request.param
    for i in range(n):
        domain = "pune.mahaagri.gov.in" if i % 2 else "gmail.com"
        GovernmentProfileFactory(organisation=world["office"], user=UserFactory(email=f"clerk{i}@{domain}"))
        GovernmentProfileFactory(organisation=world["office"], user=UserFactory(email=f"member{i}@{domain}"),
                                 status=VerificationStatus.VERIFIED if i % 3 else VerificationStatus.SUSPENDED)
        GovernmentProfileFactory(user=world["person"], organisation=OrganisationFactory(name=f"Agriculture Board {i}"),
                                 status=VerificationStatus.REJECTED if i % 2 else VerificationStatus.PENDING)
    return n


def count(client, url, expected, django_assert_num_queries):
    assert client.get(url).status_code == 200  # a first request, so that nothing pending (flash messages) counts
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# Every signed-in page starts with 2 queries: 1 the session, 2 the user with their
# platform roles and whether they have an authenticator app (auth middleware, one query;
# cached on the user for the MFA middleware, the rules, the selectors and the context
# processor).

# Queue, as an admin of the parent department (the requests of the office below it;
# the organisations they administer come with the platform roles, 2, for the access
# rule and the selectors):
#   3 the number of requests (the pager), 4 the page of requests with their people and
#   organisations, and whether each person is verified anywhere or elsewhere (subqueries),
#   5 the verified addresses of the people on the page, 6 the verified domains of their
#   organisations (the official-domain badge: two queries for the whole page).
QUEUE_QUERIES = 6


@pytest.mark.parametrize("query", ["", "?page=2", "?status=pending"])
def test_queue_query_count(world, rows, query, django_assert_num_queries):
    html = count(signed_in(world["admin_parent"]), "/verification/queue/" + query, QUEUE_QUERIES, django_assert_num_queries)
    # (Page 2 of one page is its last page, the first.)
    assert html.count('name="profile"') == (rows - 50 if query == "?page=2" and rows > 50 else min(rows, 50))


def test_queue_of_one_organisation_query_count(world, rows, django_assert_num_queries):
    # One more: 3 the organisation asked for, among those the viewer administers.
    count(signed_in(world["admin_parent"]), f"/verification/queue/?organisation={world['office'].pk}", QUEUE_QUERIES + 1,
          django_assert_num_queries)


def test_queue_query_count_as_a_superadmin(world, rows, django_assert_num_queries):
    # A superadmin: as many (their authenticator app comes with their roles; every organisation is theirs).
    count(signed_in(world["superadmin"]), "/verification/queue/", QUEUE_QUERIES, django_assert_num_queries)


# Members: 3 the organisation (among those the viewer administers), 4 the viewer for the
# visibility rules (where they are verified, whether they administer an active
# organisation: each member's details are shown only as the rules let them see them),
# Other than waiting requests (suspended members here), each detail as the
# visibility rules let the admin see it: + 1, the viewer (whether verified anywhere, the
# organisations administered), read once for the page.
def test_queue_of_held_profiles_query_count(world, rows, django_assert_num_queries):
    html = count(signed_in(world["admin_parent"]), "/verification/queue/?status=suspended", QUEUE_QUERIES + 1,
                 django_assert_num_queries)
    listed = set(re.findall(r'href="/verification/profiles/(\d+)/"', html))
    assert len(listed) == min(sum(1 for i in range(rows) if i % 3 == 0), 50)


# 5 the number of members (the pager), 6 the page of members with their people, badges
# (subqueries) and each detail's audience (joined in).
MEMBERS_QUERIES = 6


@pytest.mark.parametrize("query", ["", "?q=member", "?q=member0"])
def test_members_query_count(world, rows, query, django_assert_num_queries):
    html = count(signed_in(world["admin_parent"]), f"/verification/organisations/{world['office'].pk}/members/{query}",
                 MEMBERS_QUERIES, django_assert_num_queries)
    found = 1 if query == "?q=member0" else rows  # by the account's address, or the name or official address seen
    assert html.count("/suspend/") + html.count("/reinstate/") == min(found, 50)


# The person's own page: 3 their requests and verifications with their organisations
# (whether they administer any organisation, to show where to decide, comes with the
# platform roles, 2).
MINE_QUERIES = 3


def test_my_verifications_query_count(world, rows, django_assert_num_queries):
    html = count(signed_in(world["person"]), "/verification/", MINE_QUERIES, django_assert_num_queries)
    assert len(parse(html).find("tbody").find_all("tr")) == rows


# An admin's own page: 4 the number of organisations they administer (the pager), 5 a
# page of them with their waiting requests counted.
def test_my_verifications_query_count_as_an_admin(world, rows, django_assert_num_queries):
    html = count(signed_in(world["admin_parent"]), "/verification/", MINE_QUERIES + 2, django_assert_num_queries)
    assert f">{rows}<" in html  # the office's waiting requests, counted in the same query


# Finding an organisation: 3 the organisations found (at most 50), 4 the person's
# requests and verifications among them.
SEARCH_QUERIES = 4


def test_search_query_count(world, rows, django_assert_num_queries):
    html = count(signed_in(world["person"]), "/verification/organisations/?q=agriculture+board", SEARCH_QUERIES,
                 django_assert_num_queries)
    assert len(parse(html).find("tbody").find_all("tr")) == min(rows, 50)
