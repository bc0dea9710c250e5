"""Reminders before the due date and escalation after it, with the clock moved
forward; running the job again (or again later) sends nothing twice; the sweep's
number of queries does not depend on the number of steps."""

import email
import email.policy
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from onboarding.application import pdf, services
from onboarding.approval import deadlines
from onboarding.approval import services as approvals
from onboarding.approval.timings import approval_timings, approval_timings_update
from onboarding.models import (
    ApplicationDocument,
    ApplicationStatus,
    ApprovalStep,
    ApprovalTimings,
    AuthorityToken,
    DocumentKind,
    Stage,
)
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from tests.factories import (
    ApplicationFactory,
    ApprovalStepFactory,
    PlatformRoleFactory,
    UserFactory,
    application_with_authority,
    application_with_state,
)
from tests.onboarding.approval_helpers import (
    AUTHORITY_EMAIL,
    DEVANAGARI_RE,
    IS_POSTGRESQL,
    appeal_confirmed,
    latest_link,
    make_state_admin,
    make_superadmin,
    messages_to,
    run_beat_jobs,
    signed_in,
    state_step,
    submitted_application,
)
from tests.onboarding_data import VALID
from tests.smtp import text_of

pytestmark = pytest.mark.django_db


def english(subject):
    return subject.split(" / ")[0]


def english_subjects(address):
    return [english(m.subject) for m in messages_to(address)]


def due(step):
    """The day a step is due, as the English mail writes it (India's time)."""
    return f"{timezone.localtime(step.due_at):%-d %B %Y}"


def run_sweep():
    """The real Celery beat tasks (run in-process in tests), their results together."""
    return run_beat_jobs()


@pytest.fixture
def people(db):
    return {
        "mh": make_state_admin("MH", email="admin.mh@maharashtra.gov.in"),
        "ka": make_state_admin("KA", email="admin.ka@karnataka.gov.in"),
        "central": make_state_admin("CENTRAL", email="admin.central@nic.in"),
        "root": make_superadmin(email="root@nic.in"),
    }


def test_authority_reminder_with_a_new_link_then_escalation_to_the_state_each_once(officer, people):
    # Sent on 5 March at 10:00 (India): due by the end of 12 March, reminded on 10 March.
    start = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(start, tick=False):
        application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    first_path, _first = latest_link()

    with time_machine.travel(start + timedelta(days=4, hours=13, minutes=59), tick=False):  # 9 March, 23:59
        assert run_sweep() == {"reminded": 0, "escalated": 0, "rejections_final": 0, "letters": 0}
    assert len(messages_to(AUTHORITY_EMAIL)) == 1

    with time_machine.travel(start + timedelta(days=5, hours=1), tick=False):
        assert run_sweep() == {"reminded": 1, "escalated": 0, "rejections_final": 0, "letters": 0}
        assert run_sweep() == {"reminded": 0, "escalated": 0, "rejections_final": 0, "letters": 0}
        reminders = [m for m in messages_to(AUTHORITY_EMAIL) if m.subject.startswith("Reminder")]
        assert len(reminders) == 1 and reminders[0].reply_to == []
        assert f"write to them at {officer.email}" in reminders[0].body
        new_path, _token = latest_link()
        assert new_path != first_path
        # The first link still works until it expires (a page may be open on it, remarks
        # typed), and the reminder says so; the reminder's outlives the due date.
        english, _sep, marathi = reminders[0].body.partition("\n----------\n")
        expires = timezone.localtime(AuthorityToken.objects.filter(step=step).latest("created_at").expires_at)
        assert "no longer works" not in english
        assert "The one sent to you earlier also still works until it expires" in " ".join(english.split())
        assert f"This new link works until {expires:%-d %B %Y, %H:%M}:" in " ".join(english.split())
        assert "आधी पाठवलेली लिंकही तिची मुदत संपेपर्यंत चालते" in marathi
        assert Client().get(first_path, follow=True).status_code == 200
        assert Client().get(new_path, follow=True).status_code == 200
        step.refresh_from_db()
        assert step.reminded_at == start + timedelta(days=5, hours=1) and step.escalated_at is None
        assert AuthorityToken.objects.filter(step=step, superseded_at__isnull=True).count() == 2
        assert AuthorityToken.objects.filter(step=step).latest("created_at").expires_at > step.due_at

    with time_machine.travel(start + timedelta(days=6), tick=False):
        assert run_sweep()["reminded"] == 0

    with time_machine.travel(start + timedelta(days=7, hours=14, minutes=1), tick=False):  # 13 March, 00:01
        assert run_sweep() == {"reminded": 0, "escalated": 1, "rejections_final": 0, "letters": 0}
        assert run_sweep() == {"reminded": 0, "escalated": 0, "rejections_final": 0, "letters": 0}
    with time_machine.travel(start + timedelta(days=30), tick=False):
        assert run_sweep() == {"reminded": 0, "escalated": 0, "rejections_final": 0, "letters": 0}

    assert english_subjects("admin.mh@maharashtra.gov.in") == [f"Overdue and escalated: application {application.reference}"]
    escalation = messages_to("admin.mh@maharashtra.gov.in")[0]
    assert AUTHORITY_EMAIL in escalation.body
    assert messages_to("admin.ka@karnataka.gov.in") == [] and messages_to("root@nic.in") == []
    actions = list(AuditEvent.objects.filter(action__in=[AuditAction.STEP_REMINDED, AuditAction.STEP_ESCALATED])
                   .values_list("action", "target_id"))
    assert actions == [(AuditAction.STEP_REMINDED, str(application.pk)), (AuditAction.STEP_ESCALATED, str(application.pk))]
    assert audit_verify() == []

    # The state administrators see it as overdue in their queue.
    with time_machine.travel(start + timedelta(days=8), tick=False):
        client = signed_in(people["mh"])
        html = client.get("/onboarding/queue/").content.decode()
    assert "Overdue with the competent authority" in html and application.reference in html and AUTHORITY_EMAIL in html


