"""Reminders before a step's due date and escalation once it is overdue.

``deadline_sweep`` runs on Celery beat. It claims the steps it reminds or
escalates by locking them (``FOR UPDATE SKIP LOCKED``: a second sweep running
at the same moment skips them) and marking them (``reminded_at`` /
``escalated_at``) in the same transaction that writes the emails to the
outbox and the audit events. A step is therefore reminded and escalated at
most once, however often and however many workers run the job, and a sweep
that fails sends nothing and marks nothing.

Each decider (a state administrator, a superadmin) gets one mail a batch, listing
the steps reminded and escalated to them (``decider_mails.deadline_mails``): a state's
queue coming due is one mail to each of its administrators, not one per application; so
are the steps handed to them when their administrators' roles end, or when they are
appointed where nobody could decide (``_steps_assign``; an appeal's nodal officer is then
told it has gone to them). The competent authorities' reminders, each with its own new
link, stay one per step.

The number of queries does not depend on the number of steps: bulk selects,
conditional bulk updates and bulk inserts only.
"""

import operator
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial, reduce
from typing import NamedTuple

from django.db import transaction
from django.db.models import Case, Exists, F, Max, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from onboarding import notifications, workflow
from onboarding.approval.decider_mails import ASSIGNED_TEMPLATES, assigned_mails, deadline_mails
from onboarding.approval.selectors import (
    Tell,
    authority_steps_refused,
    deciders_to_tell,
    deciders_told_at,
    escalation_tell,
)
from onboarding.approval.timings import approval_timings, due_days, opened_in
from onboarding.approval.tokens import authority_link_topic, review_url, token_build
from onboarding.models import (
    Application,
    ApplicationStatus,
    ApprovalStep,
    ApprovalTimings,
    AuthorityToken,
    Decision,
    Stage,
)
from portal.audit.models import AuditAction
from portal.audit.services import audit_record_many
from portal.deadlines import deadline_passed_if_set_before, end_of_local_day
from portal.mail.models import with_topic
from portal.organisations.models import PlatformRole, PlatformRoleGrant, in_force_q
from portal.permissions import EVERYWHERE


def due_at(stage: Stage | str, now: datetime, timings: ApprovalTimings | None = None) -> datetime:
    """When a step of ``stage`` opened at ``now`` is due: the end of the portal's local day
    its stage's number of days later (the approval timings as they stand: ``timings``, or
    read). Every mail and page gives the date ("decide by 12 March"), so the whole of that
    day is the decider's before the step is overdue."""
    return end_of_local_day(now, due_days(timings or approval_timings(), stage))


def _claim(queryset: QuerySet[ApprovalStep], field: str, now: datetime, limit: int | None) -> list[ApprovalStep]:
    queryset = (
        queryset.select_related("application", "application__nodal_officer")
        .defer("application__data", "application__section_status")  # the answers are not needed here
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
    )
    steps = list(queryset[:limit] if limit else queryset)
    if steps:
        ApprovalStep.objects.filter(pk__in=[step.pk for step in steps], **{f"{field}__isnull": True}).update(**{field: now})
    return steps


def _new_links(steps: list[ApprovalStep], now: datetime, timings: ApprovalTimings) -> dict[int, tuple[str, datetime]]:
    """Fresh links for the authorities being reminded (their first may expire before they
    act), with when each expires. The first keeps working until it expires (the reminder
    says so): an authority may have its page open, remarks typed; whichever link decides,
    the step is decided and both are closed."""
    if not steps:
        return {}
    links, rows = {}, []
    for step in steps:
        raw, row = token_build(step=step, email=step.assignee_email, now=now, reminder=True,
                               timings=timings.in_force_at(step.timed_since))
        links[step.pk] = review_url(raw), row.expires_at
        rows.append(row)
    AuthorityToken.objects.bulk_create(rows)
    return links


