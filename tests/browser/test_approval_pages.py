"""The approval pages in a real browser (Chromium through Playwright):

- the competent authority opens the link from the email actually delivered over
  SMTP, with no account, looks at every section and both documents, tries to
  return the application without remarks (the error is at the remarks field,
  nothing is lost), returns it with remarks, sees the confirmation, and finds
  the link used when it opens it again; an unknown link gets its own page;
- after the nodal officer's correction the new link shows what changed since
  the version the authority last saw, and the authority approves from the page;
- a state administrator signs in through allauth's login page with password and
  TOTP, sees the queue (overdue first, then the oldest), opens an application
  and approves it; the organisation is active and the nodal officer's
  "My applications" says Approved.

Applications are brought to each state through the real services (submit,
decisions with the emailed token). Every page is screenshotted and checked with
axe-core (tests/browser/support.py)."""

import copy
import re
import secrets
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from onboarding.application import services
from onboarding.approval import services as approvals
from onboarding.approval.timings import approval_timings
from onboarding.models import Application, ApplicationStatus, ApprovalStep, ApprovalTimings, Stage
from portal.mail.models import UnknownMailbox
from portal.organisations.models import OrganisationStatus
from tests.browser.support import OTHER_LANGUAGES, error_message, sign_in, sign_out, switch_language, wait_for_message
from tests.factories import PASSWORD, ApplicationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixtures)
    AUTHORITY_EMAIL,
    LINK_RE,
    as_querydict,
    latest_link,
    make_state_admin,
    make_superadmin,
    official_email_rules,
    submitted_application,
    totp_code,
    with_totp,
)
from tests.onboarding_data import VALID, minimal_pdf
from tests.smtp import text_of

OFFICER_EMAIL = "nodal.officer@mahaagri.gov.in"
HINDI = re.compile(r"[\u0900-\u097F]")
RETURN_REMARKS = "State the number of users correctly: the directorate has about 1,500 staff."
REPLY = "The number of users now counts the field offices too: 1,500 in all."
# Each section of the form, with an answer its block on the review page must show.
SECTIONS = {
    "Organisation details": VALID["organisation"]["name"],
    "Place in the hierarchy": None,
    "Nodal officer": VALID["nodal_officer"]["employee_code"],
    "Competent authority": VALID["competent_authority"]["designation"],
    "Integration with eGov applications": VALID["integration"]["app_1_name"],
    "Data protection notice and undertakings": None,
}

pytestmark = [
    pytest.mark.browser,
    # transaction=True: the live server's thread must see what the test commits,
    # and every email goes the production way (outbox row, task on commit, SMTP).
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]


def new_link(server, address, known):
    """(link, body) of the first email delivered to ``address`` with a review link not in ``known``."""
    def fresh(message):
        match = LINK_RE.search(text_of(message))
        return address in (message["To"] or "") and match is not None and match.group(0) not in known

    message = wait_for_message(server, fresh)
    return LINK_RE.search(text_of(message)).group(0), text_of(message)


def choose_and_record(page, decision, remarks=None):
    """Choose ``decision``, type the remarks if given, tick the box confirming a decision that
    cannot be undone (any but "Return for correction"), and send."""
    form = page.get_by_role("region", name="Your decision")
    form.get_by_role("group", name="Your decision").get_by_label(decision, exact=True).check()
    if remarks is not None:
        form.get_by_label(re.compile(r"^Remarks")).fill(remarks)
    if decision != "Return for correction":
        form.get_by_label("Yes, record this decision: it cannot be undone").check()
    form.get_by_role("button", name="Record my decision").click()
    page.wait_for_load_state("load")


def download(page, link_name):
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    result = info.value
    assert result.failure() is None
    with open(result.path(), "rb") as fh:
        return result.suggested_filename, fh.read()


