"""Exact query counts of the verification list pages, the same for 1 row as for
many (more than a page of 50): CONVENTIONS, query counts are asserted exactly; when
a count changes, the commit says why."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import User
from tests.factories import OrganisationFactory, UserFactory
from tests.html_tree import parse
from tests.pg_trace import rows_read_by_queries
from tests.verification.helpers import GovernmentProfileFactory, signed_in
from verification import admin_views, selectors
from verification.models import GovernmentProfile, VerificationMethod, VerificationStatus
from verification.visibility.models import Audience, PersonalVisibility, VisibilityPolicy

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


# The queue's confirmation of a decision on the requests chosen (at most 50), as an admin of
# the parent department: 3 the requests chosen with their people, organisations and badges,
# 4 the verified addresses of their people, 5 the verified domains of their organisations,
# 6 which of their people hold an admin role at all (with_roles_verifying_ends: the roles
# that verifying ends are worked out for those alone; none here).
QUEUE_CONFIRM_QUERIES = 6


def test_queue_confirmation_query_count(world, rows, django_assert_num_queries):
    chosen = list(GovernmentProfile.objects.filter(organisation=world["office"], status=VerificationStatus.PENDING)
                  .values_list("pk", flat=True)[:50])
    query = "&".join(f"profile={pk}" for pk in chosen)
    html = count(signed_in(world["admin_parent"]), f"/verification/queue/decide/?{query}&decision=verify",
                 QUEUE_CONFIRM_QUERIES, django_assert_num_queries)
    assert html.count('type="hidden" name="profile"') == len(chosen) == min(rows, 50)


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
# (subqueries) and each detail's audience (joined in). A search first reads the matches of
# each field it searches, by their indexes (selectors._member_candidates): one more.
MEMBERS_QUERIES = 6
MEMBERS_SEARCH_QUERIES = MEMBERS_QUERIES + 1
# Only those at a domain no longer the organisation's: first the domains removed from it or from
# one above it (the audit log; with none removed, nobody is at one, and neither the pager's count
# nor the page is read).
MEMBERS_OFF_DOMAIN_QUERIES = MEMBERS_QUERIES + 1 - 2


@pytest.mark.parametrize("query", ["", "?q=member", "?q=member0", "?off_domain=on"])
def test_members_query_count(world, rows, query, django_assert_num_queries):
    expected = {"": MEMBERS_QUERIES, "?off_domain=on": MEMBERS_OFF_DOMAIN_QUERIES}.get(query, MEMBERS_SEARCH_QUERIES)
    html = count(signed_in(world["admin_parent"]), f"/verification/organisations/{world['office'].pk}/members/{query}",
                 expected, django_assert_num_queries)
    # By the account's address, or the name or official address seen; nobody at a removed domain.
    found = {"?q=member0": 1, "?off_domain=on": 0}.get(query, rows)
    assert html.count("/suspend/") + html.count("/reinstate/") == min(found, 50)


# Only those at a domain no longer the organisation's, once one was removed: the removals (the
# audit log), the domains among them official for its line again, then the pager's count and the
# page, as for everyone, the removed domains' filter in both: as many for 60 members as for 1.
MEMBERS_OFF_DOMAIN_REMOVED_QUERIES = MEMBERS_QUERIES + 2


def test_members_at_a_removed_domain_query_count(world, rows, django_assert_num_queries):
    from portal.organisations.models import OrganisationDomain
    from portal.organisations.services import organisation_domain_remove

    office = world["office"]
    GovernmentProfileFactory(organisation=office, user=UserFactory(email="ravi@pune.mahaagri.gov.in"),
                             status=VerificationStatus.VERIFIED)
    organisation_domain_remove(domain_id=OrganisationDomain.objects.get(organisation=office).pk,
                               reason="Moved to the department's domain", actor=world["superadmin"])
    html = count(signed_in(world["admin_parent"]), f"/verification/organisations/{office.pk}/members/?off_domain=on",
                 MEMBERS_OFF_DOMAIN_REMOVED_QUERIES, django_assert_num_queries)
    # The members at the office's own domain (every other one, and Ravi), verified or suspended.
    assert html.count("/suspend/") + html.count("/reinstate/") == min(rows // 2 + 1, 50)


def test_a_members_page_reads_its_own_rows_not_every_members(world, require_postgresql, monkeypatch,
                                                             django_assert_num_queries):
    """The members page of a large organisation sorted every member by the name shown, and
    worked out each one's visibility and badges, before cutting its page; then counted them
    all. A page now reads its rows by an index of the names (down to its last row), works
    out what it shows for its own rows only, and counts up to a bound (lowered here to 300,
    with 3,000 members), past which it says there are more. Its order stays the names seen,
    whatever their case, then by id those kept from the viewer (as each person chose, or as
    the organisation's policy keeps them all), in as many queries."""
    monkeypatch.setattr(admin_views, "MEMBERS_COUNT_MAX", 300, raising=False)
    office, now = world["office"], timezone.now()
    names = [f"{'abcdefgh'[i % 8]}{'bcdefgh'[i % 7]} name {i:04d}" for i in range(3_000)]
    users = User.objects.bulk_create([User(email=f"p{i:04d}@pune.mahaagri.gov.in", password="!",
                                           full_name=name.upper() if i % 3 == 0 else name.title())
                                      for i, name in enumerate(names)])
    GovernmentProfile.objects.bulk_create([GovernmentProfile(
        user=user, organisation=office, designation="Clerk", office="Section", employee_code=f"E{i}",
        official_email=user.email, mobile=f"+9198{i:08d}", requested_at=now, request_language="en",
        method=VerificationMethod.MANUAL, verified_at=now, verified_name=user.full_name, decided_at=now,
        status=VerificationStatus.SUSPENDED if i % 10 == 0 else VerificationStatus.VERIFIED)
        for i, user in enumerate(users)])
    kept = users[::100]  # who keep their name from everyone
    PersonalVisibility.objects.bulk_create([PersonalVisibility(user=user, name=Audience.NOBODY) for user in kept])
    _analysed()
    client = signed_in(world["admin_office"])
    url = f"/verification/organisations/{office.pk}/members/"
    in_order = sorted((user.full_name for user in users if user not in kept), key=str.lower)

    def shown(query):
        html = count(client, url + query, MEMBERS_QUERIES, django_assert_num_queries)
        return html, re.findall(r'<td>([^<]+)<br><span class="small text-break">', html)

    try:
        html, first = shown("")
        assert "More than 300 members: these pages show the first 300 by name." in html and "Page 1 of 6" in html
        assert first == in_order[:50]
        html, last = shown("?page=999")
        assert "Page 6 of 6" in html and last == in_order[250:300]
        for query in ("", "?page=6"):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url + query).status_code == 200
            read = rows_read_by_queries(captured.captured_queries, "verification_governmentprofile", hashed=False)
            assert read < 1_000, f"{query or 'page 1'} read {read} rows of the members' profiles"
        # The names kept from the admins come after the others, by id.
        monkeypatch.setattr(admin_views, "MEMBERS_COUNT_MAX", 10_000, raising=False)
        _html, tail = shown("?page=60")
        assert tail == in_order[-20:] + [user.email for user in kept]
        VisibilityPolicy.objects.update_or_create(organisation=office, defaults={"name": Audience.NOBODY})
        _html, everyone = shown("?page=2")
        assert everyone == [user.email for user in users[50:100]]
    finally:  # the tables' statistics as they were: their sizes outlive the test's transaction
        PersonalVisibility.objects.filter(user__in=users).delete()
        GovernmentProfile.objects.filter(user__in=users).delete()
        User.objects.filter(pk__in=[user.pk for user in users]).delete()
        _analysed()


