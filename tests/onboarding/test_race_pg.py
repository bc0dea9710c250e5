"""Races, with real concurrent transactions on PostgreSQL.

Each test starts its contenders in threads (each with its own database
connection) while a separate connection holds a lock they all need; once
PostgreSQL reports every contender waiting on that lock, the lock is released
and they race for real. PostgreSQL only (the require_postgresql fixture of
tests/conftest.py).
"""

import copy
import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from onboarding.application import services
from onboarding.approval import deadlines
from onboarding.approval import services as approvals
from onboarding.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    ApplicationVersion,
    ApprovalStep,
    AuthorityToken,
    Decision,
    DocumentKind,
    ReferenceCounter,
    Stage,
)
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY, audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import Organisation
from tests.factories import ApplicationFactory, ApprovalStepFactory, UserFactory
from tests.html_tree import form_as_sent, page
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixtures)
    AUTHORITY_EMAIL,
    TRANSACTIONAL,
    appeal_confirmation,
    authority_approved,
    filled_application,
    latest_link,
    make_state_admin,
    make_superadmin,
    official_email_rules,
    signed_in,
    state_step,
    submitted_application,
)
from tests.onboarding_data import VALID
from tests.pg_trace import other_connection

pytestmark = [
    TRANSACTIONAL,
    pytest.mark.usefixtures("require_postgresql", "official_email_rules"),
]


def _waiting_on_locks(monitor, database):
    with monitor.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
            [database],
        )
        return cursor.fetchone()[0]


def race(contenders, *, hold_sql, hold_params=(), ready=None, timeout=20, staggered=False):
    """Run the callables at once, in threads, while ``hold_sql`` holds a lock they
    need; release it once ``ready(waiting, results)`` is true (default: all of
    them wait on a lock). ``staggered``: each contender is started only once the
    ones before it wait on a lock, so that they take their first locks in that
    order (the last one may then finish without waiting, if ``ready`` allows it).
    Returns [(outcome, value)] in the contenders' order: ("ok", result) or
    ("error", exception)."""
    ready = ready or (lambda waiting, results: waiting >= len(contenders))
    results = [None] * len(contenders)
    blocker = other_connection(autocommit=False)
    monitor = other_connection(autocommit=False)
    monitor.autocommit = True
    with blocker.cursor() as cursor:
        cursor.execute(hold_sql, hold_params)

    def run(index, contender):
        try:
            results[index] = ("ok", contender())
        except Exception as exc:  # the loser's refusal is the point
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(contenders)]
    database = connection.settings_dict["NAME"]
    try:
        for started, thread in enumerate(threads):
            deadline = time.monotonic() + timeout
            while staggered and _waiting_on_locks(monitor, database) < started:
                assert time.monotonic() < deadline, f"contender {started} never waited on a lock: {results}"
                assert threads[started - 1].is_alive(), f"contender {started} finished without waiting: {results}"
                time.sleep(0.01)
            thread.start()
        deadline = time.monotonic() + timeout
        while not ready(_waiting_on_locks(monitor, database), results):
            assert time.monotonic() < deadline, "the contenders never all waited on the lock"
            assert any(t.is_alive() for t in threads), f"contenders finished without waiting: {results}"
            time.sleep(0.01)
    finally:
        blocker.commit()
        blocker.close()
        for thread in threads:
            thread.join(timeout)
        monitor.close()
    assert all(not t.is_alive() for t in threads)
    return results


def lock_application(application):
    return "SELECT id FROM onboarding_application WHERE id = %s FOR UPDATE", [application.pk]


@pytest.fixture
def with_state(officer):
    make_state_admin("MH", email="admin.one@maharashtra.gov.in")
    return authority_approved(officer)


def test_two_state_admins_deciding_at_once_give_exactly_one_decision(with_state):
    first = make_state_admin("MH", email="admin.two@maharashtra.gov.in")
    second = make_state_admin("MH", email="admin.three@maharashtra.gov.in")
    step = state_step(with_state)
    sql, params = lock_application(with_state)
    results = race([
        lambda: approvals.step_decide(step_id=step.pk, decision="approve", actor=first),
        lambda: approvals.step_decide(step_id=step.pk, decision="reject", remarks="Duplicate.", actor=second),
    ], hold_sql=sql, hold_params=params)
    outcomes = sorted(outcome for outcome, _value in results)
    assert outcomes == ["error", "ok"], results
    winner = 0 if results[0][0] == "ok" else 1
    loser_exc = results[1 - winner][1]
    assert isinstance(loser_exc, approvals.StepAlreadyDecided), loser_exc
    step.refresh_from_db()
    assert step.decision == ("approve", "reject")[winner]
    assert step.decided_by == (first, second)[winner]
    assert loser_exc.step.decided_by_email == (first, second)[winner].email
    with_state.refresh_from_db()
    assert with_state.status == (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)[winner]
    decided = AuditEvent.objects.filter(action=AuditAction.STEP_DECIDED, new_values__step=step.pk)
    assert decided.count() == 1
    assert Organisation.objects.count() == (1 if winner == 0 else 0)
    assert audit_verify() == []


