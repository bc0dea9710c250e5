"""An organisation admin imports a roster in a real browser (Chromium through
Playwright), each page screenshotted and checked with axe-core: from the members
page to the rosters page, uploads a file with mistakes, reads the preview (counts,
problems by kind, the refused rows), downloads the refusals, confirms, and watches
the progress bar (htmx polling, no script of ours) until the import is finished; a
reload shows the same.

The import runs the real Celery task code in a worker thread, as a worker process
would: the test's Celery settings run tasks in the request (eager), which would
finish the import before the page is shown, so ``roster_apply.delay`` hands the task
to a thread that waits until the test has seen the import queued."""

import csv
import io
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from portal.organisations.models import OrganisationDomain
from tests.browser.support import error_message, sign_in, sign_out, switch_language, verification_code, wait_for_message
from tests.factories import OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import official_email_rules  # noqa: F401 (fixture)
from tests.verification.helpers import make_admin
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification.models import GovernmentProfile, VerificationStatus
from verification.rosters import services
from verification.rosters.models import Invitation, InvitationStatus, RosterImport, RosterStatus
from verification.rosters.tasks import roster_apply

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]

ROWS = [
    person(1), person(2), person(3),
    person(4, **{"Official email": "someone@gmail.com"}),
    person(5, Name='=HYPERLINK("http://evil.example","Click")'),
    person(6, Mobile="12345"),
    person(7, **{"Official email": "person1@pune.mahaagri.gov.in"}),
    person(8, **{"Date of superannuation": "someday"}),
    person(9, Mobile="+91 98765 00009"),
    person(10, **{"Date of superannuation": "2020-03-31"}),
]