def test_state_step_reminder_to_the_state_then_escalation_to_the_superadmins(officer, people):
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    opened = step.opened_at
    before_mh = len(messages_to("admin.mh@maharashtra.gov.in"))
    with time_machine.travel(opened + timedelta(days=8, hours=1), tick=False):
        assert run_sweep()["reminded"] == 1
        assert run_sweep()["reminded"] == 0
    assert english_subjects("admin.mh@maharashtra.gov.in")[before_mh:] == [
        f"Reminder: decision due by {due(step)} on application {application.reference}"
    ]
    with time_machine.travel(step.due_at + timedelta(seconds=1), tick=False):  # the end of the day 10 days on
        assert run_sweep()["escalated"] == 1
        assert run_sweep()["escalated"] == 0
    assert english_subjects("root@nic.in") == [f"Overdue and escalated: application {application.reference}"]
    assert f"/onboarding/queue/{step.pk}/" in messages_to("root@nic.in")[0].body
    assert len(messages_to("admin.mh@maharashtra.gov.in")) == before_mh + 1


def test_central_bodies_go_to_the_central_administrators(people):
    officer = UserFactory(email="nodal@mha.gov.in")
    data = {**VALID,
            "organisation": dict(VALID["organisation"], level="central", state="", email_domains="mha.gov.in",
                                 name="Department of Official Language"),
            "competent_authority": dict(VALID["competent_authority"], official_email="secretary@mha.gov.in"),
            "integration": dict(VALID["integration"], tech_email="tech@mha.gov.in")}
    application = submitted_application(officer, data)
    assert application.jurisdiction == "CENTRAL"
    step = ApprovalStep.objects.get(application=application)
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    assert len(messages_to("admin.central@nic.in")) == 1
    assert messages_to("admin.mh@maharashtra.gov.in") == []


def test_without_state_administrators_escalation_goes_to_the_superadmins(officer):
    root = make_superadmin(email="root@nic.in")
    make_state_admin("KA")
    application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    assert english_subjects(root.email) == [f"Overdue and escalated: application {application.reference}"]


