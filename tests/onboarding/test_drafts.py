"""Drafts over several sittings, an expired session while posting, submitting,
read-only after submission, withdrawal, My applications and the timeline."""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import mail as django_mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from onboarding.application import services
from onboarding.application.forms import SECTION_FORMS, WithdrawReasonForm
from onboarding.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    ApplicationVersion,
    Attachment,
    DocumentKind,
    Section,
    SectionStatus,
)
from portal.access import PENDING_MAX_CHARACTERS, PENDING_PREFIX
from portal.audit.models import AuditAction, AuditEvent
from portal.privacy.models import RetentionKind, RetentionPolicy
from portal.privacy.retention import retention_run
from tests.factories import PASSWORD, ApplicationFactory, ApprovalStepFactory, UserFactory
from tests.html_tree import (
    field_container,
    field_error,
    field_value,
    html_problems,
    page,
    printed_controls,
    printed_text,
)
from tests.onboarding.approval_helpers import AUTHORITY_EMAIL, submitted_application
from tests.onboarding.form_helpers import (
    as_shown,
    complete,
    fill_all,
    new_application,
    png_bytes,
    post_section,
    reload,
    section_url,
    submit,
    upload,
    valid,
)
from tests.onboarding_data import VALID, minimal_pdf

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
PARTIAL_ORGANISATION = {
    "name": "Directorate of Agriculture, Maharashtra",
    "name_local": "कृषी संचालनालय, महाराष्ट्र",
    "address": "Central Building,\nPune",
    "pin_code": "411001",
    "level": "state",
    "state": "MH",
    "email_domains": "mahaagri.gov.in",
}


def sign_in(client, email, next_url=None):
    """Sign in through allauth's real login view."""
    data = {"login": email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post("/accounts/login/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def sign_out(client):
    response = client.post("/accounts/logout/")
    assert response.status_code == 302


def started(client, officer):
    """``officer`` signs in on ``client`` and starts an application: the draft."""
    sign_in(client, officer.email)
    client.post("/onboarding/start/")
    return Application.objects.get(nodal_officer=officer)


def texts_of_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# Drafts ---------------------------------------------------------------------------

def test_draft_resumes_days_later_after_signing_out(officer):
    client = Client()
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=IST), tick=False):
        sign_in(client, officer.email)
        assert client.post("/onboarding/start/").status_code == 302
        application = Application.objects.get(nodal_officer=officer)
        response = post_section(client, application, "organisation", {**PARTIAL_ORGANISATION, "save": "1"})
        assert response.status_code == 200  # incomplete: shown again with what is missing
        response = post_section(client, application, "nodal_officer", {"name": "Sunil Patil", "mobile": "98765 43210"})
        assert response.status_code == 200
        sign_out(client)
        assert client.get(section_url(application, "organisation")).status_code == 302

    with time_machine.travel(datetime(2026, 3, 6, 16, 30, tzinfo=IST), tick=False):
        browser = Client()  # another day, another browser
        sign_in(browser, officer.email)
        listing = page(browser.get("/onboarding/"))
        assert "Draft" in listing.squashed_text()
        assert listing.find("a", href=f"/onboarding/{application.pk}/tasks/") is not None

        tasks = page(browser.get(f"/onboarding/{application.pk}/tasks/"))
        assert tasks.by_id("status-organisation").squashed_text() == "In progress"
        assert tasks.by_id("status-nodal_officer").squashed_text() == "In progress"
        assert tasks.by_id("status-competent_authority").squashed_text() == "Not started"

        tree = page(browser.get(section_url(application, "organisation")))
        for name, typed in PARTIAL_ORGANISATION.items():
            assert field_value(tree, name) == typed, name
        assert field_value(tree, "short_code") == ""
        tree = page(browser.get(section_url(application, "nodal_officer")))
        assert field_value(tree, "name") == "Sunil Patil"
        assert field_value(tree, "mobile") == "98765 43210"
        assert field_value(tree, "official_email") == officer.email

        # Finishing the section now completes it.
        response = post_section(browser, application, "organisation", valid("organisation"))
        assert response.status_code == 302
        assert reload(application).status_of("organisation") == SectionStatus.COMPLETE


def pending_inputs(client, person):
    """What is kept of forms posted on ``client``: in its session, and (posted signed out)
    in ``person``'s one slot (portal.signed_out_input), by the key the session holds it at."""
    from django.core.cache import cache

    from portal import signed_out_input

    kept = {key: value for key, value in client.session.items() if key.startswith(PENDING_PREFIX)}
    slot = cache.get(f"{signed_out_input.SLOT_PREFIX}{person.pk}")
    return {**kept, PENDING_PREFIX + slot["page"]: slot["kept"]} if slot else kept


def test_a_signed_out_sender_has_one_form_kept_and_not_one_larger_than_the_portals(officer):
    """Anyone can post to any page that needs signing in: what is kept for them is the
    last form only, and none past the bound (more than the largest of the portal's forms
    holds), so that posting cannot grow what is stored without end."""
    client = Client()
    application = started(client, officer)
    client.cookies.pop("sessionid")  # the session ends
    for number in range(5):  # many pages, a form each
        response = client.post(f"/onboarding/{application.pk + number}/section/organisation/", valid("organisation"))
        assert response.status_code == 302 and urlsplit(response["Location"]).path == "/accounts/login/"
    kept = pending_inputs(client, officer)
    assert list(kept) == [f"{PENDING_PREFIX}/onboarding/{application.pk + 4}/section/organisation/"]
    # The largest form, every field full of Devanagari: kept.
    largest = {name: "अ" * (getattr(field, "max_length", None) or 10)
               for name, field in SECTION_FORMS[Section.ORGANISATION]().fields.items()}
    url = section_url(application, "organisation")
    client.post(url, largest)
    assert list(pending_inputs(client, officer)) == [PENDING_PREFIX + url]
    kept = pending_inputs(client, officer)[PENDING_PREFIX + url]["input"]
    assert sum(len(name) + sum(map(len, values)) for name, values in kept.items()) < PENDING_MAX_CHARACTERS
    # A megabyte: nothing kept, and the earlier form is gone too (only a note that it was
    # not kept, said after signing in); still sent to sign in.
    response = client.post(url, {"name": "x" * 1_000_000})
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    assert pending_inputs(client, officer) == {PENDING_PREFIX + url: {"too_large": True, "by": officer.pk}}


def test_input_posted_after_the_session_ended_is_kept_through_sign_in(officer):
    client = Client()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):
        application = started(client, officer)
        assert client.get(section_url(application, "organisation")).status_code == 200

    typed = valid("organisation", name="Directorate of Agriculture & Farmers' Welfare", approx_users="1500")
    with time_machine.travel(start + timedelta(hours=9), tick=False):  # the session expired
        url = section_url(application, "organisation")
        response = client.post(url, {**typed, "save": "1"})
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        assert location.path == "/accounts/login/"
        assert f"next={url.replace('/', '%2F')}" in location.query
        # Nothing was saved for someone who is not signed in.
        assert reload(application).section_data("organisation") == {}
        assert reload(application).status_of("organisation") == SectionStatus.NOT_STARTED

        assert client.get(response["Location"]).status_code == 200
        response = sign_in(client, officer.email, next_url=url)
        assert response["Location"] == url

        response = client.get(url)
        tree = page(response)
        assert "Your session had ended. We kept what you typed" in tree.squashed_text()
        for name, value in typed.items():
            assert field_value(tree, name) == value, name
        # Shown once: the kept input is not shown again on the next visit.
        assert "Your session had ended" not in client.get(url).content.decode()

        # Saving it now stores it.
        assert client.post(url, typed).status_code == 302
        stored = reload(application)
        assert stored.status_of("organisation") == SectionStatus.COMPLETE
        assert stored.section_data("organisation")["name"] == "Directorate of Agriculture & Farmers' Welfare"


def test_input_posted_after_signing_out_in_another_tab_is_not_kept(officer):
    """Signing out is on purpose, and the browser cannot tell the person from the next one
    at it: a form sent afterwards (from a tab left open) is not saved, not kept, and the
    form is empty at the next sign-in."""
    client = Client()
    application = started(client, officer)
    url = section_url(application, "organisation")
    sign_out(client)
    response = client.post(url, {**valid("organisation", name="Directorate of Agriculture"), "save": "1"})
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    assert pending_inputs(client, officer) == {}
    sign_in(client, officer.email, next_url=url)
    tree = page(client.get(url))
    assert "Your session had ended" not in tree.squashed_text()
    assert field_value(tree, "name") == ""
    assert reload(application).section_data("organisation") == {}


