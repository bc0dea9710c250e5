"""The nodal officer's whole journey in a real browser (Chromium through Playwright):
sign up with an official email, confirm it with the code from the mail actually
sent over SMTP, fill every section of the onboarding form (correcting mistakes on
the way), upload the signed letter, download the filled form, submit, and find
the application under "My applications"; then switch the portal to Hindi.
Every page is screenshotted and checked with axe-core."""

import re
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from onboarding.models import Application, ApplicationStatus
from tests.browser.support import ARTIFACTS, verification_code, wait_for_message
from tests.onboarding.approval_helpers import official_email_rules  # noqa: F401 (fixture)
from tests.onboarding_data import VALID, minimal_pdf

EMAIL = "nodal.officer@mahaagri.gov.in"
PASSWORD = "Krishi-Bhavan-2026-pune"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")

# Each answer of the form is typed into the field with this label: the test fails
# if a label is missing or is not tied to its input.
LABELS = {
    "organisation": {
        "name": "Name of the organisation (in English)",
        "name_local": "Name in Hindi or the state's language",
        "short_code": "Short code",
        "org_type": "Type of organisation",
        "level": "Level",
        "state": "State / UT",
        "district": "District",
        "address": "Postal address",
        "pin_code": "PIN code",
        "landline": "Office landline",
        "website": "Website",
        "email_domains": "Email domains used by your staff",
        "approx_users": "Approximate number of users",
    },
    "nodal_officer": {
        "name": "Full name",
        "designation": "Designation",
        "employee_code": "Employee code",
        "mobile": "Mobile number",
        "alternate_email": "Alternate official email",
    },
    "competent_authority": {
        "name": "Full name",
        "designation": "Designation",
        "official_email": "Official email",
        "mobile": "Mobile number",
    },
    "integration": {
        "app_1_name": "Application 1: name",
        "monthly_volume": "Expected messages a month",
        "tech_name": "Technical contact: name",
        "tech_email": "Technical contact: official email",
        "tech_mobile": "Technical contact: mobile",
    },
}
PURPOSE_LABELS = {"otp_alerts": "OTP and alerts", "messaging": "Messaging", "broadcast": "Broadcast"}


def fill(page, section, values):
    for name, label in LABELS[section].items():
        field = page.get_by_label(re.compile("^" + re.escape(label)))
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(values[name])
        else:
            field.fill(values[name])


def expect_refused(page, section, field, typed, message, kept):
    """After a refused answer: the message at the field, tied to it and listed in the
    summary at the top; what was typed is still there, and so are the ``kept`` answers."""
    label = LABELS[section][field]
    control = page.get_by_label(label)
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#id_{field}_error")).to_contain_text(message)
    expect(control).to_have_attribute("aria-describedby", re.compile(rf"\bid_{field}_error\b"))
    expect(page.locator("#error-summary")).to_contain_text(label)
    expect(control).to_have_value(typed)
    for name in kept:
        expect(page.get_by_label(LABELS[section][name])).to_have_value(VALID[section][name])
    return control


def save_and_continue(page):
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("load")


def loaded_fonts(page):
    return page.evaluate(
        """async () => { await document.fonts.ready;
            return [...document.fonts].filter(f => f.status === "loaded").map(f => f.family.replace(/"/g, "")); }"""
    )


