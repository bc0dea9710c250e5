"""A session that ended while a form was open: after signing in again the person is back
on the page the form was on (not on an address that only takes a post), with what they
typed in the form again and told so, in their language; a part of a page htmx asks for
sends the whole page to the sign-in page."""

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from django import forms
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path
from django.utils import timezone, translation
from django.views.decorators.http import require_POST

from portal.access import rule
from portal.forms import AccessibleForm, ShowsKeptInput
from tests.factories import PASSWORD, OrganisationFactory
from tests.html_tree import field_container, field_value, form_as_sent, page
from tests.onboarding.approval_helpers import second_factor_given
from tests.onboarding.test_drafts import sign_in, sign_out
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


def posted_signed_out(url, data, *, referer=None, who=None, **headers):
    """A post from a browser whose session has ended (``who`` signed in on it before);
    the sign-in it is sent to."""
    client = Client(**headers)
    if who is not None:
        sign_in(client, who.email)
        client.cookies.pop("sessionid")
    extra = {"HTTP_REFERER": f"http://testserver{referer}"} if referer else {}
    response = client.post(url, data, **extra)
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    return client, parse_qs(urlsplit(response["Location"]).query)["next"][0]


def test_a_revocation_note_typed_before_the_session_ended_is_in_the_form_again(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client, next_url = posted_signed_out(url, {"reason_code": "left_service", "reason": "Left the department on 3 March.",
                                               "confirm": "on"}, referer=url, who=admin)
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


def test_a_kept_form_outlives_hundreds_of_other_entries_of_the_database_cache(organisation, admin):
    """Without Redis, kept input lives in the database's cache (the tests' cache is the
    embedded default's): hundreds of other entries written meanwhile (other people's kept
    forms, rate limits' counters) do not take it away."""
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client, next_url = posted_signed_out(url, {"reason_code": "left_service", "reason": "Left the department on 3 March."},
                                         referer=url, who=admin)
    cache.set_many({f"zz-other-{n}": n for n in range(1_000)}, timeout=3_600)
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    tree = page(landing)
    assert KEPT in tree.squashed_text()
    assert field_value(tree, "reason") == "Left the department on 3 March."


def test_the_page_with_its_query_is_where_the_person_comes_back_to(organisation, admin):
    other = make_admin(organisation, email="other@mahaagri.gov.in")
    url = f"/portal/roles/organisations/{organisation.pk}/revoke/?user={other.pk}"
    client, next_url = posted_signed_out(url, {"user": other.pk, "reason": "Transferred to another department.",
                                               "confirm": "on"}, referer=url, who=admin)
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
    client, next_url = posted_signed_out(url, {"reason": "सेवानिवृत्त"}, referer=url, who=admin,
                                         HTTP_ACCEPT_LANGUAGE="hi")
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


# What is kept, for whom, and where it goes back to ---------------------------------------------------

def test_kept_input_is_shown_only_to_the_account_that_typed_it(organisation, admin):
    """A shared computer: the first admin's session ended as they posted a note, then
    they left; the next person to sign in on that browser does not see it."""
    second = make_admin(organisation, email="second@mahaagri.gov.in")
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    shared = Client()
    sign_in(shared, admin.email)  # the browser remembers who signed in
    shared.cookies.pop("sessionid")  # ... and the session ends
    shared.post(url, {"reason_code": "left_service", "reason": "A note about a disciplinary case"},
                HTTP_REFERER=f"http://testserver{url}")
    sign_in(shared, second.email, next_url=url)
    assert "A note about a disciplinary case" not in shared.get(url).content.decode()
    # The same post with the first admin signing in again: shown to them.
    sign_out(shared)
    sign_in(shared, admin.email)
    shared.cookies.pop("sessionid")
    shared.post(url, {"reason_code": "left_service", "reason": "A note about a disciplinary case"},
                HTTP_REFERER=f"http://testserver{url}")
    sign_in(shared, admin.email, next_url=url)
    assert field_value(page(shared.get(url)), "reason") == "A note about a disciplinary case"


def test_after_signing_out_nothing_posted_on_the_browser_is_kept_for_the_account_that_left(organisation, admin):
    """A shared computer: an admin signs in and signs out. Someone else at that browser
    (signed out) posts a note to a revoke page: it is not kept for the admin, whose next
    sign-in there shows the empty form, not that note as what they typed. Signing out
    removes the cookie of who signed in last, with the attributes it was set with, and
    drops what was kept for the account (here: typed on another browser whose session
    ended)."""
    from portal import pending

    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    elsewhere, _next = posted_signed_out(url, {"reason_code": "left_service", "reason": "Typed on the other computer"},
                                         referer=url, who=admin)
    shared = Client()
    sign_in(shared, admin.email)
    response = shared.post("/accounts/logout/")
    assert response.status_code == 302
    removed = response.cookies[pending.PERSON_COOKIE]
    assert (removed.value, removed["max-age"], removed["httponly"], removed["samesite"], removed["path"]) \
        == ("", 0, True, "Lax", "/")
    response = shared.post(url, {"reason_code": "left_service", "reason": "Planted by the next person at this desk"},
                           HTTP_REFERER=f"http://testserver{url}")
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    sign_in(shared, admin.email, next_url=url)
    landing = shared.get(url)
    assert KEPT not in landing.content.decode()
    assert field_value(page(landing), "reason") == ""
    sign_in(elsewhere, admin.email, next_url=url)
    assert "Typed on the other computer" not in elsewhere.get(url).content.decode()


def test_an_erased_account_keeps_nothing_it_typed_signed_out(organisation, admin, django_capture_on_commit_callbacks):
    """What an admin typed while signed out (a revocation note) is personal data of theirs: erasing
    the account empties its slot in the shared cache."""
    from portal import signed_out_input
    from portal.privacy.requests import person_erase

    make_admin(organisation, email="second@mahaagri.gov.in")
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    posted_signed_out(url, {"reason_code": "left_service", "reason": "A note about a disciplinary case"},
                      referer=url, who=admin)
    assert cache.get(f"{signed_out_input.SLOT_PREFIX}{admin.pk}") is not None
    with django_capture_on_commit_callbacks(execute=True):
        person_erase(user_id=admin.pk, actor=None)
    assert cache.get(f"{signed_out_input.SLOT_PREFIX}{admin.pk}") is None


def stored_bytes():
    """What the session store and the shared cache hold, in bytes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(LENGTH(session_data)), 0) FROM django_session")
        sessions = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM portal_cache")
        return sessions + cursor.fetchone()[0]


def test_a_browser_nobody_signed_in_on_keeps_nothing(organisation, admin):
    from django.contrib.sessions.models import Session

    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    before = Session.objects.count(), stored_bytes()
    client, _next = posted_signed_out(url, {"reason": "typed by someone unknown" * 2000}, referer=url)
    assert (Session.objects.count(), stored_bytes()) == before  # no session made, nothing stored anywhere
    assert not [key for key in client.session.keys() if key.startswith("pending_input:")]


def test_a_signed_out_post_keeps_one_form_per_person_not_one_per_request(organisation, admin):
    """The signed cookie of who signed in last (30 days) is all a signed-out post needs to be
    kept: posts sent without a session cookie, each with a form at the bound, keep the last
    one only for that account (not a session of its own each: 64 KB a request, 8 hours, in
    the session store), and it is in the form once that account signs in on that browser."""
    from django.contrib.sessions.models import Session

    from portal import pending

    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    signing_in = Client()
    sign_in(signing_in, admin.email)
    cookie = signing_in.cookies[pending.PERSON_COOKIE].value
    sessions, before = Session.objects.count(), stored_bytes()
    for number in range(10):
        # Half of them as a form sent without its token: refused by the CSRF check, kept the same way.
        client = Client(enforce_csrf_checks=bool(number % 2))
        client.cookies[pending.PERSON_COOKIE] = cookie
        response = client.post(url, {"reason_code": "left_service", "reason": f"{number} " + "अ" * 60_000},
                               HTTP_REFERER=f"http://testserver{url}")
        assert response.status_code == 302
    assert Session.objects.count() == sessions  # no session made to hold what was posted
    assert stored_bytes() - before < 2 * 60_000 * 3, f"{stored_bytes() - before:,} bytes stored for one person"
    # The last one is there for them, once signed in on that browser (not the nine before it).
    client = Client()
    client.cookies[pending.PERSON_COOKIE] = cookie
    client.post(url, {"reason_code": "left_service", "reason": "The last note"}, HTTP_REFERER=f"http://testserver{url}")
    sign_in(client, admin.email, next_url=url)
    assert field_value(page(client.get(url)), "reason") == "The last note"
    assert stored_bytes() - before < 5_000  # taken out of the slot: the sign-in's session and the hour's count remain
    # Another browser the same account signs in on does not get what was typed on this one.
    client.cookies.pop("sessionid")
    client.post(url, {"reason_code": "left_service", "reason": "Typed on the shared computer"},
                HTTP_REFERER=f"http://testserver{url}")
    elsewhere = Client()
    sign_in(elsewhere, admin.email, next_url=url)
    assert "Typed on the shared computer" not in elsewhere.get(url).content.decode()


def test_past_the_hours_limit_of_one_client_nothing_more_is_kept(settings, organisation, admin):
    """One client with the cookies of many accounts cannot write form after form to the
    cache: past SIGNED_OUT_INPUT_KEPT_PER_HOUR posts kept in an hour, nothing is (and the
    account's slot no longer holds an older form), still sent to sign in."""
    settings.SIGNED_OUT_INPUT_KEPT_PER_HOUR = 2
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client, _next = posted_signed_out(url, {"reason": "first"}, referer=url, who=admin)
    posted_signed_out(url, {"reason": "second"}, referer=url, who=admin)
    client, next_url = posted_signed_out(url, {"reason": "third"}, referer=url, who=admin)
    assert next_url == url
    sign_in(client, admin.email, next_url=url)
    landing = page(client.get(url)).squashed_text()
    assert KEPT not in landing and field_value(page(client.get(url)), "reason") == ""


def test_a_form_past_the_networks_hourly_limit_is_said_not_kept_after_signing_in(settings, organisation, admin):
    """The limit counts the posts of one client network, whichever accounts they are for (an
    office behind one address): a colleague's posts use it up, and another person's form is
    not kept; once signed in, they are told so (as for a form too large to keep), once."""
    settings.SIGNED_OUT_INPUT_KEPT_PER_HOUR = 2
    colleague = make_admin(organisation, email="colleague@mahaagri.gov.in")
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    for number in range(2):
        posted_signed_out(url, {"reason": f"colleague {number}"}, referer=url, who=colleague)
    client, next_url = posted_signed_out(url, {"reason_code": "left_service", "reason": "A long note typed with care"},
                                         referer=url, who=admin, HTTP_ACCEPT_LANGUAGE="mr")
    landing = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    text = landing.squashed_text()
    assert field_value(landing, "reason") == "" and KEPT not in text
    assert "तुम्ही जे पाठवले ते ठेवले गेले नाही: सत्रे संपल्यावर तुमच्या नेटवर्कवरून" in text
    assert "तुमच्या नेटवर्कवरून" not in page(client.get(url)).squashed_text()  # once
    verified.refresh_from_db()
    assert verified.status == "verified"


@pytest.mark.parametrize("url, data", [
    ("/accounts/password/change/", {"oldpassword": PASSWORD, "password1": "New-Secret-Passw0rd!",
                                    "password2": "New-Secret-Passw0rd!"}),
    ("/accounts/signup/", {"email": "a@b.gov.in", "password1": "New-Secret-Passw0rd!",
                           "password2": "New-Secret-Passw0rd!"}),
])
def test_a_password_page_sent_with_an_old_token_keeps_nothing(admin, url, data):
    tab = signed_in_with_csrf(admin.email)
    response = tab.post(url, {"csrfmiddlewaretoken": "x" * 64, **data},
                        HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 403
    assert "New-Secret-Passw0rd" not in str(dict(tab.session.items()))


def test_a_password_field_is_never_kept_even_on_a_page_that_shows_kept_input(organisation, admin):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    tab = signed_in_with_csrf(admin.email)
    tab.post(url, {"csrfmiddlewaretoken": "x" * 64, "reason": "kept", "password": "Hunter2-secret", "otp_code": "123456"},
             HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    stored = str(dict(tab.session.items()))
    assert "kept" in stored and "Hunter2-secret" not in stored and "123456" not in stored


def test_a_referer_that_names_another_host_is_not_a_page_to_go_back_to(admin):
    tab = signed_in_with_csrf(admin.email)
    response = tab.post("/verification/queue/decide/", {"csrfmiddlewaretoken": "x" * 64, "decision": "verify"},
                        HTTP_REFERER="http://testserver//evil.example/x", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 403 and not response.get("Location")


def test_a_link_page_sent_with_an_old_token_gets_the_refusal_page_not_a_promise(officer):
    """The competent authority's page shows no kept input (it is not a signed-in person's):
    nothing is kept, and the page does not say it was."""
    from tests.onboarding.approval_helpers import latest_link, submitted_application

    submitted_application(officer)
    browser = Client(enforce_csrf_checks=True)
    review = browser.get(latest_link()[0], follow=True).redirect_chain[-1][0]
    response = browser.post(review, {"csrfmiddlewaretoken": "x" * 64, "decision": "return", "remarks": "Annexure B"},
                            HTTP_REFERER=f"http://testserver{review}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 403 and "The form could not be sent" in response.content.decode()


def test_the_confirmation_page_of_a_bulk_decision_brings_the_person_back_to_the_queue(organisation, admin):
    profiles = [GovernmentProfileFactory(organisation=organisation) for _ in range(2)]
    decide = "/verification/queue/decide/"
    client = Client()
    sign_in(client, admin.email)
    client.cookies.pop("sessionid")  # ended while the confirmation (the answer to a post) was open
    response = client.post(decide, {"step": "confirm", "decision": "reject", "reason": "Not our staff.",
                                    "profile": [p.pk for p in profiles], "confirm": "on"},
                           HTTP_REFERER=f"http://testserver{decide}")
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert next_url == "/verification/queue/"
    assert client.get(sign_in(client, admin.email, next_url=next_url)["Location"]).status_code == 200


def test_forms_with_a_prefix_or_fields_of_their_own_init_show_what_was_typed(organisation, admin):
    from tests.onboarding.approval_helpers import make_superadmin
    from verification.visibility.models import ProfileField

    root = make_superadmin(email="root@sandes.nic.in")
    tab = Client(enforce_csrf_checks=True)
    tab.force_login(root)
    second_factor_given(tab, root)
    url = "/portal/privacy/retention/"
    assert tab.post(url, {"csrfmiddlewaretoken": "x" * 64, "kind": "unused_account", "unused_account-days": "777",
                          "unused_account-grace_days": "9"},
                    HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")["Location"] == url
    assert field_value(page(tab.get(url)), "unused_account-days") == "777"

    tab = signed_in_with_csrf(admin.email)
    url = f"/people/visibility/organisations/{organisation.pk}/"
    chosen = {field.value: "10" for field in ProfileField}
    assert tab.post(url, {"csrfmiddlewaretoken": "x" * 64, **chosen},
                    HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")["Location"] == url
    tree = page(tab.get(url))
    assert {name: field_value(tree, name) for name in chosen} == chosen


def test_a_state_admins_remarks_sent_with_an_old_token_are_in_the_box_again():
    """The decision form is kept blank per process; one that shows what was typed is not."""
    from tests.factories import PlatformRoleFactory, UserFactory, application_with_state
    from tests.onboarding.approval_helpers import with_totp

    step = application_with_state().steps.get(stage="state")
    url = f"/onboarding/queue/{step.pk}/"
    state_admin = UserFactory(email="admin.mh@state.gov.in")
    PlatformRoleFactory(user=state_admin, role="state_admin", jurisdiction="MH")
    with_totp(state_admin)
    tab = Client(enforce_csrf_checks=True)
    tab.force_login(state_admin)
    second_factor_given(tab, state_admin)
    assert tab.get(url).status_code == 200  # the blank form, now kept by this process
    remarks = "Annexure B lacks the Secretary's signature; resend with the signed copy."
    response = tab.post(url, {"csrfmiddlewaretoken": "x" * 64, "decision": "return", "remarks": remarks},
                        HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302 and response["Location"] == url
    tree = page(tab.get(url))
    assert "The form could not be sent" in tree.squashed_text()
    assert field_value(tree, "remarks") == remarks and field_value(tree, "decision") == "return"
    assert field_value(page(tab.get(url)), "remarks") == ""  # once


def test_a_withdrawal_reason_typed_before_the_session_ended_is_in_the_box_again(officer):
    from onboarding.models import Application

    client = Client()
    sign_in(client, officer.email)
    client.post("/onboarding/start/")
    url = f"/onboarding/{Application.objects.get(nodal_officer=officer).pk}/withdraw/"
    reason = "Duplicate of the application the Directorate filed last week."
    client, next_url = posted_signed_out(url, {"reason": reason}, referer=url, who=officer)
    landing = client.get(sign_in(client, officer.email, next_url=next_url)["Location"])
    tree = page(landing)
    assert landing.status_code == 200 and KEPT in tree.squashed_text()
    assert field_value(tree, "reason") == reason and field_value(tree, "confirm") is False


def test_a_letter_sent_with_an_old_token_brings_the_officer_back_to_the_upload_to_choose_it_again(officer):
    """A file cannot be kept: the officer is taken back to the page of the upload and told
    to choose the file again, not left on a page whose only way on is the start page."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from onboarding.models import Application, Attachment
    from tests.onboarding_data import minimal_pdf

    tab = signed_in_with_csrf(officer.email, HTTP_ACCEPT_LANGUAGE="mr")
    tab.post("/onboarding/start/", {"csrfmiddlewaretoken": token_of(tab.get("/onboarding/start/").content.decode())})
    application = Application.objects.get(nodal_officer=officer)
    url = f"/onboarding/{application.pk}/letter/"
    response = tab.post(url, {"csrfmiddlewaretoken": "x" * 64,
                              "letter": SimpleUploadedFile("letter.pdf", minimal_pdf(), content_type="application/pdf")},
                        HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302 and response["Location"] == url
    text = page(tab.get(url)).squashed_text()
    assert "फाइल पुन्हा निवडा" in text  # choose the file again, in the officer's language
    assert not Attachment.objects.filter(application=application).exists()


# The largest form: the data protection notice ---------------------------------------------------

USED_CODES = {}


def sign_in_with_code(client, email, secret, next_url=None):
    """Sign in through allauth's login and its second-factor page (a superadmin). Signing in
    again with the code given already (allauth takes each code once), the code is given one
    period later, as the app's next code would be: the clocks move on instead of the test
    waiting for them."""
    from tests.onboarding.approval_helpers import totp_code

    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD,
                                                **({"next": next_url} if next_url else {})})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    later = 0
    while True:
        with time_machine.travel(time.time() + later, tick=True):
            code = totp_code(secret)
            if code != USED_CODES.get(secret):
                USED_CODES[secret] = code
                response = client.post("/accounts/2fa/authenticate/", {"code": code})
                break
        later += mfa_settings.TOTP_PERIOD
    assert response.status_code == 302
    return response


@pytest.fixture
def root_with_code():
    from tests.onboarding.approval_helpers import make_superadmin, with_totp

    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    return root, with_totp(root)


def sent_as_the_session_ended(root_with_code, url, data):
    """The superadmin signed in (with a code), their session ends, ``data`` is posted from
    ``url``'s page; the page they land on once signed in again (with a code), and the
    browser."""
    root, secret = root_with_code
    client = Client()
    sign_in_with_code(client, root.email, secret)
    client.cookies.pop("sessionid")
    response = client.post(url, data, HTTP_REFERER=f"http://testserver{url}")
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    return client.get(sign_in_with_code(client, root.email, secret, next_url=next_url)["Location"]), client


def test_a_whole_notice_edited_when_the_session_ended_is_in_the_form_again(root_with_code):
    """The notice page holds the whole notice in three languages (prefilled): at the form's
    limits, in Devanagari, it is kept (its characters counted as the form counts them)."""
    from portal.privacy.forms import NoticePublishForm

    url = "/portal/privacy/notice/"
    limits = {name: field.max_length for name, field in NoticePublishForm().fields.items() if name.startswith("body_")}
    data = {"version": "2026.2", "body_en": ("We keep your official address. " * 700)[:limits["body_en"]].strip(),
            "body_hi": ("हम आपका आधिकारिक पता रखते हैं। " * 800)[:limits["body_hi"]].strip(),
            "body_mr": ("आम्ही तुमचा अधिकृत पत्ता ठेवतो. " * 800)[:limits["body_mr"]].strip()}
    assert sum(map(len, data.values())) > 59_990
    landing, _client = sent_as_the_session_ended(root_with_code, url, data)  # ended while the notice was edited
    tree = page(landing)
    assert KEPT in tree.squashed_text()
    assert {name: field_value(tree, name) for name in data} == data


def test_input_too_large_to_keep_is_said_lost_after_signing_in(root_with_code):
    url = "/portal/privacy/notice/"
    landing, client = sent_as_the_session_ended(root_with_code, url, {"version": "2026.2", "body_en": "x" * 100_000})
    text = page(landing).squashed_text()
    assert "What you sent when your session had ended was not kept" in text and KEPT not in text
    assert "What you sent when your session had ended" not in page(client.get(url)).squashed_text()  # once


def every_form_class(base):
    """Every subclass of ``base`` among the portal's forms (each app's forms modules imported)."""
    import importlib

    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith(("portal", "onboarding", "verification", "monitoring")):
            for module in ("forms", "role_forms"):
                try:
                    importlib.import_module(f"{config.name}.{module}")
                except ModuleNotFoundError:
                    pass

    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    return list(every(base))


def test_the_bound_on_kept_input_holds_the_largest_of_the_portals_forms():
    """Every form of the portal, each text field at its limit, fits in what is kept."""
    from portal import pending

    sizes = {}
    for form_class in every_form_class(AccessibleForm):
        fields = form_class.base_fields
        sizes[form_class.__name__] = sum(len(name) + (getattr(field, "max_length", None) or 0)
                                         for name, field in fields.items())
    assert sizes["NoticePublishForm"] >= 60_000
    assert max(sizes.values()) <= pending.MAX_CHARACTERS, max(sizes.items(), key=lambda item: item[1])


NOT_SHOWN = "What you typed could not be shown again: what it was for changed meanwhile"


def test_a_decision_kept_for_a_request_decided_meanwhile_is_said_not_shown(organisation, admin):
    """The page of the request has no decision form once it is decided: the person is told
    that what they typed was not shown, on that page, once, and nothing is done with it."""
    from verification import services

    other = make_admin(organisation, email="other@mahaagri.gov.in")
    profile = GovernmentProfileFactory(organisation=organisation)
    url = f"/verification/profiles/{profile.pk}/"
    client, next_url = posted_signed_out(url, {"decision": "reject", "reason": "Not on the establishment list of Pune."},
                                         referer=url, who=admin)
    services.join_request_decide(profile_id=profile.pk, decision="verify", reason="", actor=other)  # meanwhile
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    text = page(landing).squashed_text()
    assert landing.status_code == 200 and NOT_SHOWN in text and KEPT not in text
    assert NOT_SHOWN not in page(client.get(url)).squashed_text()  # once
    profile.refresh_from_db()
    assert profile.status == "verified"


def test_kept_input_shown_by_its_form_is_not_said_lost(organisation, admin):
    profile = GovernmentProfileFactory(organisation=organisation)
    url = f"/verification/profiles/{profile.pk}/"
    client, next_url = posted_signed_out(url, {"decision": "reject", "reason": "Not ours."}, referer=url, who=admin)
    text = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"])).squashed_text()
    assert KEPT in text and NOT_SHOWN not in text


# A decision on several requests, confirmed on the answer to a post ------------------------------

REASON = "Not our staff: checked with the establishment section."


def confirmation_post(profiles, **extra):
    return {"step": "confirm", "decision": "reject", "reason": REASON, "profile": [p.pk for p in profiles],
            "confirm": "on", **extra}


def assert_confirmation_shown_again(tree, profiles):
    assert tree.find("h1").squashed_text() == "Confirm your decision"
    assert field_value(tree, "reason") == REASON and field_value(tree, "decision") == "reject"
    assert field_value(tree, "confirm") is False  # confirmed again by hand
    shown = {int(node.get("value")) for node in tree.find_all("input", name="profile")}
    assert shown == {p.pk for p in profiles}
    for profile in profiles:
        profile.refresh_from_db()
        assert profile.status == "pending"  # nothing was decided


def test_a_bulk_confirmation_sent_with_an_old_token_comes_back_with_the_reason(organisation, admin):
    profiles = [GovernmentProfileFactory(organisation=organisation) for _ in range(2)]
    decide = "/verification/queue/decide/"
    tab = signed_in_with_csrf(admin.email)
    response = tab.post(decide, {"csrfmiddlewaretoken": "x" * 64, **confirmation_post(profiles)},
                        HTTP_REFERER=f"http://testserver{decide}", HTTP_ORIGIN="http://testserver")
    # Not back to the address of the confirmation, which answers only posts (405).
    assert response.status_code == 302 and response["Location"] == "/verification/queue/"
    landing = tab.get(response["Location"])
    tree = page(landing)
    assert landing.status_code == 200 and "The form could not be sent" in tree.squashed_text()
    assert_confirmation_shown_again(tree, profiles)
    assert "Verification queue" in page(tab.get("/verification/queue/")).find("h1").squashed_text()  # once


def test_a_bulk_rejection_reason_typed_before_the_session_ended_is_in_the_box_again(organisation, admin):
    profiles = [GovernmentProfileFactory(organisation=organisation) for _ in range(2)]
    decide = "/verification/queue/decide/"
    client, next_url = posted_signed_out(decide, confirmation_post(profiles), referer=decide, who=admin)
    assert next_url == "/verification/queue/"
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    tree = page(landing)
    assert landing.status_code == 200 and KEPT in tree.squashed_text()
    assert_confirmation_shown_again(tree, profiles)


def test_requests_chosen_in_the_queue_when_the_session_ended_are_asked_to_confirm(organisation, admin):
    profiles = [GovernmentProfileFactory(organisation=organisation) for _ in range(2)]
    decided = GovernmentProfileFactory(organisation=organisation, status="verified")  # decided meanwhile
    client, next_url = posted_signed_out("/verification/queue/decide/",
                                         {"decision": "verify", "profile": [p.pk for p in [*profiles, decided]]},
                                         referer="/verification/queue/", who=admin)
    tree = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    assert field_value(tree, "decision") == "verify"
    assert {int(node.get("value")) for node in tree.find_all("input", name="profile")} == {
        p.pk for p in profiles}
    # The one left out is said, not dropped unseen.
    assert "1 request was decided by someone else meanwhile and was left as it is." in tree.squashed_text()
    assert "Public user, " in tree.squashed_text() and " , " not in tree.squashed_text()  # the badge, then a comma


def test_a_bulk_decision_on_requests_all_decided_meanwhile_is_said_not_shown(organisation, admin):
    profiles = [GovernmentProfileFactory(organisation=organisation) for _ in range(2)]
    decide = "/verification/queue/decide/"
    client, next_url = posted_signed_out(decide, confirmation_post(profiles), referer=decide, who=admin)
    from verification import services

    other = make_admin(organisation, email="other@mahaagri.gov.in")
    for profile in profiles:  # meanwhile
        services.join_request_decide(profile_id=profile.pk, decision="verify", reason="", actor=other)
    tree = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    assert "Verification queue" in tree.find("h1").squashed_text() and NOT_SHOWN in tree.squashed_text()
    assert "2 requests were decided by someone else meanwhile and were left as they are." in tree.squashed_text()


# The official email rules and the account's addresses ---------------------------------------------

STALE = "The form could not be sent: the page had been open since before you signed in again."


@pytest.mark.parametrize("edit", [False, True])
def test_an_email_rule_typed_with_an_old_token_is_in_the_form_again(edit):
    from portal.accounts.models import EmailSuffixRule
    from tests.onboarding.approval_helpers import make_superadmin

    root = make_superadmin(email="root@sandes.nic.in")
    url = "/portal/email-rules/"
    if edit:
        url += f"{EmailSuffixRule.objects.create(suffix='dept-rule.in', kind='official').pk}/"
    tab = Client(enforce_csrf_checks=True)
    tab.force_login(root)
    second_factor_given(tab, root)
    typed = {"suffix": "iitb.ac.in", "kind": "manual_review", "note": "IIT Bombay asked on 3 March"}
    response = tab.post(url, {"csrfmiddlewaretoken": "x" * 64, **typed},
                        HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302 and response["Location"] == url
    tree = page(tab.get(url))
    assert STALE in tree.squashed_text()
    assert {name: field_value(tree, name) for name in typed} == typed
    assert not EmailSuffixRule.objects.filter(suffix="iitb.ac.in").exists()


def test_an_email_rule_typed_before_the_session_ended_is_in_the_form_again(root_with_code):
    url = "/portal/email-rules/"
    typed = {"suffix": "iitb.ac.in", "kind": "manual_review", "note": "IIT Bombay asked on 3 March"}
    tree = page(sent_as_the_session_ended(root_with_code, url, typed)[0])
    assert KEPT in tree.squashed_text() and NOT_SHOWN not in tree.squashed_text()
    assert {name: field_value(tree, name) for name in typed} == typed


# A page that refuses a save from a page opened before someone else saved (portal.shown) -----------

CHANGED = "Nothing was saved: what this page showed was changed since it was opened"


def test_a_policy_kept_over_a_sign_in_does_not_put_back_what_another_admin_saved_meanwhile(organisation, admin):
    """Admin A opens the visibility policy page; admin B keeps official addresses to the
    admins; A's session ends and A saves a change of designation from the page opened
    before. Shown again once signed in, and sent again, it is refused as it is without the
    sign-in: B's choice is said at its field and not put back unseen."""
    from tests.verification.helpers import signed_in
    from verification.visibility.models import Audience, VisibilityPolicy

    url = f"/people/visibility/organisations/{organisation.pk}/"
    seen_by_a = form_as_sent(page(signed_in(admin).get(url)))
    b = signed_in(make_admin(organisation, email="second@mahaagri.gov.in"))
    assert b.post(url, form_as_sent(page(b.get(url)), official_email=int(Audience.ADMINS))).status_code == 302

    client, next_url = posted_signed_out(url, {**seen_by_a, "designation": str(int(Audience.ORGANISATION))},
                                         referer=url, who=admin)
    tree = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    assert KEPT in tree.squashed_text() and field_value(tree, "designation") == str(int(Audience.ORGANISATION))
    assert field_value(tree, "shown_values") == seen_by_a["shown_values"]  # what the page typed on had shown
    response = client.post(url, form_as_sent(tree))
    assert response.status_code == 200
    policy = VisibilityPolicy.objects.get(organisation=organisation)
    assert (policy.official_email, policy.designation) == (Audience.ADMINS, Audience.VERIFIED)
    tree = page(response)
    assert CHANGED in tree.squashed_text() and field_value(tree, "designation") == str(int(Audience.ORGANISATION))
    assert f"Saved meanwhile: {Audience.ADMINS.label}" in field_container(tree, "official_email").squashed_text()


def test_an_email_rule_kept_over_a_sign_in_does_not_put_back_what_another_superadmin_saved(root_with_code):
    """The same on a rule's page: the guard's digest is kept with the rest of the input."""
    from portal.accounts.models import EmailSuffixRule, SuffixKind
    from tests.onboarding.approval_helpers import make_superadmin

    rule = EmailSuffixRule.objects.create(suffix="agri-dept.gov.in", kind=SuffixKind.OFFICIAL, note="")
    url = f"/portal/email-rules/{rule.pk}/"
    opened, other = Client(), Client()
    for client, user in ((opened, root_with_code[0]), (other, make_superadmin(email="root.two@sandes.nic.in"))):
        client.force_login(user)
        second_factor_given(client, user)
    seen = form_as_sent(page(opened.get(url)))
    assert other.post(url, form_as_sent(page(other.get(url)), action="save", kind=SuffixKind.CONTRACTOR)
                      ).status_code == 302

    landing, client = sent_as_the_session_ended(root_with_code, url,
                                                {**seen, "action": "save", "note": "Department of Agriculture"})
    tree = page(landing)
    assert KEPT in tree.squashed_text() and field_value(tree, "note") == "Department of Agriculture"
    response = client.post(url, form_as_sent(tree, action="save"))
    assert response.status_code == 200
    rule.refresh_from_db()
    assert (rule.kind, rule.note) == (SuffixKind.CONTRACTOR, "")
    tree = page(response)
    assert CHANGED in tree.squashed_text() and field_value(tree, "note") == "Department of Agriculture"
    assert f"Saved meanwhile: {SuffixKind.CONTRACTOR.label}" in field_container(tree, "kind").squashed_text()


def added_address(tree):
    """What the box to add an address shows (the list of addresses has radios of that name)."""
    box = tree.find("input", type="email", name="email")
    return box.get("value") if box is not None else None


def test_an_address_to_add_typed_with_an_old_token_is_in_the_box_again(admin):
    tab = signed_in_with_csrf(admin.email)
    url = "/accounts/email/"
    response = tab.post(url, {"csrfmiddlewaretoken": "x" * 64, "email": "second.address@mahaagri.gov.in",
                              "action_add": ""}, HTTP_REFERER=f"http://testserver{url}", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302 and response["Location"] == url
    tree = page(tab.get(url))
    assert STALE in tree.squashed_text() and added_address(tree) == "second.address@mahaagri.gov.in"


def test_an_address_to_add_typed_before_the_session_ended_is_in_the_box_again(admin):
    url = "/accounts/email/"
    client, next_url = posted_signed_out(url, {"email": "second.address@mahaagri.gov.in", "action_add": ""},
                                         referer=url, who=admin)
    tree = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    assert KEPT in tree.squashed_text() and NOT_SHOWN not in tree.squashed_text()
    assert added_address(tree) == "second.address@mahaagri.gov.in"


def test_the_box_that_ends_ones_roles_is_not_put_back_ticked(admin):
    """"Yes, end these roles" confirms an irreversible action under a name of its own: the
    address is in the box again, the box is not ticked again (nor put back by the language
    switch, which reads the mark on its input)."""
    url = "/accounts/email/"
    client, next_url = posted_signed_out(url, {"email": "admin.home@gmail.com", "end_roles": "on", "action_add": ""},
                                         referer=url, who=admin)
    tree = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    assert KEPT in tree.squashed_text() and added_address(tree) == "admin.home@gmail.com"
    assert field_value(tree, "end_roles") is False
    assert "data-portal-confirms" in tree.find("input", name="end_roles").attrs


# Boxes of the portal's forms that are not a confirmation of an irreversible action: a setting, a
# filter, a declaration saved in a draft (changed until the application is submitted).
BOXES_NOT_CONFIRMING = {("RetentionPolicyForm", "enabled"), ("DeclarationsSectionForm", "accept_notice"),
                        ("MembersFilterForm", "verified_only"), ("MembersFilterForm", "off_domain"),
                        ("AutoVerificationForm", "auto_verify_official_domain")}


def test_every_box_confirming_an_irreversible_action_is_marked_so():
    """Each box of the portal's forms either confirms an irreversible action, and is marked so
    (named "confirm", or named in its form's ``confirming_fields``), or is one of the boxes
    known to be something else: a new box is put in one or the other."""
    from portal import pending

    unmarked = {(form_class.__name__, name) for form_class in every_form_class(ShowsKeptInput)
                for name, field in form_class.base_fields.items()
                if isinstance(field, forms.BooleanField) and name not in pending.NOT_RESTORED
                and name not in form_class.confirming_fields}
    assert unmarked == BOXES_NOT_CONFIRMING


# Boxes left unticked: a browser sends nothing for them ---------------------------------------------

def test_a_box_unticked_when_the_session_ended_is_shown_unticked(root_with_code):
    """The superadmin unticks "Applied by the daily run" and changes the days as the session
    ends: the form shows the box as they left it, not ticked as the policy stands (saving
    the form as kept would have left the policy erasing records)."""
    from portal.privacy.models import RetentionPolicy
    from portal.privacy.retention import retention_policies

    retention_policies()
    policy = RetentionPolicy.objects.get(kind="closed_application")
    assert policy.enabled
    prefix = policy.kind
    data = {"kind": prefix, f"{prefix}-days": "400", f"{prefix}-grace_days": "0"}  # "enabled" unticked: not sent
    tree = page(sent_as_the_session_ended(root_with_code, "/portal/privacy/retention/", data)[0])
    assert KEPT in tree.squashed_text()
    assert field_value(tree, f"{prefix}-days") == "400"
    assert field_value(tree, f"{prefix}-enabled") is False
    assert field_value(tree, "unused_account-enabled") is True  # another policy's form shows what is stored
    policy.refresh_from_db()
    assert policy.enabled and policy.days != 400  # nothing was saved


def test_a_form_of_one_box_unticked_when_the_session_ended_is_shown_unticked(organisation, admin):
    """The form of one box, unticked, sends nothing but its token: what was sent is still
    that form's (the page it was on posts to itself), shown unticked, not "changed meanwhile"."""
    from verification import services

    services.auto_verification_set(organisation_id=organisation.pk, enabled=True, actor=admin)
    url = f"/verification/organisations/{organisation.pk}/settings/"
    client, next_url = posted_signed_out(url, {}, referer=url, who=admin)
    assert next_url == url
    tree = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"]))
    assert KEPT in tree.squashed_text() and NOT_SHOWN not in tree.squashed_text()
    assert field_value(tree, "auto_verify_official_domain") is False
    assert field_value(page(client.get(url)), "auto_verify_official_domain") is True  # once; nothing was saved


def test_boxes_a_kept_post_did_not_send_are_shown_unticked(rf):
    """Every box and group of boxes the kept input does not name was sent unticked (a browser
    sends nothing for it): shown so, whatever the form's initial values say."""
    from portal import pending

    class Settings(AccessibleForm):
        note = forms.CharField(required=False)
        applied = forms.BooleanField(required=False)
        days = forms.MultipleChoiceField(choices=[("mon", "Monday"), ("tue", "Tuesday")], required=False,
                                         widget=forms.CheckboxSelectMultiple)
        confirm = forms.BooleanField(required=False)

    initial = {"note": "stored", "applied": True, "days": ["mon", "tue"], "confirm": True}
    with pending.shown(rf.get("/"), {"note": ["typed"], "confirm": ["on"]}, said=True):
        kept = Settings(initial=initial)
    assert kept.restored
    assert {name: kept[name].value() for name in initial} == {"note": "typed", "applied": False, "days": [],
                                                               "confirm": False}
    with pending.shown(rf.get("/"), {"elsewhere": ["typed"]}, said=True):
        other = Settings(initial=initial)  # input for another form: this one shows what it was given
    assert not other.restored and {name: other[name].value() for name in initial} == initial
    with pending.shown(rf.get("/"), {"p-note": ["typed"], "p-applied": ["on"], "p-confirm": ["on"]}, said=True):
        prefixed = Settings(initial=initial, prefix="p")
    assert prefixed["applied"].value() == "on" and prefixed["confirm"].value() is False  # confirmed again by hand


# A post with nothing to show again: a confirmation, a button ------------------------------------

NOTHING_DONE = "Your session had ended: nothing was done. Send it again."


def test_a_withdrawal_confirmed_as_the_session_ended_is_said_not_done_not_changed_meanwhile():
    """Only the box confirming the withdrawal was sent (never ticked again): the page says
    that nothing was done, not that what it was for changed and the page has no form for it."""
    profile = GovernmentProfileFactory(organisation=OrganisationFactory())
    url = f"/verification/requests/{profile.pk}/withdraw/"
    client, next_url = posted_signed_out(url, {"confirm": "on"}, referer=url, who=profile.user)
    landing = client.get(sign_in(client, profile.user.email, next_url=next_url)["Location"])
    tree = page(landing)
    assert landing.status_code == 200 and field_value(tree, "confirm") is False
    text = tree.squashed_text()
    assert NOTHING_DONE in text and NOT_SHOWN not in text and KEPT not in text
    assert NOTHING_DONE not in page(client.get(url)).squashed_text()  # once
    profile.refresh_from_db()
    assert profile.is_pending


def test_a_button_pressed_as_the_session_ended_is_said_not_done(officer):
    """A form of one button (a new link for the competent authority) posting to an address of
    its own: nothing was typed; the application's page says the link was not sent."""
    from tests.onboarding.approval_helpers import submitted_application

    application = submitted_application(officer)
    detail = f"/onboarding/{application.pk}/"
    client, next_url = posted_signed_out(f"/onboarding/{application.pk}/resend-link/", {}, referer=detail, who=officer)
    assert next_url == detail
    landing = client.get(sign_in(client, officer.email, next_url=next_url)["Location"])
    text = page(landing).squashed_text()
    assert landing.status_code == 200
    assert NOTHING_DONE in text and NOT_SHOWN not in text and "A new link was sent" not in text


def test_nothing_done_is_said_in_the_persons_language():
    profile = GovernmentProfileFactory(organisation=OrganisationFactory())
    url = f"/verification/requests/{profile.pk}/withdraw/"
    client, next_url = posted_signed_out(url, {"confirm": "on"}, referer=url, who=profile.user,
                                         HTTP_ACCEPT_LANGUAGE="mr")
    text = page(client.get(sign_in(client, profile.user.email, next_url=next_url)["Location"])).squashed_text()
    assert "तुमचे सत्र संपले होते" in text and NOTHING_DONE not in text


# A post to an address that only takes posts, sent without a Referer ------------------------------

def test_a_button_posting_to_its_own_address_without_a_referer_brings_the_person_back_to_its_page(officer):
    """A browser that sends no Referer (a privacy setting): the address the form posted to only
    takes posts (a blank 405 after signing in); the person comes back to the application."""
    from tests.onboarding.approval_helpers import submitted_application

    application = submitted_application(officer)
    client, next_url = posted_signed_out(f"/onboarding/{application.pk}/resend-link/", {}, who=officer)
    assert next_url == f"/onboarding/{application.pk}/"
    landing = client.get(sign_in(client, officer.email, next_url=next_url)["Location"])
    assert landing.status_code == 200 and NOTHING_DONE in page(landing).squashed_text()


def test_an_invitation_sent_again_without_a_referer_brings_the_admin_back_to_the_invitations(organisation, admin):
    """The invitation's address names no organisation: the invitations page is the one of the
    organisation the admin who sent the form administers, and nobody else's."""
    from datetime import timedelta

    from verification.rosters.models import Invitation

    now = timezone.now()
    invitation = Invitation.objects.create(
        organisation=organisation, email="person@mahaagri.gov.in", designation="Clerk", office="Pune", employee_code="E1",
        mobile="9876543210", token_hash="0" * 64, invited_by=admin, created_at=now, sent_at=now,
        expires_at=now + timedelta(days=7))
    url = f"/verification/invitations/{invitation.pk}/resend/"
    invitations = f"/verification/organisations/{organisation.pk}/invitations/"
    client, next_url = posted_signed_out(url, {}, who=admin)
    assert next_url == invitations
    landing = client.get(sign_in(client, admin.email, next_url=next_url)["Location"])
    assert landing.status_code == 200 and NOTHING_DONE in page(landing).squashed_text()
    invitation.refresh_from_db()
    assert invitation.send_count == 1  # nothing was sent
    # Someone who does not administer it (nor anyone, on a browser nobody signed in on) is
    # not told whose invitation it is: the page signing in leads to.
    outsider = make_admin(OrganisationFactory(), email="admin@other.gov.in")
    assert posted_signed_out(url, {}, who=outsider)[1] == "/"
    assert posted_signed_out(url, {})[1] == "/"


@pytest.mark.parametrize("path, page_to_return_to", [
    ("/portal/organisations/domain-claims/{pk}/accept/", "/portal/organisations/domain-claims/"),
    ("/verification/profiles/{pk}/accept-name/", "/verification/profiles/{pk}/"),
])
def test_other_posts_to_addresses_that_only_take_posts_come_back_to_their_page(path, page_to_return_to):
    assert posted_signed_out(path.format(pk=7), {"confirm": "yes"})[1] == page_to_return_to.format(pk=7)


def test_every_address_that_only_takes_posts_names_the_page_to_come_back_to():
    """The address a form posted to becomes the next one (no Referer, or a page at that
    address) only when it shows a page: each view of a signed-in person that only takes posts
    names its page (``rule(return_to=...)``); one that does not would lead to the page signing
    in leads to."""
    from django.urls import URLResolver, get_resolver

    from portal.access import answers_get
    from portal.permissions import SIGNED_OUT_RULES

    def callbacks(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from callbacks(pattern.url_patterns)
            else:
                yield pattern.name, pattern.callback

    only_posts = {name: view for name, view in callbacks(get_resolver().url_patterns)
                  if getattr(view, "access_rule", None) not in {None, *SIGNED_OUT_RULES} and not answers_get(view)}
    # (Accepting a domain claim answers a read with the claims page: it is not among them.)
    assert {"resend_link", "invitation_resend", "profile_name_accept"} <= set(only_posts)
    assert [name for name, view in only_posts.items() if not view.return_to] == []


def _only_posts(request):
    return HttpResponse("done")


urlpatterns = [
    path("only-posts/", rule("authenticated")(require_POST(_only_posts))),
    path("", include("portal.urls")),
]


def test_an_address_that_only_takes_posts_and_names_no_page_is_never_the_next_one(settings, admin):
    settings.ROOT_URLCONF = __name__
    assert posted_signed_out("/only-posts/", {"note": "x"}, who=admin)[1] == "/"
    assert posted_signed_out("/only-posts/", {"note": "x"}, referer="/only-posts/", who=admin)[1] == "/"


def test_a_buttons_hidden_value_sent_as_the_session_ended_is_said_not_done(organisation, admin):
    """"Accept the new name" posts the name its page showed (a hidden value) to an address that
    only takes posts: nothing was typed, and no form shows it; the page says nothing was done."""
    profile = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{profile.pk}/"
    client, next_url = posted_signed_out(f"{url}accept-name/", {"name": "Asha Patil"}, referer=url, who=admin)
    assert next_url == url
    text = page(client.get(sign_in(client, admin.email, next_url=next_url)["Location"])).squashed_text()
    assert NOTHING_DONE in text and NOT_SHOWN not in text


def test_a_rule_deletion_confirmed_as_the_session_ended_is_said_not_done(root_with_code):
    """The box confirming the deletion is never put back, and the value of the button pressed
    ("Delete", a button of the rule's page: ``buttons``) is nobody's typing: nothing was done,
    not "changed meanwhile" (the rule and its form are there)."""
    from portal.accounts.models import EmailSuffixRule

    rule_obj = EmailSuffixRule.objects.create(suffix="dept-rule.in", kind="official")
    url = f"/portal/email-rules/{rule_obj.pk}/"
    landing, client = sent_as_the_session_ended(root_with_code, url, {"confirm": "yes", "action": "delete"})
    tree = page(landing)
    text = tree.squashed_text()
    assert NOTHING_DONE in text and NOT_SHOWN not in text and KEPT not in text
    assert field_value(tree, "confirm") is False
    assert EmailSuffixRule.objects.filter(pk=rule_obj.pk).exists()


@pytest.mark.parametrize("data", [
    {"confirm": "yes", "action": "delete", "reason": "Typed into a form the page no longer has"},
    {"confirm": "yes", "action": "Typed under a button's name"},
])
def test_what_was_typed_beside_a_button_is_not_taken_for_the_button(root_with_code, data):
    """Only a button's own name and value are not typing: anything else sent with it, or
    another value under its name, is still said not shown (what it was for changed)."""
    from portal.accounts.models import EmailSuffixRule

    rule_obj = EmailSuffixRule.objects.create(suffix="dept-rule.in", kind="official")
    text = page(sent_as_the_session_ended(root_with_code, f"/portal/email-rules/{rule_obj.pk}/", data)[0]).squashed_text()
    assert NOT_SHOWN in text and NOTHING_DONE not in text


def test_the_buttons_a_form_declares_are_its_pages_buttons_and_none_of_its_fields():
    """A form's ``buttons`` name what its page's buttons send, as a template writes them, and
    never one of its fields (whose input would then go untold)."""
    from pathlib import Path

    from django.conf import settings

    templates = "".join(path.read_text() for folder in settings.TEMPLATES[0]["DIRS"]
                        for path in Path(folder).rglob("*.html"))
    declared = {form_class: form_class.buttons for form_class in every_form_class(ShowsKeptInput) if form_class.buttons}
    assert {form_class.__name__ for form_class in declared} >= {"EmailRuleForm", "EmailRuleDeleteForm", "SectionForm"}
    for form_class, buttons in declared.items():
        for name, value in buttons:
            assert f'name="{name}" value="{value}"' in templates, (form_class, name, value)
            assert name not in form_class.base_fields, (form_class, name)


def test_a_retention_change_kept_over_a_sign_in_does_not_switch_on_a_policy_switched_off_meanwhile(root_with_code):
    """Kept over a sign-in, the retention form came back with the digest of the policy as
    stored after the sign-in, not as the page it was typed on showed it: sent again, it
    switched on, unseen, the policy another superadmin had switched off meanwhile."""
    from portal.privacy.models import RetentionPolicy
    from portal.privacy.retention import retention_policy_update
    from tests.onboarding.approval_helpers import make_superadmin

    root = root_with_code[0]
    kind, url = "closed_application", "/portal/privacy/retention/"

    def policy_form(tree):
        form = next(f for f in tree.find_all("form")
                    if any(n.get("name") == "kind" and n.get("value") == kind for n in f.iter()))
        return {name: ("on" if value is True else value) for name, value in
                ((n.get("name"), field_value(form, n.get("name"))) for n in form.iter()
                 if n.tag == "input" and n.get("name") and n.get("type", "text") != "submit") if value is not False}

    opened = Client()
    opened.force_login(root)
    second_factor_given(opened, root)
    seen = policy_form(page(opened.get(url)))
    retention_policy_update(kind=kind, days=1095, grace_days=0, enabled=False,
                            actor=make_superadmin(email="root.b@sandes.nic.in"))
    landing, client = sent_as_the_session_ended(root_with_code, url, {**seen, f"{kind}-days": "1200"})
    tree = page(landing)
    assert KEPT in tree.squashed_text()
    again = policy_form(tree)
    assert (again[f"{kind}-days"], again[f"{kind}-enabled"], again["shown_values"]) == ("1200", "on", seen["shown_values"])
    client.post(url, again)
    assert RetentionPolicy.objects.get(kind=kind).enabled is False
