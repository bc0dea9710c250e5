"""A session that ended while a form was open: after signing in again the person is back
on the page the form was on (not on an address that only takes a post), with what they
typed in the form again and told so, in their language; a part of a page htmx asks for
sends the whole page to the sign-in page."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django import forms
from django.test import Client
from django.utils import timezone, translation

from portal.forms import AccessibleForm
from tests.factories import PASSWORD, OrganisationFactory
from tests.html_tree import field_value, page
from tests.onboarding.test_drafts import sign_in
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification.rosters.models import RosterImport

pytestmark = pytest.mark.django_db

KEPT = "Your session had ended. We kept what you typed: check it and send it again."


@pytest.fixture
def organisation():
    return OrganisationFactory()


@pytest.fixture
def admin(organisation):
    return make_admin(organisation, email="admin@mahaagri.gov.in")


def posted_signed_out(url, data, *, referer=None, **headers):
    """A post from a browser whose session has ended; the sign-in it is sent to."""
    client = Client(**headers)
    extra = {"HTTP_REFERER": f"http://testserver{referer}"} if referer else {}
    response = client.post(url, data, **extra)
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    return client, parse_qs(urlsplit(response["Location"]).query)["next"][0]


def test_a_revocation_note_typed_before_the_session_ended_is_in_the_form_again(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client, next_url = posted_signed_out(url, {"reason_code": "left_service", "reason": "Left the department on 3 March.",
                                               "confirm": "on"}, referer=url)
    assert next_url == url
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    tree = page(landing)
    assert landing.status_code == 200 and KEPT in tree.squashed_text()
    assert field_value(tree, "reason") == "Left the department on 3 March."
    assert field_value(tree, "reason_code") == "left_service"
    assert field_value(tree, "confirm") is False  # an irreversible action is confirmed again by hand
    verified.refresh_from_db()
    assert verified.status == "verified"
    # Once: the next visit shows the empty form.
    assert KEPT not in client.get(url).content.decode()


def test_the_page_with_its_query_is_where_the_person_comes_back_to(organisation, admin):
    other = make_admin(organisation, email="other@mahaagri.gov.in")
    url = f"/portal/roles/organisations/{organisation.pk}/revoke/?user={other.pk}"
    client, next_url = posted_signed_out(url, {"user": other.pk, "reason": "Transferred to another department.",
                                               "confirm": "on"}, referer=url)
    assert next_url == url  # the path alone was a 404 after signing in
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    assert landing.status_code == 200
    assert field_value(page(landing), "reason") == "Transferred to another department."


def test_a_form_that_posts_elsewhere_brings_the_person_back_to_its_page(organisation, admin):
    GovernmentProfileFactory(organisation=organisation)
    queue = "/verification/queue/"
    client, next_url = posted_signed_out("/verification/queue/decide/", {"decision": "verify"}, referer=queue)
    assert next_url == queue  # the address the form posts to answers only posts: a blank 405 after signing in
    assert client.get(sign_in(client, admin.email, next_url=next_url)["Location"]).status_code == 200


def test_without_a_referer_the_posted_address_is_used_and_another_sites_is_ignored(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    assert posted_signed_out(url, {"reason": "x"})[1] == url
    client = Client()
    response = client.post(url, {"reason": "x"}, HTTP_REFERER="https://evil.example/verification/queue/")
    assert parse_qs(urlsplit(response["Location"]).query)["next"][0] == url


def test_the_message_is_in_the_persons_language(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client, next_url = posted_signed_out(url, {"reason": "सेवानिवृत्त"}, referer=url, HTTP_ACCEPT_LANGUAGE="hi")
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    text = page(landing).squashed_text()
    assert "आपका सत्र समाप्त हो गया था" in text and KEPT not in text


def test_a_progress_poll_after_the_session_ended_sends_the_whole_page_to_sign_in(organisation, admin):
    roster = RosterImport.objects.create(organisation=organisation, uploaded_by=admin, uploaded_at=timezone.now(),
                                         file_name="r.csv", file_sha256="0" * 64, file_format="csv", status="applying")
    roster_page = f"/verification/rosters/{roster.pk}/"
    response = Client().get(f"{roster_page}progress/", HTTP_HX_REQUEST="true",
                            HTTP_HX_CURRENT_URL=f"http://testserver{roster_page}")
    # Not the sign-in page put in place of the progress bar, then a bare fragment after signing in.
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/accounts/login/?next={roster_page.replace('/', '%2F')}"


# A form sent with a token the session no longer has ---------------------------------------------

def token_of(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def signed_in_with_csrf(email, **headers):
    client = Client(enforce_csrf_checks=True, **headers)
    token = token_of(client.get("/accounts/login/").content.decode())
    assert client.post("/accounts/login/", {"login": email, "password": PASSWORD,
                                            "csrfmiddlewaretoken": token}).status_code == 302
    return client


def test_a_form_left_open_while_the_person_signed_in_again_comes_back_with_what_was_typed(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    tab = signed_in_with_csrf(admin.email, HTTP_ACCEPT_LANGUAGE="hi")
    stale = token_of(tab.get(url).content.decode())
    tab.cookies.pop("sessionid")  # the session ended; signing in again renews the token
    token = token_of(tab.get("/accounts/login/").content.decode())
    assert tab.post("/accounts/login/", {"login": admin.email, "password": PASSWORD,
                                         "csrfmiddlewaretoken": token}).status_code == 302
    response = tab.post(url, {"csrfmiddlewaretoken": stale, "reason_code": "left_service",
                              "reason": "3 मार्च को विभाग छोड़ दिया।", "confirm": "on"},
                        HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302 and response["Location"] == url
    landing = tab.get(url)
    tree = page(landing)
    assert '<html lang="hi"' in landing.content.decode()
    assert "फ़ॉर्म नहीं भेजा जा सका" in tree.squashed_text()
    assert field_value(tree, "reason") == "3 मार्च को विभाग छोड़ दिया।" and field_value(tree, "confirm") is False
    verified.refresh_from_db()
    assert verified.status == "verified"  # nothing was done


def test_a_form_sent_from_another_site_gets_the_portals_page_and_nothing_is_kept(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    tab = signed_in_with_csrf(admin.email, HTTP_ACCEPT_LANGUAGE="mr")
    response = tab.post(url, {"reason_code": "left_service", "reason": "forged", "confirm": "on"},
                        HTTP_REFERER="https://evil.example/page", HTTP_ORIGIN="https://evil.example")
    html = response.content.decode()
    assert response.status_code == 403 and '<html lang="mr"' in html
    assert "फॉर्म पाठवता आला नाही" in html and "Forbidden" not in html
    assert "forged" not in tab.get(url).content.decode()  # not put into the form for the person to send
    # Posted from a page of this site but with another site's Origin: the same.
    response = tab.post(url, {"reason": "forged"}, HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403


# Field errors in the page's language ---------------------------------------------------------------

@pytest.mark.parametrize("language, too_long, unknown", [
    ("hi", "यह अधिकतम 500 अक्षरों का हो सकता है (इसमें 501 हैं)।", "मान्य विकल्प चुनें। ZZ उपलब्ध विकल्पों में से नहीं है।"),
    ("mr", "हे जास्तीत जास्त 500 अक्षरांचे असू शकते (यात 501 आहेत).", "वैध पर्याय निवडा. ZZ उपलब्ध पर्यायांपैकी नाही."),
])
def test_djangos_own_form_errors_are_in_the_pages_language(language, too_long, unknown):
    class Sample(forms.Form):
        note = forms.CharField(max_length=500)
        state = forms.ChoiceField(choices=[("MH", "Maharashtra")])

    with translation.override(language):
        form = Sample({"note": "x" * 501, "state": "ZZ"})
        assert form.errors == {"note": [too_long], "state": [unknown]}


def test_a_line_break_counts_as_one_character_as_the_browser_counted_it():
    class Note(AccessibleForm):
        note = forms.CharField(max_length=500, widget=forms.Textarea)

    typed = "\r\n".join(["x" * 82] * 6) + "xx"  # 494 letters and 5 line breaks: 499 in the box, 504 as sent
    form = Note({"note": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["note"] == typed.replace("\r\n", "\n")