@pytest.fixture
def worker(monkeypatch):
    """roster_apply.delay runs the real task in a thread once ``release`` is set."""
    release = threading.Event()
    threads = []

    def run(roster_id):
        try:
            release.wait(30)
            roster_apply.apply(args=[roster_id])
        finally:
            connection.close()

    def delay(roster_id):
        thread = threading.Thread(target=run, args=(roster_id,), daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(roster_apply, "delay", delay)
    yield release
    release.set()
    for thread in threads:
        thread.join(30)


def test_admin_imports_a_roster_with_mistakes(page, portal, smtp_server, check_page, worker, settings, tmp_path):
    settings.ROSTER_APPLY_BATCH = 1  # the bar moves once a row
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    UserFactory(email="person2@pune.mahaagri.gov.in", full_name="Person 2")  # has an account: verified at once

    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/organisations/{office.pk}/members/")
    page.get_by_role("link", name="Rosters", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosters of District Agriculture Office, Pune")
    check_page(page, "rosters")

    # No file: the message is at the field.
    page.get_by_role("button", name="Check the roster").click()
    expect(error_message(page, "id_file_error")).to_have_text("Choose the roster file to upload.")
    check_page(page, "rosters-no-file")

    roster_file = tmp_path / "roster.csv"
    roster_file.write_bytes(csv_bytes(ROWS))
    page.get_by_label("Roster file").set_input_files(str(roster_file))
    page.get_by_role("button", name="Check the roster").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Roster roster.csv")
    main = page.locator("main")
    expect(main).to_contain_text("1 email address is a personal mail service")
    expect(main).to_contain_text("1 row has a cell that looks like a spreadsheet formula")
    expect(main).to_contain_text("1 email address appears on an earlier row too")
    expect(main).to_contain_text("1 date of superannuation has passed for a person not verified here")
    refused = page.get_by_role("table", name="Refused rows, with the reason")
    expect(refused.locator("tbody tr")).to_have_count(6)
    expect(refused.locator("tbody tr").first).to_contain_text("personal mail service")
    expect(refused.locator("tbody tr").last).to_contain_text(
        "The date of superannuation has passed: nobody is verified or invited after it.")
    check_page.in_each_language(page, "preview")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the 6 refused rows (CSV)").click()
    rows = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8-sig").read())))
    assert [row[0] for row in rows[1:]] == ["5", "6", "7", "8", "9", "11"]
    assert rows[2][2].startswith("'=HYPERLINK(")  # neutralised for the spreadsheet that opens it

    page.get_by_role("link", name="Apply this roster…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply the roster")
    check_page(page, "apply")
    page.get_by_role("button", name="Apply the roster").click()
    expect(page.locator("#id_confirm_error")).to_contain_text("Tick the box")
    page.get_by_label("I have read the preview: apply this roster").check()
    page.get_by_role("button", name="Apply the roster").click()

    # Queued, the worker not started yet: the bar is at 0 and polls.
    status = page.locator("#roster-progress [role=status]")
    expect(status).to_contain_text("Applying: 0 of 4 rows done")
    expect(page.locator("#roster-progress-bar")).to_have_attribute("value", "0")
    check_page(page, "applying")
    page.reload()  # a reload shows the same import, still running
    expect(status).to_contain_text("Applying: 0 of 4 rows done")

    worker.set()  # the worker takes the task: the bar fills without a reload
    expect(status).to_contain_text("Finished: 1 verified, 3 invited, 0 changed, 0 unchanged.", timeout=20_000)
    expect(page.locator("#roster-progress-bar")).to_have_attribute("value", "100")
    check_page(page, "applied")
    page.reload()
    expect(status).to_contain_text("Finished: 1 verified, 3 invited")
    roster = RosterImport.objects.get()
    assert roster.status == RosterStatus.APPLIED and roster.progress_done == 4
    assert Invitation.objects.count() == 3

    page.goto(f"{portal}/verification/organisations/{office.pk}/invitations/")
    expect(page.get_by_role("table", name="Invitations").locator("tbody tr")).to_have_count(3)
    check_page(page, "invitations")

    # Three invited people sign up with their addresses, one in each language: once the
    # code from the mail is entered, the page says they are verified, and by whom.
    sign_out(page)
    for number, language, told in (
            (1, "en", "District Agriculture Office, Pune invited you: you are now one of its verified users."),
            (3, "hi", "District Agriculture Office, Pune ने आपको आमंत्रित किया: अब आप इसके सत्यापित उपयोगकर्ताओं में से एक हैं।"),
            (9, "mr", "District Agriculture Office, Pune ने तुम्हाला आमंत्रित केले: आता तुम्ही तिच्या पडताळलेल्या वापरकर्त्यांपैकी एक आहात.")):
        address = f"person{number}@pune.mahaagri.gov.in"
        page.context.clear_cookies()
        page.goto(f"{portal}/accounts/signup/")
        if language != "en":
            switch_language(page, language)
        page.locator("#id_email").fill(address)
        page.locator("#id_password1").fill("Correct-horse-battery-9")
        page.locator("#id_password2").fill("Correct-horse-battery-9")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        code = verification_code(wait_for_message(smtp_server, lambda m, a=address: a in str(m["To"]) and
                                                  verification_code_in(m)))
        page.locator("#id_code").fill(code)
        page.locator("#id_code").press("Enter")
        page.wait_for_load_state("load")
        expect(page.get_by_role("status")).to_contain_text(told)
        check_page(page, f"invitation-accepted-{language}")
    assert GovernmentProfile.objects.filter(organisation=office, status=VerificationStatus.VERIFIED).count() == 4
    check_page.assert_clean()


def verification_code_in(message):
    """Whether a delivered message holds a sign-up code (and not the invitation itself)."""
    try:
        verification_code(message)
    except AssertionError:
        return False
    return True


def test_admin_cancels_an_invitation_sent_by_mistake(page, portal, check_page):
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    roster = upload(office, admin, csv_bytes([person(4), person(5)]))
    services.roster_apply_request(roster_id=roster.pk, actor=admin)  # the task runs at once (eager)
    assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 2

    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/organisations/{office.pk}/invitations/")
    page.get_by_role("link", name="Cancel the invitation person4@pune.mahaagri.gov.in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the invitation")
    page.get_by_role("button", name="Cancel the invitation").click()  # the box not ticked: said at the box
    expect(error_message(page, "id_confirm_error")).to_have_text(
        "Tick the box to confirm that you want to cancel this invitation.")
    check_page.in_each_language(page, "invitation-cancel-unconfirmed")
    page.get_by_label("Yes, cancel this invitation").check()
    page.get_by_role("button", name="Cancel the invitation").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The invitation to person4@pune.mahaagri.gov.in was cancelled: its link no longer works.")
    expect(page.get_by_role("table", name="Invitations").locator("tbody tr")).to_have_count(1)
    check_page(page, "invitation-cancelled")
    assert set(Invitation.objects.values_list("email", "status")) == {
        ("person4@pune.mahaagri.gov.in", InvitationStatus.CANCELLED),
        ("person5@pune.mahaagri.gov.in", InvitationStatus.PENDING)}
    check_page.assert_clean()
