"""Error pages use the portal's layout and the reader's language."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from portal.views import server_error
from tests.factories import UserFactory
from tests.html_tree import html_problems

pytestmark = pytest.mark.django_db


def test_404_in_the_portal_layout_and_in_hindi(client):
    response = client.get("/onboarding/999999/", HTTP_ACCEPT_LANGUAGE="hi")
    assert response.status_code == 302  # signed out: sign in first
    user_client = Client(HTTP_ACCEPT_LANGUAGE="hi")
    user_client.force_login(UserFactory())
    response = user_client.get("/onboarding/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="hi">' in html
    assert "पृष्ठ नहीं मिला" in html
    assert html_problems(html) == []


def test_403_in_the_portal_layout(client):
    user_client = Client()
    user_client.force_login(UserFactory())
    response = user_client.get("/portal/email-rules/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You are not allowed to do this" in html
    assert html_problems(html) == []


SERVER_ERROR_HEADINGS = {"en": "Something went wrong on our side", "hi": "हमारी ओर से कोई त्रुटि हुई है",
                         "mr": "आमच्या बाजूने काहीतरी चूक झाली"}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_500_page_needs_no_context(language):
    with translation.override(language):
        html = render_to_string("500.html")
    assert f'<html lang="{language}">' in html and f"<h1>{SERVER_ERROR_HEADINGS[language]}</h1>" in html
    assert html_problems(html) == []


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_500_page_of_a_failing_view_is_in_the_readers_language(language, settings):
    """As the 400, 403, 404 and CSRF pages: a Marathi reader gets Marathi, not English and Hindi."""
    settings.ROOT_URLCONF = "tests.portal.crash_urls"
    settings.DEBUG = False
    response = Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False).get("/crash/")
    assert response.status_code == 500 and response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert f'<html lang="{language}">' in html and f"<h1>{SERVER_ERROR_HEADINGS[language]}</h1>" in html
    assert "unexpected error in a view" not in html  # what went wrong is in the log, not the page
    assert html_problems(html) == []


def test_the_500_page_takes_the_language_from_the_request_not_from_what_is_active():
    """The error may come before LocaleMiddleware chose the reader's language (in a middleware
    before it), with another request's language still active in the thread: the page reads the
    request's own cookie or Accept-Language, nothing that may itself have failed (database, session)."""
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="mr")
    with translation.override("hi"):
        html = server_error(request).content.decode()
    assert '<html lang="mr">' in html and f"<h1>{SERVER_ERROR_HEADINGS['mr']}</h1>" in html


def test_the_500_page_without_its_template_is_still_a_page_in_the_three_languages(settings):
    """When even the page cannot be rendered (its template or a static file missing): a fixed page."""
    settings.TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [],
                           "APP_DIRS": False}]
    response = server_error(RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="mr"))
    assert response.status_code == 500 and response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert all(heading in html for heading in SERVER_ERROR_HEADINGS.values())
    assert '<p lang="hi">' in html and '<p lang="mr">' in html
    assert html_problems(html) == []


def _html_lang(html):
    found = re.search(r'<html lang="([^"]+)"', html)
    return found and found[1]


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_400_403_404_and_csrf_pages_are_in_the_readers_language(language):
    pages = {404: Client(HTTP_ACCEPT_LANGUAGE=language).get("/no-such-page/"),
             400: Client(HTTP_ACCEPT_LANGUAGE=language).get("/admin/", {"q": "a\x00b"})}
    signed_in = Client(HTTP_ACCEPT_LANGUAGE=language)
    signed_in.force_login(UserFactory())
    pages[403] = signed_in.get("/portal/email-rules/")
    pages["csrf"] = Client(HTTP_ACCEPT_LANGUAGE=language, enforce_csrf_checks=True).post(
        "/accounts/login/", {"login": "a@b.gov.in", "password": "x"}, HTTP_ORIGIN="https://evil.example")
    assert {kind: response.status_code for kind, response in pages.items()} == {404: 404, 400: 400, 403: 403,
                                                                               "csrf": 403}
    wrong = {}
    for kind, response in pages.items():
        html = response.content.decode()
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
        if _html_lang(html) != language or not heading or heading[1].isascii():
            wrong[kind] = (response.status_code, _html_lang(html), heading and heading[1])
    assert wrong == {}


@pytest.mark.parametrize(("language", "heading"), [("en", "Too many requests"), ("hi", "बहुत अधिक अनुरोध"),
                                                   ("mr", "खूप जास्त विनंत्या")])
def test_429_of_allauths_rate_limits_in_the_portal_layout_and_the_readers_language(language, heading):
    cache.clear()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    for attempt in range(21):  # sign-up: 20 a minute from one client address
        response = client.post("/accounts/signup/", {"email": f"p{attempt}@example.com", "password1": "x", "password2": "y"})
    assert response.status_code == 429
    html = response.content.decode()
    assert f'<html lang="{language}">' in html and "Too Many Requests" not in html
    assert html.count("<h1") == 1 and f"<h1>{heading}</h1>" in html
    assert html_problems(html) == []
    cache.clear()


