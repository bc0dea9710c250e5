"""Retention (portal/privacy/retention.py and the rules onboarding and verification
register): each rule with time moved forward, legal holds, a second run changing
nothing, the audit chain verifying after the redaction that goes with it, and a
constant number of queries per batch."""

import importlib
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onboarding.application import services
from onboarding.approval import services as approvals
from onboarding.models import Application, ApplicationVersion, ApprovalStep, Attachment, AuthorityToken
from onboarding.templatetags.approval_tags import timeline_entry
from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY, audit_record, audit_verify
from portal.privacy.models import LegalHold, RetentionKind, RetentionMark, RetentionPolicy, RetentionRun
from portal.privacy.retention import (
    legal_hold_release,
    legal_hold_set,
    retention_policies,
    retention_policy_newly_due,
    retention_policy_update,
    retention_run,
)
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory, UserFactory
from tests.html_tree import field_error, field_value, form_as_sent, page, parse
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    TRANSACTIONAL,
    as_querydict,
    filled_application,
    latest_link,
    make_superadmin,
    messages_to,
    official_email_rules,
    second_factor_given,
    signed_in,
    submitted_application,
)
from tests.onboarding.test_race_pg import race
from tests.onboarding_data import VALID
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
IST = ZoneInfo("Asia/Kolkata")


def at(days):
    return time_machine.travel(T0 + timedelta(days=days), tick=False)


def run(days, **kwargs):
    with at(days):
        return retention_run(**kwargs).counts


def counts_of(result, kind):
    return result.get(kind, {})


def only(kind):
    """Switch off every policy but ``kind`` (tests of one rule)."""
    RetentionPolicy.objects.exclude(kind=kind).update(enabled=False)


def test_the_default_policies_are_the_issues():
    assert {p.kind: (p.days, p.grace_days, p.enabled) for p in RetentionPolicy.objects.all()} == {
        "draft_application": (180, 30, True), "closed_application": (1095, 0, True),
        "returned_application": (180, 30, True), "revoked_verification": (365, 0, True),
        "closed_verification_request": (365, 0, True), "unused_account": (365, 0, True),
    }


# Drafts -----------------------------------------------------------------------------------------

@pytest.fixture
def draft(django_capture_on_commit_callbacks):
    with at(0):
        application = ApplicationFactory(status="draft", reference=None, submitted_at=None, letter=True)
        audit_record(actor=application.nodal_officer, action=AuditAction.APPLICATION_CREATED, target=application,
                     ip="10.1.1.1", new={"status": "draft"})
    return application