def test_two_final_approvals_naming_one_short_code_make_one_organisation(officer):
    """Two applications naming the same short code, approved at the same moment by two
    administrators: each checked the code free before the other's organisation was made.
    The code's lock, taken before the check, makes the second wait and then refuse, as
    it does when they come one after the other."""
    first_admin = make_state_admin("MH", email="admin.two@maharashtra.gov.in")
    second_admin = make_state_admin("MH", email="admin.three@maharashtra.gov.in")
    first = authority_approved(officer)
    data = copy.deepcopy(VALID)
    data["organisation"].update({"name": "Directorate of Horticulture, Maharashtra", "short_code": "doa-mh",
                                 "email_domains": "horti.maharashtra.gov.in", "website": "https://horti.maharashtra.gov.in"})
    data["competent_authority"]["official_email"] = "director@horti.maharashtra.gov.in"
    data["integration"]["tech_email"] = "tech@horti.maharashtra.gov.in"
    second = authority_approved(UserFactory(email="nodal.officer@horti.maharashtra.gov.in"), data)
    # The audit chain's lock, taken once the organisation is made, is held for a moment.
    results = race([
        lambda: approvals.step_decide(step_id=state_step(first).pk, decision="approve", actor=first_admin),
        lambda: approvals.step_decide(step_id=state_step(second).pk, decision="approve", actor=second_admin),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refusal] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refusal, ValidationError), refusal
    [reason] = refusal.message_dict["decision"]
    assert "DOA-MH is already the short code of Directorate of" in reason, reason
    assert reason.endswith("Return the application for correction so that its nodal officer can choose another short "
                           "code."), reason
    assert Organisation.objects.filter(short_code__iexact="DOA-MH").count() == 1
    statuses = sorted(Application.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == sorted([ApplicationStatus.APPROVED, ApplicationStatus.WITH_STATE])
    assert audit_verify() == []


def test_two_browser_tabs_of_the_authority_link_record_one_decision(officer):
    application = submitted_application(officer)
    path, _token = latest_link()
    tabs = [Client(), Client()]
    sql, params = lock_application(application)
    results = race([
        lambda: tabs[0].post(path, {"decision": "approve", "confirm": "on"}),
        lambda: tabs[1].post(path, {"decision": "return", "remarks": "Second thoughts."}),
    ], hold_sql=sql, hold_params=params)
    responses = [value for _outcome, value in results]
    assert sorted(r.status_code for r in responses) == [302, 409], responses
    loser = next(r for r in responses if r.status_code == 409)
    html = loser.content.decode()
    assert "Already decided" in html and f"already decided by {AUTHORITY_EMAIL}" in html
    step = ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY)
    assert step.decision in (Decision.APPROVE, Decision.RETURN)
    assert AuditEvent.objects.filter(action=AuditAction.STEP_DECIDED).count() == 1
    application.refresh_from_db()
    expected = ApplicationStatus.WITH_STATE if step.decision == Decision.APPROVE else ApplicationStatus.CHANGES_REQUESTED
    assert application.status == expected
    assert ApprovalStep.objects.filter(application=application, stage=Stage.STATE).count() == (
        1 if step.decision == Decision.APPROVE else 0
    )


def test_two_admins_on_the_queue_page_one_sees_it_was_already_decided(with_state):
    admins = [make_state_admin("MH", email=f"queue.admin{i}@maharashtra.gov.in") for i in range(2)]
    clients = []
    for admin in admins:
        client = signed_in(admin)
        clients.append(client)
    step = state_step(with_state)
    url = f"/onboarding/queue/{step.pk}/"
    sql, params = lock_application(with_state)
    results = race([
        lambda: clients[0].post(url, {"decision": "return", "remarks": "Fix the PIN code."}),
        lambda: clients[1].post(url, {"decision": "return", "remarks": "Fix the address."}),
    ], hold_sql=sql, hold_params=params)
    responses = [value for _outcome, value in results]
    assert sorted(r.status_code for r in responses) == [302, 409], responses
    winner = 0 if responses[0].status_code == 302 else 1
    html = responses[1 - winner].content.decode()
    assert f"already decided by {admins[winner].email}" in html
    step.refresh_from_db()
    assert step.decided_by == admins[winner]
    assert step.remarks == ("Fix the PIN code.", "Fix the address.")[winner]
    returned = [m for m in OutboxMessage.objects.all() if "returned for correction" in m.subject]
    assert len(returned) == 1


