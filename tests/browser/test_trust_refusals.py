"""What the portal refuses to make official, as people meet it in a real browser
(Chromium through Playwright), each page screenshotted and checked with axe-core in
English, Hindi and Marathi: an official address the person has not confirmed, at its
field with everything typed kept; a roster row of someone verified in another
organisation, off the roster's domains, invited as anyone's (the preview does not tell
who holds an address), and one of an auditor on its domain refused with its reason; a
roster whose rows were removed after their time, which says so and can no longer be applied."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.organisations.models import OrganisationDomain
from tests.browser.support import sign_in
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import official_email_rules  # noqa: F401 (fixture)
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from tests.verification.rosters.helpers import csv_bytes, person
from verification.models import VerificationStatus
from verification.rosters.models import RosterImport
from verification.rosters.retention import roster_rows_remove

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]

UNCONFIRMED = {
    "en": "This address is not one you have confirmed.",
    "hi": "यह पता आपके द्वारा पुष्टि किया गया पता नहीं है।",
    "mr": "हा पत्ता तुम्ही पुष्टी केलेला पत्ता नाही.",
}


@pytest.fixture
def office():
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    return office


def test_an_official_address_not_confirmed_is_refused_at_its_field(page, portal, check_page, office):
    asha = UserFactory(email="asha.k@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    sign_in(page, portal, asha.email)
    page.goto(f"{portal}/verification/organisations/{office.pk}/join/")

    def ask_with_another_address():
        page.locator("#id_designation").fill("Section Officer")  # by id: the labels are in the page's language
        page.locator("#id_office").fill("Establishment Section")
        page.locator("#id_employee_code").fill("EMP-1042")
        page.locator("#id_official_email").fill("secretary@pune.mahaagri.gov.in")
        page.locator("#id_mobile").fill("98765 43210")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        language = page.locator("html").get_attribute("lang")
        expect(page.locator("#id_official_email_error")).to_contain_text(UNCONFIRMED[language])
        expect(page.locator("#id_official_email")).to_have_value("secretary@pune.mahaagri.gov.in")
        expect(page.locator("#id_employee_code")).to_have_value("EMP-1042")  # nothing typed is lost

    ask_with_another_address()
    check_page.in_each_language(page, "join-unconfirmed-address", reach=ask_with_another_address)
    check_page.assert_clean()


def test_a_roster_row_invited_whoever_holds_it_one_refused_and_a_roster_whose_rows_were_removed(
        page, portal, check_page, office, tmp_path):
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    department = OrganisationFactory(name="Water Resources Department, Karnataka", short_code="WRD-KA", state="KA")
    elsewhere = UserFactory(email="chief.engineer@karwater.gov.in", full_name="Chief Engineer")
    GovernmentProfileFactory(user=elsewhere, organisation=department, status=VerificationStatus.VERIFIED,
                             official_email=elsewhere.email)
    auditor = UserFactory(email="audit.officer@pune.mahaagri.gov.in", full_name="Audit Officer")
    PlatformRoleFactory(user=auditor, role="auditor", jurisdiction="")
    roster_file = tmp_path / "roster.csv"
    roster_file.write_bytes(csv_bytes([person(1), person(2, **{"Official email": elsewhere.email}),
                                       person(3, **{"Official email": auditor.email})]))

    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/organisations/{office.pk}/rosters/")
    page.get_by_label("Roster file").set_input_files(str(roster_file))
    page.get_by_role("button", name="Check the roster").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Roster roster.csv")
    expect(page.locator("main")).not_to_contain_text("verified in another organisation")
    expect(page.locator("main")).to_contain_text("1 person is an auditor, whose account is read-only")
    refused = page.get_by_role("table", name="Refused rows, with the reason")
    expect(refused.locator("tbody tr")).to_have_count(1)
    expect(refused).to_contain_text("This person is an auditor")
    check_page.in_each_language(page, "roster-refused-auditor")

    # Never applied, and its time is over: its rows go; the page says so, in each language.
    RosterImport.objects.update(uploaded_at=timezone.now() - timedelta(days=31))
    assert roster_rows_remove() == 1
    page.reload()
    expect(page.locator("#roster-progress")).to_contain_text("its rows have been removed")
    expect(page.get_by_role("link", name="Apply this roster…")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("The counts above stay.")
    check_page.in_each_language(page, "roster-rows-removed")
    check_page.assert_clean()


def test_the_download_limit_and_a_personal_contact_address_are_said_on_their_pages(page, portal, check_page):
    """A sixth download of one's data within the hour is refused with a message on the
    page it came from; an expected office's contact address must be official, said at its
    field with what was typed kept: each in English, Hindi and Marathi."""
    from portal.audit.models import AuditAction
    from portal.audit.services import audit_record
    from portal.privacy.personal_data import DOWNLOADS_PER_HOUR
    from tests.onboarding.approval_helpers import make_state_admin, with_totp

    admin = make_state_admin("MH", email="admin.mh@state.gov.in", totp=False)
    secret = with_totp(admin)
    sign_in(page, portal, admin.email, totp_secret=secret)
    for _ in range(DOWNLOADS_PER_HOUR):  # five already this hour, as their audit rows say
        audit_record(actor=admin, action=AuditAction.PERSONAL_DATA_EXPORTED, target=admin,
                     new={"files": 0, "left_out": 0, "bytes": 0})

    def download_again():
        page.goto(f"{portal}/privacy/my-data/download/")
        expect(page).to_have_url(re.compile(r"/privacy/my-data/$"))
        expect(page.locator(".alert")).to_have_count(1)

    download_again()
    expect(page.locator(".alert")).to_contain_text("You have downloaded your data 5 times in the last hour.")
    check_page.in_each_language(page, "my-data-download-limit", reach=download_again)

    def add_with_a_personal_contact():
        page.goto(f"{portal}/monitoring/adoption/new/")
        page.locator("#id_name").fill("Ports Department")
        page.locator("#id_short_code").fill("MH-PORTS")
        page.locator("#id_contact_email").fill("ports.office@gmail.com")
        page.locator("#id_target_date").fill("2027-03-31")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_contact_email")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#id_contact_email")).to_have_value("ports.office@gmail.com")
        expect(page.locator("#id_short_code")).to_have_value("MH-PORTS")

    add_with_a_personal_contact()
    check_page.in_each_language(page, "adoption-personal-contact", reach=add_with_a_personal_contact)
    check_page.assert_clean()


def test_a_short_code_taken_and_a_rejection_not_confirmed_are_said_at_their_fields(page, portal, check_page, office):
    """An organisation's short code another organisation has is refused at its field,
    everything typed kept; rejecting one request waits for its box to be ticked, the
    reason kept: each in English, Hindi and Marathi."""
    from onboarding.models import Application
    from tests.onboarding_data import VALID

    OrganisationFactory(name="Ministry of Home Affairs", short_code="MHA", level="central", state="")
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    sign_in(page, portal, officer.email)
    page.goto(f"{portal}/onboarding/start/")
    page.get_by_role("button", name="Start the application").click()
    expect(page).to_have_url(re.compile(r"/onboarding/\d+/tasks/$"))
    application = Application.objects.get(nodal_officer=officer)

    def choose_a_taken_code():
        page.goto(f"{portal}/onboarding/{application.pk}/section/organisation/")
        page.locator("#id_name").fill(VALID["organisation"]["name"])
        page.locator("#id_short_code").fill("mha")
        page.locator("#id_pin_code").fill(VALID["organisation"]["pin_code"])
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_short_code")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#id_short_code")).to_have_value("mha")
        expect(page.locator("#id_name")).to_have_value(VALID["organisation"]["name"])

    choose_a_taken_code()
    expect(page.locator("#id_short_code_error")).to_contain_text(
        "MHA is already the short code of Ministry of Home Affairs on Sandes. Choose another.")
    check_page.in_each_language(page, "section-short-code-taken", reach=choose_a_taken_code)

    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    waiting = GovernmentProfileFactory(user=UserFactory(email="asha.k@pune.mahaagri.gov.in", full_name="Asha Kulkarni"),
                                       organisation=office)
    page.context.clear_cookies()
    sign_in(page, portal, admin.email)

    def reject_without_confirming():
        page.goto(f"{portal}/verification/profiles/{waiting.pk}/")
        page.locator("input[name=decision][value=reject]").check()
        page.locator("#id_reason").fill("The employee code is not on our rolls.")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_confirm")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#id_reason")).to_have_value("The employee code is not on our rolls.")

    reject_without_confirming()
    expect(page.locator("#id_confirm_error")).to_contain_text("Tick the box to confirm the decision.")
    check_page.in_each_language(page, "request-reject-unconfirmed", reach=reject_without_confirming)
    waiting.refresh_from_db()
    assert waiting.status == VerificationStatus.PENDING
    check_page.assert_clean()