def _leave_out_refused_authorities(steps: list[ApprovalStep]) -> list[ApprovalStep]:
    """``steps`` less the authorities' whose address can no longer decide (``authority_steps_refused``:
    refused by the official-email rules, or the nodal officer's own): no reminder and no new
    link goes to it (its link would decide nothing; the officer's page says why). They stay
    claimed, so they are not looked at again; their escalation goes on."""
    refused = authority_steps_refused(steps)
    return [step for step in steps if step.pk not in refused]


def deadline_sweep(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Send every reminder and escalation that is due (at most ``limit`` of each
    in this transaction), once. Returns counts."""
    return deadline_sweep_batch(now=now, limit=limit)[0]


def deadline_sweep_batch(*, now: datetime | None = None, limit: int | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """As ``deadline_sweep``: the counts of what was sent, and of the steps claimed for
    it. More were claimed than reminded when authorities no longer eligible were left out
    (``_leave_out_refused_authorities``): a batch is full by what it claimed."""
    now = now or timezone.now()
    timings = approval_timings()
    open_steps = ApprovalStep.objects.filter(decision="")
    with transaction.atomic():
        to_remind = _claim(
            open_steps.filter(_reminder_due(timings, now), reminded_at__isnull=True, escalated_at__isnull=True,
                              due_at__gt=now),
            "reminded_at", now, limit,
        )
        to_escalate = _claim(open_steps.filter(escalated_at__isnull=True, due_at__lte=now), "escalated_at", now, limit)
        if not to_remind and not to_escalate:
            return {"reminded": 0, "escalated": 0}, {"reminded": 0, "escalated": 0}
        claimed = {"reminded": len(to_remind), "escalated": len(to_escalate)}
        to_remind = _leave_out_refused_authorities(to_remind)
        links = _new_links([step for step in to_remind if step.stage == Stage.AUTHORITY], now, timings)
        # Reminders of the administrators' own steps, then every escalation: one level up
        # (an authority's step to the state or central administrators, a state step and an
        # appeal to the superadmins), to those of them who may decide it.
        asks = {step.pk: Tell(step.application, Stage(step.stage), jurisdiction=step.jurisdiction)
                for step in to_remind if step.stage != Stage.AUTHORITY}
        asks.update({step.pk: escalation_tell(step) for step in to_escalate})
        told = dict(zip(asks, deciders_to_tell(asks.values()), strict=True))
        _mark_nobody_may_decide([step for step in to_remind if step.stage != Stage.AUTHORITY and not told[step.pk]], now)
        messages, events = [], []
        for step in to_remind:
            application = step.application
            if step.stage == Stage.AUTHORITY:
                messages.append(with_topic(notifications.build_bilingual(
                    to=[step.assignee_email], template="authority_reminder",
                    context={"application": application, "step": step, "link": links[step.pk][0],
                             "link_expires": links[step.pk][1], "officer": application.nodal_officer},
                ), authority_link_topic(application.pk)))
                recipients = [step.assignee_email]
            else:
                recipients = told[step.pk]
            events.append({"action": AuditAction.STEP_REMINDED, "target": application,
                           "new": {"step": step.pk, "stage": step.stage, "due_at": step.due_at, "to": recipients}})
        for step in to_escalate:
            events.append({"action": AuditAction.STEP_ESCALATED, "target": step.application,
                           "new": {"step": step.pk, "stage": step.stage, "due_at": step.due_at, "to": told[step.pk]}})
        messages += deadline_mails(
            soon=[(step, told[step.pk]) for step in to_remind if step.stage != Stage.AUTHORITY],
            overdue=[(step, told[step.pk]) for step in to_escalate], now=now)
        notifications.send_many(messages)
        audit_record_many(events)
    return {"reminded": len(to_remind), "escalated": len(to_escalate)}, claimed


def _reminder_due(timings: ApprovalTimings, now: datetime) -> Q:
    """The open steps whose reminder day has come at ``now``: reminded on the local day
    ``reminder_days_before`` days before the day a step is due (due_at is the end of that
    day: "by 12 March" is reminded of on 10 March), those days as the timings stood when the
    step opened, or was given a new due date as if it opened then (``timed_since``: a change
    applies to the steps opened after it). One condition a run of
    periods with the same reminder days."""
    conditions, start, days = [], None, None
    periods = timings.periods()
    for index, (_start, until, in_force) in enumerate(periods):
        if days is None:
            start, days = _start, in_force.reminder_days_before
        following = periods[index + 1][2].reminder_days_before if index + 1 < len(periods) else None
        if following != days:
            conditions.append(Q(due_at__lte=end_of_local_day(now, days))
                              & (Q(reopened_at__isnull=True, **opened_in(start, until, "opened_at"))
                                 | Q(**opened_in(start, until, "reopened_at"))
                                 if start is not None or until is not None else Q()))
            days = None
    return reduce(operator.or_, conditions)


def _mark_nobody_may_decide(steps: list[ApprovalStep], now: datetime) -> None:
    """Mark the state steps and appeals of ``steps``, reminded to nobody, as ones nobody may
    decide (the only administrators who could have lost their role since they opened)."""
    if steps:
        ApprovalStep.objects.filter(pk__in=[step.pk for step in steps], nobody_may_decide_since__isnull=True).update(
            nobody_may_decide_since=now)


def undecided_steps_assign(*, limit: int | None = None) -> int:
    """Tell the open steps that nobody could decide (``nobody_may_decide_since``: no
    administrator of their jurisdiction, every superadmin refused) to those who may decide
    them now (an administrator appointed since), once, in one mail to each (``_steps_assign``):
    the step then no longer says nobody may. It reaches them as if it opened
    now: due its stage's days from today (``due_at``), not by a date that may be long gone
    (nobody could have met it), and reminded and escalated again by that date, so the mail,
    the queue, the dashboards and the reminder name one date. The others stay as they are,
    on the officer's page and the monitoring. The audit log records each step told, its
    due date before and after, and to whom. Locked as the sweep locks (``SKIP LOCKED``), so
    a second run at the same moment tells nobody twice. Returns how many were told; a
    constant number of queries for each ``limit`` of steps read."""
    now = timezone.now()
    with transaction.atomic():
        queryset = (
            ApprovalStep.objects.filter(decision="", nobody_may_decide_since__isnull=False)
            .select_related("application", "application__nodal_officer")
            .defer("application__data", "application__section_status")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
        )
        found, after = [], 0
        while True:
            # Page by id past those nobody may decide still (they keep their mark): they would
            # otherwise fill every run's ``limit`` and keep a later one from the decider
            # appointed for it.
            steps = list(queryset.filter(pk__gt=after)[:limit] if limit else queryset)
            if not steps:
                break
            asks = [Tell(step.application, Stage(step.stage), jurisdiction=step.jurisdiction) for step in steps]
            found += [(step, to) for step, to in zip(steps, deciders_to_tell(asks), strict=True) if to]
            after = steps[-1].pk
            if not limit or len(found) >= limit:
                break
        found = found[:limit] if limit else found
        _steps_assign(found, now)
    return len(found)


def _steps_assign(found: list[tuple[ApprovalStep, list[str]]], now: datetime) -> None:
    """Tell each step of ``found`` (locked) to its addresses as if it opened ``now``: due its
    stage's days from today, reminded and escalated again by that date, no longer marked as
    one nobody may decide; the audit log records each (STEP_ASSIGNED: its due date before
    and after, and to whom). Each address gets one mail (``assigned_mails``): the one the
    step's opening would have sent, or the list of the steps handed to it."""
    if not found:
        return
    timings = approval_timings()
    due = {stage: due_at(stage, now, timings) for stage in ASSIGNED_TEMPLATES}
    ApprovalStep.objects.filter(pk__in=[step.pk for step, _to in found]).update(
        nobody_may_decide_since=None, reminded_at=None, escalated_at=None, reopened_at=now,
        due_at=Case(*(When(stage=stage, then=Value(when)) for stage, when in due.items()), default=F("due_at")),
    )
    events = []
    for step, to in found:
        events.append({"action": AuditAction.STEP_ASSIGNED, "target": step.application,
                       "old": {"step": step.pk, "due_at": step.due_at},
                       "new": {"step": step.pk, "stage": step.stage, "due_at": due[step.stage], "to": to}})
        step.due_at, step.reopened_at = due[step.stage], now
    audit_record_many(events)
    notifications.send_many([*assigned_mails(found), *_appeal_given_mails(found)])


def _appeal_given_mails(found: list[tuple[ApprovalStep, list[str]]]) -> list:
    """To the nodal officer of each appeal of ``found``: told when it was lodged (or by its
    page since) that no superadmin could decide it and that it waits for one to be appointed,
    they are told it has gone to whom (how many) and by when it is now due. In English and the
    application's second language, as the receipt was; no query (the officer was read with
    the step)."""
    return [notifications.build_bilingual(to=[step.application.nodal_officer.email], template="appeal_given",
                                          context={"application": step.application, "step": step, "deciders": len(to)})
            for step, to in found if step.stage == Stage.APPEAL]


# Platform roles whose end may change who decides the open steps: a state administrator's
# (of the steps of their jurisdiction, or of every one) and an auditor's (a state
# administrator who is also an auditor decides nothing, whatever the auditor role's
# jurisdiction: of the steps of the jurisdictions its holder administers), at the state
# level; a superadmin's (the state steps nobody else may decide, and the appeals).
_DECIDING_ROLES = {PlatformRole.STATE_ADMIN, PlatformRole.AUDITOR, PlatformRole.SUPERADMIN}


class RoleEnding(NamedTuple):
    """A platform role about to end: its kind, its jurisdiction, its holder, and until when
    it counted (None: until now, a revocation; its end date, for one recorded as ended then)."""

    role: str
    jurisdiction: str
    holder_id: int
    counted_until: datetime | None = None


def steps_deciders_watch(*, endings: Iterable[RoleEnding]) -> Callable[[], int] | None:
    """As the platform roles ``endings`` are about to end together (their grants locked,
    not yet changed): whom each open step any of them could bear on is told of (its
    deciders, and those it was escalated to) is read now, as the roles stand (as they stood
    just before its ``counted_until``, for a role recorded as ended at its end date): every
    address told of the step before any of its roles ended. Returns the function that,
    called once they have all ended, tells each step once to those who may decide it then
    and were told of it before none of them (``steps_deciders_tell``); None when no open
    step is concerned. One query for the steps of each kind of role and jurisdiction (of
    each auditor's holder), and two for each moment a role stopped counting, whatever the
    number of roles (``deciders_told_at``)."""
    concerned: dict[tuple[str, str, int | None, datetime | None], set[datetime | None]] = {}
    for ending in endings:
        if ending.role not in _DECIDING_ROLES:
            continue
        now = ending.counted_until - timedelta(microseconds=1) if ending.counted_until else None
        auditor = ending.role == PlatformRole.AUDITOR
        key = (ending.role, ending.jurisdiction if ending.role == PlatformRole.STATE_ADMIN else "",
               ending.holder_id if auditor else None, now if auditor else None)
        concerned.setdefault(key, set()).add(now)
    steps: dict[int, ApprovalStep] = {}
    moments: dict[int, set[datetime | None]] = {}
    for (role, jurisdiction, holder_id, now), at in concerned.items():
        for step in _steps_concerned(role, jurisdiction, holder_id, now):
            # A role that had stopped counting before the step was told (opened, or handed
            # on: timed_since) changes nothing of whom it was told: those who decided it then
            # were told, the run that recorded another role ended at the same moment among
            # them. Recorded now, that end tells nobody again.
            counted = {moment for moment in at if moment is None or moment >= step.timed_since}
            if counted:
                steps.setdefault(step.pk, step)
                moments.setdefault(step.pk, set()).update(counted)
    if not steps:
        return None
    owners, asks = [], []
    for pk, step in sorted(steps.items()):
        for ask in _asks(step):
            owners.append(pk)
            asks.append((ask, moments[pk]))
    before: dict[int, set[str]] = {pk: set() for pk in steps}
    for pk, emails in zip(owners, deciders_told_at(asks), strict=True):
        before[pk].update(emails)
    # Steps only roles recorded as ended after the fact bear on (none revoked now): as they
    # were told when read, to find one another run handed on before this one tells.
    told_since = {pk: step.timed_since for pk, step in steps.items() if None not in moments[pk]}
    return partial(steps_deciders_tell, step_ids=sorted(steps), before=before, told_since=told_since)


def application_deciders_watch(application: Application) -> Callable[[], int] | None:
    """As ``application`` (locked) is about to change in a way that changes who may decide
    its open state step or appeal (handed over to another nodal officer: nobody decides their
    own application): whom each is told of is read now. Returns the function that, called
    once it has changed, tells each to those who may decide it then and were not told of it
    (``steps_deciders_tell``); None when it has no such step open."""
    steps = list(ApprovalStep.objects.filter(application=application, decision="", stage__in=[Stage.STATE, Stage.APPEAL])
                 .select_related("application", "application__nodal_officer")
                 .defer("application__data", "application__section_status").order_by("id"))
    if not steps:
        return None
    asks = [(step.pk, ask) for step in steps for ask in _asks(step)]
    before: dict[int, set[str]] = {step.pk: set() for step in steps}
    for (pk, _ask), emails in zip(asks, deciders_to_tell([ask for _pk, ask in asks]), strict=True):
        before[pk].update(emails)
    return partial(steps_deciders_tell, step_ids=sorted(before), before=before)


def _steps_concerned(role: str, jurisdiction: str, holder_id: int | None, now: datetime | None) -> list[ApprovalStep]:
    """The open steps whose deciders the end of a role of ``role`` (one of
    ``_DECIDING_ROLES``) over ``jurisdiction``, held by ``holder_id``, may change (an
    auditor's: its holder's other roles as they stood at ``now``). One query."""
    steps = ApprovalStep.objects.filter(decision="", stage__in=[Stage.STATE, Stage.APPEAL])
    if role == PlatformRole.AUDITOR:
        # auditor_reads_only: the end of an auditor's role of any jurisdiction may give its
        # holder back the state steps of every jurisdiction they administer.
        administered = PlatformRoleGrant.objects.filter(
            in_force_q(now=now), Q(jurisdiction=OuterRef("jurisdiction")) | Q(jurisdiction=EVERYWHERE),
            user_id=holder_id, role=PlatformRole.STATE_ADMIN)
        steps = steps.filter(Exists(administered), stage=Stage.STATE)
    elif role != PlatformRole.SUPERADMIN:
        steps = steps.filter(stage=Stage.STATE)
        if jurisdiction != EVERYWHERE:
            steps = steps.filter(jurisdiction=jurisdiction)
    return list(steps.select_related("application", "application__nodal_officer")
                .defer("application__data", "application__section_status").order_by("id"))


def _asks(step: ApprovalStep) -> list[Tell]:
    """Whom the open ``step`` is told of: its deciders first, then, once it was escalated,
    those it was escalated to."""
    asks = [Tell(step.application, Stage(step.stage), jurisdiction=step.jurisdiction)]
    if step.escalated_at is not None:
        asks.append(escalation_tell(step))
    return asks


def _deciders(steps: list[ApprovalStep]) -> dict[int, list[str]]:
    """{step id: those who may decide it now} for the open ``steps``."""
    told = deciders_to_tell(Tell(step.application, Stage(step.stage), jurisdiction=step.jurisdiction) for step in steps)
    return {step.pk: emails for step, emails in zip(steps, told, strict=True)}


def steps_deciders_tell(*, step_ids: list[int], before: dict[int, set[str]],
                        told_since: dict[int, datetime] | None = None) -> int:
    """After platform roles ended (``steps_deciders_watch``): each of the steps ``step_ids``
    still open is told to those who may decide it now and were not told of it ``before``
    (every address told of it before any of the roles ended: the administrators' roles
    ended, and the step passes to the superadmins), once, as when a step
    opens (``_steps_assign``); one that nobody may decide any more says so
    (``nobody_may_decide_since``), as its reminder would find, until an administrator is
    appointed (``undecided_steps_assign``). A step of ``told_since`` (only roles recorded
    as ended after the fact bear on it) that was handed on since it was read (another run of
    the expiry job, recording a role that ended with these, committed meanwhile) is left as
    it is: these roles counted for nothing then, and those who decide it were told.
    Returns how many steps were told."""
    now = timezone.now()
    told_since = told_since or {}
    steps = [step for step in ApprovalStep.objects.filter(pk__in=step_ids, decision="")
             .select_related("application", "application__nodal_officer")
             .defer("application__data", "application__section_status")
             .select_for_update(of=("self",)).order_by("id")
             if told_since.get(step.pk, step.timed_since) == step.timed_since]
    after = _deciders(steps)
    found = [(step, new) for step in steps if (new := [email for email in after[step.pk] if email not in before[step.pk]])]
    _mark_nobody_may_decide([step for step in steps if not after[step.pk]], now)
    _steps_assign(found, now)
    return len(found)


def appeal_until(rejected_at: datetime, timings: ApprovalTimings | None = None) -> datetime:
    """The end of the appeal period of a rejection decided at ``rejected_at``: the end of
    the portal's local day ``appeal_window_days`` days after it, as the approval timings
    stood when it was decided. The officer is told a date (the mail, their page), so the
    whole of that day is theirs."""
    days = (timings or approval_timings()).in_force_at(rejected_at).appeal_window_days
    return end_of_local_day(rejected_at, days)


def appeal_lapsed(now: datetime, timings: ApprovalTimings | None = None) -> Q:
    """The rejections (annotated ``rejected_at``) whose appeal period ended before ``now``
    (appeal_until's rule, for the query that makes them final): each period of the timings
    with its own appeal days."""
    conditions = []
    for start, until, in_force in (timings or approval_timings()).periods():
        cutoff = deadline_passed_if_set_before(now, in_force.appeal_window_days)
        if until is not None:
            cutoff = min(cutoff, until)
        if start is None or cutoff > start:
            conditions.append(Q(rejected_at__lt=cutoff, **opened_in(start, None, "rejected_at")))
    return reduce(operator.or_, conditions)  # the first period's is always there


def rejections_finalise(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Rejections whose appeal period has ended without an appeal become final, once:
    the officer is told and the audit log records it. Constant number of queries."""
    now = now or timezone.now()
    lapsed_ids = (
        ApprovalStep.objects.filter(decision=Decision.REJECT, application__status=ApplicationStatus.REJECTED)
        .values("application")
        .annotate(rejected_at=Max("decided_at"))
        .filter(appeal_lapsed(now))
        .values_list("application", flat=True)
    )
    with transaction.atomic():
        applications = list(
            Application.objects.filter(pk__in=list(lapsed_ids[:limit]), status=ApplicationStatus.REJECTED)
            .select_related("nodal_officer")
            .defer("data", "section_status")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
        )
        if not applications:
            return 0
        new_status = workflow.next_status(ApplicationStatus.REJECTED, workflow.Event.APPEAL_LAPSED)
        Application.objects.filter(pk__in=[a.pk for a in applications], status=ApplicationStatus.REJECTED).update(
            status=new_status, closed_at=now, updated_at=now
        )
        messages, events = [], []
        for application in applications:
            application.status = new_status
            messages.append(notifications.build_bilingual(
                to=[application.nodal_officer.email], template="rejection_final", context={"application": application},
            ))
            events.append({"action": AuditAction.APPLICATION_REJECTION_FINAL, "target": application,
                           "old": {"status": ApplicationStatus.REJECTED}, "new": {"status": new_status}})
        notifications.send_many(messages)
        audit_record_many(events)
    return len(applications)