@pytest.mark.parametrize("meanwhile", ["nothing changed", "changed in another browser"])
def test_input_kept_through_sign_in_says_what_its_page_showed(officer, meanwhile):
    """Kept input carries what its page showed: sent again after signing in, it is saved
    when the section was not changed meanwhile, and refused as any page left open is
    when it was."""
    client = Client()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):
        application = started(client, officer)
        url = section_url(application, "organisation")
        typed = as_shown(client, url, valid("organisation", approx_users="1500"))
    with time_machine.travel(start + timedelta(hours=9), tick=False):
        response = client.post(url, {**typed, "save": "1"}, HTTP_REFERER=f"http://testserver{url}")
        assert urlsplit(response["Location"]).path == "/accounts/login/"
        if meanwhile == "changed in another browser":
            other = Client()
            sign_in(other, officer.email)
            assert post_section(other, application, "organisation",
                                as_shown(other, url, valid("organisation", approx_users="90"))).status_code == 302
        sign_in(client, officer.email, next_url=url)
        tree = page(client.get(url))
        assert "Your session had ended. We kept what you typed" in tree.squashed_text()
        assert field_value(tree, "shown_answers") == typed["shown_answers"]
        restored = {name: field_value(tree, name) for name in [*valid("organisation"), "shown_answers"]}
        response = client.post(url, {**restored, "save": "1"})
    stored = reload(application).section_data("organisation")
    if meanwhile == "nothing changed":
        assert response.status_code == 302 and stored["approx_users"] == "1500"
    else:
        assert response.status_code == 200 and stored["approx_users"] == "90"
        assert ANSWERS_CHANGED in page(response).squashed_text()


def test_a_letter_sent_after_the_session_ended_is_said_not_uploaded_after_signing_in(officer):
    client = Client()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):
        application = started(client, officer)
        assert upload(client, application, minimal_pdf(), name="old-unsigned-draft.pdf").status_code == 302
    url = f"/onboarding/{application.pk}/letter/"
    with time_machine.travel(start + timedelta(hours=9), tick=False):
        response = client.post(
            url, {"letter": SimpleUploadedFile("signed-final.png", png_bytes(), content_type="image/png")},
            HTTP_REFERER=f"http://testserver{url}",
        )
        assert response.status_code == 302 and urlsplit(response["Location"]).path == "/accounts/login/"
        assert client.get(response["Location"]).status_code == 200
        response = sign_in(client, officer.email, next_url=url)
        assert response["Location"] == url
        tree = page(client.get(url))
        assert NOT_UPLOADED in tree.squashed_text()
        assert "Your session had ended. We kept what you typed" not in tree.squashed_text()
        assert Attachment.objects.get(application=application, is_current=True).original_name == "old-unsigned-draft.pdf"
        # Said once.
        assert NOT_UPLOADED not in page(client.get(url)).squashed_text()


def test_a_letter_sent_signed_out_is_said_only_to_whoever_sent_it(officer):
    """Another person signing in next on the same browser is not told about a file they did
    not send (nor is anything said on another page)."""
    client = Client()
    application = started(client, officer)
    sign_out(client)
    url = f"/onboarding/{application.pk}/letter/"
    client.post(url, {"letter": SimpleUploadedFile("l.png", png_bytes(), content_type="image/png")},
                HTTP_REFERER=f"http://testserver{url}")
    other = UserFactory(email="another.officer@mahaagri.gov.in")
    sign_in(client, other.email)
    assert NOT_UPLOADED not in page(client.get("/onboarding/")).squashed_text()


NOT_UPLOADED = "Nothing was uploaded: your session had ended. Choose the file again."


# Submitting ------------------------------------------------------------------------

def _submit_controls(tree, application):
    link = tree.find("a", href=f"/onboarding/{application.pk}/submit/")
    buttons = [b for b in tree.find_all("button") if b.squashed_text() == "Submit for approval"]
    return link, buttons


def test_submit_is_disabled_until_every_section_is_complete(officer_client, officer):
    application = new_application(officer)
    fill_all(officer_client, application)
    tree = page(officer_client.get(f"/onboarding/{application.pk}/tasks/"))
    link, buttons = _submit_controls(tree, application)
    assert link is None  # the letter is still missing
    assert len(buttons) == 1 and "disabled" in buttons[0].attrs
    assert "You have completed 6 of 7 sections." in tree.squashed_text()

    complete(officer_client, application)
    tree = page(officer_client.get(f"/onboarding/{application.pk}/tasks/"))
    link, buttons = _submit_controls(tree, application)
    assert link is not None and link.squashed_text() == "Submit for approval"
    assert buttons == []


def test_the_form_of_an_application_sent_for_a_decision_says_it_cannot_be_changed_now(
        officer_client, officer, django_capture_on_commit_callbacks):
    """The form's list of sections said "you can leave and come back later" of an application
    already sent for a decision (read by an officer it was handed over to, whose Nodal officer
    section then waits for their details): it says why nothing can be changed now."""
    draft = new_application(officer)
    text = page(officer_client.get(f"/onboarding/{draft.pk}/tasks/")).squashed_text()
    assert "Each section is saved on its own: you can leave and come back later." in text
    application = submit(officer_client, complete(officer_client, draft), django_capture_on_commit_callbacks)
    text = page(officer_client.get(f"/onboarding/{application.pk}/tasks/")).squashed_text()
    assert "This application has been submitted and can no longer be changed." in text
    assert "you can leave and come back later" not in text
    officer_client.cookies["django_language"] = "mr"
    text = page(officer_client.get(f"/onboarding/{application.pk}/tasks/")).squashed_text()
    assert "This application has been submitted" not in text and "come back later" not in text


def returned_for_correction(officer, days_ago):
    """An application of ``officer`` returned for correction by its competent authority
    ``days_ago`` days ago and not touched since."""
    with time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        application = ApplicationFactory(nodal_officer=officer, status="changes_requested", letter=True)
        ApprovalStepFactory(application=application, stage="authority", assignee_email=AUTHORITY_EMAIL,
                            decision="return", remarks="Correct the PIN code.", decided_at=timezone.now(),
                            decided_by_email=AUTHORITY_EMAIL)
    return application


def correction_notice(client, application):
    tree = page(client.get(f"/onboarding/{application.pk}/tasks/"))
    [alert] = tree.find_all("div", class_="alert-warning")
    return alert.squashed_text()


def test_a_returned_application_says_by_when_it_must_be_submitted_again(officer_client, officer):
    """The officer's form of an application returned for correction says the day before
    which it must be submitted again, or be withdrawn automatically (retention's policy
    for returned applications: its days since it was last touched, then the days after
    the reminder); once reminded, the day the reminder named; nothing when the policy is
    off."""
    policy = RetentionPolicy.objects.get(kind=RetentionKind.RETURNED_APPLICATION)
    application = returned_for_correction(officer, days_ago=10)
    day = date_format(timezone.localdate(application.updated_at) + timedelta(days=policy.days + 1 + policy.grace_days),
                      "j M Y")
    assert (f"Submit it again before {day}. If it has not been submitted again or saved by then, it will be "
            "withdrawn automatically.") in correction_notice(officer_client, application)

    left = returned_for_correction(officer, days_ago=policy.days + 1)
    retention_run()  # reminds its officer: withdrawn from the grace days after today
    day = date_format(timezone.localdate(timezone.now() + timedelta(days=policy.grace_days)), "j M Y")
    assert f"Submit it again before {day}." in correction_notice(officer_client, left)

    RetentionPolicy.objects.filter(kind=RetentionKind.RETURNED_APPLICATION).update(enabled=False)
    assert "Submit it again before" not in correction_notice(officer_client, application)
    assert "withdrawn automatically" not in correction_notice(officer_client, left)