@pytest.mark.browser
# transaction=True: the live server's thread must see what the test sees. An earlier
# transactional test's flush empties the tables, the email rules seeded by migration
# included: official_email_rules puts them back with the seed migration's code.
# (Not serialized_rollback: once an earlier test has started the session's Playwright,
# the main thread runs an event loop, Django's connections become context-local, and
# the connection the test sees has no serialized contents, so nothing is restored.)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("official_email_rules")
def test_nodal_officer_journey(page, live_server, smtp_server, check_page):
    base = live_server.url

    # --- Home, then sign up with an official email --------------------------------
    page.goto(base + "/")
    check_page(page, "home")
    # Our own static files, under the CSP: Bootstrap's styles and the shipped Noto Sans.
    primary = page.get_by_role("main").get_by_role("link", name="Create an account")
    expect(primary).to_have_css("background-color", "rgb(13, 110, 253)")
    assert "Noto Sans" in loaded_fonts(page)
    page.goto(base + "/accounts/signup/")
    check_page(page, "signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    # --- The code from the mail actually sent ----------------------------------
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/"))
    check_page(page, "confirm-email")
    message = wait_for_message(smtp_server, lambda m: EMAIL in str(m["To"]))
    code = verification_code(message)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    check_page(page, "signed-in")

    # --- Start an application --------------------------------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My applications")
    check_page(page, "my-applications-empty")
    page.get_by_role("link", name="Start a new application").click()
    check_page(page, "start")
    page.get_by_role("button", name="Start the application").click()
    expect(page).to_have_url(re.compile(r"/onboarding/\d+/tasks/$"))
    check_page(page, "task-list-new")
    application = Application.objects.get(nodal_officer__email=EMAIL)

    # --- Organisation details, with a 5-digit PIN first --------------------------------
    page.get_by_role("link", name="Organisation details").click()
    check_page(page, "organisation")
    fill(page, "organisation", {**VALID["organisation"], "pin_code": "41100"})
    save_and_continue(page)
    pin = expect_refused(page, "organisation", "pin_code", "41100", "Enter a 6-digit PIN code",
                         kept=("name", "name_local", "address", "state", "approx_users"))
    check_page(page, "organisation-error")
    pin.fill(VALID["organisation"]["pin_code"])
    save_and_continue(page)

    # --- Place in the hierarchy ----------------------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text("Place in the hierarchy")
    check_page(page, "hierarchy")
    page.get_by_label("It has no parent").check()
    save_and_continue(page)

    # --- Nodal officer, with an 8-digit mobile first ------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text("Nodal officer")
    expect(page.get_by_label(re.compile(r"^Official email"))).to_have_value(EMAIL)
    check_page(page, "nodal-officer")
    fill(page, "nodal_officer", {**VALID["nodal_officer"], "mobile": "98765432"})
    save_and_continue(page)
    mobile = expect_refused(page, "nodal_officer", "mobile", "98765432", "Enter a 10-digit Indian mobile number",
                            kept=("name", "designation", "employee_code"))
    check_page(page, "nodal-officer-error")
    mobile.fill(VALID["nodal_officer"]["mobile"])
    save_and_continue(page)

    # --- Competent authority ---------------------------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text("Competent authority")
    check_page(page, "competent-authority")
    fill(page, "competent_authority", VALID["competent_authority"])
    save_and_continue(page)

    # --- Integration with eGov applications ------------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text("Integration with eGov applications")
    check_page(page, "integration")
    page.get_by_label("Yes", exact=True).check()
    fill(page, "integration", VALID["integration"])
    purposes = page.get_by_role("group", name="Application 1: used for")
    for purpose in VALID["integration"]["app_1_purposes"]:
        purposes.get_by_label(PURPOSE_LABELS[purpose]).check()
    save_and_continue(page)

    # --- Data protection notice and undertakings -------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text("Data protection notice and undertakings")
    check_page(page, "declarations")
    checkboxes = page.locator("main form").get_by_role("checkbox")
    expect(checkboxes).to_have_count(len(VALID["declarations"]))
    for checkbox in checkboxes.all():
        checkbox.check()
    save_and_continue(page)

    # --- Signed authorisation letter ---------------------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed authorisation letter")
    check_page(page, "letter")
    page.get_by_label("Authorisation letter signed by the competent authority").set_input_files(
        {"name": "authorisation-letter.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()}
    )
    page.get_by_role("button", name="Upload the letter").click()
    expect(page).to_have_url(re.compile(r"/onboarding/\d+/tasks/$"))
    expect(page.get_by_text("The authorisation letter was uploaded.")).to_be_visible()
    expect(page.get_by_text("You have completed 7 of 7 sections.")).to_be_visible()
    check_page(page, "task-list-complete")

    # --- Download the filled form -------------------------------------------------------------
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the filled form (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    assert download.failure() is None
    pdf_bytes = Path(download.path()).read_bytes()
    assert pdf_bytes.startswith(b"%PDF"), pdf_bytes[:20]
    download.save_as(ARTIFACTS / "onboarding-form.pdf")

    # --- Check the answers and submit ------------------------------------------------------------
    page.get_by_role("link", name="Submit for approval").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers and submit")
    expect(page.locator("main")).to_contain_text(VALID["organisation"]["name"])
    check_page(page, "submit")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page).to_have_url(re.compile(rf"/onboarding/{application.pk}/$"))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    assert re.fullmatch(r"ONB-\S+", application.reference), application.reference
    expect(page.get_by_text(f"Application {application.reference} has been submitted")).to_be_visible()
    check_page(page, "submitted")

    # --- My applications shows it with its reference -------------------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    row = page.get_by_role("row").filter(has_text=application.reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(VALID["organisation"]["name"])
    expect(row).to_contain_text("Uploaded")
    check_page(page, "my-applications")

    # --- Switch the language to Hindi through the header --------------------------------------
    with translation.override("hi"):
        status_in_hindi = str(ApplicationStatus.WITH_AUTHORITY.label)
    assert DEVANAGARI.search(status_in_hindi), f"no Hindi catalogue compiled: {status_in_hindi!r}"
    page.get_by_label("Language").select_option("hi")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page).to_have_url(re.compile(r"/onboarding/$"))
    row = page.get_by_role("row").filter(has_text=application.reference)
    expect(row).to_contain_text(status_in_hindi)
    expect(page.get_by_label(re.compile("भाषा|Language"))).to_have_value("hi")
    assert "Noto Sans Devanagari" in loaded_fonts(page)
    check_page(page, "my-applications-hi")

    check_page.assert_clean()
