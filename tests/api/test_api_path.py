"""Calls of the verification API skip the browser's middleware (portal/apipath.py): no
session is read or made for them, a signed-in browser's cookie gives them nothing, and
they keep the headers every answer carries. Pages for people in a browser stay outside
the API's prefix (the client pages under /api/organisations/ among them)."""

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import get_resolver

from portal.apipath import API_PREFIX
from portal.permissions import SIGNED_OUT_RULES
from tests.api.conftest import bearer
from tests.factories import PASSWORD
from tests.portal.test_routes import is_ours, walk

URL = "/api/v1/verifications"
ADDRESS = {"email": "asha.kulkarni@mahaagri.gov.in"}


def routes():
    return [("/" + route, pattern.callback.access_rule) for route, pattern, trail in walk(get_resolver().url_patterns)
            if is_ours(pattern, trail)]


def test_every_route_under_the_prefix_is_for_api_clients_or_public_and_every_page_is_outside_it():
    under = [(route, rule) for route, rule in routes() if route.startswith(API_PREFIX)]
    assert {rule for _route, rule in under} == {"api_client", "public"}, under
    assert any(rule == "api_client" for _route, rule in under)
    # The organisation admins' pages of API clients share /api/ but not the prefix.
    outside = {route for route, _rule in routes() if route.startswith("/api/") and not route.startswith(API_PREFIX)}
    assert "/api/organisations/<int:pk>/clients/" in outside
    assert not [route for route, rule in routes() if route.startswith(API_PREFIX) and rule not in SIGNED_OUT_RULES]


def test_the_prefix_stands_before_the_browsers_middleware():
    position = settings.MIDDLEWARE.index("portal.apipath.ApiPathMiddleware")
    before, after = settings.MIDDLEWARE[:position], settings.MIDDLEWARE[position + 1:]
    assert "django.contrib.sessions.middleware.SessionMiddleware" in after
    assert "django.contrib.auth.middleware.AuthenticationMiddleware" in after
    assert "django.middleware.csrf.CsrfViewMiddleware" in after
    assert before[0] == "portal.requestlog.RequestLogMiddleware"
    assert "django.middleware.locale.LocaleMiddleware" in before


def test_a_call_reads_no_session_and_a_signed_in_cookie_is_no_token(world):
    browser = Client()
    assert browser.login(email=world["admin_a"].email, password=PASSWORD)
    response = browser.get(URL, ADDRESS)  # the admin's session cookie, no token
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "Cookie" not in response.get("Vary", "")  # the session was not read
    assert not response.cookies  # nor made, nor renewed
    response = browser.get(URL, ADDRESS, **bearer(world["token_a"]))
    assert response.status_code == 200
    assert response.json()["verified"] is True
    assert not response.cookies
    # The same browser's pages still have their session.
    assert browser.get(f"/api/organisations/{world['a'].pk}/clients/").status_code == 200


def test_a_call_keeps_the_headers_every_answer_carries(world):
    response = Client().get(URL, ADDRESS, HTTP_ACCEPT_LANGUAGE="hi", **bearer("sandes_00000000_" + "A" * 43))
    assert response.status_code == 401
    assert response["X-Request-Id"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Language"] == "hi"
    with_english = Client().get(URL, ADDRESS, HTTP_ACCEPT_LANGUAGE="en", **bearer("sandes_00000000_" + "A" * 43))
    assert response.json()["detail"] != with_english.json()["detail"]  # said in Hindi


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/verifications/x"])
def test_an_unknown_path_under_the_prefix_is_404_not_500(world, path):
    assert Client().get(path, **bearer(world["token_a"])).status_code == 404


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1", "/api/v1/nothing-here", "/api/v1/verifications/x"])
def test_an_address_the_api_does_not_have_is_a_json_404_with_debug_on(world, path):
    """With DEBUG on (`make run`), Django answers a 404 with its HTML page, not the
    portal's handler: the API's own catch-all answers in JSON as the handler does."""
    response = Client().get(path, **bearer(world["token_a"]))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert response.json()["detail"].startswith("The API has nothing at this address")


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_api_root_without_its_slash_answers_json_not_a_redirect(world, method):
    """/api/v1 was not under the prefix (/api/v1/): Django's 404 page, then
    CommonMiddleware's redirect to /api/v1/ (HTML 301).
    It is answered as /api/v1/ is, in JSON, without the browser's middleware."""
    response = getattr(Client(), method)("/api/v1", **bearer(world["token_a"]))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith("The API has nothing at this address")
    assert "Cookie" not in response.get("Vary", "") and not response.cookies