def test_the_day_the_form_names_before_the_reminder_is_the_day_the_reminder_then_names(
        officer_client, officer, django_capture_on_commit_callbacks):
    """Returned at 15:30 (India), the daily run at 02:00: the day the form names months
    before is the day the reminder names, both counted in whole days of India."""
    RetentionPolicy.objects.exclude(kind=RetentionKind.RETURNED_APPLICATION).update(enabled=False)
    with time_machine.travel(datetime(2026, 1, 5, 15, 30, tzinfo=IST), tick=False):
        application = returned_for_correction(officer, days_ago=0)
    with time_machine.travel(datetime(2026, 4, 15, 11, 0, tzinfo=IST), tick=False):
        officer_client.force_login(officer)
        assert "Submit it again before 4 Aug 2026." in correction_notice(officer_client, application)
    for day in range(178, 183):
        with time_machine.travel(datetime(2026, 1, 6, 2, 0, tzinfo=IST) + timedelta(days=day), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            retention_run()
    [reminder] = [mail for mail in django_mail.outbox if "will be withdrawn" in mail.subject]
    assert reminder.subject.startswith(f"Application {application.reference} will be withdrawn on 4 August 2026 ")
    with time_machine.travel(datetime(2026, 7, 20, 11, 0, tzinfo=IST), tick=False):
        officer_client.force_login(officer)
        assert "Submit it again before 4 Aug 2026." in correction_notice(officer_client, application)


@pytest.mark.parametrize("held", ["onboarding.application", "accounts.user", None])
def test_the_form_never_names_a_last_day_already_past(officer_client, officer, held):
    """Reminded (withdrawn from 4 August 2026), then held (the application or its officer):
    the run leaves it alone, so the form names no last day while the hold lasts. Not held
    but not withdrawn yet on its day (the run has not come yet): the form says the next
    daily run may withdraw it, never "before" a day gone."""
    from portal.privacy.retention import legal_hold_set
    from tests.onboarding.approval_helpers import make_superadmin
    RetentionPolicy.objects.exclude(kind=RetentionKind.RETURNED_APPLICATION).update(enabled=False)
    with time_machine.travel(datetime(2026, 1, 5, 15, 30, tzinfo=IST), tick=False):
        application = returned_for_correction(officer, days_ago=0)
    with time_machine.travel(datetime(2026, 7, 5, 2, 0, tzinfo=IST), tick=False):
        retention_run()
    if held:
        target = application.pk if held == "onboarding.application" else officer.pk
        legal_hold_set(target_type=held, target_id=target, reason="Court case",
                       actor=make_superadmin(email="root@sandes.nic.in"))
    for moment in (datetime(2026, 8, 4, 1, 0, tzinfo=IST), datetime(2026, 9, 1, 11, 0, tzinfo=IST)):
        with time_machine.travel(moment, tick=False):
            officer_client.force_login(officer)
            notice = correction_notice(officer_client, application)
        assert "Submit it again before" not in notice, notice
        if held:
            assert "withdrawn" not in notice, notice
        else:
            assert ("The day its reminder named has come: it may be withdrawn automatically at the next daily run "
                    "unless it is submitted again first.") in notice, notice


def test_a_returned_applications_own_page_says_by_when_it_must_be_submitted_again(officer_client, officer):
    """The application's page (where "Continue editing" leads from) names the same last day
    as its form."""
    application = returned_for_correction(officer, days_ago=10)
    day = correction_notice(officer_client, application).partition("Submit it again before ")[2].partition(".")[0]
    assert day
    text = page(officer_client.get(f"/onboarding/{application.pk}/")).squashed_text()
    assert (f"Submit it again before {day}. If it has not been submitted again or saved by then, it will be withdrawn "
            "automatically.") in text


def test_server_refuses_an_incomplete_submission(officer_client, officer):
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    response = officer_client.post(f"/onboarding/{application.pk}/submit/")
    assert response.status_code == 302
    assert response["Location"] == f"/onboarding/{application.pk}/tasks/"
    message = " ".join(texts_of_messages(response))
    for problem in ("Place in the hierarchy is not complete.", "Nodal officer is not complete.",
                    "Competent authority is not complete.", "Upload the signed authorisation letter."):
        assert problem in message
    assert "Organisation details is not complete." not in message
    stored = reload(application)
    assert stored.status == ApplicationStatus.DRAFT and stored.reference is None and stored.submitted_at is None
    assert not ApplicationVersion.objects.filter(application=application).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_SUBMITTED).exists()

    # The check page lists the problems and offers no submit button.
    tree = page(officer_client.get(f"/onboarding/{application.pk}/submit/"))
    assert "The application cannot be submitted yet" in tree.squashed_text()
    assert not [f for f in tree.find_all("form") if f.get("method") == "post" and f.find("button", type="submit")
                and "Submit for approval" in f.squashed_text()]


def test_server_checks_the_answers_again_not_the_stored_statuses(officer_client, officer):
    application = complete(officer_client, new_application(officer))
    # The stored draft no longer passes (for example an answer edited outside the form):
    # the statuses still say complete, the server must not trust them.
    data = dict(application.data)
    data["competent_authority"] = {**data["competent_authority"], "official_email": officer.email}
    Application.objects.filter(pk=application.pk).update(data=data)
    assert set(reload(application).section_status.values()) == {SectionStatus.COMPLETE}
    response = officer_client.post(f"/onboarding/{application.pk}/submit/")
    assert "Competent authority is not complete." in " ".join(texts_of_messages(response))
    assert reload(application).status == ApplicationStatus.DRAFT


def test_submit_gives_a_reference_and_makes_the_application_read_only(
    officer_client, officer, django_capture_on_commit_callbacks
):
    with time_machine.travel(datetime(2026, 5, 10, 11, 0, tzinfo=IST), tick=False):
        application = complete(officer_client, new_application(officer))
        application = submit(officer_client, application, django_capture_on_commit_callbacks)
        version_before = application.version
        data_before = application.data
    assert application.reference == "ONB-2026-000001"
    assert re.fullmatch(r"ONB-\d{4}-\d{6}", application.reference)
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    assert application.submitted_at == datetime(2026, 5, 10, 11, 0, tzinfo=IST)
    assert ApplicationVersion.objects.filter(application=application, number=1).exists()
    detail = officer_client.get(f"/onboarding/{application.pk}/")
    assert "ONB-2026-000001" in page(detail).find("h1").squashed_text()

    # Every section and the letter now refuse changes, without a server error.
    for section in ("organisation", "hierarchy", "nodal_officer", "competent_authority", "integration", "declarations"):
        response = post_section(officer_client, application, section, valid(section, name="Changed"))
        assert response.status_code == 302, section
        assert response["Location"] == f"/onboarding/{application.pk}/"
        assert "can no longer be changed" in " ".join(texts_of_messages(response))
        assert officer_client.get(section_url(application, section)).status_code == 302
    response = upload(officer_client, application, png_bytes(), name="new.png")
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    response = officer_client.post(f"/onboarding/{application.pk}/submit/")
    assert response.status_code == 302 and "already been submitted" in " ".join(texts_of_messages(response))
    stored = reload(application)
    assert stored.data == data_before and stored.version == version_before
    assert stored.attachments.count() == 1
    assert stored.reference == "ONB-2026-000001"

    # The task list is still readable and offers no submit link.
    tasks = page(officer_client.get(f"/onboarding/{application.pk}/tasks/"))
    assert tasks.find("a", href=f"/onboarding/{application.pk}/submit/") is None


def test_references_count_up_within_a_year(officer_client, officer, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 5, 10, 11, 0, tzinfo=IST), tick=False):
        first = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
        second = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    assert (first.reference, second.reference) == ("ONB-2026-000001", "ONB-2026-000002")


def test_reference_year_is_the_indian_calendar_year(officer, django_capture_on_commit_callbacks):
    # 1 January 2027, 00:30 in India is still 31 December 2026 in UTC.
    with time_machine.travel(datetime(2027, 1, 1, 0, 30, tzinfo=IST), tick=False):
        client = Client()
        sign_in(client, officer.email)
        application = submit(client, complete(client, new_application(officer)), django_capture_on_commit_callbacks)
    assert application.reference == "ONB-2027-000001"


# Two tabs on one draft ----------------------------------------------------------------

ANSWERS_CHANGED = "changed in another tab or window since this page was opened"


