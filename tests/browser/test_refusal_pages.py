"""Pages that refuse or warn, in English, Hindi and Marathi, screenshotted and checked
with axe-core: the page a rate limit answers with (allauth's sign-up limit, lowered
here so that the second attempt meets it), and the withdrawal of a draft that was never
sent for approval, which says its letter will be deleted; the competent authority's decision kept
when its session ended, or when its link expired while it typed (then found in the new link's form);
a letter sent with an old token back at its upload, or past the hour's limit of checks refused
there; a reader's form PDF past the hour's
limit of renders, refused on the application's page; a section saved from a page left open
while another tab saved it, refused with what is stored now at each answer."""

import json

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from onboarding.application import services
from onboarding.models import ApplicationVersion
from tests.browser.support import sign_in, switch_language
from tests.factories import ApplicationFactory, UserFactory
from tests.onboarding.approval_helpers import (  # noqa: F401 (official_email_rules: a fixture)
    as_querydict,
    authority_approved,
    latest_link,
    make_state_admin,
    official_email_rules,
    submitted_application,
    with_totp,
)
from tests.onboarding.form_helpers import reload, section_url, valid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOO_MANY = {"en": "Too many requests", "hi": "बहुत अधिक अनुरोध", "mr": "खूप जास्त विनंत्या"}


def test_a_rate_limit_answers_in_the_portal_and_the_readers_language(page, portal, check_page, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    for code, heading in TOO_MANY.items():
        cache.clear()
        page.goto(portal + "/accounts/signup/")
        if code != "en":
            switch_language(page, code)
        for attempt in range(2):
            page.locator("#id_email").fill(f"person{attempt}@example.com")
            page.locator("#id_password1").fill("a-long-enough-passphrase")
            page.locator("#id_password2").fill("another-long-passphrase")
            page.locator("main button[type=submit]").first.click()
            page.wait_for_load_state("load")
        expect(page.locator("h1")).to_have_text(heading)
        expect(page.locator("html")).to_have_attribute("lang", code)
        check_page(page, f"too-many-requests-{code}")
    check_page.assert_clean()


CODE_LIMIT = {
    "en": "A code that confirms an address, or the notice that it has an account already, is mailed to one address",
    "hi": "किसी पते की पुष्टि करने वाला कोड, या यह सूचना कि उसका खाता पहले से है, एक पते पर",
    "mr": "पत्त्याची पुष्टी करणारा कोड, किंवा त्याचे खाते आधीच असल्याची सूचना, एका पत्त्यावर",
}


def test_a_sign_up_refused_past_the_codes_mailed_to_its_address_says_so(page, portal, check_page):
    """The fourth sign-up with one address in ten minutes: the page names the limit on codes
    mailed to an address, not the password reset's."""
    for code, sentence in CODE_LIMIT.items():
        cache.clear()
        for _attempt in range(4):  # each a new visitor (the sign-up before waits for its code in its session)
            page.context.clear_cookies()
            page.goto(portal + "/accounts/signup/")
            if code != "en":
                switch_language(page, code)
            page.locator("#id_email").fill(f"asha.{code}@mahaagri.gov.in")
            page.locator("#id_password1").fill("a-long-enough-passphrase")
            page.locator("#id_password2").fill("a-long-enough-passphrase")
            page.locator("main button[type=submit]").first.click()
            page.wait_for_load_state("load")
        expect(page.locator("h1")).to_have_text(TOO_MANY[code])
        expect(page.get_by_role("main")).to_contain_text(sentence)
        check_page(page, f"too-many-codes-{code}")
    check_page.assert_clean()


def test_withdrawing_a_draft_says_its_letter_will_be_deleted(page, portal, check_page):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None, letter=True)
    ApplicationVersion.objects.filter(application=draft).delete()  # never sent for approval
    sign_in(page, portal, officer.email)
    page.goto(f"{portal}/onboarding/{draft.pk}/withdraw/")
    expect(page.get_by_role("main")).to_contain_text("will be deleted")
    check_page.in_each_language(page, "withdraw-draft-with-letter")
    check_page.assert_clean()