def test_two_superadmins_hearing_one_appeal_at_once(officer):
    application = submitted_application(officer)
    Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not a government body.", "confirm": "on"})
    appeal = approvals.application_appeal(application_id=application.pk, grounds="It is one.", actor=officer)
    first, second = make_superadmin(email="root.one@nic.in"), make_superadmin(email="root.two@nic.in")
    sql, params = lock_application(application)
    results = race([
        lambda: approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=first),
        lambda: approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="It is not.", actor=second),
    ], hold_sql=sql, hold_params=params)
    assert sorted(outcome for outcome, _v in results) == ["error", "ok"], results
    assert any(isinstance(value, approvals.StepAlreadyDecided) for _o, value in results)
    application.refresh_from_db()
    appeal.refresh_from_db()
    assert application.status == {"overturn": ApplicationStatus.APPROVED, "uphold": ApplicationStatus.REJECTED_FINAL}[appeal.decision]


def test_withdrawal_racing_a_decision_leaves_a_consistent_application(officer):
    """Withdrawal and the authority's decision lock in the same order (application,
    then step): whichever goes first, no deadlock and no open step on a closed application."""
    application = submitted_application(officer)
    _path, token = latest_link()
    step = ApprovalStep.objects.get(application=application)
    sql, params = lock_application(application)
    results = race([
        lambda: services.application_withdraw(application_id=application.pk, actor=officer),
        lambda: approvals.step_decide(step_id=step.pk, decision="approve", token=token),
    ], hold_sql=sql, hold_params=params)
    application.refresh_from_db()
    step.refresh_from_db()
    withdraw_result, decide_result = results
    assert withdraw_result[0] == "ok", results  # the withdrawal succeeds whichever goes first
    if decide_result[0] == "error":
        # Withdrawn first: the decision found the step closed.
        assert isinstance(decide_result[1], (approvals.StepAlreadyDecided, approvals.LinkNotValid)), decide_result
        assert step.decision == Decision.CANCELLED
    else:
        # Decided first: the withdrawal then closed the state step that followed.
        assert step.decision == Decision.APPROVE
    assert application.status == ApplicationStatus.WITHDRAWN
    assert not ApprovalStep.objects.filter(application=application, decision="").exists()


def one_refused_as_too_many(results):
    """Of two raced calls, one went through and the other was refused at the daily limit."""
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refusal] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refusal, ValidationError) and refusal.code == "too_many", refusal


@pytest.mark.parametrize("second_account", [False, True], ids=["one account", "two accounts of one mailbox"])
def test_two_submissions_of_one_officer_at_once_do_not_pass_the_daily_limit_together(officer, settings, second_account):
    """The limit counts the submissions of the officer's mailbox in the last 24 hours: two of
    their drafts sent at once (two tabs) each counted none before the other's was written.
    The officer's row now serialises their submissions, as it does their new drafts; and the
    mailbox's lock those of its accounts ("+tag" addresses), which lock their own rows, not
    each other's."""
    settings.ONBOARDING_SUBMISSIONS_PER_DAY = 1
    other = UserFactory(email="nodal.officer+2@mahaagri.gov.in") if second_account else officer
    first, second = filled_application(officer), filled_application(other)
    year = timezone.localdate().year
    ReferenceCounter.objects.get_or_create(year=year)
    # Another submission holds the year's reference counter for a moment.
    results = race([
        lambda: services.application_submit(application_id=first.pk, actor=officer),
        lambda: services.application_submit(application_id=second.pk, actor=other),
    ], hold_sql="SELECT last FROM onboarding_referencecounter WHERE year = %s FOR UPDATE", hold_params=[year])
    one_refused_as_too_many(results)
    assert ApplicationVersion.objects.count() == 1
    statuses = Application.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    assert sorted(statuses) == [ApplicationStatus.DRAFT, ApplicationStatus.WITH_AUTHORITY]
    assert audit_verify() == []


@pytest.mark.parametrize(("limit", "code"), [("ONBOARDING_STARTS_PER_DAY", "too_many"),
                                             ("ONBOARDING_OPEN_DRAFTS_MAX", "too_many_drafts")])