def test_an_overdue_authority_is_not_escalated_to_its_own_address(officer):
    """The competent authority's mailbox is also the state's only administrator: its overdue
    step is escalated to the superadmins, not to the authority itself alone (it would then
    decide the state step, which it may not). With another state administrator, to them."""
    make_state_admin("MH", email=AUTHORITY_EMAIL)
    root = make_superadmin(email="root@nic.in")
    application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    [escalation] = [m for m in OutboxMessage.objects.all() if english(m.subject).startswith("Overdue and escalated")]
    assert escalation.to == [root.email]
    other = make_state_admin("MH", email="admin.mh@maharashtra.gov.in")
    second = application_with_authority(nodal_officer=UserFactory(email="nodal.two@mahaagri.gov.in"))
    with time_machine.travel(ApprovalStep.objects.get(application=second).due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    assert english_subjects(other.email) == [f"Overdue and escalated: application {second.reference}"]
    assert f"Overdue and escalated: application {second.reference}" not in english_subjects(AUTHORITY_EMAIL)


def test_appeal_reminder_and_escalation_go_to_the_superadmins(officer, people):
    application = application_with_authority(nodal_officer=officer)
    Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not ours.", "confirm": "on"})
    appeal = approvals.application_appeal(application_id=application.pk, grounds="It is ours.", actor=officer)
    before = len(messages_to("root@nic.in"))
    with time_machine.travel(appeal.due_at - timedelta(days=1), tick=False):
        assert run_sweep()["reminded"] == 1
    with time_machine.travel(appeal.due_at + timedelta(days=1), tick=False):
        assert run_sweep()["escalated"] == 1
        assert run_sweep()["escalated"] == 0
    subjects = english_subjects("root@nic.in")[before:]
    assert subjects == [f"Reminder: decision due by {due(appeal)} on application {application.reference}",
                        f"Overdue and escalated: application {application.reference}"]
    assert f"/onboarding/appeals/{appeal.pk}/" in messages_to("root@nic.in")[-1].body


def test_reminders_and_escalations_leave_out_those_who_may_not_decide(officer, people):
    """The nodal officer is also Maharashtra's state administrator and a superadmin: the
    reminders and escalations of their own application go to the others, who may decide
    it. So does the appeal against a rejection by a competent authority who is a
    superadmin: not to them, nor to the officer."""
    PlatformRoleFactory(user=officer, role="state_admin", jurisdiction="MH")
    PlatformRoleFactory(user=officer, role="superadmin", jurisdiction="")
    waiting = application_with_authority(nodal_officer=officer)
    with time_machine.travel(ApprovalStep.objects.get(application=waiting).due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    with_state = application_with_state(nodal_officer=officer)
    step = state_step(with_state)
    with time_machine.travel(step.due_at - timedelta(days=1), tick=False):
        assert run_sweep()["reminded"] == 1
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    authority = make_superadmin(email=AUTHORITY_EMAIL)
    rejected = application_with_authority(nodal_officer=officer)
    Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not ours.", "confirm": "on"})
    appeal = approvals.application_appeal(application_id=rejected.pk, grounds="It is ours.", actor=officer)
    with time_machine.travel(appeal.due_at - timedelta(days=1), tick=False):
        assert run_sweep()["reminded"] == 1
    with time_machine.travel(appeal.due_at + timedelta(days=1), tick=False):
        assert run_sweep()["escalated"] == 1
    told = [(english(m.subject), m.to) for m in OutboxMessage.objects.order_by("id")
            if english(m.subject).startswith(("New application", "Appeal to decide", "Reminder: decision due", "Overdue"))]
    assert told == [
        (f"Overdue and escalated: application {waiting.reference}", ["admin.mh@maharashtra.gov.in"]),
        (f"New application in your approval queue: {with_state.reference}", ["admin.mh@maharashtra.gov.in"]),
        (f"Reminder: decision due by {due(step)} on application {with_state.reference}", ["admin.mh@maharashtra.gov.in"]),
        (f"Overdue and escalated: application {with_state.reference}", ["root@nic.in"]),
        (f"Appeal to decide: application {rejected.reference}", ["root@nic.in"]),
        (f"Reminder: decision due by {due(appeal)} on application {rejected.reference}", ["root@nic.in"]),
        (f"Overdue and escalated: application {rejected.reference}", ["root@nic.in"]),
    ]
    assert officer.email not in str(told) and authority.email not in str(told)


def test_a_state_administrator_of_everywhere_is_told_of_the_state_steps_they_decide(officer):
    """A state administrator granted every jurisdiction decides the state steps of all of
    them (their queue lists them): they are told of a new one, of its reminder and of an
    escalated competent authority's step, with those of its own jurisdiction; where a
    jurisdiction has no administrator of its own, they are told instead of the superadmins.
    The reminders and the escalation of one run come in one mail to each."""
    everywhere = make_state_admin("", email="admin.india@nic.in")
    make_state_admin("MH", email="admin.mh@maharashtra.gov.in")
    make_superadmin(email="root@nic.in")
    in_mh = application_with_state(nodal_officer=officer)
    in_ka = application_with_state(nodal_officer=UserFactory(email="nodal@agri.karnataka.gov.in"), jurisdiction="KA")
    waiting = application_with_authority(nodal_officer=UserFactory(email="nodal.two@mahaagri.gov.in"))
    with time_machine.travel(state_step(in_mh).due_at - timedelta(days=1), tick=False):  # the authority's overdue
        assert run_sweep() == {"reminded": 2, "escalated": 1, "rejections_final": 0, "letters": 0}
    told = sorted((english(m.subject), m.to) for m in OutboxMessage.objects.all()
                  if english(m.subject).startswith(("New application", "Reminder: decision", "Overdue")))
    both = ["admin.india@nic.in", "admin.mh@maharashtra.gov.in"]
    assert told == sorted([
        (f"New application in your approval queue: {in_mh.reference}", both),
        (f"New application in your approval queue: {in_ka.reference}", ["admin.india@nic.in"]),
        ("Overdue and escalated: 1 application, and 2 due soon", ["admin.india@nic.in"]),
        ("Overdue and escalated: 1 application, and 1 due soon", ["admin.mh@maharashtra.gov.in"]),
    ])
    [india] = [m.body for m in messages_to("admin.india@nic.in") if m.subject.startswith("Overdue")]
    [mh] = [m.body for m in messages_to("admin.mh@maharashtra.gov.in") if m.subject.startswith("Overdue")]
    for reference in (in_mh.reference, in_ka.reference, waiting.reference):
        assert reference in india
    assert in_mh.reference in mh and waiting.reference in mh and in_ka.reference not in mh
    queue = signed_in(everywhere).get("/onboarding/queue/").content.decode()
    assert in_mh.reference in queue and in_ka.reference in queue
    approvals.step_decide(step_id=state_step(in_ka).pk, decision="approve", actor=everywhere)


def test_a_sweep_that_missed_the_reminder_window_only_escalates(officer, people):
    application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    with time_machine.travel(step.due_at + timedelta(days=3), tick=False):
        assert run_sweep() == {"reminded": 0, "escalated": 1, "rejections_final": 0, "letters": 0}
    step.refresh_from_db()
    assert step.reminded_at is None and step.escalated_at is not None


def test_decided_and_withdrawn_steps_are_left_alone(officer, people):
    decided = application_with_authority(nodal_officer=officer)
    Client().post(latest_link()[0], {"decision": "return", "remarks": "Fix it."})
    other_officer = UserFactory(email="another.officer@mahaagri.gov.in")
    withdrawn = application_with_authority(nodal_officer=other_officer)
    services.application_withdraw(application_id=withdrawn.pk, actor=other_officer)
    count = OutboxMessage.objects.count()
    with time_machine.travel(timezone.now() + timedelta(days=60), tick=False):
        assert run_sweep() == {"reminded": 0, "escalated": 0, "rejections_final": 0, "letters": 0}
    assert OutboxMessage.objects.count() == count
    assert not ApprovalStep.objects.filter(application__in=[decided, withdrawn], reminded_at__isnull=False).exists()


def test_the_sweep_issues_an_approval_letter_that_was_not_queued(officer, people):
    """Final approval queues the letter after commit; if that was lost (broker
    down), the sweep issues it, once."""
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    approvals.step_decide(step_id=step.pk, decision="approve", actor=people["mh"])  # on_commit never runs here
    assert not ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).exists()
    assert run_sweep()["letters"] == 1
    assert run_sweep()["letters"] == 0
    assert sorted(ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER)
                  .values_list("language", flat=True)) == sorted(["en", pdf.document_languages(application)[1]])
    assert len([m for m in OutboxMessage.objects.all() if m.subject.startswith("Approval letter")]) == 1


