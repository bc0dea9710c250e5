"""Exact query counts of the nodal officer's list pages, the same for 1 application
as for 50 (CONVENTIONS: query counts are asserted exactly; when a count changes,
the commit says why)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils.html import escape
from guardian.shortcuts import assign_perm

from onboarding.models import Application, ApplicationStatus, Attachment
from tests.onboarding.form_helpers import complete, new_application

pytestmark = pytest.mark.django_db

STATUSES = [ApplicationStatus.DRAFT, ApplicationStatus.WITH_AUTHORITY, ApplicationStatus.CHANGES_REQUESTED,
            ApplicationStatus.WITHDRAWN, ApplicationStatus.APPROVED]


@pytest.fixture(params=[1, 50], ids=["1 application", "50 applications"])
def applications(request, officer, officer_client):
    """``n`` applications of the officer, each complete with a current letter, in a
    mix of states (the first built through the views, the others copied from it)."""
    template = complete(officer_client, new_application(officer))
    letter = Attachment.objects.get(application=template, is_current=True)
    made = [template]
    for i in range(1, request.param):
        application = Application.objects.create(
            nodal_officer=officer, data=template.data, section_status=template.section_status,
            status=STATUSES[i % len(STATUSES)], organisation_name=f"{template.organisation_name} {i}",
            jurisdiction=template.jurisdiction, version=template.version,
            reference=None if STATUSES[i % len(STATUSES)] == ApplicationStatus.DRAFT else f"ONB-2026-{i:06d}",
        )
        assign_perm("onboarding.change_application", officer, application)  # as application_create gives it
        Attachment.objects.create(
            application=application, file=letter.file.name, original_name=letter.original_name, content_type=letter.content_type,
            size=letter.size, sha256=letter.sha256, pages=letter.pages, uploaded_by=officer,
        )
        made.append(application)
    assert Application.objects.filter(nodal_officer=officer).count() == request.param
    return made


def warm(client, url):
    """A first request, so that pending flash messages do not count."""
    assert client.get(url).status_code == 200


# My applications: 5 queries on SQLite, 3 round trips on PostgreSQL, whatever the number of applications.
#   1 session, 2 the user with their platform roles (auth middleware, one query; cached on
#     the user for the MFA middleware and the context processor),
#   3 the applications, whether each has a current letter read in the same query, 4 the
#   official-email rules and 5 the verified email address ("can this user start an
#   application?"): 3-5 one execute of three statements on PostgreSQL (compiled.together).
MY_APPLICATIONS_QUERIES = 3 if connection.vendor == "postgresql" else 5


def test_my_applications_query_count(officer_client, applications, django_assert_num_queries):
    warm(officer_client, "/onboarding/")
    with django_assert_num_queries(MY_APPLICATIONS_QUERIES):
        response = officer_client.get("/onboarding/")
    assert response.status_code == 200
    assert response.content.decode().count('<tr>') == len(applications) + 1  # a header row and one per application


# Task list: 4 queries, whatever the number of the officer's (or anyone's) applications.
#   1 session, 2 user with platform roles (as above),
#   3 the application (scoped to its nodal officer),
#   4 the advice on possible duplicates (shown while the application is editable), from the
#     cache (a table in the tests' settings, Redis in production's: no query there), where the
#     first visit with these answers left it.
TASK_LIST_QUERIES = 4
# A first visit with these answers: 1-3 as above, 4 the cache (nothing there), then
#   5 organisations using one of its staff email domains, 6 open applications listing one of
#   those domains, 7 organisations with a similar name, 8 open applications with a similar
#   name (one query each, limited, never one per row), then the advice written to the cache
#   table (9 its count of entries, 10 and 13 a savepoint and its release, 11 the same key
#   already there?, 12 the row written).
TASK_LIST_FIRST_QUERIES = 13


def test_task_list_query_count(officer_client, applications, django_assert_num_queries):
    application = applications[0]  # the draft: it shows the duplicate warnings, the most work
    url = f"/onboarding/{application.pk}/tasks/"
    warm(officer_client, url)
    cache.clear()
    with django_assert_num_queries(TASK_LIST_FIRST_QUERIES):
        first = officer_client.get(url)
    with django_assert_num_queries(TASK_LIST_QUERIES):
        response = officer_client.get(url)
    assert response.status_code == 200
    assert first.content.decode().count("field-warning") == response.content.decode().count("field-warning")
    similar = len([a for a in applications[1:]
                   if a.status in (ApplicationStatus.WITH_AUTHORITY, ApplicationStatus.CHANGES_REQUESTED)])
    # One warning however many look alike, naming none of them (their details are the
    # state administrators'): the officer learns no other applicant's reference.
    html = response.content.decode()
    assert html.count("Another open application has a very similar organisation name.") == (1 if similar else 0)
    assert not any(other.reference and other.reference in html for other in applications[1:])


# Task list of an application returned for correction: 6 queries, whatever the number of
# applications. 1-4 as above (3 the application, 4 the advice from the cache), and
#   5 the decision that returned it (what was asked), 6 the day before which it must be
#   submitted again (retention's policy for returned applications, with the reminder sent
#   since it was last touched and whether a legal hold is in force:
#   onboarding.application.selectors.correction_deadline).
TASK_LIST_RETURNED_QUERIES = 6


def test_task_list_of_a_returned_application_query_count(officer_client, applications, django_assert_num_queries):
    from tests.factories import ApprovalStepFactory

    application = applications[0]
    Application.objects.filter(pk=application.pk).update(status=ApplicationStatus.CHANGES_REQUESTED,
                                                          reference="ONB-2026-999999")
    ApprovalStepFactory(application=application, stage="authority", decision="return", remarks="Fix the PIN code.")
    url = f"/onboarding/{application.pk}/tasks/"
    warm(officer_client, url)
    with django_assert_num_queries(TASK_LIST_RETURNED_QUERIES):
        response = officer_client.get(url)
    html = response.content.decode()
    assert "Fix the PIN code." in html and "it will be withdrawn automatically" in html


@pytest.mark.parametrize("who", ["verified official", "unverified official", "consumer address", "auditor"])
def test_my_applications_says_why_someone_cannot_start_as_officer_eligibility_says(who):
    """The list's reasons read together with the list (officer_overview) are the ones
    officer_eligibility gives, asked alone, for each kind of person."""
    from allauth.account.models import EmailAddress
    from django.test import Client

    from onboarding.application.selectors import officer_eligibility
    from tests.factories import PlatformRoleFactory, UserFactory

    email = {"consumer address": "asha.patil@gmail.com"}.get(who, "asha.patil@mahaagri.gov.in")
    user = UserFactory(email=email)
    if who == "unverified official":
        EmailAddress.objects.filter(user=user).update(verified=False)
    if who == "auditor":
        PlatformRoleFactory(user=user, role="auditor", jurisdiction="MH")
    expected = officer_eligibility(user)
    assert (expected is None) == (who == "verified official")
    client = Client()
    client.force_login(user)
    response = client.get("/onboarding/", follow=True)
    html = response.content.decode()
    if expected is not None and who != "auditor":  # an auditor is sent to set up a second factor first
        assert escape(expected) in html
    if who == "verified official":
        assert response.status_code == 200 and "Verify your email address first" not in html