def test_two_accounts_of_one_mailbox_starting_at_once_do_not_pass_its_limits_together(officer, settings, limit, code):
    """The day's starts and the open drafts count every account of the person's mailbox
    ("+tag" addresses): two accounts' starts at once each lock their own row, not each
    other's, and each counted none before the other's draft was written. The mailbox's lock
    serialises them, as it does their submissions."""
    setattr(settings, limit, 1)
    same_mailbox = UserFactory(email="nodal.officer+2@mahaagri.gov.in")
    # The audit chain's lock, taken once the limits are checked, is held for a moment.
    results = race([
        lambda: services.application_create(actor=officer),
        lambda: services.application_create(actor=same_mailbox),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refusal] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refusal, ValidationError) and refusal.code == code, refusal
    assert Application.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_CREATED).count() == 1
    assert audit_verify() == []


def test_two_new_links_asked_for_at_once_do_not_pass_the_daily_limit_together(officer, settings):
    """The limit counts the officer's new links of the last 24 hours, over all their
    applications: two asked for at once (two tabs, two applications) each counted none
    before the other's was written, unless the officer's row serialises them."""
    settings.ONBOARDING_LINK_RESENDS_PER_DAY = 1
    first, second = submitted_application(officer), submitted_application(officer)
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    # The audit chain's lock, taken once the limit is checked, is held for a moment.
    results = race([
        lambda: approvals.step_resend_authority_link(application_id=first.pk, actor=officer),
        lambda: approvals.step_resend_authority_link(application_id=second.pk, actor=officer),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    one_refused_as_too_many(results)
    assert AuditEvent.objects.filter(actor_id=officer.pk, action=AuditAction.STEP_REMINDED).count() == 1
    assert AuthorityToken.objects.count() == 3
    assert audit_verify() == []


def one_refused_as_too_many_for_the_authority(results):
    """Of two raced calls, one went through and the other was refused at the authority's
    mailbox's daily limit."""
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refusal] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refusal, ValidationError) and refusal.code == "authority_mailbox_full", refusal


def _naming_authority(address):
    return {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": address}}


def test_two_officers_submitting_to_one_authority_at_once_do_not_pass_its_daily_limit_together(db, settings):
    """The limit counts the requests for a decision sent to the authority's mailbox in the
    last 24 hours, whoever submitted: two officers' submissions at once (their own rows
    locked, not each other's) each counted none before the other's link was written. The
    mailbox's lock, however its address is written, now serialises them."""
    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 1
    first = filled_application(UserFactory())
    second = filled_application(UserFactory(), _naming_authority("Director+2@MahaAgri.gov.in"))
    year = timezone.localdate().year
    ReferenceCounter.objects.get_or_create(year=year)
    # Another submission holds the year's reference counter for a moment.
    results = race([
        lambda: services.application_submit(application_id=first.pk, actor=first.nodal_officer),
        lambda: services.application_submit(application_id=second.pk, actor=second.nodal_officer),
    ], hold_sql="SELECT last FROM onboarding_referencecounter WHERE year = %s FOR UPDATE", hold_params=[year])
    one_refused_as_too_many_for_the_authority(results)
    assert AuthorityToken.objects.count() == 1
    statuses = Application.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    assert sorted(statuses) == [ApplicationStatus.DRAFT, ApplicationStatus.WITH_AUTHORITY]
    assert audit_verify() == []


def test_two_officers_asking_for_links_to_one_authority_at_once_do_not_pass_its_daily_limit_together(db, settings):
    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 3
    first = submitted_application(UserFactory())
    second = submitted_application(UserFactory(), _naming_authority("Director+2@MahaAgri.gov.in"))
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    # The audit chain's lock, taken once the new link is written, is held for a moment.
    results = race([
        lambda: approvals.step_resend_authority_link(application_id=first.pk, actor=first.nodal_officer),
        lambda: approvals.step_resend_authority_link(application_id=second.pk, actor=second.nodal_officer),
    ], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    one_refused_as_too_many_for_the_authority(results)
    assert AuthorityToken.objects.count() == 3
    assert audit_verify() == []


def test_two_deadline_sweeps_at_once_send_each_reminder_once(db):
    make_state_admin("MH", email="admin.sweep@maharashtra.gov.in")
    make_superadmin(email="root.sweep@nic.in")
    now = timezone.now()
    for _ in range(20):
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage=Stage.STATE,
                            opened_at=now - timedelta(days=9), due_at=now + timedelta(days=1))
    # Hold the audit chain's lock: a sweep that has claimed steps waits on it
    # while holding their row locks. Release once both sweeps wait there (they
    # split the steps) or one waits while the other has finished (it found every
    # step locked and skipped them): either way they ran at the same moment.
    results = race(
        [lambda: deadlines.deadline_sweep(now=now), lambda: deadlines.deadline_sweep(now=now)],
        hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY],
        ready=lambda waiting, done: waiting == 2 or (waiting == 1 and any(r is not None for r in done)),
    )
    assert [outcome for outcome, _v in results] == ["ok", "ok"], results
    assert sum(value["reminded"] for _o, value in results) == 20
    # One mail to the administrator from each sweep that reminded any, together naming
    # each application once.
    mails = list(OutboxMessage.objects.all())
    assert len(mails) == sum(1 for _o, value in results if value["reminded"])
    english = [mail.body.partition("\n----------\n")[0] for mail in mails]
    for step in ApprovalStep.objects.select_related("application"):
        assert sum(body.count(step.application.reference) for body in english) == 1
    assert AuditEvent.objects.filter(action=AuditAction.STEP_REMINDED).count() == 20
    assert not ApprovalStep.objects.filter(reminded_at__isnull=True).exists()
    assert deadlines.deadline_sweep(now=now) == {"reminded": 0, "escalated": 0}
    assert audit_verify() == []