def _open_steps(count, now, people):
    """``count`` state steps due for a reminder, ``count`` authority steps and
    ``count`` state steps overdue, spread over three jurisdictions."""
    jurisdictions = ["MH", "KA", "CENTRAL"]
    for i in range(count):
        jurisdiction = jurisdictions[i % 3]
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction=jurisdiction), stage=Stage.STATE,
                            opened_at=now - timedelta(days=9), due_at=now + timedelta(days=1))
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction=jurisdiction, status="with_authority"),
                            stage=Stage.AUTHORITY, assignee_email=f"authority{i}@dept.gov.in",
                            opened_at=now - timedelta(days=8), due_at=now - timedelta(days=1))
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction=jurisdiction), stage=Stage.STATE,
                            opened_at=now - timedelta(days=11), due_at=now - timedelta(hours=1))
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction=jurisdiction, status="with_authority"),
                            stage=Stage.AUTHORITY, assignee_email=f"soon{i}@dept.gov.in",
                            opened_at=now - timedelta(days=6), due_at=now + timedelta(hours=12))


# Queries of one sweep that has work, whatever the number of steps:
#   the approval timings (the reminder day of the steps opened under each), savepoint, select+lock reminders, update reminded_at, select+lock escalations,
#   update escalated_at, the official-email rules and the reminded authorities' applications'
#   nodal officers' addresses (an authority whose address can no longer decide, or has become
#   the officer's own, gets no reminder), insert new links (the old ones stay until they expire), state admins,
#   superadmins, their accounts' addresses, the applications' nodal officers' addresses (their
#   accounts' and those typed in the form: an administrator's account on one of them is the
#   officer, who decides nothing on their own application) and the applications' decided steps
#   (who may not decide: left out of the mail), the accounts of those told and the languages
#   they are known by (two: the one chosen on the account, then the one last asked to be
#   verified in; each decider's mail is in English and theirs), insert outbox rows,
#   savepoint (audit), lock the audit chain head, insert audit rows, move the chain head,
#   release audit savepoint, release savepoint; on PostgreSQL also the advisory lock that
#   serialises appends to the audit chain.
SWEEP_QUERIES = 24 + IS_POSTGRESQL


@pytest.mark.parametrize("count", [1, 30])
def test_the_sweep_uses_the_same_number_of_queries_for_1_or_many_steps(people, count, django_assert_num_queries):
    now = timezone.now()
    _open_steps(count, now, people)
    with django_assert_num_queries(SWEEP_QUERIES):
        result = deadlines.deadline_sweep(now=now)
    assert result == {"reminded": 2 * count, "escalated": 2 * count}
    # One mail per authority reminded (its own link), and one to each decider told: of a
    # single jurisdiction's steps (Maharashtra's administrators and the superadmins) for 1,
    # of all three's for 30.
    deciders = 2 if count == 1 else 4
    assert OutboxMessage.objects.count() == count + deciders
    assert AuditEvent.objects.count() == 4 * count
    assert AuthorityToken.objects.count() == count
    with django_assert_num_queries(5):  # the timings, savepoint, two selects that find nothing, release
        assert deadlines.deadline_sweep(now=now) == {"reminded": 0, "escalated": 0}
    assert audit_verify() == []


def test_the_task_sweeps_in_batches_until_nothing_is_left(people, settings):
    settings.ONBOARDING_SWEEP_BATCH = 2
    now = timezone.now()
    for _ in range(5):
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage=Stage.STATE,
                            opened_at=now - timedelta(days=9), due_at=now + timedelta(days=1))
    assert run_sweep() == {"reminded": 5, "escalated": 0, "rejections_final": 0, "letters": 0}
    assert run_sweep() == {"reminded": 0, "escalated": 0, "rejections_final": 0, "letters": 0}
    # One mail a batch (of 2 steps, 2 steps and 1 step).
    # (A single step's own reminder names its day: "Reminder: decision due by 6 December 2026 on application ...".)
    due = f"{timezone.localtime(now + timedelta(days=1)):%-d %B %Y}"
    assert [english(m.subject).split(" application")[0] for m in messages_to("admin.mh@maharashtra.gov.in")] == [
        "Reminder: decisions due on 2", "Reminder: decisions due on 2", f"Reminder: decision due by {due} on"]
    assert not ApprovalStep.objects.filter(reminded_at__isnull=True).exists()


def test_a_batch_of_authorities_no_longer_eligible_does_not_stop_the_task_before_the_rest(people, settings):
    """A full batch claimed only authorities' steps left out of reminders (their domain made a
    contractor's since): nothing was sent, but the batch was full, so another follows and the
    state steps after them are reminded in the same run."""
    from portal.accounts.models import EmailSuffixRule, SuffixKind

    settings.ONBOARDING_SWEEP_BATCH = 2
    EmailSuffixRule.objects.create(suffix="contractor.gov.in", kind=SuffixKind.CONTRACTOR, note="reclassified")
    now = timezone.now()
    for i in range(2):  # the lower ids: claimed first
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH", status=ApplicationStatus.WITH_AUTHORITY),
                            stage=Stage.AUTHORITY, assignee_email=f"director{i}@contractor.gov.in",
                            opened_at=now - timedelta(days=6), due_at=now + timedelta(days=1))
    for _ in range(3):
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage=Stage.STATE,
                            opened_at=now - timedelta(days=9), due_at=now + timedelta(days=1))
    assert run_sweep() == {"reminded": 3, "escalated": 0, "rejections_final": 0, "letters": 0}
    assert not ApprovalStep.objects.filter(reminded_at__isnull=True).exists()
    # The state steps' batches after the authorities': one mail each (2 steps, then 1).
    told = [english(m.subject) for m in messages_to("admin.mh@maharashtra.gov.in")]
    assert len(told) == 2 and told[0] == "Reminder: decisions due on 2 applications"


