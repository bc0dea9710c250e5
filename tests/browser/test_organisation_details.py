"""An organisation renamed in a real browser (Chromium through Playwright), each page
screenshotted and checked with axe-core (tests/browser/support.py): a superadmin signed in
with TOTP opens Monitoring, follows a district office's name to its status page, then "Change
its name, short code or district"; the form (in English, Hindi and Marathi) holds its details.
She sends it with the name emptied and a short code that is no code: each refusal at its
field, what she typed kept. Corrected, "Review the changes" shows each detail before and
after and who is told (in each language); she saves from the keyboard. The status page then
lists the change, who made it and why; the office's admin is told by mail in Marathi, and
reads the office's details page, which offers her no form."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from portal.organisations.models import Level, Organisation
from tests.browser.support import error_message, nav, sign_in, wait_for_message
from tests.factories import OrganisationFactory
from tests.onboarding.approval_helpers import make_superadmin, official_email_rules, with_totp  # noqa: F401 (fixtures)
from tests.portal.role_helpers import make_admin
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]

NEW_NAME = "District Agriculture and Farmers Welfare Office, Pune"
NEW_LOCAL = "ज़िल्हा कृषी व शेतकरी कल्याण कार्यालय, पुणे"
WHY = "Renamed by the government order GR No. AGR-2026/114 of 1 December 2026."


def fill_and_review(page):
    """The corrected answers, sent to the confirmation (the button by its value: its label is
    in the page's language)."""
    page.locator("#id_name").fill(NEW_NAME)
    page.locator("#id_name_local").fill(NEW_LOCAL)
    page.locator("#id_short_code").fill("dafw-pune")
    page.locator("#id_reason").fill(WHY)
    page.locator("button[name=step][value=review]").click()
    page.wait_for_load_state("load")


def kept_and_reviewed(page):
    """After a change of language on the confirmation: the form again, what was typed in it
    kept (and said so), sent to the confirmation as it is."""
    expect(page.locator("#typed-kept")).to_be_visible()
    for field, value in (("name", NEW_NAME), ("name_local", NEW_LOCAL), ("short_code", "dafw-pune"), ("reason", WHY)):
        expect(page.locator(f"#id_{field}")).to_have_value(value)
    page.locator("button[name=step][value=review]").click()
    page.wait_for_load_state("load")


def test_a_superadmin_renames_an_office_and_its_admin_is_told(page, portal, check_page, smtp_server):
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", state="MH",
                                 parent=department, level=Level.DISTRICT, district="Pune",
                                 name_local="जिल्हा कृषी कार्यालय, पुणे")
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    GovernmentProfileFactory(user=admin, organisation=department, request_language="mr",
                             status=VerificationStatus.REVOKED)  # the language the portal knows her by
    admin_secret = with_totp(admin)
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    secret = with_totp(superadmin)

    sign_in(page, portal, superadmin.email, totp_secret=secret)
    nav(page, "Monitoring")
    page.get_by_role("link", name="District Agriculture Office, Pune", exact=True).click()
    page.get_by_role("link", name="Change its name, short code or district").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Details of District Agriculture Office, Pune")
    expect(page.locator("#id_short_code")).to_have_value("DAO-PUNE")
    check_page.in_each_language(page, "details-form")

    # The name emptied, a short code that is no code, the district emptied: each at its field, nothing done.
    page.locator("#id_name").fill("")
    page.locator("#id_short_code").fill("DAO PUNE!")
    page.locator("#id_district").fill("")
    page.locator("#id_reason").fill(WHY)
    page.get_by_role("button", name="Review the changes").click()
    page.wait_for_load_state("load")
    expect(error_message(page, "id_name_error")).to_have_text("This field is required.")
    expect(error_message(page, "id_short_code_error")).to_contain_text("Use 2 to 20 letters, digits or hyphens")
    expect(error_message(page, "id_district_error")).to_have_text(
        "Enter the district of a district or sub-district office.")
    expect(page.locator("#id_short_code")).to_have_value("DAO PUNE!")
    expect(page.locator("#id_reason")).to_have_value(WHY)
    expect(page.locator("#id_name")).to_have_attribute("aria-invalid", "true")
    check_page(page, "details-refused")
    assert Organisation.objects.get(pk=office.pk).short_code == "DAO-PUNE"

    page.locator("#id_district").fill("Pune")
    fill_and_review(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the changes to District Agriculture Office, Pune")
    rows = page.locator("table.details-changes tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(NEW_NAME)
    expect(rows.nth(2)).to_contain_text("DAO-PUNE")
    expect(rows.nth(2)).to_contain_text("DAFW-PUNE")
    expect(page.get_by_text("admin@pune.mahaagri.gov.in")).to_be_visible()  # who is told
    check_page.in_each_language(page, "details-confirm", reach=lambda: kept_and_reviewed(page))
    kept_and_reviewed(page)  # the switch back to English opens the form again
    assert Organisation.objects.get(pk=office.pk).name == "District Agriculture Office, Pune"

    # From the keyboard: Enter on "Save the changes".
    page.get_by_role("button", name="Save the changes").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.get_by_text("The details of District Agriculture Office, Pune were changed.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Status of {NEW_NAME}")
    history = page.locator("table.details-history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("Short code: DAO-PUNE → DAFW-PUNE")
    expect(history.first).to_contain_text("anita.rao@nic.in")
    expect(history.first).to_contain_text(WHY)
    check_page.in_each_language(page, "details-changed")
    renamed = Organisation.objects.get(pk=office.pk)
    assert (renamed.name, renamed.name_local, renamed.short_code) == (NEW_NAME, NEW_LOCAL, "DAFW-PUNE")

    told = wait_for_message(smtp_server, lambda m: m["To"].addresses[0].addr_spec == "admin@pune.mahaagri.gov.in")
    with translation.override("mr"):
        assert str(told["Subject"]) == f"संदेसवर {NEW_NAME} चा तपशील बदलला"
    body = told.get_content()
    assert "DAO-PUNE" in body and "DAFW-PUNE" in body and NEW_LOCAL in body and WHY in body

    # The office's admin reads its details and who changed them; she is offered no form.
    page.context.clear_cookies()
    sign_in(page, portal, admin.email, totp_secret=admin_secret)
    page.goto(f"{portal}/portal/organisations/{office.pk}/details/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Details of {NEW_NAME}")
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator("dl.organisation-details")).to_contain_text("DAFW-PUNE")
    expect(page.locator("table.details-history tbody tr")).to_have_count(1)
    check_page.in_each_language(page, "details-read")
    check_page.assert_clean()