def test_competent_authority_returns_then_approves_through_the_emailed_link(page, portal, smtp_server, check_page):
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    make_state_admin("MH", email="ravi.admin@maharashtra.gov.in")
    application = submitted_application(officer)
    assert application.status == ApplicationStatus.WITH_AUTHORITY

    # --- The link from the email as delivered, opened with no account ------------------
    link, _body = new_link(smtp_server, AUTHORITY_EMAIL, known=[])
    assert link.startswith(portal + "/onboarding/review/")
    response = page.goto(link)
    assert response.status == 200
    # The link is kept in the session: the page's address (history, later requests' logs
    # and Referer) holds no token.
    expect(page).to_have_url(re.compile(re.escape(portal) + r"/onboarding/review/\?step=\d+$"))
    # Nothing leaves the site in a Referer, yet the page's own forms carry their Origin.
    assert response.headers["referrer-policy"] == "same-origin"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Decision on application {application.reference}")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    # The officer by name and designation, then address.
    expect(page.get_by_role("main")).to_contain_text(
        "Its nodal officer, Sunil Patil, Deputy Director (IT) (nodal.officer@mahaagri.gov.in)")
    for label, answer in SECTIONS.items():
        section = page.get_by_role("region", name=label, exact=True)
        expect(section).to_be_visible()
        expect(section.locator("dt").first).to_be_visible()
        expect(section).not_to_contain_text("Not filled in.")
        if answer:
            expect(section).to_contain_text(answer)
    # No earlier decision and no changes on a first submission.
    expect(page.get_by_role("region", name="Earlier decisions")).to_have_count(0)
    expect(page.get_by_text("What changed since")).to_have_count(0)
    documents = page.get_by_role("region", name="Documents")
    expect(documents.get_by_role("link", name="The filled onboarding form (PDF)")).to_be_visible()
    expect(documents.get_by_role("link", name="The signed authorisation letter")).to_be_visible()
    expect(documents).to_contain_text("letter.pdf")
    check_page(page, "review")
    name, content = download(page, "The filled onboarding form (PDF)")
    assert name.startswith(application.reference) and name.endswith(".pdf") and content.startswith(b"%PDF"), name
    name, content = download(page, "The signed authorisation letter")
    # Served under the portal's own name, whatever the officer's file was called.
    assert (name, content) == (f"{application.reference}-letter.pdf", minimal_pdf())

    # --- "Return for correction" with no remarks: the error is at the remarks field ---------
    choose_and_record(page, "Return for correction")
    remarks = page.get_by_label(re.compile(r"^Remarks"))
    expect(remarks).to_have_attribute("aria-invalid", "true")
    expect(remarks).to_have_attribute("aria-describedby", re.compile(r"\bid_remarks_error\b"))
    expect(error_message(page, "id_remarks_error")).to_have_text("Give the reason for this decision.")
    expect(page.locator("#error-summary")).to_contain_text("Remarks: Give the reason for this decision.")
    expect(page.get_by_label("Return for correction", exact=True)).to_be_checked()
    for label, answer in SECTIONS.items():  # the page still shows the whole application
        if answer:
            expect(page.get_by_role("region", name=label, exact=True)).to_contain_text(answer)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    check_page(page, "review-remarks-missing")
    # The error summary's link takes the keyboard to the field.
    page.locator("#error-summary").get_by_role("link").click()
    expect(remarks).to_be_focused()

    # --- Return it, with remarks ---------------------------------------------------------------------
    remarks.fill(RETURN_REMARKS)
    page.get_by_role("button", name="Record my decision").click()
    # (The error summary's link left "#id_remarks" on the URL; the browser keeps it through the redirect.)
    expect(page).to_have_url(re.compile(re.escape(portal + "/onboarding/review/done/") + "(#id_remarks)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your decision was recorded")
    confirmation = page.get_by_role("status")
    expect(confirmation).to_contain_text(f"Application {application.reference} of {VALID['organisation']['name']}: "
                                         "Returned for correction, recorded on")
    expect(confirmation).to_contain_text(RETURN_REMARKS)
    expect(confirmation).to_contain_text(f"A confirmation was emailed to {AUTHORITY_EMAIL}")
    check_page(page, "done-returned")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED
    returned = wait_for_message(smtp_server,
                                lambda m: OFFICER_EMAIL in (m["To"] or "") and RETURN_REMARKS in text_of(m))
    assert application.reference in returned["Subject"]

    # --- The same link again: used ---------------------------------------------------------------------
    response = page.goto(link)
    assert response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")
    expect(page.get_by_role("main")).to_contain_text(f"on application {application.reference}")
    # Only that it was used: whoever holds the email does not learn the decision or the remarks.
    expect(page.get_by_role("main")).not_to_contain_text("Return for correction")
    expect(page.get_by_role("main")).not_to_contain_text("Returned for correction")
    expect(page.get_by_role("main")).not_to_contain_text(RETURN_REMARKS)
    expect(page.get_by_role("button", name="Record my decision")).to_have_count(0)
    check_page(page, "link-used")

    # --- A link that was never issued ------------------------------------------------------------------
    response = page.goto(f"{portal}/onboarding/review/{secrets.token_urlsafe(32)}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    expect(page.get_by_role("main")).to_contain_text("We do not recognise this link.")
    expect(page.get_by_role("main")).to_contain_text("write to the nodal officer")
    check_page.in_each_language(page, "link-unknown")

    # --- The nodal officer corrects (services) and resubmits on the check page, replying to the remarks ---
    corrected = dict(VALID["organisation"], approx_users="1500")
    services.application_save_section(application_id=application.pk, section="organisation",
                                      querydict=as_querydict(corrected), actor=officer)
    sign_in(page, portal, OFFICER_EMAIL)
    page.goto(f"{portal}/onboarding/{application.pk}/submit/")
    replying = page.get_by_role("region", name="Reply to the remarks")
    expect(replying).to_contain_text(RETURN_REMARKS)

    def reply_blank():  # only invisible characters: none
        page.locator("#id_reply").fill("\u200b\u2060")
        page.locator("form button[type=submit]").last.click()
        page.wait_for_load_state("load")

    reply_blank()
    expect(error_message(page, "id_reply_error")).to_have_text(
        "Reply to the remarks the application was returned with: say what you changed and why.")
    check_page.in_each_language(page, "resubmit-reply-missing", reach=reply_blank)
    page.get_by_label("Your reply to the remarks").fill(REPLY)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_role("main")).to_contain_text("has been submitted to the competent authority")
    sign_out(page)
    second_link, second_body = new_link(smtp_server, AUTHORITY_EMAIL, known=[link])
    assert "has been changed" in second_body and REPLY in second_body

    # --- The new link shows what changed since the version the authority saw ----------------------
    page.goto(second_link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Decision on application {application.reference}")
    changes = page.get_by_role("region", name=re.compile(r"^What changed since the version you saw on "))
    expect(changes).to_contain_text(RETURN_REMARKS)
    expect(changes).to_contain_text(f"The nodal officer’s reply to the remarks: {REPLY}")
    rows = changes.get_by_role("table", name="Changed answers").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td")).to_have_text(["Organisation details", "Approximate number of users", "1,200", "1,500"])
    expect(rows.locator("del")).to_have_text("1,200")
    expect(rows.locator("ins")).to_have_text("1,500")
    history = page.get_by_role("region", name="Earlier decisions")
    expect(history).to_contain_text("Returned for correction")
    expect(history).to_contain_text(AUTHORITY_EMAIL)
    expect(page.get_by_role("region", name="Organisation details", exact=True)).to_contain_text("1,500")
    check_page.in_each_language(page, "review-changes")

    # --- Approve from the page ---------------------------------------------------------------------------
    choose_and_record(page, "Approve")
    expect(page).to_have_url(portal + "/onboarding/review/done/")
    expect(page.get_by_role("status")).to_contain_text(f"Application {application.reference} of "
                                                       f"{VALID['organisation']['name']}: Approved, recorded on")
    check_page(page, "done-approved")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    page.goto(second_link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")

    # --- The authority reads the portal in Hindi: the language switch works on a link page ------------
    page.get_by_label("Language").select_option("hi")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page).to_have_url(second_link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(HINDI)
    check_page(page, "link-used-hi")

    check_page.assert_clean()


def application_data(name, short_code, domain):
    data = copy.deepcopy(VALID)
    data["organisation"].update(name=name, short_code=short_code, email_domains=domain, website=f"https://www.{domain}")
    data["competent_authority"]["official_email"] = f"director@{domain}"
    data["integration"]["tech_email"] = f"tech@{domain}"
    return data


def at_state_stage(officer, data, opened_at, settings, state_due_days=None):
    """Submitted, and approved by its competent authority (with the emailed token)
    at ``opened_at``; the state stage is due ``state_due_days`` later (the approval
    timings' value unless given)."""
    default = approval_timings().state_due_days
    ApprovalTimings.objects.update(state_due_days=state_due_days or default)
    with time_machine.travel(opened_at, tick=True):
        application = submitted_application(officer, data)
        _path, token = latest_link(data["competent_authority"]["official_email"])
        step = application.steps.get(stage=Stage.AUTHORITY, decision="")
        approvals.step_decide(step_id=step.pk, decision="approve", token=token)
    ApprovalTimings.objects.update(state_due_days=default)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    return application


def test_state_admin_signs_in_with_totp_and_approves_from_the_queue(page, portal, smtp_server, check_page, settings):
    admin = make_state_admin("MH", email="ravi.admin@maharashtra.gov.in", totp=False)
    secret = with_totp(admin)
    now = timezone.now()
    # The oldest is not overdue (it was given 30 days); the overdue one is younger
    # than it and still comes first; the newest comes last.
    oldest = at_state_stage(UserFactory(email="nodal@mahaforest.gov.in", full_name="Meera Kulkarni"),
                            application_data("Forest Department, Maharashtra", "FOR-MH", "mahaforest.gov.in"),
                            now - timedelta(days=15), settings, state_due_days=30)
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    overdue = at_state_stage(officer, VALID, now - timedelta(days=12), settings)
    newest = at_state_stage(UserFactory(email="nodal@mahawater.gov.in", full_name="Arjun Pawar"),
                            application_data("Water Resources Department, Maharashtra", "WRD-MH", "mahawater.gov.in"),
                            now - timedelta(hours=2), settings)
    overdue_step = overdue.steps.get(stage=Stage.STATE)
    assert overdue_step.due_at < now < oldest.steps.get(stage=Stage.STATE).due_at

    # --- Sign in through allauth's pages: password, then the TOTP code -----------------------
    page.goto(portal + "/accounts/login/")
    check_page(page, "login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    check_page(page, "totp")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # --- The queue: overdue first, then the oldest -----------------------------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approval queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approval queue")
    queue = page.get_by_role("table", name="Applications waiting for a decision")
    rows = queue.locator("tbody tr")
    expect(rows.locator("td:first-child")).to_have_text([overdue.reference, oldest.reference, newest.reference])
    expect(rows.nth(0)).to_contain_text("Overdue")
    expect(rows.nth(0)).to_contain_text(VALID["organisation"]["name"])
    expect(rows.nth(0)).to_contain_text("Sunil Patil")
    expect(rows.filter(has_text="Overdue")).to_have_count(1)
    expect(rows.nth(0).locator("td").nth(5)).to_have_css("background-color", "rgb(248, 215, 218)")  # table-danger
    expect(rows.nth(0).locator("td").first).to_have_css("white-space", "nowrap")
    check_page(page, "queue")

    # --- Open the overdue application and approve it --------------------------------------------------
    rows.nth(0).get_by_role("link", name=f"Review and decide {overdue.reference}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Decision on application {overdue.reference}")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Overdue")
    history = page.get_by_role("region", name="Earlier decisions")
    expect(history).to_contain_text("Competent authority")
    expect(history).to_contain_text(AUTHORITY_EMAIL)
    for label, answer in SECTIONS.items():
        section = page.get_by_role("region", name=label, exact=True)
        expect(section).to_be_visible()
        if answer:
            expect(section).to_contain_text(answer)
    documents = page.get_by_role("region", name="Documents")
    expect(documents.get_by_role("link", name="The filled onboarding form (PDF)")).to_be_visible()
    expect(documents.get_by_role("link", name="The signed authorisation letter")).to_be_visible()
    decisions = page.get_by_role("group", name="Your decision").get_by_role("radio")
    expect(decisions).to_have_count(3)
    for radio in decisions.all():  # Bootstrap's radios, like every other form of the portal
        expect(radio).to_have_class("form-check-input")
    check_page(page, "queue-step")
    choose_and_record(page, "Approve")

    expect(page).to_have_url(re.compile(r"/onboarding/queue/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Your decision on {overdue.reference} was recorded.")
    expect(rows.locator("td:first-child")).to_have_text([oldest.reference, newest.reference])
    check_page(page, "queue-after-approval")

    overdue.refresh_from_db()
    assert overdue.status == ApplicationStatus.APPROVED
    assert overdue.organisation.status == OrganisationStatus.ACTIVE
    assert ApprovalStep.objects.get(pk=overdue_step.pk).decided_by == admin
    assert {a.status for a in Application.objects.exclude(pk=overdue.pk)} == {ApplicationStatus.WITH_STATE}

    # --- The nodal officer's "My applications" says Approved ---------------------------------------------
    sign_out(page)
    sign_in(page, portal, OFFICER_EMAIL)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    row = page.get_by_role("row").filter(has_text=overdue.reference)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("Approved")
    check_page(page, "officer-my-applications")

    check_page.assert_clean()


def test_a_state_admin_who_is_the_officer_is_told_at_the_decision_why_they_may_not_decide(page, portal, check_page, settings):
    """The nodal officer is also Maharashtra's state administrator: their application is in
    their queue and its decision page opens; recording a decision shows the form again, the
    remarks they typed kept and the reason at the decision, in each language."""
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    secret = with_totp(officer)
    make_state_admin("MH", email="ravi.admin@maharashtra.gov.in")
    PlatformRoleFactory(user=officer, role="state_admin", jurisdiction="MH")
    application = at_state_stage(officer, VALID, timezone.now() - timedelta(hours=1), settings)
    step = application.steps.get(stage=Stage.STATE)
    sign_in(page, portal, officer.email, secret)
    page.goto(f"{portal}/onboarding/queue/{step.pk}/")
    choose_and_record(page, "Return for correction", RETURN_REMARKS)
    form = page.get_by_role("region", name="Your decision")
    expect(form).to_contain_text("You are this application's nodal officer: nobody decides on their own application")
    expect(form.get_by_label(re.compile(r"^Remarks"))).to_have_value(RETURN_REMARKS)

    def refused():  # the same decision again, in the language the page is in now
        page.goto(f"{portal}/onboarding/queue/{step.pk}/")
        page.locator("input[name=decision][value=return]").check()
        page.locator("textarea[name=remarks]").fill(RETURN_REMARKS)
        page.locator("section[aria-labelledby=decision-heading] button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_decision_error")).to_be_visible()

    check_page.in_each_language(page, "decision-refused-own-application", reach=refused)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE


LONG_AUTHORITY_EMAIL = "director.agriculture.commissionerate@krishi.maharashtra.gov.in"  # 63 characters


@pytest.mark.parametrize("language", ["en", "hi"])
def test_a_long_official_address_wraps_on_a_phone(page, portal, check_page, language):
    """On a phone, or at 400% zoom (320 CSS px), the application's summary (on the officer's
    page of the application and on the authority's review page) wraps a long official
    address as the "Who's who" block does: the page itself never scrolls sideways (WCAG 1.4.10)."""
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    data = copy.deepcopy(VALID)
    data["competent_authority"]["official_email"] = LONG_AUTHORITY_EMAIL
    application = submitted_application(officer, data)
    page.set_viewport_size({"width": 320, "height": 640})

    def fits(name):
        page.wait_for_load_state("load")
        if page.locator("html").get_attribute("lang") != language:
            switch_language(page, language)
        expect(page.get_by_text(LONG_AUTHORITY_EMAIL, exact=True).first).to_be_visible()
        check_page(page, name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{name}: the page is {width} CSS px wide in a 320 px window"

    sign_in(page, portal, officer.email)
    page.goto(f"{portal}/onboarding/{application.pk}/")
    fits(f"detail-320-{language}")
    page.context.clear_cookies()  # the authority, who has no account
    path, _token = latest_link(LONG_AUTHORITY_EMAIL)
    page.goto(portal + path)
    fits(f"review-320-{language}")
    check_page.assert_clean()


def test_a_long_address_named_in_a_heading_or_a_sentence_wraps_on_a_phone(page, portal, check_page):
    """At 320 CSS px, in each language: the page lifting the mail server's refusal of an
    address (its <h1> "Lift the refusal of <address>", and the server's answer, which
    repeats it) and the handover page (its first sentence names the nodal officer's
    account) wrap the address: the page itself never scrolls sideways (WCAG 1.4.10)."""
    now = timezone.now()
    refused = UnknownMailbox.objects.create(
        mailbox=LONG_AUTHORITY_EMAIL, first_refused_at=now, last_refused_at=now, refusals=2,
        reply=f"550 5.1.1 <{LONG_AUTHORITY_EMAIL}>: Recipient address rejected: User unknown in virtual mailbox table")
    officer = UserFactory(email="deputy.director.information.technology@mahaagri.gov.in")
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED, letter=True)
    superadmin = make_superadmin(totp=False)
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    page.set_viewport_size({"width": 320, "height": 640})
    problems = []
    for language in ("en", *OTHER_LANGUAGES):
        for path, name, address in ((reverse("mail:unknown_mailbox", args=[refused.pk]), "lift", LONG_AUTHORITY_EMAIL),
                                     (reverse("onboarding:officer_change", args=[application.pk]), "handover", officer.email)):
            page.goto(portal + path)
            if page.locator("html").get_attribute("lang") != language:
                switch_language(page, language)
            expect(page.locator("main")).to_contain_text(address)
            check_page(page, f"{name}-320-{language}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 320:
                problems.append(f"{name} ({language}) is {width} CSS px wide in a 320 px window")
    assert problems == [], "\n".join(problems)
    check_page.assert_clean()


REMINDER_TOO_LATE = {
    "en": "Remind at most 2 days before the due date",
    "hi": "नियत तारीख से अधिकतम 2 दिन पहले अनुस्मारक भेजें",
    "mr": "नियत तारखेच्या जास्तीत जास्त 2 दिवस आधी स्मरणपत्र पाठवा",
}
KEEP_THEIR_DATES = {
    "en": "The steps open now keep their due dates",
    "hi": "अभी खुले चरण अपनी नियत तारीखें",
    "mr": "आता उघडे असलेले टप्पे त्यांच्या नियत तारखा",
}


def test_a_superadmin_changes_the_approval_timings_after_seeing_the_change(page, portal, check_page):
    """From the Administration menu: a reminder as late as the shortest stage is refused at
    its field (in each language, what was typed kept); a valid change is shown for
    confirmation (which takes focus), saying that what is open keeps its dates (in each language), and saved
    once confirmed."""
    root = make_superadmin(email="anita.rao@nic.in", totp=False)
    sign_in(page, portal, root.email, with_totp(root))
    main = page.get_by_role("navigation", name="Main")
    main.locator("details summary").click()
    main.get_by_role("link", name="Approval timings", exact=True).click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approval timings")
    check_page(page, "approval-timings")

    def too_late_a_reminder():
        page.locator("#id_state_due_days").fill("3")
        page.locator("#id_reminder_days_before").fill("3")
        page.locator("form[method=post]:not([action]) button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_reminder_days_before_error")).to_contain_text(
            REMINDER_TOO_LATE[page.locator("html").get_attribute("lang")])
        expect(page.locator("#id_state_due_days")).to_have_value("3")

    too_late_a_reminder()
    check_page.in_each_language(page, "approval-timings-errors", reach=too_late_a_reminder)

    def shorter_authority_days():
        page.goto(portal + "/onboarding/timings/")
        page.locator("#id_authority_due_days").fill("5")
        page.locator("form[method=post]:not([action]) button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#timings-confirm")).to_be_visible()
        expect(page.locator("#confirm-summary")).to_be_focused()  # heard first, not the form again
        expect(page.locator("section:has(#timings-confirm)")).to_contain_text(
            KEEP_THEIR_DATES[page.locator("html").get_attribute("lang")])

    shorter_authority_days()
    check_page.in_each_language(page, "approval-timings-confirm", reach=shorter_authority_days)
    assert approval_timings().authority_due_days == 7
    shorter_authority_days()
    page.get_by_role("button", name="Confirm and save").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("Approval timings saved.")).to_be_visible()
    assert approval_timings().authority_due_days == 5
    check_page.assert_clean()