def test_a_draft_untouched_for_180_days_is_reminded_then_erased_30_days_later_with_its_files(
    draft, django_capture_on_commit_callbacks
):
    only(RetentionKind.DRAFT_APPLICATION)
    letter = draft.attachments.get()
    storage, name = letter.file.storage, letter.file.name
    assert storage.exists(name)
    assert counts_of(run(179), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(181), "draft_application")["reminded"] == 1
    [mail] = messages_to(draft.nodal_officer.email)
    assert "will be erased" in mail.subject and "4 August 2026" in mail.body
    # The same day again, and before the 30 days: nothing.
    assert counts_of(run(181), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}
    assert counts_of(run(210), "draft_application")["erased"] == 0 and Application.objects.filter(pk=draft.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        result = run(212)
    assert counts_of(result, "draft_application") == {"reminded": 0, "erased": 1, "audit_events_redacted": 1}
    assert not Application.objects.filter(pk=draft.pk).exists() and not Attachment.objects.exists()
    assert not storage.exists(name)
    created = AuditEvent.objects.get(action=AuditAction.APPLICATION_CREATED)
    assert created.redacted_at is not None and created.ip is None and created.actor_email == ""
    assert not RetentionMark.objects.exists()
    assert audit_verify() == []
    # A second run changes nothing.
    events = AuditEvent.objects.count()
    assert counts_of(run(212), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}
    assert AuditEvent.objects.count() == events


def test_the_draft_reminder_names_the_day_of_erasure_in_indian_time(draft, django_capture_on_commit_callbacks):
    """A run at 20:00 UTC is at 01:30 IST the next day: the draft is erased by the run 30
    days later, on 5 August at 01:30 IST, and the mail names that day as the portal's
    pages and its other mail do (not 4 August, the day in UTC)."""
    only(RetentionKind.DRAFT_APPLICATION)
    with django_capture_on_commit_callbacks(execute=True), \
            time_machine.travel(T0 + timedelta(days=181, hours=10), tick=False):  # 2026-07-06 01:30 IST
        assert retention_run().counts["draft_application"]["reminded"] == 1
    [mail] = messages_to(draft.nodal_officer.email)
    assert "5 August 2026" in mail.body and "4 August 2026" not in mail.body, mail.body[:600]



def test_no_draft_reminder_goes_to_a_nodal_officer_whose_account_is_deactivated(draft, django_capture_on_commit_callbacks):
    """The reminder asks the officer to open and save the draft, which an account deactivated
    cannot (it cannot sign in): it was mailed all the same. The draft is erased on its day as
    any other; an officer active again is reminded of their next one."""
    only(RetentionKind.DRAFT_APPLICATION)
    User.objects.filter(pk=draft.nodal_officer_id).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        run(181)
    assert messages_to(draft.nodal_officer.email) == []
    assert counts_of(run(212), "draft_application")["erased"] == 1


def test_a_reminded_draft_is_erased_by_the_run_of_the_day_its_reminder_named_whatever_its_hour():
    """The daily run (02:00 IST) that reminds a draft began at 02:00:05 on 6 July, behind other
    work; its mail names 5 August. The run of 5 August, begun at 02:00:01, erases the draft:
    the day named has come, though 30 times 24 hours have not quite (it was kept until the run
    of 6 August)."""
    with time_machine.travel(datetime(2026, 1, 6, 1, 0, tzinfo=IST), tick=False):
        draft = ApplicationFactory(status="draft", reference=None, submitted_at=None)
    only(RetentionKind.DRAFT_APPLICATION)
    with time_machine.travel(datetime(2026, 7, 6, 2, 0, 5, tzinfo=IST), tick=False):
        assert retention_run().counts["draft_application"]["reminded"] == 1
    [mail] = messages_to(draft.nodal_officer.email)
    assert "5 August 2026" in mail.body
    with time_machine.travel(datetime(2026, 8, 4, 23, 59, tzinfo=IST), tick=False):
        assert retention_run().counts["draft_application"]["erased"] == 0  # not before the day named
    with time_machine.travel(datetime(2026, 8, 5, 2, 0, 1, tzinfo=IST), tick=False):
        assert retention_run().counts["draft_application"]["erased"] == 1
    assert not Application.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize(("name", "english", "hindi"), [
    ("", "Your draft onboarding application has not been saved for a long time.",
     "आपका मसौदा ऑनबोर्डिंग आवेदन लंबे समय से सहेजा नहीं गया है।"),
    ("Agri Dept", "Your draft onboarding application for Agri Dept has not been saved for a long time.",
     "Agri Dept के लिए आपका मसौदा ऑनबोर्डिंग आवेदन लंबे समय से सहेजा नहीं गया है।"),
])
def test_the_reminder_of_a_draft_with_no_name_yet_reads_as_a_sentence(name, english, hindi):
    """A draft abandoned before its organisation section was saved has no name: the reminder
    put "your organisation" in its place, and its Hindi half read "आपका संगठन के लिए आपका मसौदा
    ऑनबोर्डिंग आवेदन ..." (the possessive left in the direct case before के लिए, and "your"
    twice). An unnamed draft has no state, so its second language is Hindi."""
    from onboarding.retention import drafts_remind  # noqa: PLC0415
    from portal.mail.models import OutboxMessage  # noqa: PLC0415

    application = ApplicationFactory(status="draft", reference=None, submitted_at=None, organisation_name=name,
                                     jurisdiction="" if not name else "KA")
    drafts_remind([application.pk], T0)
    first, second = OutboxMessage.objects.get().body.split("\n\n----------\n\n")
    assert first.startswith(english + "\n") and second.startswith(hindi + "\n"), (first[:200], second[:200])

def test_the_drafts_grace_period_is_at_least_a_day(draft):
    """With no days between the reminder and the erasure, the run that mails the reminder
    would erase the draft straight after: no warning at all. The policy refuses it at its
    field (the other kinds, which remind nobody, keep 0), and a policy stored with 0 before
    still leaves a day between the reminder and the erasure."""
    only(RetentionKind.DRAFT_APPLICATION)
    root = make_superadmin(email="root@sandes.nic.in")
    with pytest.raises(ValidationError) as refused:
        retention_policy_update(kind="draft_application", days=180, grace_days=0, enabled=True, actor=root)
    assert refused.value.message_dict == {"grace_days": ["Give at least 1 day between the reminder and the erasure."]}
    assert RetentionPolicy.objects.get(kind="draft_application").grace_days == 30
    retention_policy_update(kind="closed_application", days=365, grace_days=0, enabled=True, actor=root)
    RetentionPolicy.objects.filter(kind="draft_application").update(grace_days=0)
    assert counts_of(run(181), "draft_application") == {"reminded": 1, "erased": 0, "audit_events_redacted": 0}
    assert Application.objects.filter(pk=draft.pk).exists()
    assert counts_of(run(182), "draft_application")["erased"] == 1


def test_a_draft_touched_after_its_reminder_is_kept_and_reminded_again_later(draft):
    only(RetentionKind.DRAFT_APPLICATION)
    run(181)
    with at(200):
        Application.objects.get(pk=draft.pk).save()  # the officer saves it: updated_at moves
    assert counts_of(run(240), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}
    assert counts_of(run(381), "draft_application")["reminded"] == 1
    assert counts_of(run(412), "draft_application")["erased"] == 1


@pytest.mark.parametrize("jurisdiction, name, subject, opening", [
    ("MH", "Agriculture Department",
     "Your draft application for Agriculture Department will be erased on 5 February 2026 unless you save it / "
     "Agriculture Department साठीचा तुमचा मसुदा अर्ज जतन न केल्यास 5 फेब्रुवारी 2026 रोजी पुसला जाईल",
     "Agriculture Department साठीचा तुमचा मसुदा ऑनबोर्डिंग अर्ज बराच काळ जतन केलेला नाही."),
    ("KA", "Agriculture Department",
     "Your draft application for Agriculture Department will be erased on 5 February 2026 unless you save it / "
     "Agriculture Department के लिए आपका मसौदा आवेदन 5 फ़रवरी 2026 को मिटा दिया जाएगा, जब तक आप उसे सहेज नहीं लेते",
     "Agriculture Department के लिए आपका मसौदा ऑनबोर्डिंग आवेदन लंबे समय से सहेजा नहीं गया है।"),
    # Left before its organisation section was saved: no name, no state (Hindi); whole sentences without a name.
    ("", "",
     "Your draft application will be erased on 5 February 2026 unless you save it / "
     "आपका मसौदा आवेदन 5 फ़रवरी 2026 को मिटा दिया जाएगा, जब तक आप उसे सहेज नहीं लेते",
     "आपका मसौदा ऑनबोर्डिंग आवेदन लंबे समय से सहेजा नहीं गया है।"),
])
def test_the_draft_erasure_reminders_subject_says_when_and_what_keeps_it(jurisdiction, name, subject, opening):
    """"Your draft application for X will be erased" said it would happen, not when nor
    what keeps it: the subject gives the day the body gives (India's: reminded at 20:00
    UTC, 01:30 the next day in India) and that saving it keeps it. A draft with no name
    reads as a sentence, not "for your organisation" ("आपका संगठन के लिए आपका मसौदा …")."""
    from onboarding.retention import drafts_remind

    draft = ApplicationFactory(status="draft", reference=None, submitted_at=None, jurisdiction=jurisdiction,
                               organisation_name=name)
    drafts_remind([draft.pk], datetime(2026, 1, 5, 20, 0, tzinfo=UTC))  # erased from 5 February in India
    [mail] = messages_to(draft.nodal_officer.email)
    english, _rule, second = mail.body.partition("\n\n----------\n\n")
    assert mail.subject == subject
    assert "before 5 February 2026" in " ".join(english.split())
    assert " ".join(second.split("\n\n")[0].split()) == opening
    assert name or "Your draft onboarding application has not been saved for a long time." in english


def test_a_draft_saved_from_its_page_without_a_change_as_its_reminder_asks_is_kept(
    officer, django_capture_on_commit_callbacks
):
    """The reminder says "Unless you open and save it before <day>, it will be erased". The
    officer opens a section of the (complete) draft and presses Save, changing nothing: the
    page says it was saved, and the draft is kept, as a save that changed an answer keeps it.
    No new version and no audit row of a change: only its last activity moves, so it is
    reminded again 180 days after that save."""
    only(RetentionKind.DRAFT_APPLICATION)
    with at(0):
        draft = filled_application(officer)
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(181), "draft_application")["reminded"] == 1
    [mail] = messages_to(officer.email)
    assert "Unless you open and save it before 4 August 2026" in mail.body
    version = Application.objects.get(pk=draft.pk).version
    with at(200):
        client = signed_in(officer)
        section = f"/onboarding/{draft.pk}/section/organisation/"
        sent = form_as_sent(page(client.get(section)))
        events = AuditEvent.objects.count()
        response = client.post(section, sent, follow=True)
    assert response.redirect_chain == [(f"/onboarding/{draft.pk}/tasks/", 302)]
    assert "“Organisation details” saved." in response.content.decode()
    assert AuditEvent.objects.count() == events
    assert Application.objects.get(pk=draft.pk).version == version
    assert counts_of(run(212), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}
    assert Application.objects.filter(pk=draft.pk).exists()
    assert counts_of(run(379), "draft_application")["reminded"] == 0
    assert counts_of(run(381), "draft_application")["reminded"] == 1
    assert counts_of(run(412), "draft_application")["erased"] == 1


