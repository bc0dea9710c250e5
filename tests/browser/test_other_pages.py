"""The pages no other browser test visits, in a real browser (Chromium through
Playwright), each screenshotted and checked with axe-core (tests/browser/support.py):

- a nodal officer opens a rejected application (approval panel and timeline),
  lodges an appeal with grounds, and a superadmin signed in with TOTP hears it
  from the appeals queue and upholds it;
- a superadmin adds an official email rule (the confirmation is backed by an
  audit row), changes it on its edit page, filters the outbox and opens a message;
  "Try sending again" pressed on a message that failed when its page was loaded but was
  sent since says, in each language, that it is no longer failed and nothing was queued;
- a nodal officer withdraws an application through the confirmation box, and
  reads the data protection notice from the footer;
- a state administrator without TOTP is sent to set it up, confirms the password,
  activates it with the secret shown on the page, sees the recovery codes, reaches
  the queue; signed in again (password and code), changes the account's email once
  they confirmed it is them (the password page, then their authenticator's code, in
  each language) with the code mailed to the new address; signed out, asks for a
  password reset and gets the mail.

Applications are brought to each state through the real services, the competent
authority deciding with the token it was emailed."""

import re
import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from django.core.mail import EmailMessage
from django.utils import timezone
from playwright.sync_api import expect

from onboarding.approval import services as approvals
from onboarding.models import ApplicationStatus, AuthorityToken, Decision, Stage
from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage, OutboxStatus, UnknownMailbox
from portal.mail.services import outbox_enqueue
from tests.browser.support import (
    OTHER_LANGUAGES,
    error_message,
    nav,
    sign_in,
    sign_out,
    switch_language,
    verification_code,
    wait_for_message,
)
from tests.factories import PASSWORD, UserFactory
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixtures)
    AUTHORITY_EMAIL,
    latest_link,
    make_state_admin,
    make_superadmin,
    official_email_rules,
    submitted_application,
    totp_code,
    with_totp,
)
from tests.onboarding_data import VALID
from tests.smtp import text_of

OFFICER_EMAIL = "nodal.officer@mahaagri.gov.in"
SUPERADMIN_EMAIL = "anita.rao@nic.in"
GONE_EMAIL = "retired.officer@mahaagri.gov.in"
NEW_EMAIL = "ravi.patil@maharashtra.gov.in"
WITHDRAW_REASON = "The department will join through the state's central account."
REJECTION = "The authorisation letter is signed by an officer who is not the head of the department."
GROUNDS = "The letter is signed by the Director, who heads the department under the Business Rules, 1975."
UPHELD = "The Business Rules name the Secretary, not the Director, as the head of the department."

TRY_AGAIN = {"en": "Try sending again", "hi": "फिर से भेजने का प्रयास करें", "mr": "पुन्हा पाठवण्याचा प्रयत्न करा"}
GIVEN_UP_LINKS = {  # a failed (given-up) copy has no working link: sent again it carries none
    "en": "Links that let the recipient decide without an account were removed from this copy when it was given up",
    "hi": "वे लिंक, जिनसे प्राप्तकर्ता बिना खाते के निर्णय ले सकता है, इस प्रति से तब हटा दिए गए जब इसे भेजने का प्रयास छोड़ दिया गया",
    "mr": "ज्या लिंकमुळे प्राप्तकर्त्याला खात्याशिवाय निर्णय घेता येत होता, त्या हा संदेश पाठवण्याचा प्रयत्न सोडून दिल्यावर या प्रतीतून काढून टाकल्या",
}
NO_LONGER_FAILED = {
    "en": "This message is no longer failed (now: Sent); nothing was queued.",
    "hi": "यह संदेश अब विफल नहीं है (अब: भेजा गया); कुछ भी कतार में नहीं डाला गया।",
    "mr": "हा संदेश आता अयशस्वी नाही (आता: पाठवला); काहीही रांगेत टाकले नाही.",
}