def test_a_rejection_becomes_final_once_the_appeal_period_ends_without_an_appeal(officer, people):
    ApprovalTimings.objects.update(appeal_window_days=30)
    application = application_with_authority(nodal_officer=officer)
    Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not a government body.", "confirm": "on"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    rejected_at = ApprovalStep.objects.get(application=application).decided_at

    # Until the end of the day the officer was told (30 days after the rejection's day).
    until = deadlines.appeal_until(rejected_at)
    assert timezone.localdate(until) == timezone.localdate(rejected_at) + timedelta(days=30)
    for moment in (rejected_at + timedelta(days=29), until):
        with time_machine.travel(moment, tick=False):
            assert run_sweep()["rejections_final"] == 0
            application.refresh_from_db()
            assert application.status == ApplicationStatus.REJECTED  # may still appeal
    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        assert run_sweep()["rejections_final"] == 1
        assert run_sweep()["rejections_final"] == 0
        assert deadlines.rejections_finalise() == 0
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED_FINAL
    assert application.closed_at is not None
    finals = [s for s in english_subjects(officer.email) if s.endswith("rejection final")]
    assert finals == [f"Application {application.reference}: rejection final"]
    events = AuditEvent.objects.filter(action=AuditAction.APPLICATION_REJECTION_FINAL, target_id=str(application.pk))
    assert [(e.old_values, e.new_values) for e in events] == [
        ({"status": "rejected"}, {"status": "rejected_final"})
    ]
    assert audit_verify() == []
    # Final: no appeal any more.
    client = signed_in(officer)
    response = client.post(f"/onboarding/{application.pk}/appeal/", {"grounds": "Please reconsider.", "step": "save"})
    assert response.status_code == 200 and "cannot be appealed now" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED_FINAL


def test_an_appealed_rejection_is_not_made_final_by_the_sweep(officer, people):
    application = application_with_authority(nodal_officer=officer)
    Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not a government body.", "confirm": "on"})
    approvals.application_appeal(application_id=application.pk, grounds="We are a state directorate.", actor=officer)
    rejected_at = ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY).decided_at
    with time_machine.travel(rejected_at + timedelta(days=approval_timings().appeal_window_days + 1), tick=False):
        assert run_sweep()["rejections_final"] == 0
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL


def test_the_whole_last_day_the_officer_was_told_is_theirs_to_appeal(officer, people):
    """Rejected on 1 March at 10:00 (India), told "until 31 March": at 15:00 on 31 March
    the hourly job leaves the rejection open and the appeal is taken (it used to end at
    10:00 that day, the job making the rejection final in the middle of the day given)."""
    ApprovalTimings.objects.update(appeal_window_days=30)
    ist = ZoneInfo("Asia/Kolkata")
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=ist), tick=False):
        application = application_with_authority(nodal_officer=officer)
        Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not a government body.", "confirm": "on"})
    [told] = [m for m in messages_to(officer.email) if "rejected" in m.subject]
    assert "until 31 March 2026" in told.body
    with time_machine.travel(datetime(2026, 3, 31, 23, 59, tzinfo=ist), tick=False):
        assert deadlines.rejections_finalise() == 0
        response = appeal_confirmed(signed_in(officer), application, "We are a directorate.")
        assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL


def test_the_whole_day_an_authority_was_told_to_decide_by_is_theirs(officer, people):
    """Submitted on 5 March at 10:00 (India), the authority told "by 12 March": at noon on
    12 March the step is neither escalated nor shown as overdue, and the first link still
    works until that day ends; once it has ended the step is escalated (it used to be at
    10:00 on 12 March, in the middle of the day given)."""
    ist = ZoneInfo("Asia/Kolkata")
    with time_machine.travel(datetime(2026, 3, 5, 10, 0, tzinfo=ist), tick=False):
        application = submitted_application(officer)
    step = ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY)
    assert "12 March 2026" in messages_to(AUTHORITY_EMAIL)[0].body
    first_path, _token = latest_link()
    assert AuthorityToken.objects.get(step=step).expires_at >= step.due_at
    with time_machine.travel(datetime(2026, 3, 12, 12, 0, tzinfo=ist), tick=False):
        assert deadlines.deadline_sweep()["escalated"] == 0
        assert not step.is_overdue()
        assert "Overdue" not in signed_in(officer).get(f"/onboarding/{application.pk}/").content.decode()
    with time_machine.travel(datetime(2026, 3, 12, 23, 59, tzinfo=ist), tick=False):
        assert Client().get(first_path, follow=True).status_code == 200
    with time_machine.travel(datetime(2026, 3, 13, 0, 1, tzinfo=ist), tick=False):
        assert deadlines.deadline_sweep()["escalated"] == 1
        step.refresh_from_db()
        assert step.is_overdue()