def test_a_section_sent_from_a_tab_left_open_does_not_replace_newer_answers(officer_client, officer):
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    url = section_url(application, "organisation")
    # Tab A: the page is open, showing the answers as they were.
    tab_a = page(officer_client.get(url))
    form_a = {name: field_value(tab_a, name) for name in [*valid("organisation"), "shown_answers"]}
    # Tab B: the officer corrects the address and the number of users, and saves.
    newer = valid("organisation", address="New Secretariat, Pune 411001", approx_users="4800")
    assert post_section(officer_client, application, "organisation", as_shown(officer_client, url, newer)).status_code == 302
    saves = AuditEvent.objects.filter(action=AuditAction.APPLICATION_SECTION_SAVED).count()

    # Tab A: only the landline corrected, sent with what tab A shows.
    response = officer_client.post(url, {**form_a, "landline": "020-26123457", "save": "1"})
    assert response.status_code == 200
    stored = reload(application).section_data("organisation")
    assert (stored["address"], stored["approx_users"], stored["landline"]) == (
        "New Secretariat, Pune 411001", "4800", VALID["organisation"]["landline"])
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_SECTION_SAVED).count() == saves
    tree = page(response)
    text = tree.squashed_text()
    assert ANSWERS_CHANGED in text and "Nothing was saved" in text
    assert field_value(tree, "landline") == "020-26123457"  # what was typed, kept
    assert field_value(tree, "address") == VALID["organisation"]["address"]
    # What is stored now is said at each answer that differs.
    assert "New Secretariat, Pune 411001" in field_container(tree, "address").squashed_text()
    assert "4,800" in field_container(tree, "approx_users").squashed_text()  # as the portal writes counts
    assert "New Secretariat" not in field_container(tree, "landline").squashed_text()

    # Sent again from that page (the officer checked it): saved, as that page shows it.
    again = {name: field_value(tree, name) for name in [*valid("organisation"), "shown_answers"]}
    assert officer_client.post(url, {**again, "save": "1"}).status_code == 302
    stored = reload(application).section_data("organisation")
    assert (stored["address"], stored["landline"]) == (VALID["organisation"]["address"], "020-26123457")


def test_a_tab_left_open_on_another_section_or_sending_what_is_stored_is_not_refused(officer_client, officer):
    application = new_application(officer)
    authority = section_url(application, "competent_authority")
    tab_a = as_shown(officer_client, authority, valid("competent_authority"))
    organisation = section_url(application, "organisation")
    tab_c = as_shown(officer_client, organisation, valid("organisation"))
    assert post_section(officer_client, application, "organisation",
                        as_shown(officer_client, organisation, valid("organisation"))).status_code == 302
    assert post_section(officer_client, application, "competent_authority", tab_a).status_code == 302
    # Tab C sends what another tab stored meanwhile: nothing would be lost.
    assert post_section(officer_client, application, "organisation", tab_c).status_code == 302
    assert reload(application).status_of("competent_authority") == SectionStatus.COMPLETE


def test_in_hindi_the_answers_changed_meanwhile_are_said_in_hindi(officer_client, officer):
    application = new_application(officer)
    url = section_url(application, "organisation")
    stale = as_shown(officer_client, url, valid("organisation"))
    post_section(officer_client, application, "organisation", as_shown(officer_client, url, valid("organisation", pin_code="411005")))
    officer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = officer_client.post(url, stale)
    assert response.status_code == 200
    assert "किसी दूसरे टैब या विंडो में" in page(response).squashed_text()


def test_submitting_from_a_check_page_shown_before_a_change_goes_back_to_it(officer_client, officer,
                                                                           django_capture_on_commit_callbacks):
    application = complete(officer_client, new_application(officer))
    check = f"/onboarding/{application.pk}/submit/"
    tab_a = as_shown(officer_client, check)
    assert "director@mahaagri.gov.in" in officer_client.get(check).content.decode()
    # Another tab changes the competent authority's address meanwhile.
    authority = section_url(application, "competent_authority")
    changed = valid("competent_authority", official_email="someone.else@mahaagri.gov.in")
    assert post_section(officer_client, application, "competent_authority",
                        as_shown(officer_client, authority, changed)).status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(check, tab_a)
    assert response.status_code == 302 and response["Location"] == check
    assert ANSWERS_CHANGED in " ".join(texts_of_messages(response))
    stored = reload(application)
    assert stored.status == ApplicationStatus.DRAFT and stored.reference is None
    assert not ApplicationVersion.objects.filter(application=application).exists()

    # A new letter uploaded in another tab is a change of what the check page showed too.
    tab_a = as_shown(officer_client, check)
    assert "someone.else@mahaagri.gov.in" in officer_client.get(check).content.decode()
    assert upload(officer_client, application, png_bytes(), name="scan.png").status_code == 302
    response = officer_client.post(check, tab_a)
    assert response["Location"] == check and reload(application).status == ApplicationStatus.DRAFT

    # Sent from the check page as it is now: submitted.
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(check, as_shown(officer_client, check))
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    assert reload(application).status == ApplicationStatus.WITH_AUTHORITY


@pytest.mark.parametrize("shown", ["²", "١٢", "१२", "-1", "1.0", "9" * 30])
def test_a_check_page_said_to_have_shown_no_version_is_one_shown_before_a_change(officer, shown):
    """``shown_version`` is a hidden field anyone can send changed: a number in other digits
    ("²" passes str.isdigit but not int, "१२" is read as 12 by int) is no version the page
    showed, and goes back to the check page like one shown before a change; never a 500."""
    client = Client(raise_request_exception=False)
    assert client.login(email=officer.email, password=PASSWORD)
    application = complete(client, new_application(officer))
    check = f"/onboarding/{application.pk}/submit/"
    response = client.post(check, {"shown_version": shown})
    assert response.status_code == 302 and response["Location"] == check
    assert ANSWERS_CHANGED in " ".join(texts_of_messages(response))
    assert reload(application).status == ApplicationStatus.DRAFT


# Withdrawing ------------------------------------------------------------------------

def test_the_withdrawal_page_names_the_application_in_a_sentence(officer_client, officer):
    """The page said "withdraw application ONB-... Directorate of Agriculture": the name ran
    on after the reference; it is in brackets, and a draft with no name yet has none."""
    named = new_application(officer)
    named.organisation_name = "Directorate of Agriculture"
    named.save(update_fields=["organisation_name"])
    text = page(officer_client.get(f"/onboarding/{named.pk}/withdraw/")).squashed_text()
    assert f"withdraw application {named.display_reference} (Directorate of Agriculture). This cannot" in text
    unnamed = new_application(officer)
    unnamed.organisation_name = ""
    unnamed.save(update_fields=["organisation_name"])
    text = page(officer_client.get(f"/onboarding/{unnamed.pk}/withdraw/")).squashed_text()
    assert f"withdraw application {unnamed.display_reference}. This cannot" in text
    officer_client.cookies["django_language"] = "hi"
    text = page(officer_client.get(f"/onboarding/{named.pk}/withdraw/")).squashed_text()
    assert f"आप आवेदन {named.display_reference} (Directorate of Agriculture) वापस लेने जा रहे हैं।" in text


def test_a_printed_withdrawal_says_which_application_without_its_form(officer_client, officer):
    """On paper the page says which application is withdrawn and that it cannot be undone; its
    reason box, box to tick and button act on nothing there and stay off it."""
    application = new_application(officer)
    tree = page(officer_client.get(f"/onboarding/{application.pk}/withdraw/"))
    assert printed_controls(tree) == []
    assert f"withdraw application {application.display_reference}" in printed_text(tree)
    assert "This cannot be undone" in printed_text(tree)


def test_withdraw_needs_confirmation(officer_client, officer, django_capture_on_commit_callbacks):
    application = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    url = f"/onboarding/{application.pk}/withdraw/"
    assert officer_client.get(url).status_code == 200

    assert WILL_BE_DELETED not in page(officer_client.get(url)).squashed_text()

    response = officer_client.post(url, {"reason": "Duplicate of another application"})
    assert response.status_code == 200
    assert "Tick the box to confirm that you want to withdraw the application." in page(response).squashed_text()
    assert 'aria-describedby="id_confirm_error"' in response.content.decode()  # at the box
    assert page(response).find("title").squashed_text().startswith("Error: Withdraw the application")  # read first
    assert page(officer_client.get(url)).find("title").squashed_text().startswith("Withdraw the application")
    assert reload(application).status == ApplicationStatus.WITH_AUTHORITY

    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(url, {"reason": "Duplicate of another application", "confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == "/onboarding/"
    stored = reload(application)
    assert stored.status == ApplicationStatus.WITHDRAWN and stored.closed_at is not None
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN)
    assert event.new_values == {"status": "withdrawn", "reason": "Duplicate of another application"}
    assert event.actor_id == officer.pk
    # Sent for a decision: the letter stays with it, as what that decision was asked on.
    letter = Attachment.objects.get(application=application)
    assert _stored([letter]) == [letter.file.name]

    # Once withdrawn it cannot be withdrawn again, nor edited.
    response = officer_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302 and "can no longer be withdrawn" in " ".join(texts_of_messages(response))
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_WITHDRAWN).count() == 1


