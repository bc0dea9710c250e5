"""Exact query counts of the monitoring pages, the same at two data sizes (CONVENTIONS:
query counts are asserted exactly; when a count changes, the commit says why)."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from monitoring import services
from monitoring.models import ExpectedOffice
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory
from tests.verification.helpers import GovernmentProfileFactory, signed_in
from verification.models import VerificationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[1, 30], ids=["small", "larger"])
def data(request, world):
    """``n`` more of everything in Maharashtra, below the Agriculture Department: offices
    (active, with users), applications with steps (overdue, decided), expected offices
    matched in every way, and audit events (more than a page of each at 30)."""
    n = request.param
    now = timezone.now()
    for i in range(n):
        office = OrganisationFactory(name=f"Taluka office {i}", short_code=f"MH-T{i}", parent=world["agri"],
                                     activated_at=now - timedelta(days=i * 10))
        GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED)
        GovernmentProfileFactory(organisation=office)
        application = ApplicationFactory(status="with_authority", jurisdiction="MH", organisation=office)
        ApprovalStepFactory(application=application, stage="authority", opened_at=now - timedelta(days=9),
                            due_at=now - timedelta(days=2))
        decided = ApplicationFactory(status="with_state", jurisdiction="MH", organisation=office)
        ApprovalStepFactory(application=decided, stage="authority", opened_at=now - timedelta(days=9),
                            decision="approve", decided_at=now - timedelta(days=i % 5))
        ApplicationFactory(status="draft", reference=None, jurisdiction="MH",
                           data={"organisation": {"short_code": f"MH-D{i}"}})
        # (One of each a day, so that every page has offices with a short code and with a domain.)
        target = date(2026, 1, 1) + timedelta(days=i)
        for code in (f"MH-T{i}", f"MH-D{i}", f"MH-N{i}"):
            ExpectedOffice.objects.create(jurisdiction="MH", name=f"Expected {code}", short_code=code,
                                          contact_email=f"{code.lower()}@mh.gov.in", target_date=target)
        ExpectedOffice.objects.create(jurisdiction="MH", name=f"Expected by domain {i}", official_domain=f"t{i}.mh.gov.in",
                                      contact_email=f"d{i}@mh.gov.in", target_date=target)
        for _j in range(2):
            audit_record(actor=world["superadmin"], action=AuditAction.ORGANISATION_ACTIVATED, target=office)
            audit_record(actor=world["superadmin"], action=AuditAction.STEP_DECIDED, target=application)
    services.figures_refresh()
    services.audit_chain_check()
    return n


def count(client, url, expected, django_assert_num_queries):
    assert client.get(url).status_code == 200  # a first request, so that nothing pending (messages) counts
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# Every signed-in page starts with 2 queries: 1 the session, 2 the user with their
# platform roles and whether they have an authenticator app (one query, read once a
# request; the MFA middleware asks every platform role for one).
#
# Dashboard: 3 the table's page with the number of its rows (a window in the same
# query, for the pager), 4 applications by state, 5 the longest overdue steps with how
# many there are (a window again), 6 medians per stage, 7 onboarded per month, 8
# verified and waiting users (summary table) with when they were counted and the
# rosters imported (when the roster app is installed), in subqueries of the same query,
# 9 the approved applications whose letter could not be made, with how many there are
# (a window), 10 the open steps nobody may decide, with how many there are (a window);
# on PostgreSQL 4-10 are one round trip (compiled.together: 4 in all).
# The organisations an admin administers come with the platform roles (2): neither the
# scope nor the rule asks again.
PAGE_QUERIES = 4 if connection.vendor == "postgresql" else 10
DASHBOARD = {"superadmin": PAGE_QUERIES, "state_admin_mh": PAGE_QUERIES, "admin_agri": PAGE_QUERIES}
# A page past the table's end (page 2 of the small data's one page of Maharashtra) has
# no row to carry the count: two more, the rows counted and the last page read.
PAST_THE_END = 2


@pytest.mark.parametrize("role", sorted(DASHBOARD))
def test_dashboard(world, data, role, django_assert_num_queries):
    client = signed_in(world[role])
    count(client, "/monitoring/", DASHBOARD[role], django_assert_num_queries)
    past_the_end = PAST_THE_END if data == 1 else 0
    html = count(client, "/monitoring/?state=MH&sort=-verified&page=2", DASHBOARD[role] + past_the_end,
                 django_assert_num_queries)
    assert ("Page 2 of 2" in html) == (data > 1)  # (the small data's one page has no pager)


# Tracker (a state administrator): 3 the list counted, 4 its page with whether each office
# is active, 5 organisations with the page's short codes, 6 those with its domains, 7 the
# applications matching either, 8 their open steps.
TRACKER = 8


def test_tracker(world, data, django_assert_num_queries):
    html = count(signed_in(world["state_admin_mh"]), "/monitoring/adoption/", TRACKER, django_assert_num_queries)
    assert html.count("Send a reminder<span") >= min(data * 3, 25) - data


# Audit log: 3 the events counted, 4 their page, 5 the last chain check (the scope's
# organisations administered come with the platform roles); an organisation filter
# adds one query to find it.
AUDIT = {"auditor_all": 5, "auditor_mh": 5, "admin_agri": 5}


@pytest.mark.parametrize("role", sorted(AUDIT))
def test_audit_log(world, data, role, django_assert_num_queries):
    client = signed_in(world[role])
    count(client, "/monitoring/audit/", AUDIT[role], django_assert_num_queries)
    count(client, "/monitoring/audit/?organisation=mh-t0&page=2", AUDIT[role] + 1, django_assert_num_queries)
    # The events older than one (the newest: past the bound, the last page leads on to the
    # events older than its last one), paged: the same queries.
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    count(client, f"/monitoring/audit/?before={before}&page=2", AUDIT[role], django_assert_num_queries)
    # The pages after the first, up to the first page's newest event (its links carry it): the same queries.
    count(client, f"/monitoring/audit/?upto={before}&page=2", AUDIT[role], django_assert_num_queries)