@TRANSACTIONAL
@pytest.mark.usefixtures("require_postgresql", "official_email_rules")
def test_a_draft_its_officer_is_saving_while_the_run_erases_it_is_kept(officer):
    """The run reads the batch's ids, then erases them in a transaction: the draft the
    officer saves in between (the day the reminder named, say) is no longer due, and one
    whose save is still under way (its row locked) is left for a later run, not erased
    with the work being saved once that save commits."""
    retention_policies()
    only(RetentionKind.DRAFT_APPLICATION)
    with at(0):
        draft = ApplicationFactory(status="draft", reference=None, submitted_at=None, nodal_officer=officer)
    assert counts_of(run(181), "draft_application")["reminded"] == 1
    renamed = dict(VALID["organisation"], name="Directorate of Agriculture (renamed)")
    with at(212):
        # The officer's save starts first: it holds the draft's row and then waits for the
        # audit log's lock (held here); the run starts while it waits.
        results = race([
            lambda: services.application_save_section(application_id=draft.pk, section="organisation",
                                                      querydict=as_querydict(renamed), actor=officer),
            lambda: retention_run().counts,
        ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY], staggered=True,
            ready=lambda waiting, done: waiting == 2 or done[1] is not None)
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    assert counts_of(results[1][1], "draft_application")["erased"] == 0
    assert Application.objects.get(pk=draft.pk).organisation_name == "Directorate of Agriculture (renamed)"
    # Saved on day 212: not due again until it has been untouched for the policy's days.
    assert counts_of(run(213), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}


def test_a_submitted_application_is_never_a_draft_to_erase():
    only(RetentionKind.DRAFT_APPLICATION)
    with at(0):
        ApplicationFactory(status="with_authority")
    assert counts_of(run(400), "draft_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}


# Returned for correction ---------------------------------------------------------------------------

RETURN_REMARKS = "Correct the number of users."
NOTHING = {"reminded": 0, "erased": 0, "audit_events_redacted": 0}


@pytest.fixture
def returned(officer):
    """Submitted, then returned for correction by its competent authority through the
    emailed link (its token used), on day 0."""
    with at(0):
        application = submitted_application(officer)
        _path, token = latest_link()
        approvals.step_decide(step_id=application.steps.get().pk, decision="return", remarks=RETURN_REMARKS,
                              token=token)
    application.refresh_from_db()
    assert application.status == "changes_requested"
    return application


def withdrawal_reminders(officer):
    return [mail for mail in messages_to(officer.email) if "will be withdrawn" in mail.subject]


def test_an_application_returned_and_left_is_reminded_once_then_withdrawn_by_the_withdrawal_service(
    returned, officer, django_capture_on_commit_callbacks
):
    """Returned for correction and not touched for the policy's days: one reminder to the
    nodal officer (English and the application's second language) naming the day from
    which it is withdrawn; still untouched that many days later, it is withdrawn, not
    erased, by the officer's own withdrawal's path: the audit row (the system's, saying
    why), its links void, the officer told; its timeline says why. Later, as any withdrawn
    application, it is reduced by the closed applications' policy."""
    only(RetentionKind.RETURNED_APPLICATION)
    assert counts_of(run(179), "returned_application") == NOTHING
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(181), "returned_application")["reminded"] == 1
    [mail] = withdrawal_reminders(officer)
    assert mail.subject == (f"Application {returned.reference} will be withdrawn on 4 August 2026 unless you submit "
                            f"it again / अर्ज {returned.reference} पुन्हा सादर न केल्यास 4 ऑगस्ट 2026 रोजी मागे घेतला जाईल")
    english = " ".join(mail.body.partition("\n\n----------\n\n")[0].split())
    assert f"Your onboarding application {returned.reference} for {returned.organisation_name} was returned for " \
           "correction on 5 January 2026 (Competent authority) and has not been submitted again." in english
    assert "Unless you make the changes asked for and submit it again before 4 August 2026" in english
    assert f"/onboarding/{returned.pk}/tasks/" in english
    reminded = AuditEvent.objects.get(action=AuditAction.APPLICATION_CORRECTION_REMINDED)
    assert (reminded.target_id, reminded.actor_id, reminded.actor_role) == (str(returned.pk), None, "system:retention")
    assert reminded.new_values == {"withdraw_on": "2026-08-04"}
    # Reminded once: not again the same day, nor before the 30 days are over.
    assert counts_of(run(181), "returned_application") == NOTHING
    assert counts_of(run(210), "returned_application") == NOTHING
    assert len(withdrawal_reminders(officer)) == 1
    assert Application.objects.get(pk=returned.pk).status == "changes_requested"

    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(212), "returned_application") == {"reminded": 0, "erased": 1, "audit_events_redacted": 0}
    kept = Application.objects.get(pk=returned.pk)
    assert (kept.status, kept.reference, kept.data) == ("withdrawn", returned.reference, returned.data)
    assert kept.closed_at == T0 + timedelta(days=212)
    assert kept.attachments.exists()  # what its decisions were made on, until the closed applications' policy
    withdrawn = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN)
    assert (withdrawn.target_id, withdrawn.actor_id, withdrawn.actor_role) == (str(returned.pk), None, "system")
    assert (withdrawn.old_values, withdrawn.new_values) == (
        {"status": "changes_requested"}, {"status": "withdrawn", "reason": "not_corrected"})
    assert timeline_entry(withdrawn)["what"] == "Withdrawn automatically because it was not corrected in time"
    assert not AuthorityToken.objects.filter(step__application=returned, used_at__isnull=True,
                                             superseded_at__isnull=True).exists()
    assert list(ApprovalStep.objects.filter(application=returned).values_list("decision", "remarks")) == [
        ("return", RETURN_REMARKS)]
    [told] = [mail for mail in messages_to(officer.email) if "not corrected in time" in mail.subject]
    assert told.subject.startswith(f"Application {returned.reference} withdrawn: not corrected in time / ")
    assert audit_verify() == []
    # A second run changes nothing.
    events = AuditEvent.objects.count()
    assert counts_of(run(212), "returned_application") == NOTHING
    assert AuditEvent.objects.count() == events

    # Three years after its withdrawal it is reduced as any withdrawn application is.
    RetentionPolicy.objects.filter(kind=RetentionKind.CLOSED_APPLICATION).update(enabled=True)
    assert counts_of(run(212 + 1094), "closed_application")["erased"] == 0
    assert counts_of(run(212 + 1096), "closed_application")["erased"] == 1
    reduced = Application.objects.get(pk=returned.pk)
    assert (reduced.status, reduced.reference, reduced.data) == ("withdrawn", returned.reference, {})


