"""Monitoring in a real browser (Chromium through Playwright), each page screenshotted
and checked with axe-core (tests/browser/support.py):

- a superadmin signed in with TOTP opens the dashboard from the main navigation (the
  chart of organisations onboarded per month, drawn as inline SVG, and an approved
  application whose letter could not be made; in each language), sorts the table,
  opens the audit log and filters it, opens the adoption tracker and sends a reminder
  through its confirmation (the mail reaches the SMTP server), and uploads a list with
  wrong lines (each named; in each language);
- an organisation admin opens the dashboard of their organisation from the
  verification page, then the audit log of their organisation;
- on a phone the audit log breaks a long address where it must, never an ordinary word.

The data is built with factories; the users per organisation are counted by the
summary job (monitoring.services.figures_refresh), as beat would."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring import services
from monitoring.models import ExpectedOffice
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from tests.browser.support import (
    BROKEN_WORDS,
    OTHER_LANGUAGES,
    error_message,
    nav,
    sign_in,
    sign_out,
    switch_language,
    wait_for_message,
)
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, with_totp
from tests.smtp import text_of
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification.models import VerificationStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTROL_CHARACTERS = {
    "en": "Line breaks, tabs and other control characters are not accepted here: type the answer on one line.",
    "hi": "यहाँ पंक्ति-विराम, टैब और अन्य नियंत्रण वर्ण स्वीकार नहीं किए जाते: उत्तर एक ही पंक्ति में लिखें।",
    "mr": "येथे ओळ-खंड, टॅब आणि इतर नियंत्रण वर्ण स्वीकारले जात नाहीत: उत्तर एकाच ओळीत लिहा.",
}

WRONG_LIST = ("name,short_code,official_domain,contact_email,target_date\n"
              + "".join(f"No code {i},,,x{i}@maharashtra.gov.in,2027-01-31\n" for i in range(21))
              + "".join(f"Dams {i},MH-D{i},,dams{i}@maharashtra.gov.in,31/01/2027\n" for i in range(3)))
WRONG_LINES = {"en": "lines 23, 24, 25: the date is not", "hi": "पंक्तियाँ 23, 24, 25:", "mr": "ओळी 23, 24, 25:"}


def build():
    now = timezone.now()
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="MH-AGRI",
                                     activated_at=now - timedelta(days=200))
    for i in range(14):
        office = OrganisationFactory(name=f"Taluka Agriculture Office {i}", short_code=f"MH-TAO{i}", parent=department,
                                     activated_at=now - timedelta(days=i * 23))
        for _j in range(i % 4):
            GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED)
        if i % 3 == 0:
            GovernmentProfileFactory(organisation=office)
    OrganisationFactory(name="Revenue Department, Karnataka", short_code="KA-REV", state="KA",
                        activated_at=now - timedelta(days=30))
    for i in range(3):
        application = ApplicationFactory(status="with_authority", jurisdiction="MH", organisation_name=f"Water Board {i}")
        ApprovalStepFactory(application=application, stage="authority", opened_at=now - timedelta(days=12),
                            due_at=now - timedelta(days=5 - i))
    ApplicationFactory(status="approved", jurisdiction="MH", organisation_name="Fisheries Department, Maharashtra",
                       closed_at=now - timedelta(days=1), approval_letter_failed_at=now - timedelta(minutes=10))
    ExpectedOffice.objects.create(jurisdiction="MH", name="Ports Department, Maharashtra", short_code="MH-PORTS",
                                  contact_email="ports@maharashtra.gov.in", target_date=date(2026, 1, 31))
    ExpectedOffice.objects.create(jurisdiction="MH", name="Agriculture Department, Maharashtra", short_code="MH-AGRI",
                                  contact_email="agri@maharashtra.gov.in", target_date=date(2026, 1, 31))
    audit_record(actor=None, action=AuditAction.ORGANISATION_ACTIVATED, target=department)
    services.figures_refresh()
    services.audit_chain_check()
    return department


def test_monitoring_pages(portal, page, check_page, smtp_server):
    department = build()
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    secret = with_totp(superadmin)
    admin = make_admin(department, email="admin@mahaagri.gov.in", full_name="Department Admin")

    sign_in(page, portal, superadmin.email, secret)
    nav(page, "Monitoring")
    expect(page.get_by_role("heading", level=1)).to_have_text("Monitoring")
    expect(page.get_by_role("img", name="Organisations onboarded per month")).to_be_visible()
    expect(page.locator("svg.monitoring-chart rect")).to_have_count(12)
    expect(page.get_by_role("heading", name="Approval letters not issued")).to_be_visible()
    expect(page.get_by_text("The approval letter of 1 approved application could not be made: its PDF went over "
                            "the renderer's limits, or an error stopped it.")).to_be_visible()
    check_page.in_each_language(page, "dashboard-superadmin")
    page.get_by_label("Sort by").select_option("-verified")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    first = page.locator("section[aria-labelledby=organisations-heading] tbody tr").first
    expect(first).to_contain_text("Taluka Agriculture Office")
    expect(first.locator("td").nth(4)).to_have_text("3")
    check_page(page, "dashboard-sorted")

    page.get_by_role("link", name="Audit log").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("The chain was intact when last checked")).to_be_visible()
    page.get_by_label("Organisation's short code").fill("mh-agri")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page(page, "audit-log")

    page.goto(portal + "/monitoring/")
    page.get_by_role("link", name="Adoption tracker").click()
    page.wait_for_load_state("load")
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("Ports Department")  # overdue first
    expect(rows.first).to_contain_text("Overdue")
    expect(rows.nth(1)).to_contain_text("Active on Sandes")
    check_page(page, "tracker")
    rows.first.get_by_role("link", name="Send a reminder").click()
    page.wait_for_load_state("load")
    check_page(page, "tracker-reminder-confirm")
    page.get_by_role("button", name="Send the reminder").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("A reminder was sent to ports@maharashtra.gov.in.")).to_be_visible()
    expect(page.locator("tbody tr").first.get_by_role("link", name="Send a reminder")).to_have_count(0)
    check_page(page, "tracker-reminded")
    message = wait_for_message(smtp_server, lambda m: m["To"] == "ports@maharashtra.gov.in")
    assert "Ports Department, Maharashtra" in text_of(message)
    # Its confirmation, reached again within the week: says when the next one can be sent, offers none.
    page.goto(portal + f"/monitoring/adoption/{ExpectedOffice.objects.get(short_code='MH-PORTS').pk}/remind/")
    page.wait_for_load_state("load")
    expect(page.get_by_text("the next reminder can be sent from")).to_be_visible()
    expect(page.get_by_role("button", name="Send the reminder")).to_have_count(0)
    check_page.in_each_language(page, "tracker-reminder-refused")
    page.goto(portal + "/monitoring/adoption/")
    page.wait_for_load_state("load")

    # A name pasted with a right-to-left override (shown reversed wherever it is listed or
    # mailed): refused at its field, every answer kept.
    page.get_by_role("link", name="Add an office").click()
    page.wait_for_load_state("load")

    def refused():
        page.locator("#id_name").fill("Fisheries \u202eTNEMTRAPED")
        page.locator("#id_short_code").fill("MH-FISH")
        page.locator("#id_contact_email").fill("fisheries@maharashtra.gov.in")
        page.locator("#id_target_date").fill("2027-03-31")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(error_message(page, "id_name_error")).to_have_text(CONTROL_CHARACTERS[page.locator("html").get_attribute("lang")])
        expect(page.locator("#id_short_code")).to_have_value("MH-FISH")
        expect(page.locator("#id_contact_email")).to_have_value("fisheries@maharashtra.gov.in")

    refused()
    check_page.in_each_language(page, "tracker-office-name-refused", reach=refused)
    assert not ExpectedOffice.objects.filter(short_code="MH-FISH").exists()

    # A list with 24 wrong lines: each named by its number, those with the same problem together.
    page.goto(portal + "/monitoring/adoption/")
    page.get_by_role("link", name="Upload a list (CSV)").click()
    page.wait_for_load_state("load")

    def wrong_lines():
        page.locator("#id_file").set_input_files(files=[{"name": "offices.csv", "mimeType": "text/csv",
                                                         "buffer": WRONG_LIST.encode()}])
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_file_error")).to_contain_text(WRONG_LINES[page.locator("html").get_attribute("lang")])

    wrong_lines()
    check_page.in_each_language(page, "tracker-upload-wrong-lines", reach=wrong_lines)
    assert not ExpectedOffice.objects.filter(short_code="MH-D0").exists()
    sign_out(page)

    sign_in(page, portal, admin.email)
    page.goto(portal + "/verification/")
    page.get_by_role("link", name="Monitoring of your organisations").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("the organisations you administer and the offices below them")).to_be_visible()
    expect(page.get_by_text("Revenue Department, Karnataka")).to_have_count(0)
    expect(page.get_by_role("link", name="Adoption tracker")).to_have_count(0)
    check_page(page, "dashboard-organisation-admin")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_load_state("load")
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page(page, "audit-log-organisation-admin")
    check_page.assert_clean()


def test_an_export_past_the_hours_limit_gets_a_page_saying_when_the_next_is_possible(portal, page, check_page, settings):
    """Each export reads the whole scope again: past MONITORING_EXPORTS_PER_HOUR (1 here)
    the next is refused with a page in the portal's layout and the reader's language,
    naming when the next is possible, with the way back to the dashboard as filtered."""
    settings.MONITORING_EXPORTS_PER_HOUR = 1
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    audit_record(actor=superadmin, action=AuditAction.MONITORING_EXPORTED,
                 new={"export": "dashboard_organisations", "rows": 0})  # this hour's one export
    page.goto(f"{portal}/monitoring/organisations.csv?state=MH")
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many downloads")
    expect(page.locator("main")).to_contain_text("The next download is possible from")
    check_page.in_each_language(page, "dashboard-export-over-the-hours-limit")
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_load_state("load")
    expect(page).to_have_url(f"{portal}/monitoring/?state=MH&sort=name")
    check_page.assert_clean()


def test_the_audit_log_on_a_phone_breaks_long_addresses_but_no_word(portal, page, check_page):
    """At 360 CSS px, in each language, the table of events scrolls sideways in its own box:
    the Who and About columns are not squeezed until a word breaks in two ("Syste|m",
    "Superad|min", "Offic|e"), while an address too long for its column (about a person
    with a long one) still breaks, and the page itself never scrolls sideways."""
    for i in range(3):
        audit_record(actor=None, action=AuditAction.ORGANISATION_ACTIVATED,
                     target=OrganisationFactory(name=f"Busy Office {i:02d}", short_code=f"BUSY{i:02d}"))
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    long = UserFactory(email="deputy.director.information.technology@mahaagri.gov.in")
    audit_record(actor=superadmin, action=AuditAction.PLATFORM_ROLE_GRANTED, target=long)
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    page.goto(portal + "/monitoring/audit/")
    page.set_viewport_size({"width": 360, "height": 800})
    problems = []
    for language in ("en", *OTHER_LANGUAGES):
        if language != "en":
            switch_language(page, language)
        expect(page.locator("main td").get_by_text(long.email)).to_be_visible()
        check_page(page, f"audit-log-360-{language}")
        if broken := page.evaluate(BROKEN_WORDS):
            problems.append(f"{language}: words broken in two: {broken}")
        if (width := page.evaluate("document.documentElement.scrollWidth")) > 360:
            problems.append(f"{language}: the page is {width} CSS px wide")
        if (address := page.locator("main td").get_by_text(long.email).bounding_box())["height"] < 40:
            problems.append(f"{language}: the long address is not broken ({address})")
    assert problems == [], "\n".join(problems)
    check_page.assert_clean()