def test_the_withdrawal_box_is_a_confirming_field_of_the_reason_form():
    """The "Yes, withdraw this application" box is the form's own field: left unticked, its
    refusal is the form's error at that field (the page's title says "Error:" as for any
    refused form), with the reason's own error beside it; a box confirming an irreversible
    action, so never put back ticked after a sign-in."""
    from portal.forms import confirming_keys

    unticked = WithdrawReasonForm({"reason": "Duplicate of another application"})
    assert not unticked.is_valid()
    assert unticked.errors == {"confirm": ["Tick the box to confirm that you want to withdraw the application."]}
    both = WithdrawReasonForm({"reason": "x" * 501})
    assert not both.is_valid() and set(both.errors) == {"reason", "confirm"}
    ticked = WithdrawReasonForm({"reason": "Duplicate of another application", "confirm": "yes"})
    assert ticked.is_valid() and ticked.cleaned_data == {"reason": "Duplicate of another application", "confirm": True}
    assert confirming_keys(unticked) == {"confirm": "confirm"}


def test_a_reason_too_long_is_said_at_its_box_not_cut(officer_client, officer, django_capture_on_commit_callbacks):
    """The box holds 500 characters as the browser counts them, a line break as one; the
    browser sends each as two. A reason over 500 once its line breaks are counted as one
    is refused at the box, nothing withdrawn and the reason kept; one of 500 with line
    breaks is taken whole (it was cut at 500 sent characters, its end lost)."""
    application = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    url = f"/onboarding/{application.pk}/withdraw/"
    too_long = "Merged with the district office. " * 16  # 527 characters once stripped
    response = officer_client.post(url, {"reason": too_long, "confirm": "yes"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-describedby="id_reason_error"' in html
    assert "Ensure this value has at most 500 characters (it has 527)." in page(response).squashed_text()
    assert too_long.strip() in html
    assert reload(application).status == ApplicationStatus.WITH_AUTHORITY

    lines = "\r\n".join(["Merged with the district office, whose application continues."] * 8)
    assert len(lines) == 502 and len(lines.replace("\r\n", "\n")) == 495
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(url, {"reason": lines, "confirm": "yes"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN)
    assert event.new_values["reason"] == lines.replace("\r\n", "\n")


def _form_pdf(application):
    """A stored form PDF of the application's current version, as the PDF view keeps one."""
    document = ApplicationDocument(application=application, kind=DocumentKind.FORM_PDF, version=application.version,
                                   language="en", sha256="0" * 64, size=len(minimal_pdf()))
    document.file.save(f"draft-{application.pk}-form.pdf", ContentFile(minimal_pdf()), save=False)
    document.save()
    return document


def _stored(rows):
    return [row.file.name for row in rows if default_storage.exists(row.file.name)]


WILL_BE_DELETED = "The signed authorisation letter you uploaded will be deleted, with the PDFs of the form"


def test_withdrawing_a_draft_never_sent_removes_its_letters_and_pdfs(officer_client, officer,
                                                                     django_capture_on_commit_callbacks):
    """Only open drafts count towards ONBOARDING_OPEN_DRAFTS_MAX: a withdrawn draft that kept
    its letter (5 MB) until retention (years) let one officer fill the disk by starting,
    uploading and withdrawing again and again."""
    application = complete(officer_client, new_application(officer))
    upload(officer_client, application, png_bytes(), name="scan.png")  # the first letter replaced
    letter = Attachment.objects.get(application=application)
    document = _form_pdf(application)
    url = f"/onboarding/{application.pk}/withdraw/"
    assert WILL_BE_DELETED in page(officer_client.get(url)).squashed_text()

    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert reload(application).status == ApplicationStatus.WITHDRAWN
    assert not Attachment.objects.filter(application=application).exists()
    assert not ApplicationDocument.objects.filter(application=application).exists()
    assert _stored([letter, document]) == []
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN)
    assert event.new_values == {"status": "withdrawn", "reason": "", "letters_removed": [letter.sha256],
                                "form_pdfs_removed": 1}


def test_starting_uploading_and_withdrawing_again_and_again_keeps_no_letter(officer_client, officer, settings,
                                                                            django_capture_on_commit_callbacks):
    settings.ONBOARDING_OPEN_DRAFTS_MAX = 2
    for _ in range(settings.ONBOARDING_OPEN_DRAFTS_MAX * 3):
        with django_capture_on_commit_callbacks(execute=True):
            assert officer_client.post("/onboarding/start/").status_code == 302
            application = Application.objects.filter(nodal_officer=officer).order_by("-pk").first()
            assert upload(officer_client, application, minimal_pdf()).status_code == 302
            assert officer_client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes"}).status_code == 302
    assert Application.objects.filter(nodal_officer=officer, status=ApplicationStatus.WITHDRAWN).count() == 6
    assert not Attachment.objects.filter(application__nodal_officer=officer).exists()
    assert _stored(Attachment.objects.all()) == []


def test_a_draft_under_a_legal_hold_keeps_its_letter_and_pdfs_when_withdrawn(officer_client, officer,
                                                                            django_capture_on_commit_callbacks):
    from portal.privacy.retention import legal_hold_set
    from tests.onboarding.approval_helpers import make_superadmin

    application = complete(officer_client, new_application(officer))
    letter, document = Attachment.objects.get(application=application), _form_pdf(application)
    legal_hold_set(target_type="onboarding.application", target_id=application.pk, reason="Audit of the department",
                   actor=make_superadmin(email="root@sandes.nic.in"))
    with django_capture_on_commit_callbacks(execute=True):
        assert officer_client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes"}).status_code == 302
    assert reload(application).status == ApplicationStatus.WITHDRAWN
    assert _stored([letter, document]) == [letter.file.name, document.file.name]
    assert Attachment.objects.filter(application=application).count() == 1
    assert AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN).new_values == {"status": "withdrawn",
                                                                                            "reason": ""}


@pytest.mark.parametrize("status, said", [
    (ApplicationStatus.WITHDRAWN, "This application was withdrawn and can no longer be changed or sent for approval."),
    (ApplicationStatus.REJECTED, "This application was rejected and can no longer be changed."),
    (ApplicationStatus.REJECTED_FINAL, "This application was rejected and can no longer be changed."),
    (ApplicationStatus.UNDER_APPEAL, "This application is under appeal and can no longer be changed."),
    (ApplicationStatus.APPROVED, "This application was approved and can no longer be changed."),
])
def test_a_closed_application_is_said_to_be_in_its_state_not_submitted(officer_client, officer, status, said):
    """A draft withdrawn without ever being sent (or one rejected, approved...) is not said
    to "have been submitted" when the officer comes back to a section, the letter or the
    check page (a bookmark, another tab)."""
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    if status == ApplicationStatus.WITHDRAWN:
        services.application_withdraw(application_id=application.pk, actor=officer)
    else:
        Application.objects.filter(pk=application.pk).update(status=status)
    officer_client.get("/onboarding/")  # the messages said so far, read
    for url in (section_url(application, "organisation"), f"/onboarding/{application.pk}/submit/"):
        for send in (officer_client.get, lambda url: officer_client.post(url, valid("organisation"))):
            response = send(url)
            assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
            assert texts_of_messages(response) == [said]
            officer_client.get(response["Location"])  # where it is read
    response = upload(officer_client, application, png_bytes())
    assert texts_of_messages(response) == [said]
    assert reload(application).status == status


def test_in_marathi_a_withdrawn_draft_is_said_withdrawn(officer_client, officer):
    application = new_application(officer)
    services.application_withdraw(application_id=application.pk, actor=officer)
    officer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "mr"
    response = officer_client.get(f"/onboarding/{application.pk}/submit/")
    assert texts_of_messages(response) == ["हा अर्ज मागे घेतला गेला आहे आणि आता त्यात बदल करता येणार नाही किंवा तो मंजुरीसाठी पाठवता येणार नाही."]

@pytest.mark.parametrize("held", ["onboarding.application", "accounts.user"])
def test_the_withdraw_page_promises_no_deletion_under_a_legal_hold(officer_client, officer, held,
                                                                   django_capture_on_commit_callbacks):
    """Under a legal hold (on the application or on its officer) withdrawing keeps the
    letter and the form PDFs: the page does not say they will be deleted. One rule
    decides for the page and for the withdrawal."""
    from portal.privacy.retention import legal_hold_release, legal_hold_set
    from tests.onboarding.approval_helpers import make_superadmin

    root = make_superadmin(email="root@sandes.nic.in")
    application = complete(officer_client, new_application(officer))
    _form_pdf(application)
    url = f"/onboarding/{application.pk}/withdraw/"
    assert WILL_BE_DELETED in page(officer_client.get(url)).squashed_text()
    hold = legal_hold_set(target_type=held, target_id=application.pk if held == "onboarding.application" else officer.pk,
                          reason="Court case 12/2026", actor=root)
    text = page(officer_client.get(url)).squashed_text()
    assert "deleted" not in text
    # Refused at the box (not ticked): still no promise of deletion.
    assert "deleted" not in page(officer_client.post(url, {"reason": "Merged"})).squashed_text()
    legal_hold_release(hold_id=hold.pk, reason="Case closed", actor=root)
    assert WILL_BE_DELETED in page(officer_client.get(url)).squashed_text()  # released: deleted again
    legal_hold_set(target_type=held, target_id=application.pk if held == "onboarding.application" else officer.pk,
                   reason="Court case 13/2026", actor=root)
    with django_capture_on_commit_callbacks(execute=True):
        assert officer_client.post(url, {"confirm": "yes"}).status_code == 302
    assert Attachment.objects.filter(application=application).exists()  # kept, as the page did not say otherwise


def test_only_the_nodal_officer_may_withdraw(officer, officer_client):
    application = new_application(officer)
    other = UserFactory(email="someone.else@mha.gov.in")
    client = Client()
    client.login(email=other.email, password=PASSWORD)
    assert client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes"}).status_code == 404
    assert reload(application).status == ApplicationStatus.DRAFT


# My applications and the timeline -------------------------------------------------------

def test_my_applications_shows_each_applications_state(officer_client, officer, django_capture_on_commit_callbacks):
    draft = new_application(officer)
    post_section(officer_client, draft, "organisation", valid("organisation", name="Soil Testing Laboratory, Pune"))
    submitted = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    withdrawn = new_application(officer)
    officer_client.post(f"/onboarding/{withdrawn.pk}/withdraw/", {"confirm": "yes"})
    UserFactory(email="another@mha.gov.in")  # with applications of their own, never listed here
    new_application(UserFactory(email="not.mine@mha.gov.in"))

    tree = page(officer_client.get("/onboarding/"))
    rows = tree.find("tbody").find_all("tr")
    assert len(rows) == 3
    by_text = {row.squashed_text() for row in rows}
    cells = [[td.squashed_text() for td in row.find_all("td")] for row in rows]
    # Newest first.
    assert cells[0][0] == "Draft" and cells[0][2] == "Withdrawn"
    assert cells[1][0] == submitted.reference and cells[1][1] == "Directorate of Agriculture, Maharashtra"
    assert cells[1][2] == "With the competent authority" and cells[1][4] == "Uploaded"
    assert cells[2][0] == "Draft" and cells[2][1] == "Soil Testing Laboratory, Pune" and cells[2][2] == "Draft"
    assert rows[2].find("a", href=f"/onboarding/{draft.pk}/tasks/") is not None
    assert rows[1].find("a", href=f"/onboarding/{submitted.pk}/") is not None
    assert len(by_text) == 3


def test_detail_page_shows_a_timeline(officer_client, officer, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 5, 10, 9, 15, tzinfo=IST), tick=False):
        application = new_application(officer)
        fill_all(officer_client, application)
    with time_machine.travel(datetime(2026, 5, 11, 14, 5, tzinfo=IST), tick=False):
        complete(officer_client, application)
        application = submit(officer_client, application, django_capture_on_commit_callbacks)

    tree = page(officer_client.get(f"/onboarding/{application.pk}/"))
    timeline = tree.find("ol", class_="timeline")
    items = [li.squashed_text() for li in timeline.find_all("li")]
    assert items == [
        f"10 May 2026, 09:15 Application started — {officer.email}",
        f"11 May 2026, 14:05 Authorisation letter uploaded — {officer.email}",
        f"11 May 2026, 14:05 Application submitted — {officer.email}",
    ]
    # Machine-readable times too.
    assert timeline.find("time").get("datetime").startswith("2026-05-10T09:15:00")