def test_a_returned_applications_page_read_after_the_days_run_names_the_day_the_next_runs_reminder_names():
    """Read at 10:00 in India, after the day's run (02:00), the deadline the application's
    page gives for an application left past the policy's days but not reminded yet (a hold
    on it released since the run) is counted from the next run, which sends the reminder: it
    was counted from today's, one day earlier than the day the reminder names."""
    from onboarding.application.selectors import correction_deadline  # noqa: PLC0415

    with time_machine.travel(datetime(2026, 12, 6, 10, 0, tzinfo=IST), tick=False):
        only(RetentionKind.RETURNED_APPLICATION)
        application = ApplicationFactory(status="changes_requested")
        Application.objects.filter(pk=application.pk).update(updated_at=timezone.now() - timedelta(days=400))
        application.refresh_from_db()
        shown = correction_deadline(application)
    with time_machine.travel(datetime(2026, 12, 7, 2, 0, tzinfo=IST), tick=False):  # the crontab's run
        assert retention_run().counts["returned_application"]["reminded"] == 1
    named = RetentionMark.objects.get(kind=RetentionKind.RETURNED_APPLICATION, target_id=application.pk).due_on
    assert shown == named == date(2027, 1, 6)


def test_a_returned_application_its_officer_saved_recently_is_not_reminded(returned, officer):
    """Saving a section of it (its officer at work on the correction) keeps it, as a save
    keeps a draft: it is reminded only once it has been left for the policy's days since."""
    only(RetentionKind.RETURNED_APPLICATION)
    with at(100):
        services.application_save_section(application_id=returned.pk, section="organisation",
                                          querydict=as_querydict(VALID["organisation"]), actor=officer)
    assert counts_of(run(181), "returned_application") == NOTHING
    assert counts_of(run(279), "returned_application") == NOTHING
    assert not withdrawal_reminders(officer)
    assert counts_of(run(281), "returned_application")["reminded"] == 1
    assert counts_of(run(312), "returned_application")["erased"] == 1


def test_the_reminder_of_a_returned_application_saved_after_its_return_says_only_what_is_true(
        returned, officer, django_capture_on_commit_callbacks):
    """Its officer saved a section ten days after the return, then left it: the reminder
    says it has not been submitted again, not that it was never saved since the return."""
    only(RetentionKind.RETURNED_APPLICATION)
    with at(10):
        services.application_save_section(application_id=returned.pk, section="organisation",
                                          querydict=as_querydict(VALID["organisation"]), actor=officer)
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(191), "returned_application")["reminded"] == 1
    [mail] = withdrawal_reminders(officer)
    english, _rule, second = mail.body.partition("\n\n----------\n\n")
    english = " ".join(english.split())
    assert "saved since" not in english
    assert "was returned for correction on 5 January 2026 (Competent authority) and has not been submitted again." \
        in english
    assert "तेव्हापासून तो जतन केलेला नाही" not in second and "पुन्हा सादर केलेला नाही" in second


def test_the_mails_of_a_returned_application_whose_name_was_cleared_read_as_sentences(
        returned, officer, django_capture_on_commit_callbacks):
    """Its officer emptied the organisation's name after the return and left it: the
    reminder and the withdrawal's mail say it names no organisation, in whole sentences."""
    only(RetentionKind.RETURNED_APPLICATION)
    with at(1):
        services.application_save_section(application_id=returned.pk, section="organisation",
                                          querydict=as_querydict({**VALID["organisation"], "name": ""}), actor=officer)
    assert Application.objects.get(pk=returned.pk).organisation_name == ""
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(182), "returned_application")["reminded"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(213), "returned_application")["erased"] == 1
    [reminder] = withdrawal_reminders(officer)
    [told] = [mail for mail in messages_to(officer.email) if "not corrected in time" in mail.subject]
    ref = returned.reference
    assert (f"Your onboarding application {ref}, which names no organisation, was returned for correction on "
            "5 January 2026 (Competent authority) and has not been submitted again.") in " ".join(reminder.body.split())
    assert (f"Your onboarding application {ref}, which names no organisation, was returned for correction and was "
            "not submitted again in time:") in " ".join(told.body.split())
    for mail in (reminder, told):
        assert " for  " not in mail.body and " for was " not in " ".join(mail.body.split())
        assert "के लिए आपका" not in mail.body and "या संस्थेसाठीचा" not in mail.body


def test_a_returned_application_resubmitted_after_its_reminder_is_never_withdrawn(returned, officer):
    only(RetentionKind.RETURNED_APPLICATION)
    assert counts_of(run(181), "returned_application")["reminded"] == 1
    with at(200):
        services.application_submit(application_id=returned.pk, actor=officer, reply="Corrected as asked.")
    assert counts_of(run(212), "returned_application") == NOTHING
    assert Application.objects.get(pk=returned.pk).status == "with_authority"
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_WITHDRAWN).exists()
    # Returned again: its officer is reminded of this return, and it is withdrawn only after it.
    with at(205):
        _path, token = latest_link()
        step = ApprovalStep.objects.get(application=returned, decision="")
        approvals.step_decide(step_id=step.pk, decision="return", remarks="Still wrong.", token=token)
    assert counts_of(run(385), "returned_application") == NOTHING
    assert counts_of(run(386), "returned_application")["reminded"] == 1
    assert counts_of(run(415), "returned_application") == NOTHING
    assert counts_of(run(416), "returned_application")["erased"] == 1


def test_the_day_a_reminder_named_is_kept_when_a_superadmin_shortens_the_grace(returned, officer,
                                                                              django_capture_on_commit_callbacks):
    """The reminder told the officer in writing to submit it again before 4 August 2026: a
    superadmin who then shortens the days between reminder and withdrawal (confirming what
    the change makes due) does not bring that day forward; later reminders follow the new
    setting. The confirmation counts no application that keeps its named day."""
    only(RetentionKind.RETURNED_APPLICATION)
    with django_capture_on_commit_callbacks(execute=True):
        assert counts_of(run(181), "returned_application")["reminded"] == 1
    [reminder] = withdrawal_reminders(officer)
    assert "before 4 August 2026" in reminder.body
    root = make_superadmin(email="root@sandes.nic.in")
    with at(185):
        assert retention_policy_newly_due(kind="returned_application", days=180, grace_days=1, enabled=True) == 0
        retention_policy_update(kind="returned_application", days=180, grace_days=1, enabled=True, actor=root)
    assert counts_of(run(186), "returned_application") == NOTHING
    assert counts_of(run(210), "returned_application") == NOTHING  # 3 August 2026
    assert Application.objects.get(pk=returned.pk).status == "changes_requested"
    assert counts_of(run(211), "returned_application")["erased"] == 1  # 4 August 2026