def test_no_reminder_or_new_link_goes_to_an_authority_whose_domain_is_no_longer_eligible(officer, people):
    """The authority's domain is made a contractor's after the link was sent: the sweep sends
    it no reminder and no new link; the step is still escalated once overdue."""
    from portal.accounts.models import EmailSuffixRule, SuffixKind

    application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    EmailSuffixRule.objects.create(suffix="mahaagri.gov.in", kind=SuffixKind.CONTRACTOR, note="reclassified")
    with time_machine.travel(step.due_at - timedelta(days=1), tick=False):
        assert run_sweep()["reminded"] == 0
    assert len(messages_to(AUTHORITY_EMAIL)) == 1 and AuthorityToken.objects.filter(step=step).count() == 1
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    assert len(messages_to(AUTHORITY_EMAIL)) == 1
    assert english_subjects("admin.mh@maharashtra.gov.in") == [f"Overdue and escalated: application {application.reference}"]


def test_no_reminder_or_new_link_goes_to_an_authority_address_that_has_become_the_officers_own(officer, people):
    """The officer adds the authority's mailbox to their account after submitting: its link
    decides nothing, so the sweep sends it no reminder and no new link; the step is still
    escalated once overdue."""
    from allauth.account.models import EmailAddress

    application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    EmailAddress.objects.create(user=officer, email=AUTHORITY_EMAIL, verified=False, primary=False)
    with time_machine.travel(step.due_at - timedelta(days=1), tick=False):
        assert run_sweep()["reminded"] == 0
    assert len(messages_to(AUTHORITY_EMAIL)) == 1 and AuthorityToken.objects.filter(step=step).count() == 1
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        assert run_sweep()["escalated"] == 1
    assert english_subjects("admin.mh@maharashtra.gov.in") == [f"Overdue and escalated: application {application.reference}"]


def test_an_authority_with_the_page_open_decides_after_the_reminder(officer, people):
    """The reminder's new link does not close the page the authority has open: the
    decision typed there is recorded, and then neither link decides again."""
    start = timezone.now()
    application = application_with_authority(nodal_officer=officer)
    first_path, _first = latest_link()
    reviewer = Client()
    with time_machine.travel(start + timedelta(days=5, hours=1), tick=False):
        assert reviewer.get(first_path, follow=True).status_code == 200
        assert run_sweep()["reminded"] == 1
        new_path, _token = latest_link()
        response = reviewer.post("/onboarding/review/", {"decision": "return", "remarks": "Attach the signed letter."})
        assert response.status_code == 302 and response["Location"] == "/onboarding/review/done/"
        application.refresh_from_db()
        assert application.status == ApplicationStatus.CHANGES_REQUESTED
        assert Client().get(new_path).status_code == 410 and Client().get(first_path).status_code == 410


def test_each_decider_gets_one_mail_a_run_listing_their_steps_and_each_authority_its_own(people, settings):
    """2,000 applications waiting in a state's queue came due: the sweep mailed every state
    administrator one reminder per application, and every superadmin one escalation per
    overdue one, thousands a day each, in which the one that matters is lost. Each decider
    now gets one mail a run listing their steps, most urgent first, at most
    DECISIONS_LISTED (50) of each kind and the rest counted, with the queue's link; each
    step is still marked and audited, once. The competent authorities' mails, each with its
    own link, stay one per step. (60 steps here.)"""
    now = timezone.now()
    due_soon = [ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage=Stage.STATE,
                                    opened_at=now - timedelta(days=8), due_at=now + timedelta(days=1, minutes=i))
                for i in range(57)]
    overdue = [ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage=Stage.STATE,
                                   opened_at=now - timedelta(days=11), due_at=now - timedelta(hours=1 + i))
               for i in range(3)]
    authorities = [ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH", status="with_authority"),
                                       stage=Stage.AUTHORITY, assignee_email=f"director{i}@mahaagri.gov.in",
                                       opened_at=now - timedelta(days=6), due_at=now + timedelta(hours=12))
                   for i in range(2)]
    before = OutboxMessage.objects.count()
    assert deadlines.deadline_sweep(now=now) == {"reminded": 59, "escalated": 3}
    assert deadlines.deadline_sweep(now=now) == {"reminded": 0, "escalated": 0}
    sent = list(OutboxMessage.objects.order_by("id")[before:])
    mh, root = people["mh"].email, people["root"].email
    [to_state] = [m for m in sent if mh in m.to]
    [to_root] = [m for m in sent if root in m.to]
    assert to_state.to == [mh] and to_root.to == [root]
    for i, step in enumerate(authorities):
        [own] = [m for m in sent if step.assignee_email in m.to]
        assert own.to == [f"director{i}@mahaagri.gov.in"] and english(own.subject).startswith("Reminder")
    assert len(sent) == 4

    # The state administrators: the 57 due soon, the 50 due first listed, the rest counted.
    assert english(to_state.subject) == "Reminder: decisions due on 57 applications"
    english_body = to_state.body.partition("\n----------\n")[0]
    listed = [step for step in due_soon if step.application.reference in english_body]
    assert listed == due_soon[:50]
    first = due_soon[0]
    assert (f"- {first.application.reference}, {first.application.organisation_name} (State or central administrators), due "
            f"{timezone.localtime(first.due_at):%-d %B %Y}: {settings.SITE_URL}/onboarding/queue/{first.pk}/"
            in english_body)
    assert f"… and 7 more, in your approval queue: {settings.SITE_URL}/onboarding/queue/" in english_body
    assert DEVANAGARI_RE.search(to_state.body.partition("\n----------\n")[2])  # Marathi, for Maharashtra
    # The superadmins: the 3 overdue, escalated to them, most overdue first.
    assert english(to_root.subject) == "Overdue and escalated: 3 applications"
    root_body = to_root.body.partition("\n----------\n")[0]
    positions = [root_body.index(step.application.reference) for step in reversed(overdue)]
    assert positions == sorted(positions) and "more, in your approval queue" not in root_body

    # Every step marked and audited as before, to whom it was told.
    assert not ApprovalStep.objects.filter(pk__in=[s.pk for s in due_soon + authorities], reminded_at=None).exists()
    assert not ApprovalStep.objects.filter(pk__in=[s.pk for s in overdue], escalated_at=None).exists()
    told = {event.new_values["step"]: event.new_values["to"] for event in AuditEvent.objects.filter(
        action__in=[AuditAction.STEP_REMINDED, AuditAction.STEP_ESCALATED])}
    assert told == {**{s.pk: [mh] for s in due_soon}, **{s.pk: [root] for s in overdue},
                    **{s.pk: [s.assignee_email] for s in authorities}}
    assert audit_verify() == []
