"""Data protection in a real browser (Chromium through Playwright), each page
screenshotted and checked with axe-core: a nodal officer downloads everything the
portal holds about them (the zip opened and read) and asks for the erasure of their
data (the same request sent again is not made twice, said at its field in three languages); a superadmin signed in with TOTP finds it in the requests queue and grants it
with a reason; the officer can no longer sign in. The superadmin's retention, legal
hold and notice pages are visited too; a shorter keeping time that would erase records
now is saved only once confirmed (in each language)."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.privacy.models import PrivacyRequest, RetentionPolicy, RetentionRun
from tests.browser.support import BROKEN_WORDS, OTHER_LANGUAGES, sign_in, sign_out, switch_language
from tests.factories import PASSWORD, ApplicationFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, with_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFICER_EMAIL = "nodal.officer@mahaagri.gov.in"
SUPERADMIN_EMAIL = "anita.rao@nic.in"
REASON = "No application or verification needs the account any longer."
SENT_ALREADY = {
    "en": "You sent this request already: it waits for a decision.",
    "hi": "आप यह अनुरोध पहले ही भेज चुके हैं: यह निर्णय की प्रतीक्षा में है।",
    "mr": "तुम्ही ही विनंती आधीच पाठवली आहे: ती निर्णयाच्या प्रतीक्षेत आहे.",
}

CONFIRM_RETENTION = {
    "en": "With these settings the next daily run erases or reduces 2 records that are kept now.",
    "hi": "इन सेटिंग्स के साथ अगला दैनिक रन 2 रिकॉर्ड मिटा या घटा देगा",
    "mr": "या सेटिंग्जनुसार पुढील दैनिक प्रक्रिया आता ठेवलेले 2 अभिलेख",
}


def test_download_and_an_erasure_request_from_asking_to_decision(page, portal, check_page):
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Meera Joshi")
    application = ApplicationFactory(nodal_officer=officer, letter=True)
    other = ApplicationFactory(nodal_officer=UserFactory(email="someone.else@mahaagri.gov.in"), letter=True)
    root = make_superadmin(email=SUPERADMIN_EMAIL, totp=False)
    secret = with_totp(root)

    sign_in(page, portal, OFFICER_EMAIL)
    page.goto(portal + "/privacy/my-data/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your personal data")
    expect(page.get_by_text("the directory and the verification API show the name your organisation")).to_be_visible()
    check_page(page, "my-data")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download your data").click()
    download = download_info.value
    assert download.suggested_filename.startswith("my-data-") and download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    data = json.loads(archive.read("data.json"))
    assert [a["reference"] for a in data["onboarding_applications"]] == [application.reference]
    # The authorisation letter is signed by the competent authority: listed, not included.
    assert archive.namelist() == ["data.json"] and data["files_included"] == []
    assert [document["document"] for document in data["onboarding_applications"][0]["documents_not_included"]] == [
        "Signed authorisation letter"]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert other.reference.encode() not in everything and b"someone.else" not in everything

    page.get_by_label("Erase my personal data").check()
    page.get_by_label("Details").fill("I have left the department; please erase my account.")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("Your request was sent.")).to_be_visible()
    expect(page.get_by_role("cell", name="Waiting for a decision")).to_be_visible()
    check_page(page, "request-sent")

    # The same request sent again (back, and send once more): not made twice, said at its
    # details with what was typed kept, in each language.
    def sent_again():
        page.locator("form:has(input[name=action][value=request]) input[value=erasure]").check()
        page.locator("#id_details").fill("I have left the department; please erase my account.")
        page.locator("form:has(input[name=action][value=request]) button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_details_error")).to_contain_text(SENT_ALREADY[page.locator("html").get_attribute("lang")])
        expect(page.locator("#id_details")).to_have_value("I have left the department; please erase my account.")

    sent_again()
    check_page.in_each_language(page, "request-sent-again", reach=sent_again)
    assert PrivacyRequest.objects.filter(user=officer).count() == 1
    sign_out(page)

    sign_in(page, portal, SUPERADMIN_EMAIL, totp_secret=secret)
    page.goto(portal + "/portal/privacy/requests/")
    check_page(page, "requests-queue")
    made = PrivacyRequest.objects.get()
    page.get_by_role("link", name=f"Request {made.pk}").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("Granting an erasure closes the account")).to_be_visible()
    check_page(page, "request-decide")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    check_page(page, "request-decide-errors")
    page.get_by_label("Grant", exact=True).check()
    page.get_by_label("Reason (the person reads it)").fill(REASON)
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state("load")
    # Granting an erasure closes the account for good: not without the box ticked, the reason kept.
    expect(page.locator("#id_confirm_error")).to_contain_text("Tick the box to confirm the erasure.")
    expect(page.get_by_label("Reason (the person reads it)")).to_have_value(REASON)
    check_page(page, "request-decide-confirm")
    page.get_by_label("I understand that granting this erasure closes the account for good").check()
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("Decision recorded")).to_be_visible()
    check_page(page, "request-decided")

    for url, name in (("/portal/privacy/retention/", "retention"), ("/portal/privacy/holds/", "legal-holds"),
                      ("/portal/privacy/notice/", "notice-versions")):
        page.goto(portal + url)
        check_page(page, name)

    # Keeping unused accounts 90 days instead of 365 would erase two now: not saved before the box is ticked.
    unused = [UserFactory(email=f"never{index}@example.com", verified=False) for index in range(2)]
    get_user_model().objects.filter(pk__in=[user.pk for user in unused]).update(
        date_joined=timezone.now() - timedelta(days=100), last_login=None)
    page.goto(portal + "/portal/privacy/retention/")

    def shorter_keeping_time():
        page.locator("#id_unused_account-days").fill("90")
        page.locator("form:has(input[name=kind][value=unused_account]) button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_unused_account-confirm_error")).to_contain_text(
            CONFIRM_RETENTION[page.locator("html").get_attribute("lang")])
        expect(page.locator("#id_unused_account-days")).to_have_value("90")

    shorter_keeping_time()
    check_page.in_each_language(page, "retention-confirm", reach=shorter_keeping_time)
    assert RetentionPolicy.objects.get(kind="unused_account").days == 365
    shorter_keeping_time()  # back in English
    page.locator("#id_unused_account-confirm").check()
    page.locator("form:has(input[name=kind][value=unused_account]) button[type=submit]").click()
    page.wait_for_load_state("load")
    expect(page.locator("#id_unused_account-confirm")).to_have_count(0)
    assert RetentionPolicy.objects.get(kind="unused_account").days == 90
    sign_out(page)

    page.goto(portal + "/accounts/login/")
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    made.refresh_from_db()
    assert (made.status, made.decision_reason) == ("granted", REASON)
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_REDACTED).exists() and audit_verify() == []
    check_page.assert_clean()


# Each cell of a table, with the number of lines its text is drawn on.
CELL_LINES = """table => [...table.querySelectorAll('th, td')].map(cell => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const tops = new Set([...range.getClientRects()].filter(r => r.width).map(r => Math.round(r.top)));
  return [cell.textContent.trim(), tops.size];
})"""



def test_the_retention_runs_on_a_phone_scroll_in_their_box_headers_and_kinds_readable(page, portal, check_page):
    """At 360 CSS px, in each language, the table of the latest runs scrolls sideways in
    its own box instead of squeezing its columns: no header ("पुसले, कमी केले किंवा मागे
    घेतले") is squeezed to a word a line, no date to a part a line, no word breaks, and the
    page itself never scrolls sideways. Each run's kind is named as the policy above it is,
    in the reader's language, not by its stored value ("unused_account")."""
    now = timezone.now()
    RetentionRun.objects.create(started_at=now - timedelta(days=1), finished_at=now, counts={})
    RetentionRun.objects.create(started_at=now, finished_at=now, counts={
        "returned_application": {"reminded": 3, "erased": 1, "audit_events_redacted": 4},
        "unused_account": {"reminded": 0, "erased": 12, "audit_events_redacted": 0}})
    root = make_superadmin(email=SUPERADMIN_EMAIL, totp=False)
    sign_in(page, portal, SUPERADMIN_EMAIL, totp_secret=with_totp(root))
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(portal + "/portal/privacy/retention/")
    table = page.locator("table:has(#retention-runs-caption)")
    box = page.locator("[role=region]:has(#retention-runs-caption)")
    kinds = {"en": "Accounts never verified and unused", "hi": "कभी सत्यापित न हुए और अप्रयुक्त खाते",
             "mr": "कधीही पडताळणी न झालेली आणि न वापरलेली खाती"}
    problems = []
    for language in ("en", *OTHER_LANGUAGES):
        if language != "en":
            switch_language(page, language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        check_page(page, f"retention-runs-360-{language}")
        if table.locator("td", has_text=kinds[language]).count() != 1:
            problems.append(f"{language}: the run's kind is not named {kinds[language]!r}")
        if squeezed := [cell for cell in table.evaluate(CELL_LINES) if cell[1] > 3]:
            problems.append(f"{language}: cells squeezed to more than 3 lines: {squeezed}")
        if broken := page.evaluate(BROKEN_WORDS):
            problems.append(f"{language}: words broken in two: {broken}")
        if (width := page.evaluate("document.documentElement.scrollWidth")) > 360:
            problems.append(f"{language}: the page is {width} CSS px wide")
        if not box.evaluate("n => n.scrollWidth > n.clientWidth"):
            problems.append(f"{language}: the table does not scroll in its box")
    assert problems == [], "\n".join(problems)
    check_page.assert_clean()


NOTICE_REPLACED = {
    "en": "A new version of the notice was published while you were reading the previous one.",
    "hi": "आप पिछला संस्करण पढ़ रहे थे, तभी सूचना का नया संस्करण प्रकाशित हुआ।",
    "mr": "तुम्ही मागील आवृत्ती वाचत असताना सूचनेची नवी आवृत्ती प्रकाशित झाली.",
}


def test_a_notice_version_published_while_the_acceptance_page_is_open_is_shown_not_recorded(
    page, portal, check_page
):
    from portal.privacy.models import NoticeAcceptance  # noqa: PLC0415
    from portal.privacy.notice import notice_publish  # noqa: PLC0415

    root = make_superadmin(email=SUPERADMIN_EMAIL, totp=False)
    notice_publish(version="2026.2", body_en="Version two text.", actor=root)
    UserFactory(email=OFFICER_EMAIL, full_name="Meera Joshi")
    sign_in(page, portal, OFFICER_EMAIL)
    page.goto(portal + "/onboarding/")
    expect(page.get_by_text("Version two text.")).to_be_visible()
    versions = iter(range(3, 10))

    def published_meanwhile():
        version = f"2026.{next(versions)}"
        notice_publish(version=version, body_en=f"Version {version} text.", actor=root)
        page.locator("#id_accept").check()
        page.locator("form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.get_by_role("alert")).to_contain_text(NOTICE_REPLACED[page.locator("html").get_attribute("lang")])
        expect(page.get_by_text(f"Version {version} text.")).to_be_visible()
        expect(page.locator("#id_accept")).not_to_be_checked()

    published_meanwhile()
    check_page.in_each_language(page, "notice-replaced", reach=published_meanwhile)
    assert not NoticeAcceptance.objects.exists()
    page.locator("#id_accept").check()
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("load")
    assert list(NoticeAcceptance.objects.values_list("notice__version", flat=True)) == ["2026.5"]
    check_page.assert_clean()