def test_a_returned_application_under_a_legal_hold_is_neither_reminded_nor_withdrawn(returned):
    only(RetentionKind.RETURNED_APPLICATION)
    root = make_superadmin(email="root@sandes.nic.in")
    legal_hold_set(target_type="onboarding.application", target_id=returned.pk, reason="Court case", actor=root)
    assert counts_of(run(400), "returned_application") == NOTHING
    assert Application.objects.get(pk=returned.pk).status == "changes_requested"


def test_the_returned_applications_grace_period_is_at_least_a_day():
    with pytest.raises(ValidationError) as refused:
        retention_policy_update(kind="returned_application", days=180, grace_days=0, enabled=True,
                                actor=make_superadmin(email="root@sandes.nic.in"))
    assert refused.value.message_dict == {"grace_days": ["Give at least 1 day between the reminder and the withdrawal."]}


def test_queries_per_batch_of_returned_applications_are_constant():
    """Reminders: a constant number of queries per batch. Withdrawals go one by one through
    the withdrawal service (its audit row, its mail), so a batch of the same size costs the
    same: the queries grow with the batches, never within the run otherwise."""
    only(RetentionKind.RETURNED_APPLICATION)

    def queries(n):
        with at(0):  # those of the calls before are withdrawn by now
            for _ in range(n):
                application = ApplicationFactory(status="changes_requested")
                ApprovalStepFactory(application=application, stage="authority", decision="return", remarks="Fix it.",
                                    decided_at=T0, decided_by_email="secretary@mha.gov.in")
        counted = []
        for day in (181, 212):
            with CaptureQueriesContext(connection) as context, at(day):
                retention_run(batch_size=3)
            counted.append(len(context))
        return counted

    empty, one_batch, two_batches, three_batches = queries(0), queries(3), queries(6), queries(9)
    for run_of in (0, 1):  # the reminders' run, the withdrawals' run
        per_batch = two_batches[run_of] - one_batch[run_of]
        assert per_batch == three_batches[run_of] - two_batches[run_of] and one_batch[run_of] > empty[run_of]
    assert two_batches[0] - one_batch[0] < 40


# Withdrawn and finally rejected ------------------------------------------------------------------

@pytest.fixture
def closed():
    with at(0):
        withdrawn = ApplicationFactory(status="withdrawn", closed_at=T0, letter=True)
        rejected = ApplicationFactory(status="rejected_final", closed_at=T0)
        ApprovalStepFactory(application=rejected, stage="authority", assignee_email="secretary@mha.gov.in",
                            assignee_name="R. Secretary", decision="reject", remarks="Not our department.",
                            decided_at=T0, decided_by_email="secretary@mha.gov.in", ip="10.2.2.2")
        appealed = ApplicationFactory(status="under_appeal", closed_at=T0)
        audit_record(actor=rejected.nodal_officer, action=AuditAction.APPLICATION_WITHDRAWN, target=withdrawn,
                     new={"status": "withdrawn", "reason": "Duplicate"})
    return withdrawn, rejected, appealed


def test_withdrawn_and_finally_rejected_applications_keep_reference_organisation_and_decisions_after_three_years(
        closed):
    only(RetentionKind.CLOSED_APPLICATION)
    withdrawn, rejected, appealed = closed
    assert counts_of(run(1094), "closed_application")["erased"] == 0
    result = run(1096)
    assert counts_of(result, "closed_application") == {"reminded": 0, "erased": 2, "audit_events_redacted": 1}
    for application in (withdrawn, rejected):
        kept = Application.objects.get(pk=application.pk)
        assert (kept.reference, kept.organisation_name, kept.status) == (
            application.reference, application.organisation_name, application.status)
        assert kept.data == {}
        assert not ApplicationVersion.objects.filter(application=kept).exists()
        assert not kept.attachments.exists() and not kept.documents.exists()
    step = ApprovalStep.objects.get(application=rejected)
    assert (step.stage, step.decision, step.decided_at) == ("authority", "reject", T0)
    assert (step.assignee_email, step.assignee_name, step.remarks, step.decided_by_email, step.ip) == ("", "", "", "", None)
    # Under appeal: never touched.
    assert Application.objects.get(pk=appealed.pk).data == appealed.data
    withdrawn_event = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN)
    assert withdrawn_event.new_values == {"status": "withdrawn"} and withdrawn_event.redacted_at is not None
    assert audit_verify() == []
    # A second run changes nothing.
    rows = list(Application.objects.order_by("pk").values())
    assert counts_of(run(1130), "closed_application") == {"reminded": 0, "erased": 0, "audit_events_redacted": 0}
    assert list(Application.objects.order_by("pk").values()) == rows


def test_a_withdrawn_application_is_kept_for_the_three_years_the_notice_promises(closed):
    """The data protection notice every nodal officer accepts says "a rejected or withdrawn
    application is kept for three years": within them its answers, versions and letter stay;
    after them (1,095 days) it is reduced."""
    from onboarding.application.declarations import BUILT_IN_NOTICES  # noqa: PLC0415

    assert all("a rejected or withdrawn application is kept for three years" in " ".join(map(str, notice.sections[2]))
               for notice in BUILT_IN_NOTICES.values())
    only(RetentionKind.CLOSED_APPLICATION)
    withdrawn, rejected, _appealed = closed
    assert counts_of(run(2 * 365), "closed_application")["erased"] == 0
    kept = Application.objects.get(pk=withdrawn.pk)
    assert kept.data == withdrawn.data and kept.attachments.exists()
    assert counts_of(run(3 * 365 - 1), "closed_application")["erased"] == 0
    assert counts_of(run(3 * 365 + 1), "closed_application")["erased"] == 2
    assert Application.objects.get(pk=withdrawn.pk).data == {}


def test_the_stored_closed_policy_left_at_the_old_default_is_raised_to_three_years():
    """The policies are rows seeded with the defaults (privacy 0001): the closed applications'
    row still at the old default of 365 days, never changed by a superadmin, is raised to the
    1,095 days the notice promises; one a superadmin set, even to 365, is theirs and stays."""
    migration = importlib.import_module("portal.privacy.migrations.0007_closed_applications_kept_three_years")
    root = make_superadmin(email="root@sandes.nic.in")
    retention_policies()
    closed_policy = RetentionPolicy.objects.filter(kind="closed_application")
    closed_policy.update(days=365, changed_at=None, changed_by=None)
    migration.closed_applications_kept_three_years(django_apps, None)
    assert closed_policy.get().days == 1095
    assert RetentionPolicy.objects.get(kind="unused_account").days == 365  # another kind: not this promise
    for days, changed_by in ((365, root), (500, None)):
        closed_policy.update(days=days, changed_at=T0, changed_by=changed_by)
        migration.closed_applications_kept_three_years(django_apps, None)
        assert closed_policy.get().days == days
    closed_policy.update(days=365, changed_at=T0, changed_by=None)  # set by a superadmin since erased
    migration.closed_applications_kept_three_years(django_apps, None)
    assert closed_policy.get().days == 365