def test_an_officer_sends_at_most_a_days_worth_of_applications_for_approval(
    officer_client, officer, settings, django_capture_on_commit_callbacks
):
    """Each submission mails the competent authority the officer named, with what they
    typed: a few a day per officer, or anyone could make the portal mail any official
    address again and again (submit, withdraw, submit)."""
    from portal.mail.models import OutboxMessage
    from tests.factories import ApplicationFactory

    settings.ONBOARDING_SUBMISSIONS_PER_DAY = 2
    start = datetime(2026, 5, 10, 11, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):
        for _ in range(2):  # two sent earlier today
            ApplicationVersion.objects.get_or_create(application=ApplicationFactory(nodal_officer=officer), number=1,
                                                     defaults={"data": {}})
        application = complete(officer_client, new_application(officer))
        mails = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.post(f"/onboarding/{application.pk}/submit/", follow=True)
        said = page(response).squashed_text()
        assert "You have sent 2 applications for approval in the last 24 hours" in said
        assert "You can send this one from 11 May 2026, 11:00" in said
        assert reload(application).status == ApplicationStatus.DRAFT and OutboxMessage.objects.count() == mails
    with time_machine.travel(start + timedelta(days=1, seconds=1), tick=False):
        assert submit(officer_client, application, django_capture_on_commit_callbacks).status == ApplicationStatus.WITH_AUTHORITY


