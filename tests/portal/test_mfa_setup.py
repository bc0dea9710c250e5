"""The two-factor set-up the portal asks of platform roles and staff
(portal.accounts.middleware): the page first asked for, kept while the set-up
lasts and offered at its end, is always a page of this site."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client
from django.utils import timezone

from portal.accounts.middleware import SETUP_NEXT_KEY
from portal.organisations.services import platform_role_grant
from tests.factories import PASSWORD, PlatformRoleFactory, UserFactory
from tests.html_tree import field_value, page
from tests.onboarding.approval_helpers import TRANSACTIONAL, second_factor_given, signed_in, totp_code, with_totp

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-enough-passphrase"

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


@TRANSACTIONAL  # the recovery codes page that ends the set-up reads the session's code (given once committed)
def test_the_end_of_the_set_up_leads_back_to_the_page_first_asked_for():
    client = staff_client()
    response = client.get("/onboarding/?tab=mine")
    assert response["Location"] == "/accounts/2fa/totp/activate/?next=%2Fonboarding%2F%3Ftab%3Dmine"
    assert CONTINUE_RE.findall(set_up_totp(client).content.decode()) == ["/onboarding/?tab=mine"]


@TRANSACTIONAL  # the recovery codes page that ends the set-up reads the session's code (given once committed)
@pytest.mark.parametrize("path", ["//evil.example/login", "///evil.example/login"])
def test_a_path_a_browser_reads_as_another_host_is_neither_kept_nor_offered(path):
    # The link someone sends a staff member: https://portal//evil.example/login
    client = staff_client()
    response = client.get("/", PATH_INFO=path)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    assert SETUP_NEXT_KEY not in client.session
    html = set_up_totp(client).content.decode()
    assert "Recovery Codes" in html and CONTINUE_RE.findall(html) == []


@TRANSACTIONAL  # the recovery codes page that ends the set-up reads the session's code (given once committed)
def test_a_kept_page_is_checked_again_before_it_is_offered():
    # A session that already holds another host's address (kept before this check existed).
    client = staff_client()
    client.get("/onboarding/")
    session = client.session
    session[SETUP_NEXT_KEY] = "//evil.example/login"
    session.save()
    html = set_up_totp(client).content.decode()
    assert "Recovery Codes" in html and CONTINUE_RE.findall(html) == []


def signed_in_before_the_app_and_the_role():
    """A browser signed in with the password only (no authenticator yet: allauth asks no
    code); later the person sets one up in another browser and is made superadmin: the
    browser, the person and the app's secret."""
    root = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="root@sandes.nic.in").user
    with_totp(root)
    person = UserFactory(email="ravi.kumar@mha.gov.in")
    old_browser = Client()
    assert old_browser.post("/accounts/login/", {"login": person.email, "password": PASSWORD}).status_code == 302
    secret = with_totp(person)
    platform_role_grant(user=person, role="superadmin", jurisdiction="", actor=root, reason="new")
    return old_browser, person, secret


