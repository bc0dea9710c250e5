"""Every answer to a signed-in person is kept out of the browser's and any proxy's cache
(``Cache-Control: no-store, private``, portal/private_pages.py): the back button after
signing out, a shared computer or a proxy on the way shows nobody the pages of people's
details, applications and dashboards. An answer that sets its own Cache-Control keeps it;
an answer to someone signed out keeps what it had."""

import pytest
from django.test import Client

from tests.factories import OrganisationFactory, UserFactory
from tests.verification.helpers import make_admin, signed_in

pytestmark = pytest.mark.django_db


def cache_control(response):
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def test_every_apps_pages_to_a_signed_in_person_are_kept_out_of_caches():
    admin = make_admin(OrganisationFactory(), email="admin@mahaagri.gov.in", full_name="Office Admin")
    client = signed_in(admin)
    for url in ("/onboarding/", "/onboarding/start/", "/verification/", "/verification/queue/", "/monitoring/",
                "/monitoring/audit/", "/people/", "/accounts/email/", "/privacy/my-data/"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert {"no-store", "private"} <= cache_control(response), (url, response.get("Cache-Control"))
    response = client.get("/")  # a redirect to the signed-in person's applications
    assert response.status_code == 302 and {"no-store", "private"} <= cache_control(response)


def test_a_views_own_cache_control_is_left_as_it_set_it():
    client = signed_in(UserFactory())
    response = client.get("/healthz")  # never_cache
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_pages_to_people_signed_out_keep_their_caching():
    client = Client()
    response = client.get("/")  # the start page
    assert response.status_code == 200 and not response.has_header("Cache-Control")
    response = client.get("/verification/")  # to the sign-in page
    assert response.status_code == 302 and not response.has_header("Cache-Control")
    # allauth's sign-in page sets its own (never_cache), whoever asks.
    assert client.get("/accounts/login/")["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_a_sign_up_waiting_for_its_code_is_kept_out_of_caches():
    """Nobody is signed in yet, but the page names the address the code went to."""
    client = Client()
    response = client.post("/accounts/signup/", {"email": "asha.kulkarni@mha.gov.in", "password1": "Sturdy-pass-4471",
                                                 "password2": "Sturdy-pass-4471"})
    page = client.get(response["Location"])
    assert "asha.kulkarni@mha.gov.in" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    # The start page, which shows nothing of it, keeps its caching.
    response = client.get("/")
    assert response.status_code == 200 and not response.has_header("Cache-Control")