def _naming_authority(address):
    """The valid answers, with the competent authority's address written ``address``."""
    return {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": address}}


def _refused_at_the_authoritys_address(response, application, message):
    """A submission refused at the competent authority's address: the page again, with
    ``message`` at that field, the address as typed in it, valid HTML, and its form posting
    to the section's own page (the page is shown at the submit page's address)."""
    assert response.status_code == 200
    tree = page(response)
    assert field_error(tree, "official_email") == message
    assert field_value(tree, "official_email") == AUTHORITY_EMAIL
    assert html_problems(response.content.decode()) == []
    form = next(form for form in tree.find_all("form") if form.by_id("id_official_email") is not None)
    assert form.get("action") == section_url(application, "competent_authority")


def test_one_authority_mailbox_is_sent_at_most_a_days_worth_of_requests_whoever_submits(
    officer_client, officer, settings, django_capture_on_commit_callbacks
):
    """Each submission mails its competent authority a link to decide. The limits of one
    officer left many officers (or one officer's many drafts) free to name the same official
    address, and the portal's mail to one mailbox had no end: NIC's mail servers block a
    relay that floods a gov.in mailbox. At most ONBOARDING_AUTHORITY_MAILS_PER_DAY requests
    for a decision reach one mailbox in 24 hours, however its address is written; past
    them the submission is refused at the authority's address, the draft as it was."""
    from portal.mail.models import OutboxMessage

    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 2
    start = datetime(2026, 5, 10, 11, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):  # two other officers named the mailbox, written otherwise
        submitted_application(UserFactory(), _naming_authority("Director+Seeds@MahaAgri.gov.in"))
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        submitted_application(UserFactory(), _naming_authority("DIRECTOR@mahaagri.gov.in"))
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        application = complete(officer_client, new_application(officer))
        mails = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.post(f"/onboarding/{application.pk}/submit/")
        _refused_at_the_authoritys_address(response, application, (
            "The portal has sent this address 2 requests for a decision in the last 24 hours, the most one mailbox may "
            "receive: nothing was submitted, and your answers are kept. You can submit the application from "
            "11 May 2026, 11:00."))
        assert reload(application).status == ApplicationStatus.DRAFT and not reload(application).reference
        assert reload(application).data == application.data and reload(application).version == application.version
        assert OutboxMessage.objects.count() == mails
        # Another authority's mailbox has its own count.
        other = submitted_application(UserFactory(), _naming_authority("secretary@mahaagri.gov.in"))
        assert other.status == ApplicationStatus.WITH_AUTHORITY
    with time_machine.travel(start + timedelta(days=1, seconds=1), tick=False):  # the first request is a day old
        assert submit(officer_client, application, django_capture_on_commit_callbacks).status == ApplicationStatus.WITH_AUTHORITY


def test_one_officer_within_their_own_limits_does_not_lock_other_officers_out_of_an_authority(
    officer_client, officer, settings, django_capture_on_commit_callbacks
):
    """The mailbox's day was shared by every officer naming it, the deadline sweep's
    reminders counted in it: one officer submitting every day (their reminders of earlier
    applications adding to it) filled it alone, and every other officer naming that
    authority (a state's secretary) was refused day after day. The reminders (the portal's
    own mail, one a step) no longer count, and one officer may use at most
    ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY of a mailbox's day: locking others out
    takes several accounts with official addresses. The officer past their share is told
    it is theirs, at the authority's address, and when they can submit."""
    from onboarding.approval import deadlines
    from onboarding.models import AuthorityToken

    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 10
    settings.ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY = share = 5
    with time_machine.travel(datetime(2026, 5, 5, 11, 0, tzinfo=IST), tick=False):
        for _ in range(share):
            submitted_application(officer)
    morning = datetime(2026, 5, 10, 0, 30, tzinfo=IST)
    with time_machine.travel(morning, tick=False):  # two days before they are due: reminded, each with a new link
        assert deadlines.deadline_sweep()["reminded"] == share
    with time_machine.travel(morning + timedelta(hours=1), tick=False):
        for _ in range(share):  # the same officer's share of the mailbox's day
            submitted_application(officer)
    assert AuthorityToken.objects.filter(mailbox=AUTHORITY_EMAIL.lower()).count() == 3 * share
    with time_machine.travel(morning + timedelta(hours=2), tick=False):
        assert submitted_application(UserFactory()).status == ApplicationStatus.WITH_AUTHORITY
        application = complete(officer_client, new_application(officer))
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.post(f"/onboarding/{application.pk}/submit/")
        assert response.status_code == 200
        assert field_error(page(response), "official_email") == (
            "You have sent this address 5 requests for a decision in the last 24 hours (from any account of your "
            "mailbox: your address with or without a “+” tag), the most one nodal officer may send one mailbox: "
            "nothing was submitted, and your answers are kept. You can submit the application from 11 May 2026, "
            "01:30.")
        assert reload(application).status == ApplicationStatus.DRAFT


def test_accounts_of_one_mailbox_send_one_officers_share_and_days_worth_of_submissions(
    officer, settings, django_capture_on_commit_callbacks
):
    """Accounts are kept per address with its "+tag", so one person signs up again as
    nodal.officer+2@..., each sign-up's code reaching the same mailbox. Each account had its
    own share of an authority mailbox's day (ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY)
    and its own day of submissions (ONBOARDING_SUBMISSIONS_PER_DAY): one person alone could
    fill an authority's day and lock every other officer naming it out. Both count the
    person's mailbox, whichever of its accounts sent; the refusal at the authority's address
    says so."""
    from portal.mail.models import OutboxMessage

    settings.ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY = 2
    settings.ONBOARDING_SUBMISSIONS_PER_DAY = 3
    start = datetime(2026, 5, 10, 11, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):
        for _ in range(2):
            submitted_application(officer)
    same_mailbox = UserFactory(email="nodal.officer+2@mahaagri.gov.in")
    client = Client()
    assert client.login(email=same_mailbox.email, password=PASSWORD)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        application = complete(client, new_application(same_mailbox))
        mails = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/onboarding/{application.pk}/submit/")
        _refused_at_the_authoritys_address(response, application, (
            "You have sent this address 2 requests for a decision in the last 24 hours (from any account of your "
            "mailbox: your address with or without a “+” tag), the most one nodal officer may send one mailbox: "
            "nothing was submitted, and your answers are kept. You can submit the application from 11 May 2026, "
            "11:00."))
        assert reload(application).status == ApplicationStatus.DRAFT and OutboxMessage.objects.count() == mails
        # Its third submission of the day, to another authority: within the share, and the day's last.
        submitted_application(officer, _naming_authority("secretary@mahaagri.gov.in"))
        other = complete(client, new_application(same_mailbox))
        post_section(client, other, "competent_authority",
                     {**valid("competent_authority"), "official_email": "commissioner@mahaagri.gov.in"})
        mails = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/onboarding/{other.pk}/submit/", follow=True)
        said = page(response).squashed_text()
        assert ("You have sent 3 applications for approval in the last 24 hours (from any account of your mailbox: "
                "your address with or without a “+” tag), the most the portal accepts: each one emails its competent "
                "authority. You can send this one from 11 May 2026, 11:00.") in said
        assert reload(other).status == ApplicationStatus.DRAFT and OutboxMessage.objects.count() == mails
        # Another person naming the authority is not refused.
        assert submitted_application(UserFactory(email="nodal.officer2@mahaagri.gov.in")).status == (
            ApplicationStatus.WITH_AUTHORITY)


def _refused_as_unknown(mailbox, when):
    from portal.mail.models import UnknownMailbox

    return UnknownMailbox.objects.create(mailbox=mailbox, first_refused_at=when, last_refused_at=when,
                                         reply=f"550 5.1.1 <{mailbox}>: Recipient address rejected: User unknown")


def test_a_submission_naming_an_address_the_relay_refused_as_unknown_is_refused_at_that_address(
    officer_client, officer, django_capture_on_commit_callbacks
):
    """The mail server refused the authority's address as one that does not exist, and the
    portal offers it no more mail: a submission naming it went to an authority who could
    never hear of it, and the address of a submitted application cannot be changed (the
    officer had to withdraw it and start again, a submission of their day spent). It is
    refused at the authority's address, saying when the mail server refused it and what to
    do, the draft as it was and nothing sent; once a superadmin lifts the refusal (the
    mailbox exists now), it goes."""
    from portal.mail.models import OutboxMessage
    from portal.mail.services import unknown_mailbox_lift
    from tests.onboarding.approval_helpers import make_superadmin

    record = _refused_as_unknown(AUTHORITY_EMAIL.lower(), datetime(2026, 5, 8, 15, 0, tzinfo=IST))
    with time_machine.travel(datetime(2026, 5, 10, 11, 0, tzinfo=IST), tick=False):
        application = complete(officer_client, new_application(officer))
        mails = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.post(f"/onboarding/{application.pk}/submit/")
        _refused_at_the_authoritys_address(response, application, (
            f"The mail server refused {AUTHORITY_EMAIL} on 8 May 2026 as an address that does not exist: nothing was "
            "submitted, and your answers are kept. Check the address with the competent authority's office and correct "
            "it here. If it is right and its mailbox has been set up since, ask the portal's superadmins to lift the "
            "refusal; you can then submit the application."))
        stored = reload(application)
        assert stored.status == ApplicationStatus.DRAFT and not stored.reference
        assert stored.data == application.data and stored.version == application.version
        assert not ApplicationVersion.objects.filter(application=application).exists()
        assert OutboxMessage.objects.count() == mails
        unknown_mailbox_lift(unknown_mailbox_id=record.pk, actor=make_superadmin())
        assert submit(officer_client, application, django_capture_on_commit_callbacks).status == ApplicationStatus.WITH_AUTHORITY


def test_a_submission_naming_a_tag_of_an_address_refused_as_unknown_is_refused_at_that_address(
    officer_client, officer, django_capture_on_commit_callbacks
):
    """A "+tag" reaches the mailbox without it: the relay refused director@ as unknown, so
    director+1@ cannot arrive either, yet a submission naming it went (the refusal's record
    is kept in the address's own form, the tag and all): its request was never offered to
    the relay, and the officer's day of submissions was spent on it. It is refused at the
    address as the address itself is, the draft as it was."""
    from portal.mail.models import OutboxMessage

    _refused_as_unknown(AUTHORITY_EMAIL.lower(), datetime(2026, 5, 8, 15, 0, tzinfo=IST))
    tagged = "Director+1@mahaagri.gov.in"
    with time_machine.travel(datetime(2026, 5, 10, 11, 0, tzinfo=IST), tick=False):
        application = complete(officer_client, new_application(officer))
        post_section(officer_client, application, "competent_authority",
                     {**valid("competent_authority"), "official_email": tagged})
        application = reload(application)
        mails = OutboxMessage.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.post(f"/onboarding/{application.pk}/submit/")
    assert response.status_code == 200
    assert field_error(page(response), "official_email") == (
        f"The mail server refused {tagged} on 8 May 2026 as an address that does not exist: nothing was submitted, "
        "and your answers are kept. Check the address with the competent authority's office and correct it here. If "
        "it is right and its mailbox has been set up since, ask the portal's superadmins to lift the refusal; you can "
        "then submit the application.")
    stored = reload(application)
    assert stored.status == ApplicationStatus.DRAFT and stored.version == application.version
    assert not ApplicationVersion.objects.filter(application=application).exists()
    assert OutboxMessage.objects.count() == mails


def test_the_authority_section_saved_with_an_address_refused_as_unknown_is_warned_of(officer_client, officer):
    """Advice, not a refusal, when the section is saved (the officer may know the mailbox
    exists now): the section is complete, and the warning is said on the next page."""
    _refused_as_unknown(AUTHORITY_EMAIL.lower(), datetime(2026, 5, 8, 15, 0, tzinfo=IST))
    application = new_application(officer)
    response = post_section(officer_client, application, "competent_authority", valid("competent_authority"))
    assert response.status_code == 302
    assert reload(application).status_of("competent_authority") == SectionStatus.COMPLETE
    assert (f"The mail server refused {AUTHORITY_EMAIL} on 8 May 2026 as an address that does not exist: the "
            "application cannot be submitted to it. Check the address with the competent authority's office.") in \
        page(officer_client.get(response["Location"])).squashed_text()
    other = post_section(officer_client, application, "competent_authority",
                         valid("competent_authority", official_email="secretary@mahaagri.gov.in"))
    assert "does not exist" not in page(officer_client.get(other["Location"])).squashed_text()


def test_the_limit_of_requests_to_one_authority_is_said_at_its_address_in_marathi(officer_client, officer, settings):
    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 1
    submitted_application(UserFactory())
    application = complete(officer_client, new_application(officer))
    officer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "mr"
    response = officer_client.post(f"/onboarding/{application.pk}/submit/")
    assert response.status_code == 200
    assert "काहीही सादर झाले नाही, आणि तुमची उत्तरे जतन केलेली आहेत." in field_error(page(response), "official_email")
    assert reload(application).status == ApplicationStatus.DRAFT


def test_an_officer_has_at_most_so_many_drafts_open(officer_client, officer, settings):
    """Each draft may hold a letter of several MB: one account cannot make the portal store
    without end. A withdrawn (or submitted) draft makes room for another."""
    settings.ONBOARDING_OPEN_DRAFTS_MAX = 2
    client = officer_client
    first = client.post("/onboarding/start/")
    client.post("/onboarding/start/")
    refused = client.post("/onboarding/start/")
    assert refused.status_code == 200
    assert ("You have 2 draft applications open (from any account of your mailbox: your address with or without a "
            "“+” tag), the most one officer may have") in page(refused).squashed_text()
    assert "You cannot be a nodal officer" not in refused.content.decode()  # eligible: not the eligibility box
    assert Application.objects.filter(nodal_officer=officer).count() == 2
    draft = first["Location"].rstrip("/").split("/")[-2]
    assert client.post(f"/onboarding/{draft}/withdraw/", {"confirm": "yes"}).status_code == 302
    assert client.post("/onboarding/start/").status_code == 302


def _start_token(client):
    field = page(client.get("/onboarding/start/")).find("input", name="start_token")
    return field.get("value") if field is not None else ""


def test_start_the_application_posted_twice_makes_one_draft(officer_client, officer):
    """Without JavaScript (whose guard stops a second click), "Start the application"
    clicked twice posted twice and started two drafts, with two audit events. The start
    page's form carries a one-time token: its second use leads to the draft the first
    made. The page shown again gives a new token, and with it a new draft."""
    token = _start_token(officer_client)
    first = officer_client.post("/onboarding/start/", {"start_token": token})
    second = officer_client.post("/onboarding/start/", {"start_token": token})
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Application.objects.filter(nodal_officer=officer).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_CREATED).count() == 1
    again = _start_token(officer_client)
    assert token and again and again != token
    third = officer_client.post("/onboarding/start/", {"start_token": again})
    assert third.status_code == 302 and third["Location"] != first["Location"]
    assert Application.objects.filter(nodal_officer=officer).count() == 2