def test_a_session_that_never_gave_the_second_factor_is_asked_for_it_once_the_account_has_one():
    old_browser, person, secret = signed_in_before_the_app_and_the_role()
    response = old_browser.get("/portal/roles/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fportal%2Froles%2F"
    page = old_browser.get(response["Location"]).content.decode()
    assert "Enter a code of your authenticator app to continue." in page and "Enter an authenticator code:" in page
    # The password alone does not do: the code of the authenticator app is what is asked.
    assert old_browser.get("/portal/roles/platform/grant/")["Location"].startswith("/accounts/2fa/reauthenticate/")
    response = old_browser.post(response["Location"], {"code": totp_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/portal/roles/"
    assert old_browser.get("/portal/roles/").status_code == 200


ACCOUNT_PAGES_THAT_CHANGE_IT = {
    "/accounts/email/": {"action_add": "", "email": "ravi.k@mea.gov.in"},
    "/accounts/password/change/": {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    "/accounts/password/set/": {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
}


@pytest.mark.parametrize("path", ACCOUNT_PAGES_THAT_CHANGE_IT)
def test_a_session_that_never_gave_the_second_factor_is_asked_for_it_before_the_account_pages_too(path):
    """README: a browser signed in with the password alone before the app was set up
    elsewhere is asked for a code before any page: the account pages that change the
    account (its addresses, its password) too, not only the portal's. Signing out, and the
    pages that ask the code, stay open to it."""
    old_browser, person, secret = signed_in_before_the_app_and_the_role()
    for response in (old_browser.get(path), old_browser.post(path, ACCOUNT_PAGES_THAT_CHANGE_IT[path])):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/2fa/reauthenticate/?next={quote(path, safe='')}"
    person.refresh_from_db()
    assert person.check_password(PASSWORD) and person.emailaddress_set.count() == 1
    assert old_browser.get("/accounts/logout/").status_code == 200
    response = old_browser.post(f"/accounts/2fa/reauthenticate/?next={quote(path, safe='')}", {"code": totp_code(secret)})
    assert response.status_code == 302 and response["Location"] == path
    assert old_browser.get("/accounts/email/").status_code == 200  # the code given: the pages open


def test_signing_in_with_the_password_and_the_code_leads_straight_to_the_role_pages():
    holder = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="root@sandes.nic.in").user
    secret = with_totp(holder)
    client = Client()
    response = client.post("/accounts/login/", {"login": holder.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert client.get("/portal/roles/").status_code == 200


@TRANSACTIONAL
def test_setting_up_the_app_in_the_session_counts_as_giving_its_code():
    # Committed, as in use: allauth announces the new authenticator once its transaction commits.
    client = staff_client()
    assert client.get("/onboarding/?tab=mine")["Location"].startswith("/accounts/2fa/totp/activate/")
    assert CONTINUE_RE.findall(set_up_totp(client).content.decode()) == ["/onboarding/?tab=mine"]
    assert client.get("/onboarding/?tab=mine").status_code == 200


SECOND_FACTOR_PAGES = ["/accounts/2fa/totp/deactivate/", "/accounts/2fa/recovery-codes/",
                       "/accounts/2fa/recovery-codes/download/", "/accounts/2fa/recovery-codes/generate/"]


@pytest.mark.parametrize("holder", ["superadmin", "person"])
def test_reading_or_changing_the_second_factor_asks_a_code_of_it_not_the_password(holder):
    """Whoever knows the password and finds a session open (a browser left signed in)
    could otherwise read the recovery codes or take the app off, after typing the
    password again: what they would take is the second factor itself. A code of the app
    (or a recovery code) is asked instead, for a role holder and for anyone who set one up."""
    if holder == "superadmin":
        user = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="root@sandes.nic.in").user
    else:
        user = UserFactory(email="asha.k@mahaagri.gov.in")
    secret = with_totp(user)
    RecoveryCodes.activate(user)
    client = signed_in(user)  # with the code at sign-in
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302  # the password again
    for path in SECOND_FACTOR_PAGES:
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 302, path
            assert response["Location"] == f"/accounts/2fa/reauthenticate/?next={quote(path, safe='')}"
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    page = client.get("/accounts/2fa/reauthenticate/?next=%2Faccounts%2F2fa%2Frecovery-codes%2F").content.decode()
    assert "To read or change your second factor, enter a code of your authenticator app" in page
    # The code of the app opens them (for the reauthentication's five minutes).
    response = client.post("/accounts/2fa/reauthenticate/?next=%2Faccounts%2F2fa%2Frecovery-codes%2F",
                           {"code": totp_code(secret)})
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert client.get("/accounts/2fa/recovery-codes/").status_code == 200
    assert client.post("/accounts/2fa/totp/deactivate/").status_code == 302
    assert not Authenticator.objects.filter(user=user, type="totp").exists()


def test_a_code_given_longer_ago_than_the_reauthentication_lasts_is_asked_again(settings):
    user = UserFactory(email="asha.k@mahaagri.gov.in")
    secret = with_totp(user)
    client = signed_in(user)  # with the code at sign-in, which is not a reauthentication
    assert client.get("/accounts/2fa/totp/deactivate/")["Location"].startswith("/accounts/2fa/reauthenticate/")
    assert client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(secret)}).status_code == 302
    assert client.get("/accounts/2fa/totp/deactivate/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)):
        assert client.get("/accounts/2fa/totp/deactivate/")["Location"].startswith("/accounts/2fa/reauthenticate/")


def _admin_given_a_platform_role_with_the_revoke_page_open():
    """An organisation admin with a revocation page open; a superadmin makes them their state's
    administrator meanwhile (a role that needs two-factor sign-in, which they have not set up)."""
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import GovernmentProfileFactory, make_admin

    organisation = OrganisationFactory()
    admin = make_admin(organisation, email="admin@mahaagri.gov.in")
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client = Client()
    client.force_login(admin)
    assert client.get(url).status_code == 200
    PlatformRoleFactory(user=admin, role="state_admin", jurisdiction="MH")
    return admin, client, url, verified


def test_a_form_sent_when_the_second_factor_is_first_asked_keeps_what_was_typed():
    """The form is not passed to its view: the set-up leads back to its page, where what was
    typed is in the form again (the confirming box not ticked), and the person is told so."""
    admin, client, url, verified = _admin_given_a_platform_role_with_the_revoke_page_open()
    response = client.post(url, {"reason_code": "left_service", "reason": "A long note typed with care",
                                 "confirm": "on"}, HTTP_REFERER=f"http://testserver{url}")
    assert response["Location"] == f"/accounts/2fa/totp/activate/?next={quote(url, safe='')}"
    verified.refresh_from_db()
    assert verified.status == "verified"
    said = " ".join(page(client.get(response["Location"], follow=True)).squashed_text().split())
    assert "Nothing was done yet: your role in the portal needs two-factor sign-in first. What you typed is kept: " \
           "you will find it on its page, to check and send again." in said
    with_totp(admin)
    second_factor_given(client, admin)
    tree = page(client.get(url))
    assert (field_value(tree, "reason"), field_value(tree, "reason_code"), field_value(tree, "confirm")) \
        == ("A long note typed with care", "left_service", False)


def test_a_form_another_site_sent_when_the_second_factor_is_first_asked_keeps_nothing():
    admin, client, url, verified = _admin_given_a_platform_role_with_the_revoke_page_open()
    client.handler.enforce_csrf_checks = True
    response = client.post(url, {"reason_code": "left_service", "reason": "Planted"},
                           HTTP_REFERER="https://evil.example/", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert not [key for key in client.session.keys() if key.startswith("pending_input:")]