def test_a_members_search_reads_at_most_its_bound_of_matches(world, require_postgresql, monkeypatch,
                                                             django_assert_num_queries):
    """A search of the members read every member of the organisation (each one's name,
    addresses and their visibility: some 350 ms at 100,000, bench/README.md), however many
    matched. It now reads the matches of each field searched (the name, the official
    address, the account's address) by its index, at most MEMBER_CANDIDATES_PER_FIELD of
    each (lowered here to 5), and works out the visibility of those only, in one query
    more; a name kept from the admin is still not found by it, and the account's address
    still finds its member."""
    monkeypatch.setattr(selectors, "MEMBER_CANDIDATES_PER_FIELD", 5)
    office, now = world["office"], timezone.now()
    users = User.objects.bulk_create([User(email=f"p{i:03d}@pune.mahaagri.gov.in", password="!",
                                           full_name=f"Member {'Kulkarni' if i % 20 == 7 else 'Patil'} {i:03d}")
                                      for i in range(60)])
    GovernmentProfile.objects.bulk_create([GovernmentProfile(
        user=user, organisation=office, designation="Clerk", office="Section", employee_code=f"E{i}",
        official_email=f"o{i:03d}@pune.mahaagri.gov.in", mobile=f"+9198{i:08d}", requested_at=now,
        request_language="en", method=VerificationMethod.MANUAL, verified_at=now, verified_name=user.full_name,
        decided_at=now, status=VerificationStatus.VERIFIED) for i, user in enumerate(users)])
    PersonalVisibility.objects.create(user=users[7], name=Audience.NOBODY)  # "Member Kulkarni 007"
    client = signed_in(world["admin_office"])
    url = f"/verification/organisations/{office.pk}/members/"

    def searched(query):
        html = count(client, f"{url}?q={query}", MEMBERS_SEARCH_QUERIES, django_assert_num_queries)
        return html, re.findall(r'<td>([^<]+)<br><span class="small text-break">', html)

    _html, names = searched("kulkarni")
    assert names == ["Member Kulkarni 027", "Member Kulkarni 047"]  # not 007's: kept from the admins
    _html, names = searched("p042@pune")  # the account's address
    assert names == ["Member Patil 042"]
    # 57 members' names match: 5 of them are read (no address holds "patil"), and listed.
    html, names = searched("patil")
    assert len(names) == 5 and all(name.startswith("Member Patil ") for name in names)
    assert ("More members match this search than it reads: these pages show members from among the first 5 "
            "matches of the name and of each address. Add to the search to narrow it.") in html
    assert "More members match" not in searched("kulkarni")[0]
    # Every address matches: at most 5 of each field, 10 here (the official and the account's).
    html, names = searched("mahaagri")
    assert 5 <= len(names) <= 10, names