SIGN_UP = {"email": "asha.k@mahaagri.gov.in", "password1": "a-long-enough-passphrase",
           "password2": "a-long-enough-passphrase"}
# The sentence of the 429 page that names the limit a page was refused by, in each language.
CODE_LIMIT = {
    "en": "A code that confirms an address, or the notice that it has an account already, is mailed to one "
          "address at most three times in ten minutes, five times an hour and ten times a day, whoever asks.",
    "hi": "किसी पते की पुष्टि करने वाला कोड, या यह सूचना कि उसका खाता पहले से है, एक पते पर दस मिनट में अधिकतम तीन बार, "
          "एक घंटे में पाँच बार और एक दिन में दस बार भेजा जाता है, चाहे कोई भी माँगे।",
    "mr": "पत्त्याची पुष्टी करणारा कोड, किंवा त्याचे खाते आधीच असल्याची सूचना, एका पत्त्यावर दहा मिनिटांत जास्तीत जास्त तीन "
          "वेळा, तासाभरात पाच वेळा आणि दिवसभरात दहा वेळा पाठवली जाते, कोणीही मागितली तरी.",
}
RESET_LIMIT = {
    "en": "A password reset can be asked for the same address at most five times an hour and ten times a day.",
    "hi": "एक ही पते के लिए पासवर्ड रीसेट एक घंटे में अधिकतम पाँच बार और एक दिन में दस बार माँगा जा सकता है।",
    "mr": "एकाच पत्त्यासाठी पासवर्ड रीसेट तासाभरात जास्तीत जास्त पाच वेळा आणि दिवसभरात दहा वेळा मागता येतो.",
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_429_page_names_the_limit_of_the_page_refused(language):
    """Every 429 of allauth's limits explained itself as the password reset's ("at most five
    times an hour"), a sign-up refused past the codes mailed to its address too. The page
    names the limit of the page that was refused, and only that one."""
    cache.clear()
    for _ in range(3):  # three codes to one address in ten minutes; the fourth sign-up refused
        assert Client(HTTP_ACCEPT_LANGUAGE=language).post("/accounts/signup/", SIGN_UP).status_code == 302
    refused = Client(HTTP_ACCEPT_LANGUAGE=language).post("/accounts/signup/", SIGN_UP)
    assert refused.status_code == 429
    html = refused.content.decode()
    assert CODE_LIMIT[language] in html and RESET_LIMIT[language] not in html
    assert html_problems(html) == []
    cache.clear()
    for _ in range(5):
        Client(HTTP_ACCEPT_LANGUAGE=language).post("/accounts/password/reset/", {"email": "asha.k@mahaagri.gov.in"})
    refused = Client(HTTP_ACCEPT_LANGUAGE=language).post("/accounts/password/reset/", {"email": "asha.k@mahaagri.gov.in"})
    assert refused.status_code == 429
    html = refused.content.decode()
    assert RESET_LIMIT[language] in html and CODE_LIMIT[language] not in html
    cache.clear()


@pytest.mark.parametrize(("path", "limit"), [("/accounts/signup/", CODE_LIMIT), ("/accounts/password/reset/",
                                                                                 RESET_LIMIT)])
def test_mail_to_one_address_is_capped_per_day_too(path, limit):
    """Spread out below the ten-minute and hourly limits, sign-ups (or resets) naming someone's
    address mailed it codes all day long: 120 a day, from anyone. The eleventh in a day is refused,
    on a page that names the daily limit."""
    cache.clear()
    start = timezone.now()
    posted = {"/accounts/signup/": SIGN_UP, "/accounts/password/reset/": {"email": SIGN_UP["email"]}}[path]
    statuses = []
    for attempt in range(11):  # one every 13 minutes: at most one in ten minutes, five in any hour
        with time_machine.travel(start + timedelta(minutes=13 * attempt)):
            statuses.append(Client().post(path, posted).status_code)
    assert statuses == [302] * 10 + [429]
    with time_machine.travel(start + timedelta(minutes=13 * 10)):
        assert limit["en"] in Client().post(path, posted).content.decode()
    with time_machine.travel(start + timedelta(days=1, minutes=1)):
        assert Client().post(path, posted).status_code == 302  # a day after the first, one more
    cache.clear()


@pytest.mark.parametrize("refused", ["sign-in", "sign-up"])
def test_the_429_page_of_a_limit_on_one_client_address_names_no_mail_limit(refused):
    """Signing in (allauth's "login" limit) or signing up (its "signup" limit, each time another
    address) too often from one client address: the page stays general."""
    cache.clear()
    client = Client()
    for attempt in range(31 if refused == "sign-in" else 21):
        if refused == "sign-in":
            response = client.post("/accounts/login/", {"login": "someone@mahaagri.gov.in", "password": "wrong-password"})
        else:
            response = client.post("/accounts/signup/", {**SIGN_UP, "email": f"p{attempt}@mahaagri.gov.in"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Wait a few minutes, then try again." in html
    assert RESET_LIMIT["en"] not in html and CODE_LIMIT["en"] not in html
    cache.clear()
