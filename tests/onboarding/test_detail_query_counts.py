"""Exact query counts of the application detail page (/onboarding/<pk>/): its
timeline and its earlier decisions are lists, so the page makes the same number
of queries for 1 event as for 60 (CONVENTIONS: query counts are asserted exactly;
when a count changes, the commit says why)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onboarding.approval.timings import approval_timings, approval_timings_update
from onboarding.models import Attachment
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.deadlines import end_of_local_day
from portal.limits import MINUTE_COUNTER_LOCK
from tests.factories import PASSWORD, ApplicationFactory, ApprovalStepFactory, application_with_authority
from tests.onboarding.approval_helpers import (
    IS_POSTGRESQL,
    latest_link,
    make_state_admin,
    make_superadmin,
    second_factor_given,
)
from tests.pg_trace import prepared_text

pytestmark = pytest.mark.django_db

SHOWN = [AuditAction.APPLICATION_SUBMITTED, AuditAction.APPLICATION_PDF_RENDERED, AuditAction.APPLICATION_RESUBMITTED]


@pytest.fixture(params=[1, 60], ids=["1 event and decision", "60 events and decisions"])
def application(request, officer):
    """A submitted application of the officer waiting for the state (one open step),
    with its current letter, ``n`` events on its timeline (and as many section saves,
    which the timeline leaves out) and ``n`` earlier decisions."""
    application = ApplicationFactory(nodal_officer=officer, status="with_state")
    Attachment.objects.create(
        application=application, file="letters/letter.pdf", original_name="letter.pdf", content_type="application/pdf",
        size=1234, sha256="0" * 64, pages=1, uploaded_by=officer,
    )
    for i in range(request.param):
        audit_record(actor=officer, action=SHOWN[i % len(SHOWN)], target=application)
        audit_record(actor=officer, action=AuditAction.APPLICATION_SECTION_SAVED, target=application)
    opened = timezone.now() - timedelta(days=request.param + 1)
    for i in range(request.param):
        ApprovalStepFactory(
            application=application, stage="authority", assignee_email="director@mahaagri.gov.in", opened_at=opened + timedelta(days=i),
            decision="return", remarks=f"Correct section {i}.", decided_at=opened + timedelta(days=i, hours=1),
            decided_by_email="director@mahaagri.gov.in",
        )
    ApprovalStepFactory(application=application)
    application.events = request.param
    return application


def get_detail(client, application):
    url = f"/onboarding/{application.pk}/"
    assert client.get(url).status_code == 200  # a first request, so that nothing pending counts
    return url


def assert_lists(response, application):
    html = response.content.decode()
    assert html.count("<li><time ") == application.events  # one per timeline event
    assert "Application section saved" not in html
    assert html.count("Correct section ") == application.events  # one per earlier decision


# As the nodal officer: 6 queries, whatever the number of events and decisions.
#   1 session, 2 the user with their platform roles (auth middleware, one query; cached on
#     the user for the MFA middleware, the view and the context processor),
#   3 the application, scoped to the viewer, with its nodal officer,
#   4 its current letter,
#   5 its approval steps (the approval panel: the open one and the earlier decisions, one query),
#   6 its timeline (one query for all its events).
OFFICER_DETAIL_QUERIES = 6


def test_detail_query_count_for_the_nodal_officer(officer_client, application, django_assert_num_queries):
    url = get_detail(officer_client, application)
    with django_assert_num_queries(OFFICER_DETAIL_QUERIES):
        response = officer_client.get(url)
    assert response.status_code == 200
    assert_lists(response, application)


# Waiting for its competent authority, the officer's page asks 3 queries more, whatever the
# number of events and decisions: whether that authority can still decide (7 the official-email
# rules, 8 the officer's own addresses: onboarding.approval.selectors.authority_steps_refused)
# and 9 whether the mail relay refused its address as unknown (portal.mail.refusals).
OFFICER_DETAIL_AUTHORITY_QUERIES = OFFICER_DETAIL_QUERIES + 3


# Returned for correction, the officer's page asks 1 query more, whatever the number of
# events and decisions: 7 the day before which it must be submitted again (retention's
# policy for returned applications, with its reminder and whether a legal hold is in
# force: onboarding.application.selectors.correction_deadline), as its form shows it.
OFFICER_DETAIL_RETURNED_QUERIES = OFFICER_DETAIL_QUERIES + 1


def test_detail_query_count_for_the_nodal_officer_of_a_returned_application(
        officer_client, application, django_assert_num_queries):
    type(application).objects.filter(pk=application.pk).update(status="changes_requested")
    application.steps.filter(decision="").delete()
    application.refresh_from_db()
    url = get_detail(officer_client, application)
    with django_assert_num_queries(OFFICER_DETAIL_RETURNED_QUERIES):
        response = officer_client.get(url)
    assert response.status_code == 200
    assert_lists(response, application)
    assert "Submit it again before" in response.content.decode()


# Rejected, the officer's page asks 2 queries more, whatever the number of events, decisions and
# changes of the approval timings, for the appeal period it names: 7 the last rejection
# (approval.selectors.last_rejection), 8 the approval timings (the appeal period in force when
# the rejection was decided, with those each change replaced: one row).
OFFICER_DETAIL_REJECTED_QUERIES = OFFICER_DETAIL_QUERIES + 2


@pytest.mark.parametrize("changes", [0, 3])
def test_detail_query_count_for_the_nodal_officer_of_a_rejected_application(
        officer_client, application, changes, django_assert_num_queries):
    root = make_superadmin(email="root@sandes.nic.in")
    rejected_at = timezone.now() - timedelta(hours=1)
    application.steps.filter(decision="").update(decision="reject", decided_at=rejected_at,
                                                 decided_by_email="director@mahaagri.gov.in")
    type(application).objects.filter(pk=application.pk).update(status="rejected")
    for change in range(changes):  # each after the rejection: its appeal period stays 30 days
        approval_timings_update(values={**approval_timings().values(), "appeal_window_days": 10 + change}, actor=root)
    url = get_detail(officer_client, application)
    with django_assert_num_queries(OFFICER_DETAIL_REJECTED_QUERIES):
        response = officer_client.get(url)
    assert response.status_code == 200
    assert_lists(response, application)
    assert f"{end_of_local_day(rejected_at, 30):%-d %b %Y}" in response.content.decode()


@pytest.mark.parametrize("events", [1, 60])
def test_detail_query_count_for_the_nodal_officer_while_the_authority_decides(
        officer, officer_client, events, django_assert_num_queries):
    application = application_with_authority(nodal_officer=officer)
    for i in range(events):
        audit_record(actor=officer, action=SHOWN[i % len(SHOWN)], target=application)
    url = get_detail(officer_client, application)
    with django_assert_num_queries(OFFICER_DETAIL_AUTHORITY_QUERIES):
        response = officer_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("<li><time ") == events  # one per timeline event


# As a state administrator of the application's state: as many, 6 queries.
#   1 session, 2 user with platform roles and whether they have the authenticator app a
#   state admin must have (as above), 3 the application (scoped to the admin's
#   jurisdiction), 4 its letter, 5 its steps, 6 its timeline.
STATE_ADMIN_DETAIL_QUERIES = 6


def test_detail_query_count_for_a_state_admin(application, django_assert_num_queries):
    admin = make_state_admin("MH")
    client = Client()
    assert client.login(email=admin.email, password=PASSWORD)
    second_factor_given(client, admin)
    url = get_detail(client, application)
    with django_assert_num_queries(STATE_ADMIN_DETAIL_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    assert_lists(response, application)


# The competent authority's review page (/onboarding/review/, the link kept in the session):
# 9 queries on SQLite, 3 round trips on PostgreSQL, the same for 1 earlier decision as for 60.
#   1 session (the authority is not signed in: no user, no roles),
#   2 the link's token with its step, application and nodal officer,
#   3 the version of the application sent for this step, 4 its steps (the history, and whether
#   the authority saw an earlier version: not here), 5 its current letter, 6 the official-email
#   rules (which of its staff domains would be official), 7 the approval timings' row (the most
#   returns for correction, which superadmins set), 8 those domains already official for
#   another organisation (for the flags), 9 the organisation that has the short code the form
#   names, if another has it now (for the flags: final approval would be refused): 3-9 one
#   execute of seven statements on PostgreSQL (compiled.together).
# Not counted: the link's rate-limit counters, kept in the cache (a table in the tests' settings,
# where each counter costs 6-7 statements depending on the minute, its lock among them:
# portal.limits.minute_counted; Redis in production's).
REVIEW_QUERIES = 3 if IS_POSTGRESQL else 9


@pytest.mark.parametrize("earlier", [1, 60])
def test_review_page_query_count(officer, earlier):
    application = application_with_authority(nodal_officer=officer)
    opened = timezone.now() - timedelta(days=earlier + 1)
    for i in range(earlier):
        ApprovalStepFactory(
            application=application, stage="state", assignee_email="admin@maharashtra.gov.in", opened_at=opened + timedelta(days=i),
            decision="return", remarks=f"Correct section {i}.", decided_at=opened + timedelta(days=i, hours=1),
            decided_by_email="admin@maharashtra.gov.in",
        )
    client = Client()
    path, _token = latest_link()
    assert client.get(path).status_code == 302
    assert client.get("/onboarding/review/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/onboarding/review/")
    assert response.status_code == 200
    queries = [prepared_text(q["sql"]) for q in captured.captured_queries
               if "portal_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
               and f"pg_advisory_xact_lock({MINUTE_COUNTER_LOCK}," not in q["sql"]]
    assert len(queries) == REVIEW_QUERIES, "\n".join(queries)
    together = [q for q in queries if "onboarding_applicationversion" in q and "onboarding_attachment" in q]
    assert len(together) == IS_POSTGRESQL and (not together or together[0].count(";\n") == 6)
    assert response.content.decode().count("Correct section ") == earlier