def _analysed():
    """Every table analysed, as a database in use has them: the planner's choice for the page
    then rests on this test's rows alone, not on statistics autovacuum happened to take of a
    table earlier tests of the same worker filled and emptied (the organisations, the
    memberships): the likely reason the first page once read every member's profile, in a
    run with another order of tests."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


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

# The join page of an organisation that verifies at once, for someone whose being verified there
# ends things elsewhere: 3 the organisation, 4 the person's standing there, 5 their verifications
# and requests elsewhere (one query), 6-9 the admin roles that end (resting on a verification,
# first admin roles outside its line, the roles above them), 10 whether it verifies at once, 11 a
# decision about them withheld, 12 the details offered, 13-14 their address confirmed and on its
# domain, 15 their requests waiting (the limit said).
JOIN_ENDING_QUERIES = 15
# An invitation's page for someone whose accepting ends things elsewhere: 3 the invitation,
# 4 its address confirmed on the account, then what accepting comes to (their waiting request
# there, their roles, verified elsewhere or holding a role at an address off its domains, its
# mobile number taken, their standing there, a decision withheld), and what it ends elsewhere as
# on the join page.
INVITATION_ENDING_QUERIES = 19


def test_search_query_count(world, rows, django_assert_num_queries):
    html = count(signed_in(world["person"]), "/verification/organisations/?q=agriculture+board", SEARCH_QUERIES,
                 django_assert_num_queries)
    assert len(parse(html).find("tbody").find_all("tr")) == min(rows, 50)


@pytest.mark.parametrize("waiting", [1, 3], ids=["1 request elsewhere", "3 requests elsewhere"])
def test_join_page_naming_what_being_verified_ends_query_count(world, waiting, django_assert_num_queries):
    """The office's first admin asks an organisation that verifies at once: the page names the
    role that ends and each request waiting elsewhere, in the same number of queries for 1 and
    for 3 (the most one may have waiting)."""
    from allauth.account.models import EmailAddress

    from verification.models import VerificationSettings

    admin, other = world["admin_office"], world["other"]
    EmailAddress.objects.create(user=admin, email="office.admin@karhealth.gov.in", verified=True)
    VerificationSettings.objects.create(organisation=other, auto_verify_official_domain=True)
    for i in range(waiting):
        GovernmentProfileFactory(user=admin, organisation=OrganisationFactory(name=f"Agriculture Board {i}"),
                                 official_email=admin.email)
    html = count(signed_in(admin), f"/verification/organisations/{other.pk}/join/", JOIN_ENDING_QUERIES,
                 django_assert_num_queries)
    assert len(parse(html).by_id("ending-elsewhere").find_all("li")) == waiting + 1


@pytest.mark.parametrize("waiting", [1, 3], ids=["1 request elsewhere", "3 requests elsewhere"])
def test_invitation_page_naming_what_accepting_ends_query_count(world, waiting, django_assert_num_queries,
                                                                django_capture_on_commit_callbacks):
    """Ravi, verified and an admin elsewhere, opens an invitation at an address of his on the
    inviting office's domain: the page names the verification and role that end and each
    request waiting elsewhere, in the same number of queries for 1 and for 3."""
    from tests.verification.rosters.test_invitations import _held_elsewhere_person, _invite

    address = "person1@pune.mahaagri.gov.in"
    _invitation, link = _invite(world, address, django_capture_on_commit_callbacks)
    ravi, _held, _waiting = _held_elsewhere_person(world, address)
    for i in range(waiting - 1):
        GovernmentProfileFactory(user=ravi, organisation=OrganisationFactory(name=f"Agriculture Board {i}"),
                                 official_email="ravi.rao@karhealth.gov.in")
    html = count(signed_in(ravi), link, INVITATION_ENDING_QUERIES, django_assert_num_queries)
    assert len(parse(html).by_id("ending-elsewhere").find_all("li")) == waiting + 1