# Revoked verification -----------------------------------------------------------------------------

def test_a_revoked_persons_verification_record_is_reduced_to_what_an_audit_needs_after_a_year():
    only(RetentionKind.REVOKED_VERIFICATION)
    with at(0):
        revoked = GovernmentProfileFactory(status=VerificationStatus.REVOKED, reason_code="transfer", reason="Moved",
                                           verified_name="Asha Kulkarni")
        verified = GovernmentProfileFactory(status=VerificationStatus.VERIFIED)
        audit_record(actor=None, action=AuditAction.VERIFICATION_REVOKED, target=revoked, actor_role="system",
                     new={"status": "revoked", "details": {"mobile": revoked.mobile}})
    assert counts_of(run(300), "revoked_verification")["erased"] == 0
    assert counts_of(run(366), "revoked_verification") == {"reminded": 0, "erased": 1, "audit_events_redacted": 1}
    reduced = GovernmentProfile.objects.get(pk=revoked.pk)
    assert (reduced.user_id, reduced.organisation_id, reduced.status, reduced.reason_code, reduced.decided_at) == (
        revoked.user_id, revoked.organisation_id, "revoked", "transfer", revoked.decided_at)
    assert (reduced.designation, reduced.office, reduced.employee_code, reduced.official_email, reduced.mobile,
            reduced.reason, reduced.verified_name) == ("", "", "", "", "", "", "")
    kept = GovernmentProfile.objects.get(pk=verified.pk)
    assert (kept.mobile, kept.verified_name) == (verified.mobile, verified.verified_name)
    assert AuditEvent.objects.get(action=AuditAction.VERIFICATION_REVOKED).new_values == {"status": "revoked"}
    assert counts_of(run(367), "revoked_verification")["erased"] == 0
    assert audit_verify() == []


def test_the_invitation_that_verified_a_revoked_person_loses_the_same_details():
    """Verified from a roster, the person's record and the invitation they accepted hold the
    same details (the invitations page shows its name and address to the organisation's
    admins): the record was reduced, the invitation kept them. One they accepted after the
    revocation (verified again) keeps its own."""
    from verification.rosters.models import Invitation, InvitationStatus

    only(RetentionKind.REVOKED_VERIFICATION)
    with at(0):
        revoked = GovernmentProfileFactory(status=VerificationStatus.REVOKED, mobile="+919876543210",
                                           employee_code="MH-7781", verified_name="Asha Kulkarni")
        now = timezone.now()

        def accepted(days):
            return Invitation.objects.create(
                organisation=revoked.organisation, email=revoked.official_email, mailbox=revoked.official_email,
                name="Asha Kulkarni", designation="Under Secretary", office="Mantralaya", employee_code="MH-7781",
                mobile="+919876543210", invited_by=UserFactory(), token_hash=f"{days:064d}"[-64:],
                created_at=now - timedelta(days=days), sent_at=now - timedelta(days=days), expires_at=now,
                status=InvitationStatus.ACCEPTED, accepted_at=now - timedelta(days=days), accepted_by=revoked.user)

        verified_by = accepted(30)
    with at(10):
        again = accepted(-10)
    run(366)
    assert GovernmentProfile.objects.get(pk=revoked.pk).employee_code == ""
    assert Invitation.objects.filter(pk=verified_by.pk).values_list(
        "email", "name", "designation", "office", "employee_code", "mobile").get() == ("", "", "", "", "", "")
    assert Invitation.objects.get(pk=again.pk).employee_code == "MH-7781"


@pytest.mark.parametrize("status", [VerificationStatus.REJECTED, VerificationStatus.CANCELLED])
def test_a_rejected_or_withdrawn_verification_request_is_reduced_to_what_an_audit_needs_after_a_year(status):
    only(RetentionKind.CLOSED_VERIFICATION_REQUEST)
    with at(0):
        closed = GovernmentProfileFactory(status=status, reason="Not on our rolls",
                                          designation="Section Officer", employee_code="EMP-77")
        pending = GovernmentProfileFactory(status=VerificationStatus.PENDING)
        revoked = GovernmentProfileFactory(status=VerificationStatus.REVOKED)
        audit_record(actor=None, action=AuditAction.VERIFICATION_REJECTED, target=closed, actor_role="system",
                     new={"status": status, "details": {"mobile": closed.mobile}})
    assert counts_of(run(300), "closed_verification_request")["erased"] == 0
    assert counts_of(run(366), "closed_verification_request") == {
        "reminded": 0, "erased": 1, "audit_events_redacted": 1}
    reduced = GovernmentProfile.objects.get(pk=closed.pk)
    assert (reduced.user_id, reduced.organisation_id, reduced.status, reduced.decided_by_id, reduced.decided_at) == (
        closed.user_id, closed.organisation_id, status, closed.decided_by_id, closed.decided_at)
    assert (reduced.designation, reduced.office, reduced.employee_code, reduced.official_email, reduced.mobile,
            reduced.reason) == ("", "", "", "", "", "")
    for kept in (pending, revoked):  # a waiting request is no one's to reduce; a revoked record has its own policy
        assert GovernmentProfile.objects.get(pk=kept.pk).mobile == kept.mobile
    assert AuditEvent.objects.get(action=AuditAction.VERIFICATION_REJECTED).new_values == {"status": status}
    assert counts_of(run(367), "closed_verification_request")["erased"] == 0
    assert audit_verify() == []


def test_the_retention_benchmark_reduces_its_due_records_and_the_chain_still_verifies(require_postgresql, bench_script):
    """bench/retention.py at a tiny size (bench/README.md runs it over a million records): its rows,
    written with COPY, are records the model accepts, every due one is reduced, its audit events
    redacted, and the chain verifies."""
    found = bench_script("retention").measure(records=40, due=20, batch=10)
    assert found["run"] == {"reminded": 0, "erased": 20, "audit_events_redacted": 20}
    assert found["problems"] == [] and found["events"] > 20  # the runs record their own events too
    assert found["second run"]["erased"] == 0
    reduced = GovernmentProfile.objects.filter(verified_name="")
    assert reduced.count() == 20 and not reduced.exclude(official_email="").exists()
    kept = GovernmentProfile.objects.exclude(verified_name="").select_related("user")
    assert kept.count() == 20 and all(profile.verified_name == profile.user.full_name for profile in kept)