def test_the_subjects_that_ask_for_a_decision_say_by_when_in_each_language(people):
    """The competent authority has no account: the mail is all they have; a state
    administrator reads a list of subjects. The request and the reminders say by when,
    in the subject of each language (the day in India's time, as the body gives it): the
    authority's step opened on 1 December at 23:30 is due by the end of 8 December (in
    UTC it opened on 1 December, due at 18:29 on 8 December)."""
    start = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(start, tick=False):
        in_mh = application_with_authority(nodal_officer=UserFactory(email="nodal@mahaagri.gov.in"),
                                           organisation_name="Agriculture Department")
        in_ka = application_with_state(nodal_officer=UserFactory(email="nodal@agri.karnataka.gov.in"),
                                       jurisdiction="KA")
    authority, state = ApprovalStep.objects.get(application=in_mh), state_step(in_ka)
    assert timezone.localdate(authority.due_at).day == 8 and timezone.localdate(state.due_at).month == 12
    day = timezone.localdate(state.due_at).day
    [request] = messages_to(AUTHORITY_EMAIL)
    assert request.subject == (
        f"Decision needed by 8 December 2026: Sandes onboarding application {in_mh.reference} (Agriculture Department)"
        f" / निर्णय 8 डिसेंबर 2026 पर्यंत आवश्यक: संदेस ऑनबोर्डिंग अर्ज {in_mh.reference} (Agriculture Department)")
    for step in (authority, state):
        with time_machine.travel(timezone.localtime(step.due_at) - timedelta(days=1), tick=False):
            assert run_sweep()["reminded"] == 1
    [reminder] = messages_to(AUTHORITY_EMAIL)[1:]
    assert reminder.subject == (f"Reminder: decision needed by 8 December 2026 on application {in_mh.reference}"
                                f" / स्मरणपत्र: अर्ज {in_mh.reference} वर 8 डिसेंबर 2026 पर्यंत निर्णय आवश्यक")
    [state_reminder] = [m for m in messages_to("admin.ka@karnataka.gov.in") if m.subject.startswith("Reminder")]
    assert state_reminder.subject == (f"Reminder: decision due by {day} December 2026 on application {in_ka.reference}"
                                      f" / अनुस्मारक: आवेदन {in_ka.reference} पर निर्णय {day} दिसंबर 2026 तक देय")


def _received(smtp_server, capture, action):
    """Run ``action`` and commit (the outbox's task sends on commit); the messages the loopback
    SMTP server received meanwhile, parsed from the bytes it got, with their plain text."""
    since = len(smtp_server.envelopes)
    with capture(execute=True):
        result = action()
    received = [email.message_from_bytes(envelope.original_content, policy=email.policy.default)
                for envelope in smtp_server.envelopes[since:]]
    return result, [(str(message["Subject"]), text_of(message)) for message in received]


def _about(received, reference, start=""):
    return [(subject, body) for subject, body in received if reference in subject and subject.startswith(start)]