def test_a_draft_withdrawn_while_its_pdf_renders_keeps_no_pdf_and_the_officer_gets_the_pdf(officer):
    """The officer downloads the PDF of a draft never submitted and, in another tab,
    withdraws it while the PDF renders. The withdrawal removes the draft's PDFs (its audit
    row says so); the render, which began before, stores nothing for the withdrawn draft:
    the officer gets the PDF they asked for, made from the form as it was, and kept nowhere,
    as a withdrawn draft's PDF is rendered for them afterwards."""
    application = filled_application(officer)
    application.refresh_from_db()  # its version after the sections and the letter were saved
    key = f"pdf-render:{DocumentKind.FORM_PDF}:{application.pk}:{application.version}:en"
    outcome = {}
    tab = signed_in(officer)

    def download():
        try:
            outcome["response"] = tab.get(f"/onboarding/{application.pk}/form.pdf")
        except Exception as exc:  # noqa: BLE001 (reported below)
            outcome["error"] = exc
        finally:
            connection.close()

    downloading = threading.Thread(target=download)
    downloading.start()
    deadline = time.monotonic() + 15
    while cache.get(key) is None:  # the render has begun
        assert downloading.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.005)
    services.application_withdraw(application_id=application.pk, actor=officer)
    assert downloading.is_alive(), "the render finished before the withdrawal: the race was not run"
    downloading.join(30)
    assert not downloading.is_alive()
    assert "error" not in outcome, outcome
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.WITHDRAWN
    assert not ApplicationDocument.objects.filter(application_id=application.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).exists()
    response = outcome["response"]
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response).startswith(b"%PDF-")
    assert audit_verify() == []


def test_an_appeal_sent_twice_at_once_is_said_lodged_not_refused(officer):
    """The officer double-clicks "Lodge the appeal" (or sends it from two tabs): both posts
    pass the page's checks, then wait on the application's row. One lodges the appeal; the
    other is told the appeal was lodged, not that the application cannot be appealed, as a
    decision or a withdrawal sent again is told it was recorded."""
    application = submitted_application(officer)
    Client().post(latest_link()[0], {"decision": "reject", "remarks": "Not a government body.", "confirm": "on"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    tabs = [signed_in(officer), signed_in(officer)]
    url = f"/onboarding/{application.pk}/appeal/"
    sql, params = lock_application(application)
    # Each tab's confirmation, then "Lodge the appeal" in both.
    sent = [form_as_sent(page(appeal_confirmation(tab, application, "We are a state department.")), step="save")
            for tab in tabs]
    results = race([lambda tab=tab, data=data: tab.post(url, data) for tab, data in zip(tabs, sent, strict=True)],
                   hold_sql=sql, hold_params=params)
    assert [outcome for outcome, _v in results] == ["ok", "ok"], results
    responses = [response for _o, response in results]
    assert [response.status_code for response in responses] == [302, 302], responses
    assert all(response["Location"] == f"/onboarding/{application.pk}/" for response in responses), responses
    pages = sorted(tab.get(response["Location"]).content.decode() for tab, response in zip(tabs, responses, strict=True))
    said = [("Your appeal was lodged. The superadmins will decide on it." in page,
             "You lodged this appeal already: the superadmins will decide on it." in page) for page in pages]
    assert sorted(said) == [(False, True), (True, False)], said
    assert all("cannot be appealed now" not in page for page in pages)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    assert ApprovalStep.objects.filter(application=application, stage=Stage.APPEAL).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_APPEALED).count() == 1
    assert audit_verify() == []