# Unused accounts ------------------------------------------------------------------------------------

def test_accounts_never_verified_and_unused_for_a_year_are_erased_with_their_audit_personal_part():
    only(RetentionKind.UNUSED_ACCOUNT)
    with at(0):
        unused = UserFactory(email="never@example.org", verified=False)
        verified = UserFactory(email="verified@example.org")
        with_application = UserFactory(email="officer@example.org", verified=False)
        ApplicationFactory(nodal_officer=with_application, status="draft")
        audit_record(actor=unused, action=AuditAction.USER_SIGNED_UP, target=unused, ip="10.3.3.3",
                     new={"email": unused.email})
    with at(100):
        recent = UserFactory(email="recent@example.org", verified=False)
    assert counts_of(run(364), "unused_account")["erased"] == 0
    assert counts_of(run(366), "unused_account") == {"reminded": 0, "erased": 1, "audit_events_redacted": 1}
    assert set(User.objects.values_list("email", flat=True)) == {verified.email, with_application.email, recent.email}
    signed_up = AuditEvent.objects.get(action=AuditAction.USER_SIGNED_UP)
    assert signed_up.new_values == {} and signed_up.actor_email == "" and signed_up.actor_id == unused.pk
    assert "never@example.org" not in str(list(AuditEvent.objects.values()))
    assert audit_verify() == []


def test_an_unused_account_a_record_names_without_a_reverse_name_is_kept_and_the_others_are_erased():
    """Who decided a step (an account signed in on an authority's link), uploaded a file or a
    roster, or invited someone is kept (the relation forbids deleting it), though the relation
    has no reverse name; before, deleting it failed the whole batch, every day."""
    from verification.rosters.models import Invitation, RosterImport

    only(RetentionKind.UNUSED_ACCOUNT)
    with at(0):
        decider = UserFactory(email="forwarded@example.org", verified=False)
        ApprovalStepFactory(stage="authority", decision="approve", decided_at=T0, decided_by=decider)
        uploader = UserFactory(email="uploader@example.org", verified=False)
        RosterImport.objects.create(organisation=OrganisationFactory(), uploaded_by=uploader, uploaded_at=T0,
                                    file_name="r.csv", file_sha256="0" * 64, file_format="csv")
        inviter = UserFactory(email="inviter@example.org", verified=False)
        Invitation.objects.create(organisation=OrganisationFactory(), email="someone@mha.gov.in",
                                  mailbox="someone@mha.gov.in", name="Someone", invited_by=inviter,
                                  token_hash="1" * 64, created_at=T0, sent_at=T0, expires_at=T0 + timedelta(days=30))
        UserFactory(email="never@example.org", verified=False)
    assert counts_of(run(400), "unused_account")["erased"] == 1
    assert RetentionRun.objects.latest("pk").failed == []
    assert set(User.objects.filter(email__endswith="@example.org").values_list("email", flat=True)) == {
        "forwarded@example.org", "uploader@example.org", "inviter@example.org"}


def test_an_erased_account_and_one_with_a_data_protection_request_are_not_unused_accounts():
    """An erased account has no verified address left, but it was verified and used: its
    erasure request granted stays with it (the record of what was asked and decided), and
    so does any request an account made, whether or not its address was verified."""
    from portal.privacy.models import PrivacyRequest
    from portal.privacy.requests import privacy_request_make

    only(RetentionKind.UNUSED_ACCOUNT)
    with at(0):
        asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
        User.objects.filter(pk=asha.pk).update(last_login=T0)
        erasure = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
        admin = signed_in(make_superadmin(email="root@sandes.nic.in"))
        assert admin.post(f"/portal/privacy/requests/{erasure.pk}/",
                          {"decision": "grant", "reason": "Nothing to keep.", "confirm": "on"}).status_code == 302
        asking = UserFactory(email="asking@example.org", verified=False)
        privacy_request_make(user=asking, kind="correction", details="My name is misspelt.")
        UserFactory(email="never@example.org", verified=False)
    assert counts_of(run(400), "unused_account")["erased"] == 1
    assert set(User.objects.filter(pk__in=[asha.pk, asking.pk]).values_list("pk", flat=True)) == {asha.pk, asking.pk}
    erasure.refresh_from_db()
    assert (erasure.status, erasure.user_id) == ("granted", asha.pk)
    assert PrivacyRequest.objects.filter(user=asking).exists()
    assert not User.objects.filter(email="never@example.org").exists()


# Legal holds -------------------------------------------------------------------------------------------

def test_a_legal_hold_on_a_record_or_on_its_person_keeps_it_until_released(closed):
    only(RetentionKind.CLOSED_APPLICATION)
    withdrawn, rejected, _appealed = closed
    root = make_superadmin(email="root@sandes.nic.in")
    with at(300):
        on_record = legal_hold_set(target_type="onboarding.application", target_id=withdrawn.pk,
                                   reason="Court case 12/2026", actor=root)
        legal_hold_set(target_type="accounts.user", target_id=rejected.nodal_officer_id, reason="RTI appeal",
                       actor=root)
    assert counts_of(run(1096), "closed_application")["erased"] == 0
    assert Application.objects.get(pk=withdrawn.pk).data == withdrawn.data
    with at(1100):
        legal_hold_release(hold_id=on_record.pk, reason="Case closed", actor=root)
    assert counts_of(run(1101), "closed_application")["erased"] == 1
    assert Application.objects.get(pk=withdrawn.pk).data == {}
    assert Application.objects.get(pk=rejected.pk).data == rejected.data
    set_events = AuditEvent.objects.filter(action=AuditAction.LEGAL_HOLD_SET)
    assert [e.new_values["reason"] for e in set_events] == ["Court case 12/2026", "RTI appeal"]
    assert AuditEvent.objects.get(action=AuditAction.LEGAL_HOLD_RELEASED).new_values == {"reason": "Case closed"}
    assert LegalHold.objects.filter(released_at__isnull=True).count() == 1


@TRANSACTIONAL
@pytest.mark.usefixtures("require_postgresql", "official_email_rules")
def test_setting_a_legal_hold_twice_at_once_sets_one_and_says_so_at_the_record_number():
    """A double click on "Set the hold": the record is held once, and the second click
    shows the form again, as typed, with "This record is already held." at the record
    number (it was a server error: the one active hold a record may have)."""
    root = make_superadmin(email="root.one@nic.in")
    clients = []
    for _ in range(2):
        client = Client(raise_request_exception=False)
        client.force_login(root)
        second_factor_given(client, root)
        clients.append(client)
    form = {"target_type": "accounts.user", "target_id": str(root.pk), "reason": "Court case 12/2026."}
    results = race([lambda c=c: c.post("/portal/privacy/holds/", form) for c in clients],
                   hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(value.status_code for _outcome, value in results) == [200, 302], results
    refused = parse(next(value for _outcome, value in results if value.status_code == 200).content)
    assert field_error(refused, "target_id") == "This record is already held."
    assert field_value(refused, "reason") == "Court case 12/2026."
    assert LegalHold.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.LEGAL_HOLD_SET).count() == 1