def test_an_officer_starts_at_most_a_days_worth_of_drafts(officer_client, officer, settings,
                                                          django_capture_on_commit_callbacks):
    """Only open drafts count towards ONBOARDING_OPEN_DRAFTS_MAX, and each start and withdrawal
    keeps an application row, its permissions and audit rows, and mails the officer: starting
    and withdrawing again and again is refused after ONBOARDING_STARTS_PER_DAY starts in 24
    hours, on the start page, saying when the next one is possible."""
    from portal.mail.models import OutboxMessage

    settings.ONBOARDING_STARTS_PER_DAY = 3
    start = datetime(2026, 5, 10, 11, 0, tzinfo=IST)
    started = 0
    with time_machine.travel(start, tick=False):
        for _ in range(settings.ONBOARDING_STARTS_PER_DAY * 3):
            response = officer_client.post("/onboarding/start/")
            if response.status_code != 302:
                break
            started += 1
            pk = int(response["Location"].strip("/").split("/")[-2])
            with django_capture_on_commit_callbacks(execute=True):
                response = officer_client.post(f"/onboarding/{pk}/withdraw/", {"confirm": "yes", "reason": ""})
            assert response.status_code == 302
        assert started == settings.ONBOARDING_STARTS_PER_DAY
        assert response.status_code == 200
        alert = page(response).find("div", role="alert").squashed_text()
        assert ("You have started 3 applications in the last 24 hours (from any account of your mailbox: your "
                "address with or without a “+” tag), the most the portal accepts.") in alert
        assert "You can start another from 11 May 2026, 11:00; until then, continue one of your drafts" in alert
        assert "You cannot be a nodal officer" not in response.content.decode()  # eligible: not the eligibility box
        rows, mails = Application.objects.filter(nodal_officer=officer).count(), OutboxMessage.objects.count()
        assert rows == settings.ONBOARDING_STARTS_PER_DAY
        assert officer_client.post("/onboarding/start/").status_code == 200
        assert Application.objects.filter(nodal_officer=officer).count() == rows and OutboxMessage.objects.count() == mails
    with time_machine.travel(start + timedelta(days=1, seconds=1), tick=False):
        assert officer_client.post("/onboarding/start/").status_code == 302


def test_the_limit_of_starts_is_said_in_hindi(officer_client, officer, settings):
    settings.ONBOARDING_STARTS_PER_DAY = 1
    new_application(officer)
    officer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = officer_client.post("/onboarding/start/")
    assert response.status_code == 200
    alert = page(response).find("div", role="alert").squashed_text()
    assert "आपने पिछले 24 घंटों में 1 आवेदन शुरू किए हैं" in alert and "मेरे आवेदन" in alert
    assert Application.objects.filter(nodal_officer=officer).count() == 1


def test_accounts_of_one_mailbox_start_one_officers_days_worth_and_keep_one_officers_drafts(officer, settings):
    """Accounts are kept per address with its "+tag", so one person signs up again as
    nodal.officer+2@..., each sign-up's code reaching the same mailbox. Submissions and new
    links count the person's mailbox; the day's starts (ONBOARDING_STARTS_PER_DAY) and the
    open drafts (ONBOARDING_OPEN_DRAFTS_MAX, each able to hold a letter of several MB)
    counted each account on its own, so another account gave the same person another day's
    starts and as many drafts again. Both count every account of the mailbox, and the
    refusals say so."""
    settings.ONBOARDING_STARTS_PER_DAY = 3
    settings.ONBOARDING_OPEN_DRAFTS_MAX = 2
    same_mailbox = UserFactory(email="nodal.officer+2@mahaagri.gov.in")
    client = Client()
    assert client.login(email=same_mailbox.email, password=PASSWORD)
    start = datetime(2026, 5, 10, 11, 0, tzinfo=IST)

    def refused(response):
        assert response.status_code == 200
        return page(response).find("div", role="alert").find("p").squashed_text()  # then a link to My applications

    with time_machine.travel(start, tick=False):
        first, second = new_application(officer), new_application(officer)
        assert refused(client.post("/onboarding/start/")) == (
            "You have 2 draft applications open (from any account of your mailbox: your address with or without a "
            "“+” tag), the most one officer may have: submit or withdraw one of them (My applications, in the "
            "account that started it) before starting another.")
        assert not Application.objects.filter(nodal_officer=same_mailbox).exists()
        services.application_withdraw(application_id=first.pk, actor=officer)
        assert client.post("/onboarding/start/").status_code == 302  # the mailbox's third start of the day
        services.application_withdraw(application_id=second.pk, actor=officer)
        assert refused(client.post("/onboarding/start/")) == (
            "You have started 3 applications in the last 24 hours (from any account of your mailbox: your address "
            "with or without a “+” tag), the most the portal accepts. You can start another from 11 May 2026, 11:00; "
            "until then, continue one of your drafts (My applications).")
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
        assert "(आपके मेलबॉक्स के किसी भी खाते से: आपका पता “+” टैग के साथ या उसके बिना)" in refused(
            client.post("/onboarding/start/"))
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "mr"
        assert "(तुमच्या मेलबॉक्सच्या कोणत्याही खात्यातून: तुमचा पत्ता “+” टॅगसह किंवा त्याशिवाय)" in refused(
            client.post("/onboarding/start/"))
        assert Application.objects.filter(nodal_officer=same_mailbox).count() == 1
        # Another person of the same office is not refused.
        assert new_application(UserFactory(email="nodal.officer2@mahaagri.gov.in")).status == ApplicationStatus.DRAFT