def test_a_section_saved_from_a_page_left_open_while_another_tab_saved_it_is_refused(page, portal, check_page):
    """A section page open in one tab while another tab saved the section: its save would
    replace the newer answers, so it is refused, what was typed kept, what is stored now
    said at each answer that differs."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None)
    sign_in(page, portal, officer.email)
    page.goto(portal + section_url(draft, "organisation"))
    saved = []

    def refused():
        # Another tab saves the section meanwhile (a new address each time).
        saved.append(f"New Secretariat, Block {len(saved) + 1}, Pune 411001")
        services.application_save_section(application_id=draft.pk, section="organisation", actor=officer,
                                          querydict=as_querydict(valid("organisation", address=saved[-1])))
        page.locator("#id_landline").fill("020-26123457")
        page.locator("main form button[name=save]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_landline")).to_have_value("020-26123457")
        expect(page.get_by_role("main")).to_contain_text(saved[-1])  # at the address, what is stored now
        assert reload(draft).section_data("organisation")["address"] == saved[-1]

    refused()
    expect(page.get_by_role("main")).to_contain_text("changed in another tab or window since this page was opened")
    check_page.in_each_language(page, "section-changed-in-another-tab", reach=refused)
    check_page.assert_clean()


KEPT_FOR_THE_LINK = {
    "en": "What you typed is kept in this browser: it will be in the form when you open the link from your email again.",
    "hi": "आपने जो लिखा था वह इस ब्राउज़र में रखा गया है: जब आप अपने ईमेल का लिंक फिर से खोलेंगे, तो वह फ़ॉर्म में होगा।",
    "mr": "तुम्ही जे लिहिले होते ते या ब्राउझरमध्ये ठेवले आहे: तुमच्या ईमेलमधील लिंक पुन्हा उघडल्यावर ते फॉर्ममध्ये असेल.",
}


def test_the_competent_authority_whose_session_ended_is_told_its_decision_is_kept(page, portal, check_page):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    submitted_application(officer)
    link = portal + latest_link()[0]
    remarks = "Annexure B is unsigned; please correct it."
    for code, kept in KEPT_FOR_THE_LINK.items():
        page.goto(link)
        if code != "en":
            switch_language(page, code)
        page.context.clear_cookies(name="sessionid")  # hours of reading: the session ended
        page.locator("input[name=decision][value=return]").check()
        page.locator("#id_remarks").fill(remarks)
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("main")).to_contain_text(kept)
        expect(page.locator("html")).to_have_attribute("lang", code)
        check_page(page, f"review-link-missing-kept-{code}")
        page.goto(link)  # the link again: the decision and remarks are in the form
        expect(page.locator("#id_remarks")).to_have_value(remarks)
        expect(page.locator("input[name=decision][value=return]")).to_be_checked()
    check_page.assert_clean()


KEPT_FOR_THE_NEW_LINK = {
    "en": "What you typed is kept in this browser: it will be in the form when you open the new link from your email.",
    "hi": "आपने जो लिखा था वह इस ब्राउज़र में रखा गया है: जब आप अपने ईमेल का नया लिंक खोलेंगे, तो वह फ़ॉर्म में होगा।",
    "mr": "तुम्ही जे लिहिले होते ते या ब्राउझरमध्ये ठेवले आहे: तुमच्या ईमेलमधील नवीन लिंक उघडल्यावर ते फॉर्ममध्ये असेल.",
}


def test_the_competent_authority_whose_link_expired_while_typing_finds_the_remarks_in_the_new_link(
        page, portal, check_page):
    from datetime import timedelta

    from django.utils import timezone

    from onboarding.approval.services import step_resend_authority_link
    from onboarding.models import AuthorityToken

    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    remarks = "Annexure B is unsigned; please correct it."
    for code, kept in KEPT_FOR_THE_NEW_LINK.items():
        application = submitted_application(officer)
        page.goto(portal + latest_link()[0])
        if code != "en":
            switch_language(page, code)
        page.locator("input[name=decision][value=return]").check()
        page.locator("#id_remarks").fill(remarks)
        # Seven days pass while the page is open: the link expires before it is sent.
        AuthorityToken.objects.filter(step__application=application).update(
            expires_at=timezone.now(), created_at=timezone.now() - timedelta(days=7))
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("main")).to_contain_text(kept)
        expect(page.locator("html")).to_have_attribute("lang", code)
        check_page(page, f"review-link-expired-kept-{code}")
        step_resend_authority_link(application_id=application.pk, actor=officer)  # the officer sends a new one
        page.goto(portal + latest_link()[0])
        expect(page.locator("#id_remarks")).to_have_value(remarks)
        expect(page.locator("input[name=decision][value=return]")).to_be_checked()
    check_page.assert_clean()


CHOOSE_THE_FILE_AGAIN = {"en": "choose the file again and send it", "hi": "फ़ाइल फिर से चुनें और भेजें",
                         "mr": "फाइल पुन्हा निवडा आणि पाठवा"}


def test_a_letter_sent_with_an_old_token_comes_back_to_its_upload_to_be_chosen_again(page, portal, check_page):
    from tests.onboarding_data import minimal_pdf

    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None)
    sign_in(page, portal, officer.email)
    upload = f"{portal}/onboarding/{draft.pk}/letter/"
    for code, words in CHOOSE_THE_FILE_AGAIN.items():
        page.goto(upload)
        if code != "en":
            switch_language(page, code)
        # The page was open since before its person signed in again elsewhere: its token is old.
        page.locator("main form input[name=csrfmiddlewaretoken]").evaluate("input => { input.value = 'x'.repeat(64) }")
        page.locator("input[type=file]").set_input_files(
            {"name": "authorisation-letter.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()})
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page).to_have_url(upload)
        expect(page.locator("main")).to_contain_text(words)
        check_page(page, f"letter-old-token-{code}")
    check_page.assert_clean()


LETTER_LIMIT = {
    "en": "You have reached the most letters the portal checks for one person in an hour (1)",
    "hi": "जाँचे जाने वाले अधिकतम पत्रों (1) तक पहुँच गए हैं",
    "mr": "जास्तीत जास्त पत्रे (1) तुम्ही तपासून घेतली आहेत",
}


def test_a_letter_past_the_hours_checks_is_refused_at_its_upload(page, portal, check_page, settings):
    """Each letter uploaded is read in full (a child process for a PDF); past
    LETTER_CHECKS_PER_HOUR (1 here) the next upload is refused at the field, saying from
    when another may be uploaded, in the person's language."""
    from tests.onboarding_data import minimal_pdf

    settings.LETTER_CHECKS_PER_HOUR = 1
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None)
    sign_in(page, portal, officer.email)
    upload = f"{portal}/onboarding/{draft.pk}/letter/"
    for code, words in [("en", None), *LETTER_LIMIT.items()]:
        page.goto(upload)
        if code != "en":
            switch_language(page, code)
        page.locator("input[type=file]").set_input_files(
            {"name": "authorisation-letter.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()})
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        if words is None:  # the hour's one check
            expect(page).to_have_url(f"{portal}/onboarding/{draft.pk}/tasks/")
            continue
        expect(page).to_have_url(upload)
        expect(page.locator("#id_letter_error")).to_contain_text(words)
        check_page(page, f"letter-checks-over-the-hours-limit-{code}")
    check_page.assert_clean()


PDF_LIMIT = {
    "en": "You have reached the most PDFs the portal prepares for one person in an hour (1): each one is laid out "
          "afresh. You can ask for another from",
    "hi": "आप एक घंटे में एक व्यक्ति के लिए पोर्टल द्वारा तैयार की जाने वाली अधिकतम PDF (1) तक पहुँच गए हैं",
    "mr": "पोर्टल एका व्यक्तीसाठी एका तासात तयार करते तितक्या जास्तीत जास्त PDF (1) तुम्ही घेतल्या आहेत",
}


def test_a_reader_past_the_hours_pdfs_is_told_on_the_page_when_to_ask_again(page, portal, check_page, settings):
    """A state administrator reads an application's form as PDF (laid out afresh each
    time for a reader, stored nowhere); past PDF_RENDERS_PER_HOUR (1 here) the next is
    refused on the application's page, saying from when another may be asked for."""
    settings.PDF_RENDERS_PER_HOUR = 1
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    application = authority_approved(officer)
    reader = make_state_admin("MH", email="admin.mh@state.gov.in", totp=False)
    sign_in(page, portal, reader.email, with_totp(reader))
    page.goto(f"{portal}/onboarding/{application.pk}/")
    pdf_link = page.locator("main a[href*='/form.pdf']").first
    with page.expect_download() as download:
        pdf_link.click()
    assert download.value.suggested_filename.endswith(".pdf")

    def refused():
        pdf_link.click()
        page.wait_for_load_state("load")
        expect(page).to_have_url(f"{portal}/onboarding/{application.pk}/")
        expect(page.get_by_role("status")).to_contain_text(PDF_LIMIT[page.locator("html").get_attribute("lang")])

    refused()
    check_page.in_each_language(page, "pdf-renders-over-the-hours-limit", reach=refused)
    check_page.assert_clean()


def throttled(page, kbit_per_second, latency_ms=300):
    """The page's network as slow as a district office's link, through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms,
        "downloadThroughput": kbit_per_second * 125, "uploadThroughput": kbit_per_second * 125})
    return cdp


@pytest.mark.usefixtures("official_email_rules")
def test_a_second_press_during_a_slow_upload_of_the_letter_does_not_start_it_again(page, portal):
    """A scan of 300 KB takes about 12 s at 200 kbit/s (a 1 MB one 80 s on 2G). Pressed again
    past the few seconds after which a form without a file may be sent again, the button
    would abort the upload under way and send the file again from nothing: the form stays
    guarded, its button disabled, and its status says the file is being sent."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None, submitted_at=None)
    sign_in(page, portal, officer.email)
    page.goto(f"{portal}/onboarding/{draft.pk}/letter/")
    posts, aborted = [], []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.on("requestfailed", lambda r: aborted.append(r.failure) if r.method == "POST" else None)
    page.locator("input[type=file]").set_input_files(
        {"name": "signed-letter.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * 300_000})
    # What the page shows while the upload is under way, told as it changes (Playwright's own
    # reading of the page would wait for the page that answers the sending).
    shown = []
    page.on("console", lambda message: shown.append(message.text))
    page.evaluate("""() => {
        const form = document.querySelector("main form"), button = form.querySelector("button[type=submit]");
        new MutationObserver(() => console.log(JSON.stringify([button.disabled, form.querySelector("[role=status]").textContent])))
            .observe(form, {attributes: true, childList: true, characterData: true, subtree: true});
    }""")
    throttled(page, 200)
    button = page.locator("main form button[type=submit]")
    box = button.bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    page.wait_for_timeout(5_500)
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    page.wait_for_timeout(300)
    assert aborted == [] and len(posts) == 1, f"the upload was sent {len(posts)} times, aborted: {aborted}"
    assert shown and json.loads(shown[-1]) == [
        True, "Sending… this can take several minutes on a slow connection. Stay on this page."], shown


LETTER_TOO_LARGE = {
    "en": "The file is 5.2 MB; the largest allowed is 5 MB. Scan at a lower resolution or as a PDF.",
    "hi": "फ़ाइल 5.2 MB की है",
    "mr": "फाइलचा आकार 5.2 MB आहे",
}


@pytest.mark.usefixtures("official_email_rules")
def test_a_letter_over_5_mb_is_refused_before_it_is_uploaded(page, portal, check_page):
    """A phone's scan of 5.5 MB would take about 7.5 minutes to upload at 100 kbit/s, only
    to be refused then: the page knows the limit and the file's size, and refuses it at
    the field and in the error summary as the portal would, sending nothing. A file within
    the limit chosen then takes the refusal away."""
    from tests.onboarding_data import minimal_pdf

    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None, submitted_at=None)
    sign_in(page, portal, officer.email)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/letter/" in r.url else None)
    field = page.locator("input[type=file]")
    for code, words in LETTER_TOO_LARGE.items():
        page.goto(f"{portal}/onboarding/{draft.pk}/letter/")
        if code != "en":
            switch_language(page, code)
        field.set_input_files({"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * 5_500_000})
        page.locator("main form button[type=submit]").click()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", "id_letter_helptext id_letter_error")
        expect(page.locator("#id_letter_error")).to_contain_text(words)
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#error-summary a[href='#id_letter']")).to_contain_text(words)
        assert posts == [], "the file was sent"
        check_page(page, f"letter-too-large-{code}")
    field.set_input_files({"name": "letter.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()})
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_letter_error")).to_have_count(0)
    check_page.assert_clean()
