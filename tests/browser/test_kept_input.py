"""What was typed survives an ended session and a form left open, as people meet it in a
real browser (Chromium through Playwright), each page screenshotted and checked with
axe-core in English, Hindi and Marathi: a revocation note typed while the session ended
is in the form again after signing in; the same form sent with a token the session no
longer has comes back with the note; a form sent from another site gets the portal's
refusal page in the person's language."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import sign_in, sign_out, switch_language
from tests.factories import PASSWORD, ApplicationFactory, OrganisationFactory, UserFactory
from tests.onboarding.form_helpers import reload, section_url
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification.models import VerificationStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Left the department on 3 March (transfer order 14/2026)."
KEPT = {
    "en": "Your session had ended. We kept what you typed: check it and send it again.",
    "hi": "आपका सत्र समाप्त हो गया था। आपने जो लिखा था वह हमने रखा है: उसे जाँचें और फिर से भेजें।",
    "mr": "तुमचे सत्र संपले होते. तुम्ही जे लिहिले होते ते आम्ही ठेवले आहे: ते तपासा आणि पुन्हा पाठवा.",
}
NOT_SENT = {
    "en": "The form could not be sent",
    "hi": "फ़ॉर्म नहीं भेजा जा सका",
    "mr": "फॉर्म पाठवता आला नाही",
}


@pytest.fixture
def revocation(db):
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    person = UserFactory(email="asha.k@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    profile = GovernmentProfileFactory(user=person, organisation=office, status=VerificationStatus.VERIFIED)
    return admin, profile


@pytest.fixture
def revoke_url(page, portal, revocation):
    """The revocation page's address, its admin signed in."""
    admin, profile = revocation
    sign_in(page, portal, admin.email)
    return f"{portal}/verification/profiles/{profile.pk}/revoke/"


def open_and_fill(page, url):
    """The revocation page with a reason, the note and the box ticked; the page's language."""
    page.goto(url)
    page.locator("input[name=reason_code][value=left_service]").check()
    page.locator("#id_reason").fill(NOTE)
    page.locator("#id_confirm").check()
    return page.locator("html").get_attribute("lang")


def test_a_note_typed_while_the_session_ended_is_in_the_form_after_signing_in(page, check_page, revocation, revoke_url):
    admin, profile = revocation
    url = revoke_url

    def reach():
        language = open_and_fill(page, url)
        # The session ends (the language chosen stays with the browser).
        context = page.context
        kept = [c for c in context.cookies() if c["name"] != "sessionid"]
        context.clear_cookies()
        context.add_cookies(kept)
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_login")).to_be_visible()
        page.locator("#id_login").fill(admin.email)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        assert page.url == url, page.url
        expect(page.get_by_role("status")).to_contain_text(KEPT[language])
        expect(page.locator("#id_reason")).to_have_value(NOTE)
        expect(page.locator("input[name=reason_code][value=left_service]")).to_be_checked()
        expect(page.locator("#id_confirm")).not_to_be_checked()  # an irreversible action is confirmed again

    reach()
    check_page.in_each_language(page, "revoke-kept-after-sign-in", reach=reach)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED  # nothing was done by the lost post
    check_page.assert_clean()


def test_a_form_open_since_before_signing_in_again_and_one_sent_from_another_site(page, check_page, revocation, revoke_url):
    admin, profile = revocation
    url = revoke_url

    def reach():
        language = open_and_fill(page, url)
        # Signed in again in another tab meanwhile: the token this page holds is no longer the session's.
        page.locator("#main form input[name=csrfmiddlewaretoken]").last.evaluate("input => input.value = 'x'.repeat(64)")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        assert page.url == url, page.url
        expect(page.get_by_role("status")).to_contain_text(NOT_SENT[language])
        expect(page.locator("#id_reason")).to_have_value(NOTE)

    reach()
    check_page.in_each_language(page, "revoke-stale-form", reach=reach)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED

    # Sent from another site (no Referer of ours) by a browser with no language chosen on
    # the portal: the portal's page, in the language the browser asks for.
    for code in ("en", "hi", "mr"):
        other = page.context.browser.new_context(locale=f"{code}-IN", viewport={"width": 1280, "height": 900})
        elsewhere = other.new_page()
        elsewhere.set_content(f'<html lang="en"><title>Elsewhere</title><form method="post" action="{url}">'
                              f'<input name="reason" value="forged"><button>Send</button></form></html>')
        elsewhere.get_by_role("button", name="Send").click()
        elsewhere.wait_for_load_state("load")
        expect(elsewhere.locator("html")).to_have_attribute("lang", code)
        expect(elsewhere.get_by_role("heading", level=1)).to_have_text(NOT_SENT[code])
        check_page(elsewhere, "form-refused" if code == "en" else f"form-refused-{code}")
        other.close()
    page.goto(url)
    expect(page.locator("#id_reason")).to_have_value("")  # nothing of it kept for the person to send
    check_page.assert_clean()


TYPED_KEPT = {
    "hi": "पृष्ठ अब आपकी चुनी हुई भाषा में है। आपने जो लिखा था वह फ़ॉर्म में फिर से है, अभी भेजा नहीं गया: उसे जाँचें और भेजें।",
    "mr": "पान आता तुम्ही निवडलेल्या भाषेत आहे. तुम्ही जे लिहिले होते ते फॉर्ममध्ये पुन्हा आहे, अजून पाठवलेले नाही: ते तपासा आणि पाठवा.",
}


def test_what_was_typed_stays_in_the_form_when_the_language_is_changed(page, portal, check_page, revocation):
    """A revocation sent without its confirmation comes back with the note as typed and
    the error at the box; changing the language then loads the page again: the note and
    reason typed (never stored) are in the form again and the page says so in the
    language chosen, the box confirming the irreversible action not ticked again. A
    section of the application form sent with a mistake is saved as a draft: the page in
    the other language shows it as saved, with no such notice."""
    admin, profile = revocation
    sign_in(page, portal, admin.email)
    url = f"{portal}/verification/profiles/{profile.pk}/revoke/"
    for code in ("hi", "mr"):
        open_and_fill(page, url)
        page.locator("#id_confirm").uncheck()
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_confirm")).to_have_attribute("aria-invalid", "true")
        page.locator("#id_confirm").check()
        switch_language(page, code)
        expect(page.locator("#id_reason")).to_have_value(NOTE)
        expect(page.locator("input[name=reason_code][value=left_service]")).to_be_checked()
        expect(page.locator("#id_confirm")).not_to_be_checked()  # an irreversible action is confirmed again
        expect(page.locator("#typed-kept")).to_have_text(TYPED_KEPT[code])
        expect(page.locator("#typed-kept")).to_be_visible()
        check_page(page, f"revoke-typed-kept-after-language-switch-{code}")
        page.reload()  # once only: the page opened again is as new
        expect(page.locator("#typed-kept")).to_be_hidden()
        expect(page.locator("#id_reason")).to_have_value("")
        switch_language(page, "en")
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED

    sign_out(page)
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None)
    sign_in(page, portal, officer.email)
    page.goto(portal + section_url(draft, "organisation"))
    page.locator("#id_landline").fill("not a number")
    page.locator("main form button[name=save]").click()
    page.wait_for_load_state("load")
    switch_language(page, "hi")
    expect(page.locator("#id_landline")).to_have_value("not a number")  # saved as a draft
    expect(page.locator("#id_landline")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#typed-kept")).to_be_hidden()
    switch_language(page, "en")
    assert reload(draft).section_data("organisation")["landline"] == "not a number"
    check_page.assert_clean()
