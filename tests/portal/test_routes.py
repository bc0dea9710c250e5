"""Meta-tests over the whole project: every view carries an explicit access rule
(portal/access.py) and restricts its methods; every page of the onboarding
journey is well-formed for assistive technology and a strict Content-Security-Policy."""

import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, path
from django.utils import timezone

from onboarding.models import Application
from portal.access import RULES
from portal.accounts.models import EmailSuffixRule
from portal.mail.models import OutboxMessage, UnknownMailbox
from tests.factories import PASSWORD, OrganisationFactory, UserFactory
from tests.html_tree import html_problems
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given
from tests.onboarding.form_helpers import complete, new_application, section_url, submit, valid

# Routes ------------------------------------------------------------------------------

EXCLUDED_MODULES = ("allauth.",)
EXCLUDED_APPS = {"admin"}


def walk(patterns, prefix="", trail=()):
    """Yield (route, URLPattern, trail) for every pattern; the trail names the
    url modules and app names it was included through."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            module = pattern.urlconf_module
            name = getattr(module, "__name__", "") if not isinstance(module, (list, tuple)) else ""
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), trail + (name, pattern.app_name or ""))
        else:
            yield prefix + str(pattern.pattern), pattern, trail


def is_ours(pattern, trail):
    if any(app in EXCLUDED_APPS for app in trail):
        return False
    if any(module.startswith(EXCLUDED_MODULES) for module in trail):
        return False
    return not pattern.callback.__module__.startswith(EXCLUDED_MODULES)


def views_without_rule(patterns):
    missing = []
    for route, pattern, trail in walk(patterns):
        if not is_ours(pattern, trail):
            continue
        rule = getattr(pattern.callback, "access_rule", None)
        if rule not in RULES:
            missing.append(f"/{route} ({pattern.callback.__module__}.{getattr(pattern.callback, '__name__', '?')}): {rule!r}")
    return missing


def test_every_view_has_an_access_rule():
    missing = views_without_rule(get_resolver().url_patterns)
    assert missing == [], "views without @rule(...):\n" + "\n".join(missing)


def test_the_walk_sees_every_part_of_the_project():
    names = set()
    for _route, pattern, trail in walk(get_resolver().url_patterns):
        if is_ours(pattern, trail):
            namespace = next((t for t in reversed(trail) if t and "." not in t), "")
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    assert {"home", "healthz", "set_language", "onboarding:task_list", "onboarding:section", "onboarding:letter_download",
            "onboarding:form_pdf", "accounts:email_rules", "mail:outbox"} <= names
    # allauth's and the admin's own views are left out.
    assert not any(name and ("account_login" in name or name.startswith("admin:")) for name in names)


def test_the_check_reports_a_view_without_a_rule():
    def unguarded(request):
        return None

    assert views_without_rule([path("open/", unguarded)]) == [f"/open/ ({__name__}.unguarded): None"]


def route_url(route, number):
    """A URL of the route: ``number`` for each integer in it, "x" for any other part."""
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "x", re.sub(r"<int:\w+>", number, route))


@pytest.mark.django_db
def test_every_view_refuses_trace():
    """Function views answer any method unless told otherwise (DESIGN §9)."""
    client = Client()
    root = make_superadmin(email="root@sandes.nic.in")
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    answered, tried = [], 0
    for route, pattern, trail in walk(get_resolver().url_patterns):
        if not is_ours(pattern, trail) or pattern.callback.__module__.startswith("django."):
            continue
        url = route_url(route, "1")
        response = client.generic("TRACE", url)
        tried += 1
        if response.status_code != 405:
            answered.append(f"{url}: {response.status_code}")
    assert tried >= 15
    assert answered == []


HUGE_ID = "9" * 25  # past every database's integers (SQLite's and PostgreSQL's bigint: 19 digits)


@pytest.mark.django_db
def test_an_id_past_any_databases_integers_is_never_a_server_error():
    """Every route that takes a number, given one of 25 digits (in the path, and as the ids
    a form may send), as a superadmin (past every access check): an answer, never a 500, on
    PostgreSQL and on SQLite alike. (A number in a form of a page that exists is the odd-input
    tests' part, e.g. tests/portal/test_role_pages.py.)"""
    client = Client(raise_request_exception=False)
    root = make_superadmin(email="root@sandes.nic.in")
    client.force_login(root)
    second_factor_given(client, root)
    failed, tried = [], 0
    for route, pattern, trail in walk(get_resolver().url_patterns):
        if not is_ours(pattern, trail) or "<int:" not in route:
            continue
        url = route_url(route, HUGE_ID)
        for method in ("get", "post"):
            tried += 1
            status = getattr(client, method)(url, {"user": HUGE_ID, "id": HUGE_ID, "ids": HUGE_ID}).status_code
            if status >= 500:
                failed.append(f"{method.upper()} {url}: {status}")
    assert tried >= 40
    assert failed == []


# Pages -------------------------------------------------------------------------------

def test_html_check_finds_problems():
    bad = ('<html><head><title></title><style>p{}</style></head><body><h1>A</h1><h1>B</h1><input name="x">'
           '<p id="d" style="color:red" onclick="x()">t</p><span id="d"></span><script>alert(1)</script>'
           '<input aria-describedby="nowhere" aria-label="y"></body></html>')
    problems = html_problems(bad)
    for expected in ("no <!DOCTYPE html>", "<html> without lang", "2 <h1> elements", "title [''] ", "id 'd' used 2 times",
                     "<input name='x'> has no label", "inline <script>", "inline <style>", "style= attribute on <p>",
                     "onclick= handler on <p>", "aria-describedby='nowhere' points at no element"):
        assert any(p.startswith(expected.strip()) for p in problems), (expected, problems)


@pytest.fixture
def journey(db, officer, officer_client, django_capture_on_commit_callbacks):
    """Every page of the onboarding journey as (description, client, url, method, data)."""
    anonymous = Client()
    outsider = UserFactory(email="someone@gmail.com")
    outsider_client = Client()
    outsider_client.login(email=outsider.email, password=PASSWORD)
    root = make_superadmin(email="root@sandes.nic.in")
    root_client = Client()
    root_client.login(email=root.email, password=PASSWORD)
    second_factor_given(root_client, root)
    OrganisationFactory(name="Directorate of Agriculture, Maharashtra")

    pages = [
        ("home", anonymous, "/", "get", None),
        ("sign in", anonymous, "/accounts/login/", "get", None),
        ("sign in with an error", anonymous, "/accounts/login/", "post", {"login": "x@mha.gov.in", "password": "wrong"}),
        ("sign up", anonymous, "/accounts/signup/", "get", None),
        ("sign up with errors", anonymous, "/accounts/signup/", "post", {"email": "bad", "password1": "a", "password2": "b"}),
        ("password reset", anonymous, "/accounts/password/reset/", "get", None),
        ("privacy notice", anonymous, "/onboarding/privacy-notice/", "get", None),
        ("my applications, none", officer_client, "/onboarding/", "get", None),
        ("start", officer_client, "/onboarding/start/", "get", None),
        ("start, not eligible", outsider_client, "/onboarding/start/", "get", None),
        ("email rules", root_client, "/portal/email-rules/", "get", None),
        ("email rules with an error", root_client, "/portal/email-rules/", "post", {"suffix": "", "kind": "official"}),
        ("edit a rule", root_client, f"/portal/email-rules/{EmailSuffixRule.objects.get(suffix='gov.in').pk}/", "get", None),
        ("outbox", root_client, "/portal/outbox/", "get", None),
        # Asked before an account's addresses change: the password, or the authenticator's code.
        ("reauthenticate", root_client, "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F", "get", None),
        ("reauthenticate, wrong password", root_client, "/accounts/reauthenticate/", "post", {"password": "wrong"}),
        ("reauthenticate by code", root_client, "/accounts/2fa/reauthenticate/?next=%2Faccounts%2Femail%2F", "get", None),
        ("reauthenticate by code, wrong code", root_client, "/accounts/2fa/reauthenticate/", "post", {"code": "0"}),
    ]
    draft = new_application(officer)
    for section in ("organisation", "hierarchy", "nodal_officer", "competent_authority", "integration", "declarations"):
        pages.append((f"{section}, empty", officer_client, section_url(draft, section), "get", None))
        pages.append((f"{section}, with errors", officer_client, section_url(draft, section), "post",
                      {"wants_integration": "yes"} if section == "integration" else {"save": "1"}))
    pages += [
        ("hierarchy, search results", officer_client, section_url(draft, "hierarchy") + "?q=Agriculture", "get", None),
        ("hierarchy, no results", officer_client, section_url(draft, "hierarchy") + "?q=zzzz", "get", None),
        ("organisation, with a warning", officer_client, section_url(draft, "organisation"), "post",
         valid("organisation", website="https://krishi.example.org", email_domains="mahaagri.gov.in, iitb.ac.in", name="x" * 300)),
        ("task list, draft", officer_client, f"/onboarding/{draft.pk}/tasks/", "get", None),
        ("letter, none yet", officer_client, f"/onboarding/{draft.pk}/letter/", "get", None),
        ("letter, refused", officer_client, f"/onboarding/{draft.pk}/letter/", "post", {}),
        ("submit, incomplete", officer_client, f"/onboarding/{draft.pk}/submit/", "get", None),
        ("withdraw", officer_client, f"/onboarding/{draft.pk}/withdraw/", "get", None),
        ("detail, draft", officer_client, f"/onboarding/{draft.pk}/", "get", None),
    ]

    full = complete(officer_client, new_application(officer))
    pages += [
        ("task list, complete", officer_client, f"/onboarding/{full.pk}/tasks/", "get", None),
        ("letter, uploaded", officer_client, f"/onboarding/{full.pk}/letter/", "get", None),
        ("submit, complete", officer_client, f"/onboarding/{full.pk}/submit/", "get", None),
    ]
    submitted = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    pages += [
        ("detail, submitted", officer_client, f"/onboarding/{submitted.pk}/", "get", None),
        ("task list, submitted", officer_client, f"/onboarding/{submitted.pk}/tasks/", "get", None),
        ("my applications, several", officer_client, "/onboarding/", "get", None),
        ("detail, as a superadmin", root_client, f"/onboarding/{submitted.pk}/", "get", None),
        ("change the nodal officer", root_client, f"/onboarding/{submitted.pk}/officer/", "get", None),
        ("change the nodal officer, with errors", root_client, f"/onboarding/{submitted.pk}/officer/", "post",
         {"email": "nobody@mahaagri.gov.in"}),
        ("outbox message", root_client, f"/portal/outbox/{OutboxMessage.objects.first().pk}/", "get", None),
        ("lift the refusal of an unknown address", root_client, f"/portal/outbox/unknown/{unknown_mailbox().pk}/lift/",
         "get", None),
    ]
    assert Application.objects.count() == 3
    return pages


def unknown_mailbox():
    """An address the mail relay refused as unknown (the outbox page lists it)."""
    now = timezone.now()
    return UnknownMailbox.objects.create(mailbox="gone@dept.gov.in", first_refused_at=now, last_refused_at=now,
                                         reply="550 5.1.1 <gone@dept.gov.in>: Recipient address rejected: User unknown")


def test_every_page_of_the_journey_is_well_formed(journey):
    failures = {}
    for description, client, url, method, data in journey:
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 200, (description, response.status_code, response.get("Location"))
        assert response["Content-Type"].startswith("text/html"), description
        problems = html_problems(response.content.decode())
        if problems:
            failures[description] = problems
    assert failures == {}


# The verification API (django-ninja) --------------------------------------------------

def ninja_patterns(patterns):
    """(route, pattern) of every URL pattern served by a django-ninja operation view."""
    return [(route, pattern) for route, pattern, _trail in walk(patterns)
            if pattern.callback.__module__.startswith("ninja.")]


def test_every_api_operation_authenticates_an_api_client():
    """The API's URL patterns get the rule "api_client" from their operations'
    declared auth (api/v1.py): check the operations themselves, each of them, so that an
    operation added without auth (or with another kind) fails here, not only its rule."""
    from api.auth import ClientToken

    found = ninja_patterns(get_resolver().url_patterns)
    assert [route for route, _p in found] == ["api/v1/verifications"]
    for route, pattern in found:
        operations = pattern.callback.operations
        assert operations, route
        for operation in operations:
            assert operation.auth_callbacks, (route, operation.view_func.__name__)
            assert all(isinstance(auth, ClientToken) for auth in operation.auth_callbacks), route
        assert pattern.callback.access_rule == "api_client"


def test_an_api_operation_without_a_client_token_has_no_rule():
    from api.v1 import VerificationApi

    unguarded = VerificationApi(urls_namespace="unguarded", docs_url=None)

    @unguarded.get("/open")
    def open_operation(request):
        return {}

    patterns, _app, _namespace = unguarded.urls
    assert [p for p in views_without_rule(patterns) if p.startswith("/open")] == ["/open (ninja.operation.sync_view_wrapper): None"]
    # The OpenAPI document and the root are public, GET only.
    assert {p.name: p.callback.access_rule for p in patterns if p.name != "open_operation"} == {
        "openapi-json": "public", "api-root": "public"}


# Pages a mailed link with a secret in its path opens (a made-up secret for each).
SECRET_LINKS = {
    "onboarding/review/<str:token>/": "/onboarding/review/{}/",
    "verification/confirm/<str:token>/": "/verification/confirm/{}/",
    "verification/invitations/<str:token>/": "/verification/invitations/{}/",
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": "/accounts/password/reset/key/1-{}/",
}


@pytest.mark.django_db
def test_no_page_a_link_with_a_secret_opens_sends_its_address_to_another_site():
    """Each such page (every route with a secret in its path is listed here) answers with
    a Referrer-Policy under which its address goes in a Referer to this site only, or to
    none, and loads nothing from another site. (The pages with a form say "same-origin":
    under "no-referrer" the browser posts them with "Origin: null", which the CSRF check
    refuses; the redirects that take the secret out of the address bar say "no-referrer".)"""
    routes = {route for route, _pattern, _trail in walk(get_resolver().url_patterns)
              if "<str:token>" in route or "(?P<key>" in route}
    assert routes == set(SECRET_LINKS)
    for route, url in SECRET_LINKS.items():
        response = Client().get(url.format("A" * 43))
        assert response["Referrer-Policy"] in ("same-origin", "no-referrer"), route
        assert "default-src 'self'" in response["Content-Security-Policy"], route