def test_a_policy_change_is_audited_and_takes_effect_at_the_next_run(closed):
    only(RetentionKind.CLOSED_APPLICATION)
    root = make_superadmin(email="root@sandes.nic.in")
    retention_policy_update(kind="closed_application", days=730, grace_days=0, enabled=True, actor=root)
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_POLICY_CHANGED)
    assert (event.old_values["days"], event.new_values["days"], event.actor_id) == (1095, 730, root.pk)
    assert counts_of(run(366), "closed_application")["erased"] == 0
    assert counts_of(run(731), "closed_application")["erased"] == 2


def test_a_run_records_counts_not_contents_and_the_command_prints_them(closed):
    with at(1096):
        out = StringIO()
        call_command("run_retention", stdout=out)
    assert "closed_application: reminded 0, erased 2, audit_events_redacted 1" in out.getvalue()
    run_row = RetentionRun.objects.get()
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_RUN)
    assert event.new_values == {"counts": run_row.counts}
    assert "Duplicate" not in str(run_row.counts) and "@" not in str(event.new_values)


def test_a_run_stopped_at_its_time_limit_halfway_records_what_it_erased(draft, monkeypatch, settings):
    """The run erases drafts batch by batch, each committed: stopped by its soft time limit
    after the first, it has saved that batch's counts with it, records its audit event
    (RETENTION_RUN, the counts and that it stopped), and the superadmins' page shows the run
    as stopped with what it did, not as "No policy enabled."."""
    from celery.exceptions import SoftTimeLimitExceeded

    from portal.privacy import retention as engine
    from portal.privacy.tasks import retention_run as retention_run_task

    only(RetentionKind.DRAFT_APPLICATION)
    with at(0):
        second = ApplicationFactory(status="draft", reference=None, submitted_at=None)
    run(181)
    settings.PRIVACY_RETENTION_BATCH = 1
    redact, saved = engine.audit_redact, []

    def redact_then_time_up(**kwargs):
        if saved:
            raise SoftTimeLimitExceeded()
        saved.append(RetentionRun.objects.order_by("-id").values_list("counts", flat=True).first())
        return redact(**kwargs)

    monkeypatch.setattr(engine, "audit_redact", redact_then_time_up)
    with at(212), pytest.raises(SoftTimeLimitExceeded):
        retention_run_task.apply().get()
    assert Application.objects.filter(pk__in=[draft.pk, second.pk]).count() == 1  # one erased, committed
    latest = RetentionRun.objects.order_by("-id").first()
    erased = {"reminded": 0, "erased": 1, "audit_events_redacted": 1}
    assert latest.counts == {"draft_application": erased} and latest.stopped and latest.finished_at is not None
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_RUN, target_id=str(latest.pk))
    assert event.new_values == {"counts": {"draft_application": erased}, "stopped": True}
    body = signed_in(make_superadmin(email="root@sandes.nic.in")).get("/portal/privacy/retention/").content.decode()
    assert "No policy enabled." not in body
    assert "stopped before its end: what it left is done at the next run" in body


def test_a_run_killed_halfway_has_saved_the_counts_of_each_batch_it_committed(draft, monkeypatch):
    """A worker killed during the run (no time to record anything) leaves the counts of the
    batches it committed on the run, which the page shows as not finished."""
    from portal.privacy import retention as engine

    only(RetentionKind.DRAFT_APPLICATION)
    with at(0):
        ApplicationFactory(status="draft", reference=None, submitted_at=None)
    run(181)
    redact, seen = engine.audit_redact, []

    def redact_and_look(**kwargs):
        seen.append(RetentionRun.objects.order_by("-id").values_list("counts", flat=True).first())
        return redact(**kwargs)

    monkeypatch.setattr(engine, "audit_redact", redact_and_look)
    run(212, batch_size=1)
    assert seen[1] == {"draft_application": {"reminded": 0, "erased": 1, "audit_events_redacted": 1}}
    RetentionRun.objects.create(started_at=T0 + timedelta(days=213), counts=seen[1])  # as a killed run leaves it
    body = signed_in(make_superadmin(email="root@sandes.nic.in")).get("/portal/privacy/retention/").content.decode()
    assert "not finished: under way, or cut short" in body


def test_a_rule_that_fails_leaves_the_later_rules_to_run_and_the_run_says_which_failed(closed, monkeypatch):
    """The closed applications' rule meets an error: the rules after it (revoked verification
    records) still run that day; the run and its audit event say which failed, and the page
    shows it."""
    from portal.privacy import retention as engine

    RetentionPolicy.objects.exclude(kind__in=[RetentionKind.CLOSED_APPLICATION,
                                              RetentionKind.REVOKED_VERIFICATION]).update(enabled=False)
    with at(0):
        revoked = GovernmentProfileFactory(status=VerificationStatus.REVOKED, verified_name="Asha Kulkarni")
    redact = engine.audit_redact

    def redact_or_fail(**kwargs):
        if kwargs["purpose"] == "retention:closed_application":
            raise RuntimeError("the storage is down")
        return redact(**kwargs)

    monkeypatch.setattr(engine, "audit_redact", redact_or_fail)
    with at(1096):
        latest = retention_run()
    assert GovernmentProfile.objects.get(pk=revoked.pk).verified_name == ""
    assert latest.failed == ["closed_application"] and not latest.stopped
    assert latest.counts["closed_application"]["erased"] == 0 and latest.counts["revoked_verification"]["erased"] == 1
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_RUN)
    assert event.new_values == {"counts": latest.counts, "failed": ["closed_application"]}
    body = signed_in(make_superadmin(email="root@sandes.nic.in")).get("/portal/privacy/retention/").content.decode()
    assert body.count("failed: the server log says why") == 1


def test_queries_per_batch_are_constant():
    only(RetentionKind.REVOKED_VERIFICATION)

    def queries(n):
        with at(0):
            for _ in range(n):
                profile = GovernmentProfileFactory(status=VerificationStatus.REVOKED)
                audit_record(actor=None, action=AuditAction.VERIFICATION_REVOKED, target=profile, actor_role="system")
        with CaptureQueriesContext(connection) as context, at(366):
            retention_run(batch_size=3)
        return len(context)

    empty, one_batch, two_batches, three_batches = queries(0), queries(3), queries(6), queries(9)
    per_batch = two_batches - one_batch
    assert per_batch == three_batches - two_batches and one_batch > empty
    assert per_batch < 40