def test_a_change_of_the_timings_applies_to_the_steps_opened_after_it_and_not_to_those_open(
        officer, people, smtp_server, django_capture_on_commit_callbacks):
    """On 6 March a superadmin shortens the competent authority's days from 7 to 4, the
    reminder from 2 days before to 1, the appeal period from 30 days to 10, and lengthens the
    link from 7 days to 20. An application submitted on 5 March keeps what its mail said (due
    12 March, reminded on 10 March with a link of 7 days); one submitted after the change is
    due 10 March, reminded on 9 March, its links working 20 days. A rejection of 5 March may
    be appealed until 4 April, one of 6 March until 16 March. Through the real beat tasks,
    every date read from the mail the SMTP server received."""
    ist = ZoneInfo("Asia/Kolkata")
    capture = partial(_received, smtp_server, django_capture_on_commit_callbacks)

    def reject():
        Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not a government body.", "confirm": "on"})

    with time_machine.travel(datetime(2026, 3, 5, 10, 0, tzinfo=ist), tick=False):
        rejected_before, _mail = capture(lambda: submitted_application(officer))
        _none, mail = capture(reject)
        assert "until 4 April 2026" in _about(mail, rejected_before.reference, "Application")[0][1]
        before, mail = capture(lambda: submitted_application(officer))
        assert "by 12 March 2026" in _about(mail, before.reference, "Decision needed")[0][0]
    with time_machine.travel(datetime(2026, 3, 6, 10, 0, tzinfo=ist), tick=False):
        approval_timings_update(values={**approval_timings().values(), "authority_due_days": 4,
                                        "reminder_days_before": 1, "appeal_window_days": 10, "token_ttl_days": 20},
                                actor=people["root"])
    with time_machine.travel(datetime(2026, 3, 6, 11, 0, tzinfo=ist), tick=False):
        rejected_after, _mail = capture(lambda: submitted_application(officer))
        _none, mail = capture(reject)
        assert "until 16 March 2026" in _about(mail, rejected_after.reference, "Application")[0][1]
        after, mail = capture(lambda: submitted_application(officer))
        assert "by 10 March 2026" in _about(mail, after.reference, "Decision needed")[0][0]
    step_before = ApprovalStep.objects.get(application=before)
    step_after = ApprovalStep.objects.get(application=after)
    assert (timezone.localdate(step_before.due_at), timezone.localdate(step_after.due_at)) == (
        date(2026, 3, 12), date(2026, 3, 10))
    assert AuthorityToken.objects.get(step=step_before).expires_at == step_before.due_at  # 7 days: 12 March, 10:00
    assert AuthorityToken.objects.get(step=step_after).expires_at == datetime(2026, 3, 26, 11, 0, tzinfo=ist)

    # 9 March: the step opened after the change is reminded (a day before), with a link of
    # 20 days; the one opened before is not (2 days before its 12 March: the 10th).
    with time_machine.travel(datetime(2026, 3, 9, 1, 0, tzinfo=ist), tick=False):
        result, mail = capture(run_beat_jobs)
    assert result == {"reminded": 1, "escalated": 0, "rejections_final": 0, "letters": 0}
    [(subject, body)] = _about(mail, after.reference)
    assert subject.startswith("Reminder: decision needed by 10 March 2026")
    assert "This new link works until 29 March 2026, 01:00:" in " ".join(body.split())
    with time_machine.travel(datetime(2026, 3, 10, 1, 0, tzinfo=ist), tick=False):
        result, mail = capture(run_beat_jobs)
    assert result == {"reminded": 1, "escalated": 0, "rejections_final": 0, "letters": 0}
    [(subject, body)] = _about(mail, before.reference)
    assert subject.startswith("Reminder: decision needed by 12 March 2026")
    assert "This new link works until 17 March 2026, 01:00:" in " ".join(body.split())
    # Overdue once its own day has ended: the 10th for the one opened after, the 12th before.
    with time_machine.travel(datetime(2026, 3, 11, 0, 1, tzinfo=ist), tick=False):
        assert capture(run_beat_jobs)[0]["escalated"] == 1
    with time_machine.travel(datetime(2026, 3, 13, 0, 1, tzinfo=ist), tick=False):
        assert capture(run_beat_jobs)[0]["escalated"] == 1
    step_before.refresh_from_db()
    step_after.refresh_from_db()
    assert (timezone.localdate(step_after.escalated_at), timezone.localdate(step_before.escalated_at)) == (
        date(2026, 3, 11), date(2026, 3, 13))

    # The rejection decided after the change is final after 16 March; the one before after 4 April.
    with time_machine.travel(datetime(2026, 3, 16, 23, 59, tzinfo=ist), tick=False):
        assert capture(run_beat_jobs)[0]["rejections_final"] == 0
    with time_machine.travel(datetime(2026, 3, 17, 0, 1, tzinfo=ist), tick=False):
        result, mail = capture(run_beat_jobs)
    assert result["rejections_final"] == 1 and _about(mail, rejected_after.reference, "Application")
    with time_machine.travel(datetime(2026, 4, 4, 23, 59, tzinfo=ist), tick=False):
        assert capture(run_beat_jobs)[0]["rejections_final"] == 0
        response = signed_in(officer).get(f"/onboarding/{rejected_before.pk}/appeal/")
        assert "You may appeal until 4 Apr 2026, 23:59." in response.content.decode()
    with time_machine.travel(datetime(2026, 4, 5, 0, 1, tzinfo=ist), tick=False):
        assert capture(run_beat_jobs)[0]["rejections_final"] == 1
    rejected_before.refresh_from_db()
    assert rejected_before.status == ApplicationStatus.REJECTED_FINAL


def test_a_step_given_a_new_due_date_as_if_opened_now_is_reminded_by_the_timings_in_force_now(officer):
    """A state step nobody could decide opened on 5 March (state: 7 days, reminded 2 days
    before). On 6 March a superadmin changes the timings to 5 days, reminded 4 days before.
    The administrator appointed on 20 March gets it as if it opened then: due by 25 March
    (5 days, the timings now), and so reminded on 21 March (4 days before, the timings now),
    not on 23 March by the timings it first opened with."""
    ist = ZoneInfo("Asia/Kolkata")
    with time_machine.travel(datetime(2026, 3, 5, 10, 0, tzinfo=ist), tick=False):
        application = application_with_state(nodal_officer=officer)  # no administrator, no superadmin yet
    assert state_step(application).nobody_may_decide_since is not None
    with time_machine.travel(datetime(2026, 3, 6, 10, 0, tzinfo=ist), tick=False):
        root = make_superadmin(email="root@nic.in")
        approval_timings_update(values={**approval_timings().values(), "state_due_days": 5,
                                        "reminder_days_before": 4}, actor=root)
    step = state_step(application)
    with time_machine.travel(datetime(2026, 3, 20, 10, 0, tzinfo=ist), tick=False):
        make_state_admin("MH", email="admin.mh@maharashtra.gov.in")
        assert deadlines.undecided_steps_assign() == 1
    step.refresh_from_db()
    assert timezone.localdate(step.due_at) == date(2026, 3, 25)
    with time_machine.travel(datetime(2026, 3, 20, 23, 0, tzinfo=ist), tick=False):
        assert deadlines.deadline_sweep()["reminded"] == 0
    with time_machine.travel(datetime(2026, 3, 21, 1, 0, tzinfo=ist), tick=False):
        assert deadlines.deadline_sweep()["reminded"] == 1
