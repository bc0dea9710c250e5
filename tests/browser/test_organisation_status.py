"""An organisation suspended and reactivated in a real browser (Chromium through Playwright),
each page screenshotted and checked with axe-core (tests/browser/support.py): a superadmin
signed in with TOTP opens Monitoring, follows a district office's name to its status page,
presses "Suspend organisation", reads on the confirmation page what a suspension does and
who is told (in English, Hindi and Marathi), sends it without a reason and is told at each
field, chooses the reason and writes a note, and sends it from the keyboard; the page then
says since when, by whom and why; the office's admin is told by mail in Marathi. She then
reactivates it the same way, and its page lists both changes."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from portal.organisations.models import Organisation, OrganisationStatus, SuspensionReason
from tests.browser.support import error_message, nav, sign_in, wait_for_message
from tests.factories import OrganisationFactory
from tests.onboarding.approval_helpers import make_superadmin, official_email_rules, with_totp  # noqa: F401 (fixtures)
from tests.portal.role_helpers import make_admin, make_member
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]

NOTE = "Letters went out under the office's name from an address it does not use: under review with the collector."


def test_a_superadmin_suspends_an_office_and_reactivates_it(page, portal, check_page, smtp_server):
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", state="MH",
                                 parent=department)
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    GovernmentProfileFactory(user=admin, organisation=department, request_language="mr",
                             status=VerificationStatus.REVOKED)  # the language the portal knows her by
    for n in range(3):
        make_member(office, email=f"clerk{n}@pune.mahaagri.gov.in")
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    secret = with_totp(superadmin)

    sign_in(page, portal, superadmin.email, totp_secret=secret)
    nav(page, "Monitoring")
    page.get_by_role("link", name="District Agriculture Office, Pune", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Status of District Agriculture Office, Pune")
    check_page.in_each_language(page, "status-active")

    page.get_by_role("link", name="Suspend organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspend District Agriculture Office, Pune")
    expect(page.get_by_text("admin@pune.mahaagri.gov.in")).to_be_visible()  # who is told
    expect(page.get_by_text("Its 3 verified members are not emailed one by one")).to_be_visible()
    check_page.in_each_language(page, "suspend-confirm")

    # Sent with nothing chosen: each refusal at its field, nothing done.
    page.get_by_role("button", name="Suspend organisation").click()
    page.wait_for_load_state("load")
    expect(error_message(page, "id_reason_code_error")).to_have_text("Choose the reason.")
    expect(error_message(page, "id_reason_error")).to_have_text("This field is required.")
    expect(page.locator("#id_reason")).to_have_attribute("aria-invalid", "true")
    check_page(page, "suspend-refused")
    assert Organisation.objects.get(pk=office.pk).status == OrganisationStatus.ACTIVE

    # From the keyboard: the reason's choices with the arrow keys, the note typed, Enter on the button.
    page.locator("#id_reason_code_0").focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")  # "Misuse of the platform"
    page.locator("#id_reason").focus()
    page.keyboard.type(NOTE)
    page.get_by_role("button", name="Suspend organisation").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.get_by_text("District Agriculture Office, Pune was suspended.")).to_be_visible()
    status = page.locator("dl.organisation-status")
    expect(status).to_contain_text("Suspended")
    expect(status).to_contain_text("anita.rao@nic.in")
    expect(status).to_contain_text("Misuse of the platform")
    expect(status).to_contain_text(NOTE)
    check_page(page, "suspended")
    assert Organisation.objects.get(pk=office.pk).status == OrganisationStatus.SUSPENDED

    told = wait_for_message(smtp_server, lambda m: m["To"].addresses[0].addr_spec == "admin@pune.mahaagri.gov.in")
    with translation.override("mr"):
        assert str(told["Subject"]) == "District Agriculture Office, Pune संदेसवर निलंबित आहे"
        assert str(SuspensionReason.MISUSE.label) in told.get_content()
    assert NOTE in told.get_content()

    page.get_by_role("link", name="Reactivate organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reactivate District Agriculture Office, Pune")
    check_page.in_each_language(page, "reactivate-confirm")
    page.get_by_label("Review completed").check()
    page.get_by_label("Note").fill("Reviewed with the collector: the address was the office's after all.")
    page.get_by_role("button", name="Reactivate organisation").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("District Agriculture Office, Pune was reactivated.")).to_be_visible()
    expect(page.locator("dl.organisation-status")).to_contain_text("Review completed")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Reactivated")
    expect(rows.nth(1)).to_contain_text("Suspended")
    check_page.in_each_language(page, "reactivated")
    assert Organisation.objects.get(pk=office.pk).status == OrganisationStatus.ACTIVE
    check_page.assert_clean()