pytestmark = [
    pytest.mark.browser,
    # transaction=True: the live server's thread must see what the test commits,
    # and every email goes the production way (outbox row, task on commit, SMTP).
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]


def rejected_by_the_authority(officer):
    """Submitted, then rejected by the competent authority with the token it was emailed."""
    application = submitted_application(officer)
    _path, token = latest_link(AUTHORITY_EMAIL)
    step = application.steps.get(stage=Stage.AUTHORITY, decision="")
    approvals.step_decide(step_id=step.pk, decision=Decision.REJECT, remarks=REJECTION, token=token)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    return application


def test_officer_appeals_a_rejection_and_a_superadmin_upholds_it(page, portal, smtp_server, check_page):
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    superadmin = make_superadmin(email=SUPERADMIN_EMAIL, totp=False)
    secret = with_totp(superadmin)
    application = rejected_by_the_authority(officer)
    ref = application.reference

    # --- The officer opens the rejected application: approval panel and timeline ----------
    sign_in(page, portal, OFFICER_EMAIL)
    nav(page, "My applications")
    page.get_by_role("link", name=f"View and timeline {ref}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Application {ref}")
    panel = page.get_by_role("region", name="Approval")
    expect(panel).to_contain_text("Competent authority: Rejected")
    expect(panel).to_contain_text(REJECTION)
    timeline = page.get_by_role("list").filter(has_text="Application submitted")
    # Which decision, and who made it: the authority by the address the link went to.
    expect(timeline).to_contain_text("Decision recorded: Competent authority — Rejected — director@mahaagri.gov.in")
    expect(page.get_by_role("link", name="Withdraw")).to_have_count(0)  # a rejection cannot be withdrawn
    check_page(page, "detail-rejected")

    # --- The appeal page: no grounds first, then with grounds ---------------------------------
    panel.get_by_role("link", name="Appeal against the rejection").click()
    expect(page).to_have_url(re.compile(rf"/onboarding/{application.pk}/appeal/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Appeal against the rejection")
    expect(page.get_by_role("main")).to_contain_text(REJECTION)
    check_page(page, "appeal")
    page.get_by_role("button", name="Continue").click()
    grounds = page.get_by_label("Grounds of your appeal")
    expect(grounds).to_have_attribute("aria-invalid", "true")
    expect(error_message(page, "id_grounds_error")).to_have_text("State the grounds of your appeal.")
    check_page(page, "appeal-no-grounds")
    grounds.fill(GROUNDS)
    page.get_by_role("button", name="Continue").click()
    # One appeal, never withdrawn: confirmed on a page of its own, which lodges nothing by itself.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your appeal before you lodge it")
    expect(page.get_by_role("main")).to_contain_text(GROUNDS)
    expect(page.get_by_role("main")).to_contain_text("the appeal cannot be withdrawn")
    check_page(page, "appeal-confirm")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    # The language changed on the confirmation: the page loads again (the form), the grounds kept.
    switch_language(page, "hi")
    expect(page.locator("#typed-kept")).to_be_visible()
    expect(page.locator("#id_grounds")).to_have_value(GROUNDS)
    switch_language(page, "en")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Lodge the appeal").click()
    expect(page).to_have_url(re.compile(rf"/onboarding/{application.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("Your appeal was lodged.")
    expect(page.get_by_role("region", name="Approval")).to_contain_text("Your appeal is waiting for the superadmins.")
    expect(page.get_by_role("list").filter(has_text="Application submitted")).to_contain_text("Rejection appealed")
    check_page(page, "detail-under-appeal")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    appeal_step = application.steps.get(stage=Stage.APPEAL)
    assert appeal_step.grounds == GROUNDS
    wait_for_message(smtp_server, lambda m: SUPERADMIN_EMAIL in (m["To"] or "") and ref in (m["Subject"] or ""))
    sign_out(page)

    # --- The superadmin signs in with TOTP and hears the appeal from the queue -------------------
    sign_in(page, portal, SUPERADMIN_EMAIL, totp_secret=secret)
    nav(page, "Appeals")
    expect(page.get_by_role("heading", level=1)).to_have_text("Appeals")
    rows = page.get_by_role("table", name="Appeals waiting for a decision").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ref)
    expect(rows.first).to_contain_text(VALID["organisation"]["name"])
    check_page(page, "appeals")
    rows.first.get_by_role("link", name=f"Hear the appeal {ref}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Appeal on application {ref}")
    expect(page.get_by_role("region", name="Grounds of the appeal")).to_contain_text(GROUNDS)
    history = page.get_by_role("region", name="Earlier decisions")
    expect(history).to_contain_text("Competent authority")
    expect(history).to_contain_text(REJECTION)
    choices = page.get_by_role("group", name="Your decision").get_by_role("radio")
    expect(choices).to_have_count(2)
    check_page(page, "appeal-step")
    form = page.get_by_role("region", name="Your decision")
    form.get_by_label("Uphold the rejection", exact=True).check()
    form.get_by_label(re.compile(r"^Remarks")).fill(UPHELD)
    form.get_by_label("Yes, record this decision: it cannot be undone").check()
    form.get_by_role("button", name="Record my decision").click()
    expect(page).to_have_url(re.compile(r"/onboarding/appeals/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Your decision on the appeal of {ref} was recorded.")
    expect(page.get_by_role("main")).to_contain_text("No appeal is waiting.")
    check_page(page, "appeals-empty")

    application.refresh_from_db()
    appeal_step.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED_FINAL
    assert (appeal_step.decision, appeal_step.remarks, appeal_step.decided_by) == (Decision.UPHOLD, UPHELD, superadmin)
    upheld = wait_for_message(smtp_server, lambda m: OFFICER_EMAIL in (m["To"] or "") and UPHELD in text_of(m))
    assert ref in upheld["Subject"]

    check_page.assert_clean()


def test_an_officer_who_may_no_longer_act_is_told_why_on_the_appeal_page(page, portal, smtp_server, check_page):
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    application = rejected_by_the_authority(officer)
    # Their primary address is now a personal one: they may no longer act as a nodal officer.
    EmailAddress.objects.create(user=officer, email="sunil.patil@gmail.com", verified=True)
    officer.email = "sunil.patil@gmail.com"
    officer.save(update_fields=["email"])
    sign_in(page, portal, "sunil.patil@gmail.com")
    page.goto(portal + f"/onboarding/{application.pk}/appeal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Appeal against the rejection")
    problem = page.get_by_role("alert")
    expect(problem.get_by_role("heading")).to_have_text("You cannot be a nodal officer with this account yet")
    expect(problem).to_contain_text("gmail.com is a personal mail service")
    expect(page.get_by_role("main")).to_contain_text("You can lodge the appeal once your account may act as a nodal "
                                                     "officer again")
    expect(page.get_by_role("button", name="Lodge the appeal")).to_have_count(0)
    check_page.in_each_language(page, "appeal-not-eligible")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED


def test_superadmin_adds_an_email_rule_and_reads_the_outbox(page, portal, smtp_server, check_page):
    superadmin = make_superadmin(email=SUPERADMIN_EMAIL, totp=False)
    secret = with_totp(superadmin)
    application = submitted_application(UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil"))
    [to_authority] = [m for m in OutboxMessage.objects.filter(subject__contains=application.reference)
                      if m.to == [AUTHORITY_EMAIL]]
    wait_for_message(smtp_server, lambda m: AUTHORITY_EMAIL in (m["To"] or ""))
    # A message to two people, one of whom the relay does not know ("550 User unknown"):
    # delivered to the other, and the row says so.
    smtp_server.refused = {GONE_EMAIL}
    [partly] = outbox_enqueue(messages=[EmailMessage(subject="Meeting of the nodal officers", body="On Monday at 11.",
                                                     to=[OFFICER_EMAIL, GONE_EMAIL])])
    wait_for_message(smtp_server, lambda m: m["Subject"] == "Meeting of the nodal officers")
    # Celery runs eagerly on commit: everything queued so far has been sent.
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
    sent = OutboxMessage.objects.count()
    assert sent >= 3  # the officer's receipt, the authority's link, the meeting
    sign_in(page, portal, SUPERADMIN_EMAIL, totp_secret=secret)

    # --- The rules; add one: the confirmation is backed by an audit row ------------------------------
    nav(page, "Official email rules")
    expect(page.get_by_role("heading", level=1)).to_have_text("Official email rules")
    rules = page.get_by_role("table", name="Rules")
    expect(rules.get_by_role("cell", name="gov.in", exact=True)).to_have_count(1)
    check_page(page, "email-rules")
    page.get_by_label("Domain suffix").fill("CDAC.in")
    page.get_by_label("Kind").select_option(label="Official")
    page.get_by_label("Note").fill("Centre for Development of Advanced Computing")
    page.get_by_role("button", name="Add the rule").click()
    expect(page).to_have_url(re.compile(r"/portal/email-rules/$"))
    expect(page.get_by_role("status")).to_have_text("Rule added.")
    row = rules.get_by_role("row").filter(has=page.get_by_role("cell", name="cdac.in", exact=True))
    expect(row).to_contain_text("Centre for Development of Advanced Computing")
    check_page(page, "email-rules-added")
    rule = EmailSuffixRule.objects.get(suffix="cdac.in")
    created = AuditEvent.objects.get(action=AuditAction.EMAIL_RULE_CREATED, target_id=str(rule.pk))
    assert (created.actor_email, created.new_values["suffix"], created.new_values["kind"]) == (
        SUPERADMIN_EMAIL, "cdac.in", "official")
    assert created.ip == "127.0.0.1"

    # --- Its edit page: change the note --------------------------------------------------------------
    row.get_by_role("link", name="Edit cdac.in").click()
    expect(page).to_have_url(re.compile(rf"/portal/email-rules/{rule.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit rule cdac.in")
    expect(page.get_by_label("Domain suffix")).to_have_value("cdac.in")
    check_page(page, "email-rule-edit")
    page.get_by_label("Note").fill("C-DAC, Pune and Noida")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Rule saved.")
    expect(row).to_contain_text("C-DAC, Pune and Noida")
    changed = AuditEvent.objects.get(action=AuditAction.EMAIL_RULE_CHANGED, target_id=str(rule.pk))
    assert changed.old_values["note"] == "Centre for Development of Advanced Computing"
    assert changed.new_values["note"] == "C-DAC, Pune and Noida"

    # --- A consumer-mail rule stays one: made official, refused at the kind field ----------------------
    gmail = EmailSuffixRule.objects.get(suffix="gmail.com")
    page.goto(portal + f"/portal/email-rules/{gmail.pk}/")
    page.get_by_label("Kind").select_option(label="Official")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Kind")).to_have_accessible_description(re.compile("is a personal mail service"))
    check_page(page, "email-rule-consumer-refused")
    assert EmailSuffixRule.objects.get(pk=gmail.pk).kind == SuffixKind.CONSUMER

    # --- The outbox, filtered to what was sent; one message --------------------------------------------
    nav(page, "Outbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
    page.get_by_label("Status").select_option(OutboxStatus.SENT)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/portal/outbox/\?status=sent$"))
    messages = page.get_by_role("table", name="Messages").locator("tbody tr")
    expect(messages).to_have_count(sent)
    expect(messages.filter(has_text="Meeting of the nodal officers").locator("td:nth-child(4)")).to_have_text(
        "Sent (not to every recipient)")
    expect(messages.filter(has_not_text="Meeting of the nodal officers").locator("td:nth-child(4)")).to_have_text(
        ["Sent"] * (sent - 1))
    check_page.in_each_language(page, "outbox")
    messages.get_by_role("link", name="Meeting of the nodal officers").click()
    expect(page).to_have_url(re.compile(rf"/portal/outbox/{partly.pk}/$"))
    expect(page.get_by_role("main")).to_contain_text(
        f"Delivered to {OFFICER_EMAIL}. Failed for {GONE_EMAIL}, refused by the mail server (550")
    check_page(page, "outbox-message-partly-sent")
    page.go_back()
    page.wait_for_load_state("load")
    messages.filter(has_text=AUTHORITY_EMAIL).get_by_role("link", name=to_authority.subject).click()
    expect(page).to_have_url(re.compile(rf"/portal/outbox/{to_authority.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(to_authority.subject)
    expect(page.get_by_role("main")).to_contain_text(AUTHORITY_EMAIL)
    expect(page.get_by_role("main")).to_contain_text(to_authority.message_id)
    expect(page.get_by_role("button", name="Try sending again")).to_have_count(0)  # sent, not failed
    check_page(page, "outbox-message")

    # --- "Try sending again" pressed on the page loaded while the message had failed, after it was sent
    # meanwhile (from a second tab, or by another superadmin): nothing queued, and the page says so ---------
    attempts = OutboxMessage.objects.get(pk=to_authority.pk).attempts

    def no_longer_failed():
        OutboxMessage.objects.filter(pk=to_authority.pk).update(status=OutboxStatus.FAILED)
        page.reload()
        code = page.locator("html").get_attribute("lang")
        button = page.locator("main form button[type=submit]")
        expect(button).to_have_text(TRY_AGAIN[code])
        expect(page.get_by_role("main")).to_contain_text(GIVEN_UP_LINKS[code])
        OutboxMessage.objects.filter(pk=to_authority.pk).update(status=OutboxStatus.SENT)
        button.click()
        page.wait_for_load_state("load")
        expect(page).to_have_url(re.compile(rf"/portal/outbox/{to_authority.pk}/$"))
        expect(page.locator(".messages")).to_have_text(NO_LONGER_FAILED[code])
        expect(page.locator("main form button")).to_have_count(0)  # sent: nothing to try again

    no_longer_failed()
    check_page.in_each_language(page, "outbox-message-no-longer-failed", reach=no_longer_failed)
    row = OutboxMessage.objects.get(pk=to_authority.pk)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, attempts)
    assert not AuditEvent.objects.filter(action=AuditAction.OUTBOX_REQUEUED).exists()

    check_page.assert_clean()


def test_the_refused_addresses_keep_their_lift_link_in_sight_at_1280_px(page, portal, check_page):
    """A mail server's answer repeats the refused address in one unbroken run
    ("<director...@krishi.maharashtra.gov.in>"): at 1280 CSS px, in each language, it wraps
    in its cell, and the table fits its box, the Lift link in sight without scrolling."""
    mailbox = "director.agriculture.commissionerate@krishi.maharashtra.gov.in"
    now = timezone.now()
    UnknownMailbox.objects.create(
        mailbox=mailbox, first_refused_at=now, last_refused_at=now, refusals=2,
        reply=f"550 5.1.1 <{mailbox}>: Recipient address rejected: User unknown in virtual mailbox table")
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    page.goto(portal + "/portal/outbox/")
    problems = []
    for language in ("en", *OTHER_LANGUAGES):
        if language != "en":
            switch_language(page, language)
        check_page(page, f"outbox-refused-1280-{language}")
        lift = page.locator("#unknown ~ .table-responsive td a")
        box = page.locator("#unknown ~ .table-responsive")
        if page.evaluate("b => b.scrollWidth > b.clientWidth", box.element_handle()):
            problems.append(f"{language}: the table is wider than its box")
        if (at := lift.bounding_box())["x"] + at["width"] > 1280:
            problems.append(f"{language}: the Lift link is out of sight ({at})")
    assert problems == [], "\n".join(problems)
    check_page.assert_clean()


def test_officer_withdraws_an_application_and_reads_the_notice(page, portal, smtp_server, check_page):
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    application = submitted_application(officer)
    ref = application.reference
    sign_in(page, portal, OFFICER_EMAIL)

    # --- The detail page while the competent authority has it ------------------------------------
    nav(page, "My applications")
    page.get_by_role("link", name=f"View and timeline {ref}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Application {ref}")
    panel = page.get_by_role("region", name="Approval")
    expect(panel).to_contain_text(f"Waiting for the competent authority, {VALID['competent_authority']['name']}")
    expect(panel.get_by_role("button", name="Send the competent authority a new link")).to_be_visible()
    expect(page.get_by_role("list").filter(has_text="Application submitted")).to_contain_text("Application started")
    organisation = page.get_by_role("region", name="Organisation details", exact=True)
    expect(organisation).to_contain_text(VALID["organisation"]["name"])
    check_page(page, "detail-with-authority")

    # --- Withdraw: the box must be ticked ----------------------------------------------------------
    page.get_by_role("link", name="Withdraw", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw the application")
    expect(page.get_by_role("main")).to_contain_text(ref)
    check_page(page, "withdraw")
    page.get_by_label("Reason").fill(WITHDRAW_REASON)
    page.get_by_role("button", name="Withdraw the application").click()
    box = page.get_by_label("Yes, withdraw this application")  # the refusal at the box, which has the focus
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()
    expect(error_message(page, "id_confirm_error")).to_have_text("Tick the box to confirm that you want to withdraw the application.")
    expect(page.get_by_label("Reason")).to_have_value(WITHDRAW_REASON)  # nothing typed is lost
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    check_page(page, "withdraw-unconfirmed")
    page.get_by_label("Yes, withdraw this application").check()
    page.get_by_role("button", name="Withdraw the application").click()
    expect(page).to_have_url(re.compile(r"/onboarding/$"))
    expect(page.get_by_role("status")).to_contain_text("The application was withdrawn.")
    row = page.get_by_role("row").filter(has_text=ref)
    expect(row.locator("td").nth(2)).to_have_text("Withdrawn")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    # The competent authority's link stops working.
    assert not AuthorityToken.objects.filter(step__application=application, used_at=None, superseded_at=None).exists()
    withdrawn = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN, target_id=str(application.pk))
    assert (withdrawn.actor_email, withdrawn.new_values["reason"]) == (OFFICER_EMAIL, WITHDRAW_REASON)

    # --- The data protection notice, from the footer -------------------------------------------------
    page.get_by_role("contentinfo").get_by_role("link", name="Data protection notice").click()
    expect(page).to_have_url(re.compile(r"/onboarding/privacy-notice/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Data protection notice")
    expect(page.get_by_role("heading", level=2)).not_to_have_count(0)
    check_page(page, "privacy-notice")

    check_page.assert_clean()


def test_state_admin_without_totp_sets_it_up_then_uses_the_account_pages(page, portal, smtp_server, check_page):
    admin = make_state_admin("MH", email="ravi.admin@maharashtra.gov.in", totp=False)

    # --- Signed in with the password only: every portal page sends them to set up TOTP ------------
    sign_in(page, portal, admin.email)
    page.goto(portal + "/onboarding/queue/")
    # allauth asks for the password again before adding a second factor (a sign-in is
    # not a reauthentication), then comes back to the setup page, then to the queue.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/\?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    check_page(page, "reauthenticate")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/\?next=%2Fonboarding%2Fqueue%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    expect(page.get_by_role("img")).to_have_count(1)  # the QR code
    check_page(page, "totp-activate")

    # --- A wrong code, then the code for the secret shown on the page -----------------------------
    secret = page.get_by_label("Authenticator secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    code = page.get_by_label("Authenticator code")
    code.fill("000000" if totp_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_label("Authenticator code")).to_have_attribute("aria-invalid", "true")
    expect(error_message(page, "id_code_error")).to_have_text("Incorrect code.")
    expect(page.get_by_label("Authenticator secret")).to_have_value(secret)  # the app already scanned stays valid
    assert not Authenticator.objects.filter(user=admin).exists()
    check_page(page, "totp-activate-wrong-code")
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery Codes")
    expect(page.get_by_role("status")).to_contain_text("Authenticator app activated.")
    assert len(page.get_by_label("Unused codes").input_value().split()) == 10
    check_page(page, "recovery-codes")

    # --- Now the queue opens ---------------------------------------------------------------------
    nav(page, "Approval queue")
    expect(page).to_have_url(re.compile(r"/onboarding/queue/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Approval queue")

    # --- Signed in again later, with the password and the code -------------------------------------
    sign_out(page)
    used = sign_in(page, portal, admin.email, totp_secret=secret)

    # --- Email management: the address changes once they proved again who they are -----------------
    nav(page, "Account")
    expect(page).to_have_url(re.compile(r"/accounts/email/$"))
    expect(page.get_by_label("Current email")).to_have_value(admin.email)
    check_page(page, "email")
    page.get_by_label("Change to").fill(NEW_EMAIL)
    page.get_by_role("button", name="Change Email").click()
    # A sign-in is not a reauthentication: the password, or the authenticator's code, again.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/\?next=%2Faccounts%2Femail%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    expect(page.get_by_label("Password")).to_be_editable()
    check_page.in_each_language(page, "reauthenticate-to-change-email")
    page.get_by_role("link", name="Use authenticator app or code").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/\?next=%2Faccounts%2Femail%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    expect(page.get_by_role("link", name="Use your password")).to_be_visible()
    check_page.in_each_language(page, "reauthenticate-by-code")
    page.get_by_label("Code").fill("000000" if totp_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    expect(error_message(page, "id_code_error")).to_have_text("Incorrect code.")
    assert EmailAddress.objects.get(user=admin).email == admin.email  # nothing changed yet
    check_page(page, "reauthenticate-by-code-wrong")
    # The app's next code (each is taken once): the clocks, the portal's included, move on a
    # period instead of the test waiting for it, as tests/portal/test_expired_session.py does.
    with time_machine.travel(time.time() + mfa_settings.TOTP_PERIOD, tick=True):
        page.get_by_label("Code").fill(totp_code(secret, unlike=used))
        page.get_by_role("button", name="Confirm").click()
        # The change asked for before is carried out: the code goes to the new address.
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter Email Verification Code")
    check_page(page, "email-change-code")
    message = wait_for_message(smtp_server, lambda m: NEW_EMAIL in (m["To"] or ""))
    page.get_by_label("Code").fill(verification_code(message))
    page.get_by_role("button", name="Confirm").click()
    nav(page, "Account")
    expect(page.get_by_label("Current email")).to_have_value(NEW_EMAIL)
    assert EmailAddress.objects.get(user=admin).email == NEW_EMAIL

    # --- allauth's two-factor page and sign-out confirmation, in the portal's layout and language ---
    page.goto(portal + "/accounts/2fa/")
    expect(page.get_by_role("heading", name="Authenticator App")).to_be_visible()
    expect(page.get_by_text("Authentication using an authenticator app is active.")).to_be_visible()
    check_page.in_each_language(page, "two-factor")
    page.goto(portal + "/accounts/logout/")
    expect(page.get_by_text("Are you sure you want to sign out?")).to_be_visible()
    check_page.in_each_language(page, "sign-out-confirm")
    page.get_by_role("main").get_by_role("button", name="Sign Out").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)

    # --- Signed out: a password reset, with the mail actually sent ---------------------------------
    page.goto(portal + "/accounts/login/")
    page.get_by_role("link", name=re.compile("Forgot your password", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))
    check_page(page, "password-reset")
    page.get_by_label("Email").fill(NEW_EMAIL)
    page.get_by_role("button", name="Reset My Password").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/done/$"))
    check_page(page, "password-reset-done")
    reset = wait_for_message(smtp_server, lambda m: NEW_EMAIL in (m["To"] or "") and "password" in text_of(m).lower())
    assert re.search(r"/accounts/password/reset/key/", text_of(reset)), text_of(reset)

    check_page.assert_clean()
