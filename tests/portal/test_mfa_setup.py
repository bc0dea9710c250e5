"""The two-factor set-up the portal asks of platform roles and staff
(portal.accounts.middleware): the page first asked for, kept while the set-up
lasts and offered at its end, is always a page of this site."""

import re

import pytest
from django.test import Client

from portal.accounts.middleware import SETUP_NEXT_KEY
from tests.factories import PASSWORD, UserFactory
from tests.onboarding.approval_helpers import totp_code

pytestmark = pytest.mark.django_db

CONTINUE_RE = re.compile(r'<a class="btn btn-primary" href="([^"]*)">Continue to the page you asked for</a>')


def set_up_totp(client):
    """Through allauth's pages: the password again, then a code of the new authenticator;
    returns the recovery codes page that ends the set-up."""
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    assert client.post(response["Location"], {"password": PASSWORD}).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(client.session["mfa.totp.secret"])})
    assert response.status_code == 302
    return client.get(response["Location"], follow=True)


def staff_client():
    staff = UserFactory(email="staff.member@mahaagri.gov.in", is_staff=True)
    client = Client()
    assert client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD}).status_code == 302
    return client


def test_the_end_of_the_set_up_leads_back_to_the_page_first_asked_for():
    client = staff_client()
    response = client.get("/onboarding/?tab=mine")
    assert response["Location"] == "/accounts/2fa/totp/activate/?next=%2Fonboarding%2F%3Ftab%3Dmine"
    assert CONTINUE_RE.findall(set_up_totp(client).content.decode()) == ["/onboarding/?tab=mine"]


@pytest.mark.parametrize("path", ["//evil.example/login", "///evil.example/login"])
def test_a_path_a_browser_reads_as_another_host_is_neither_kept_nor_offered(path):
    # The link someone sends a staff member: https://portal//evil.example/login
    client = staff_client()
    response = client.get("/", PATH_INFO=path)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    assert SETUP_NEXT_KEY not in client.session
    html = set_up_totp(client).content.decode()
    assert "Recovery Codes" in html and CONTINUE_RE.findall(html) == []


def test_a_kept_page_is_checked_again_before_it_is_offered():
    # A session that already holds another host's address (kept before this check existed).
    client = staff_client()
    client.get("/onboarding/")
    session = client.session
    session[SETUP_NEXT_KEY] = "//evil.example/login"
    session.save()
    html = set_up_totp(client).content.decode()
    assert "Recovery Codes" in html and CONTINUE_RE.findall(html) == []
