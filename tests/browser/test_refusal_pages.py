"""Pages that refuse or warn, in English, Hindi and Marathi, screenshotted and checked
with axe-core: the page a rate limit answers with (allauth's sign-up limit, lowered
here so that the second attempt meets it), and the withdrawal of a draft that was never
sent for approval, which says its letter will be deleted."""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from onboarding.models import ApplicationVersion
from tests.browser.support import sign_in, switch_language
from tests.factories import ApplicationFactory, UserFactory

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


def test_withdrawing_a_draft_says_its_letter_will_be_deleted(page, portal, check_page):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None, letter=True)
    ApplicationVersion.objects.filter(application=draft).delete()  # never sent for approval
    sign_in(page, portal, officer.email)
    page.goto(f"{portal}/onboarding/{draft.pk}/withdraw/")
    expect(page.get_by_role("main")).to_contain_text("will be deleted")
    check_page.in_each_language(page, "withdraw-draft-with-letter")
    check_page.assert_clean()
