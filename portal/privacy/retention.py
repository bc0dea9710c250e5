"""The retention run and the superadmins' changes to policies and legal holds.

A run applies every registered rule (registry.py) whose policy is enabled, in
batches of ``settings.PRIVACY_RETENTION_BATCH`` records: each batch is one
transaction with a constant number of queries (the ids, the same ids again in the
transaction, the rule's own erasure, the audit events' redaction, the marks). It
never touches a record under a legal hold (on the record or on its person), leaves
out what it did before (deleted records are gone, reduced ones are marked), and
reports counts, never contents. A record that stopped being due after its batch's
ids were read (a draft saved, an address confirmed, a hold set), or that another
transaction holds at that moment (a save under way), is left out of the batch.
The request log and the audit log are not retention's to erase: only the
personal part of audit events about erased records is redacted, keeping the chain."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import address_naming
from portal.audit.erasure import audit_redact
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import shown
from portal.permissions import AnyUser
from portal.privacy.models import (
    DEFAULT_POLICIES,
    GRACE_DAYS_MIN,
    REMINDED_KINDS,
    HoldTarget,
    LegalHold,
    RetentionKind,
    RetentionMark,
    RetentionPolicy,
    RetentionRun,
)
from portal.privacy.registry import RetentionRule, retention_rules
from portal.shown import check_shown

logger = logging.getLogger(__name__)


def retention_policies() -> list[RetentionPolicy]:
    """Every kind's policy, the issue's defaults created for any kind without a row."""
    existing = {policy.kind: policy for policy in RetentionPolicy.objects.all()}
    missing = [RetentionPolicy(kind=kind, **DEFAULT_POLICIES[kind]) for kind in RetentionKind if kind not in existing]
    if missing:
        RetentionPolicy.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {policy.kind: policy for policy in RetentionPolicy.objects.all()}
    return [existing[kind] for kind in RetentionKind]


def retention_policy_check(*, kind: str, days: int, grace_days: int) -> None:
    """ValidationError, at its field, for settings a policy of ``kind`` cannot have."""
    if days < 30 or days > 3650:
        raise ValidationError({"days": _("Keep records between 30 and 3,650 days.")})
    withdrawn = kind == RetentionKind.RETURNED_APPLICATION  # withdrawn after the reminder, not erased
    if grace_days > 365:
        raise ValidationError({"grace_days": _("Give at most 365 days between the reminder and the withdrawal.")
                               if withdrawn else _("Give at most 365 days between the reminder and the erasure.")})
    if kind in REMINDED_KINDS and grace_days < GRACE_DAYS_MIN:
        raise ValidationError({"grace_days": _("Give at least 1 day between the reminder and the withdrawal.")
                               if withdrawn else _("Give at least 1 day between the reminder and the erasure.")})


def retention_policy_values(policy: RetentionPolicy) -> dict:
    """What the retention page shows of a policy, and its form changes."""
    return {"days": policy.days, "grace_days": policy.grace_days, "enabled": policy.enabled}


def retention_policy_update(
    *, kind: str, days: int, grace_days: int, enabled: bool, actor: AnyUser, request: HttpRequest | None = None,
    shown_values: str | None = None,
) -> RetentionPolicy:
    """Change a policy. ``shown_values``: the digest of the values the page showed
    (portal.shown): a save from a page opened before another superadmin changed the policy
    raises ChangedMeanwhile, saving nothing (it would switch on again, unseen, a policy
    switched off meanwhile); None: not checked."""
    retention_policy_check(kind=kind, days=days, grace_days=grace_days)
    retention_policies()
    with transaction.atomic():
        policy = RetentionPolicy.objects.select_for_update().get(kind=kind)
        old = retention_policy_values(policy)
        new = {"days": days, "grace_days": grace_days, "enabled": enabled}
        if old == new:
            return policy
        check_shown(shown_values, old)
        policy.days, policy.grace_days, policy.enabled = days, grace_days, enabled
        policy.changed_at, policy.changed_by = timezone.now(), actor
        policy.save(update_fields=["days", "grace_days", "enabled", "changed_at", "changed_by"])
        audit_record(actor=actor, action=AuditAction.RETENTION_POLICY_CHANGED, target=policy, old=old, new=new,
                     request=request)
    return policy


def retention_policy_promise(*, kind: str, days: int) -> str | None:
    """What the data protection notice promises of the records of ``kind`` when a policy
    would keep them fewer than the promised days (a warning, not a refusal), or None. No query."""
    rule = next((rule for rule in retention_rules() if rule.kind == kind), None)
    if rule is None or rule.promised_days is None or days >= rule.promised_days:
        return None
    return str(rule.promise)


# How many records a change is counted up to, for the confirmation it asks: a count over a
# big table stops there (one bounded query).
NEWLY_DUE_COUNTED = 100_000


def retention_policy_newly_due(*, kind: str, days: int, grace_days: int, enabled: bool,
                               now: datetime | None = None) -> int:
    """How many records the next daily run would erase or reduce under these settings that
    it would leave alone under the kind's policy as it stands (a shorter keeping time, a
    shorter grace after the reminder, a policy switched on): what the superadmin confirms
    before saving such a change, which the run cannot undo. The records due under the new
    settings and not under the current ones, not the difference of the two counts: a
    change can make some records due while others stop being due. Counted up to
    ``NEWLY_DUE_COUNTED``; one query (none for a kind no rule is registered for)."""
    rule = next((rule for rule in retention_rules() if rule.kind == kind), None)
    if rule is None or not enabled:
        return 0
    now = now or timezone.now()
    current = next(policy for policy in retention_policies() if policy.kind == kind)
    if current.enabled and days >= current.days and grace_days >= current.grace_days:
        return 0  # keeps everything at least as long: nothing more is due
    proposed = RetentionPolicy(kind=kind, days=days, grace_days=grace_days, enabled=enabled)
    due = _not_done(rule, _not_held(rule, rule.due(proposed, now)))
    if current.enabled:
        due = due.exclude(pk__in=rule.due(current, now).values("pk"))
    return due[:NEWLY_DUE_COUNTED].count()


def legal_hold_set(
    *, target_type: str, target_id: int, reason: str, actor: AnyUser, request: HttpRequest | None = None
) -> LegalHold:
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Say why the record is held.")})
    if target_type not in HoldTarget.values:
        raise ValidationError({"target_type": _("Choose what is held.")})
    # The record by its label (the core imports no feature app): a mistyped number holds nothing.
    if not apps.get_model(target_type)._default_manager.filter(pk=target_id).exists():
        raise ValidationError({"target_id": _("No such record.")})
    already_held = ValidationError({"target_id": _("This record is already held.")})
    with transaction.atomic():
        if LegalHold.objects.select_for_update().filter(target_type=target_type, target_id=target_id,
                                                        released_at__isnull=True).exists():
            raise already_held
        try:
            # The lock above holds no row when none is held yet: the same hold set twice at
            # once (a double click) meets at the one active hold per record instead.
            with transaction.atomic():
                hold = LegalHold.objects.create(target_type=target_type, target_id=target_id, reason=reason[:500],
                                                set_at=timezone.now(), set_by=actor)
        except IntegrityError:
            raise already_held from None
        audit_record(actor=actor, action=AuditAction.LEGAL_HOLD_SET, target=hold, request=request,
                     new={"held": target_type, "record": target_id, "reason": hold.reason})
    return hold


def released_already(hold: LegalHold) -> ValidationError:
    """The refusal to release ``hold`` once another superadmin released it (the page was
    left open): by whom and when, so that the one whose reason was not recorded knows."""
    releaser = hold.released_by
    who = address_naming(releaser)
    values = {"who": who, "when": shown(hold.released_at)}
    if who:
        message = _("This hold was released already, by %(who)s on %(when)s. Your reason was not recorded.") % values
    else:
        message = _("This hold was released already, on %(when)s. Your reason was not recorded.") % values
    return ValidationError(message, code="released")


def legal_hold_release(*, hold_id: int, reason: str, actor: AnyUser, request: HttpRequest | None = None) -> LegalHold:
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Say why the hold ends.")})
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold_id)
        if hold.released_at is not None:
            raise released_already(hold)
        hold.released_at, hold.released_by, hold.release_reason = timezone.now(), actor, reason[:500]
        hold.save(update_fields=["released_at", "released_by", "release_reason"])
        audit_record(actor=actor, action=AuditAction.LEGAL_HOLD_RELEASED, target=hold, request=request,
                     old={"held": hold.target_type, "record": hold.target_id}, new={"reason": hold.release_reason})
    return hold


@dataclass(frozen=True)
class ReleaseEffect:
    """What the next daily run does to the records of one kind a legal hold keeps from it,
    once the hold is released (``legal_hold_release_effects``)."""

    kind: str
    due: int  # past their retention time: acted on at the next run
    reminded: int  # past it, with a reminder first: acted on from ``acted_on``
    acted_on: date | None


def _covered_by(hold: LegalHold, rule: RetentionRule, queryset: QuerySet) -> QuerySet | None:
    """The records of ``queryset`` (the rule's) that ``hold`` covers: the record it names, or
    the records of the person it names; None when it covers none of the rule's."""
    if hold.target_type == rule.target_type:
        return queryset.filter(pk=hold.target_id)
    if hold.target_type == HoldTarget.PERSON and rule.person_field:
        return queryset.filter(**{rule.person_field: hold.target_id})
    return None


def retention_rule_deletes(kind: str) -> bool:
    """Whether the rule of ``kind`` deletes its records (True) or keeps them reduced."""
    return next((rule.deletes for rule in retention_rules() if rule.kind == kind), True)


def legal_hold_release_effects(hold: LegalHold, *, now: datetime | None = None) -> list[ReleaseEffect]:
    """What releasing ``hold`` lets the next daily run do, for each kind whose policy is
    enabled: how many of the records it covers (and no other hold in force does) are past
    their retention time, acted on (erased, reduced or withdrawn) at that run, and how many
    get their reminder then, acted on from the day it names. Said on the release page
    before the superadmin confirms. At most two queries a rule, and the policies'."""
    now = now or timezone.now()
    policies = {policy.kind: policy for policy in retention_policies()}
    effects = []
    for rule in retention_rules():
        policy = policies.get(rule.kind)
        if policy is None or not policy.enabled:
            continue
        due = _covered_by(hold, rule, rule.due(policy, now))
        if due is None:
            continue
        count = _not_done(rule, _not_held(rule, due, but=hold.pk))[:NEWLY_DUE_COUNTED].count()
        reminded = 0
        if rule.remind_due is not None and rule.remind is not None:
            to_remind = _covered_by(hold, rule, rule.remind_due(policy, now))
            reminded = _not_held(rule, to_remind, but=hold.pk)[:NEWLY_DUE_COUNTED].count()
        if count or reminded:
            effects.append(ReleaseEffect(kind=rule.kind, due=count, reminded=reminded,
                                         acted_on=reminder_names(policy, next_run_at(now)) if reminded else None))
    return effects


def next_run_at(now: datetime | None = None) -> datetime:
    """When the daily run that follows ``now`` (by default the present) starts: at its hour
    of India's night (CELERY_BEAT_SCHEDULE's "retention-run", a crontab in India's time),
    today's if it has not come yet, else tomorrow's. The day a reminder it sends names
    counts from it."""
    now = now or timezone.now()
    schedule = settings.CELERY_BEAT_SCHEDULE["retention-run"]["schedule"]
    local = timezone.localtime(now)
    hours, minutes = sorted(schedule.hour), sorted(schedule.minute)
    for day in (local.date(), local.date() + timedelta(days=1)):
        for hour in hours:
            for minute in minutes:
                start = timezone.make_aware(datetime.combine(day, time(hour, minute)))
                if start > now:
                    return start
    return now


def legal_held(*targets: tuple[str, int | None]) -> bool:
    """Whether any of ``targets`` ((HoldTarget, id) pairs; a None id is skipped) is under a
    legal hold now: whatever deletes or reduces a record outside the retention run (an
    erasure granted, a replaced letter, a roster's rows) asks this first."""
    condition = Q()
    for target_type, target_id in targets:
        if target_id is not None:
            condition |= Q(target_type=target_type, target_id=target_id)
    return bool(condition) and LegalHold.objects.filter(condition, released_at__isnull=True).exists()


# The addresses the apps' records know were a held person's, which the account may no
# longer hold, and those a held record of theirs names (a verification record's official
# address): each is called with the legal holds in force (a queryset) and returns
# querysets of one column of addresses (``values_list``), read with the account's in one
# query. Registered from the apps' ready().
HeldAddresses = Callable[[QuerySet], Iterable[QuerySet]]
_HELD_ADDRESSES: list[HeldAddresses] = []


def held_addresses_register(source: HeldAddresses) -> None:
    if source not in _HELD_ADDRESSES:
        _HELD_ADDRESSES.append(source)


def held_person_addresses() -> list[str]:
    """The addresses, lower case, of the people under a legal hold now (their account's,
    and those the apps know were theirs: held_addresses_register), and those a held record
    names: for records that name a person only by an address (a roster's rows, the outbox's
    mail), kept while the hold lasts, as the records the hold keeps from the retention run.
    An address that passed to someone else (a successor in a post) is kept too: a hold
    keeps more, never less. One query."""
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (apps loaded)

    holds = LegalHold.objects.filter(released_at__isnull=True)
    people = holds.filter(target_type=HoldTarget.PERSON).values("target_id")
    parts = [EmailAddress.objects.filter(user_id__in=people).order_by().values_list("email"),
             get_user_model().objects.filter(pk__in=people).order_by().values_list("email"),
             *(part.order_by() for source in _HELD_ADDRESSES for part in source(holds))]
    return sorted({address.strip().lower() for (address,) in parts[0].union(*parts[1:]) if address and address.strip()})


def _not_held(rule: RetentionRule, queryset: QuerySet, *, but: int | None = None) -> QuerySet:
    """Of ``queryset``, the records no legal hold in force covers (on the record or on its
    person), the hold ``but`` (being released) left out."""
    holds = LegalHold.objects.filter(released_at__isnull=True).exclude(pk=but)
    queryset = queryset.exclude(Exists(holds.filter(target_type=rule.target_type, target_id=OuterRef("pk"))))
    if rule.person_field:
        queryset = queryset.exclude(Exists(holds.filter(target_type=HoldTarget.PERSON,
                                                        target_id=OuterRef(rule.person_field))))
    return queryset


def _not_done(rule: RetentionRule, queryset: QuerySet) -> QuerySet:
    if rule.deletes:
        return queryset
    return queryset.exclude(Exists(RetentionMark.objects.filter(kind=rule.kind, target_id=OuterRef("pk"),
                                                                done_at__isnull=False)))


def _batches(queryset: QuerySet, batch_size: int):
    """Ids of ``queryset`` in batches, by key: one query a batch, whatever the size."""
    after = 0
    while True:
        ids = list(queryset.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        yield ids
        after = ids[-1]


def _still_due(queryset: QuerySet, ids: list[int]) -> list[int]:
    """Those of ``ids`` (read before this transaction) that ``queryset`` still holds, locked
    until the transaction ends. One locked by another transaction (its officer saving it,
    its person signing in) is skipped, not waited for: the next run sees it as it is then."""
    return list(queryset.filter(pk__in=ids).select_for_update(skip_locked=True, of=("self",))
                .order_by("pk").values_list("pk", flat=True))


def retention_apply(*, rule: RetentionRule, policy: RetentionPolicy, now: datetime, batch_size: int,
                    counts: dict | None = None, progress: Callable[[dict], None] | None = None) -> dict:
    """Apply one rule: its reminders, then its erasures; counts of each, in ``counts``
    (when given) as each batch commits: an error in a batch leaves the counts of those
    committed before it. ``progress`` is called with the counts a batch brings them to, in
    its transaction (the run saves them with it)."""
    if counts is None:
        counts = {}
    for name in ("reminded", "erased", "audit_events_redacted"):
        counts.setdefault(name, 0)
    if rule.remind_due is not None and rule.remind is not None:
        to_remind = _not_held(rule, rule.remind_due(policy, now))
        for batch in _batches(to_remind, batch_size):
            with transaction.atomic():
                ids = _still_due(to_remind, batch)
                if not ids:
                    continue
                rule.remind(ids, now)
                due_on = reminder_names(policy, now)
                RetentionMark.objects.bulk_create(
                    [RetentionMark(kind=rule.kind, target_id=pk, reminded_at=now, due_on=due_on) for pk in ids],
                    update_conflicts=True, unique_fields=["kind", "target_id"], update_fields=["reminded_at", "due_on"],
                )
                done = {**counts, "reminded": counts["reminded"] + len(ids)}
                if progress is not None:
                    progress(done)
            counts.update(done)
    due = _not_done(rule, _not_held(rule, rule.due(policy, now)))
    for batch in _batches(due, batch_size):
        with transaction.atomic():
            ids = _still_due(due, batch)
            if not ids:
                continue
            actor_ids, targets = rule.audit_of(ids)
            rule.apply(ids, now)
            redacted = audit_redact(actor_ids=actor_ids, targets=targets, purpose=f"retention:{rule.kind}",
                                    batch_size=max(batch_size * 20, 1000), record=False)
            if rule.deletes:
                RetentionMark.objects.filter(kind=rule.kind, target_id__in=ids).delete()
            else:
                RetentionMark.objects.bulk_create(
                    [RetentionMark(kind=rule.kind, target_id=pk, done_at=now) for pk in ids],
                    update_conflicts=True, unique_fields=["kind", "target_id"], update_fields=["done_at"],
                )
            done = {**counts, "erased": counts["erased"] + len(ids),
                    "audit_events_redacted": counts["audit_events_redacted"] + redacted.redacted}
            if progress is not None:
                progress(done)
        counts.update(done)
    return counts


def retention_run(*, now: datetime | None = None, batch_size: int | None = None) -> RetentionRun:
    """Apply every enabled policy's rule, each on its own: one that fails with an error
    (logged) is recorded as failed and the others still run. The run's counts are saved
    with each batch it commits, and its end (``finished_at``, whether it was stopped before
    its end, the rules that failed) and its audit event (RETENTION_RUN: when it did
    anything, stopped or had a rule fail) are written however it ends: a run stopped by its
    time limit (re-raised) records what it erased. Safe to run twice: the second run finds
    nothing to do."""
    now = now or timezone.now()
    batch_size = batch_size or settings.PRIVACY_RETENTION_BATCH
    policies = {policy.kind: policy for policy in retention_policies()}
    run = RetentionRun.objects.create(started_at=now)
    counts: dict[str, dict] = {}

    def progress(kind: str, done: dict) -> None:
        RetentionRun.objects.filter(pk=run.pk).update(counts={**counts, kind: done})

    stopped = True  # until every rule has been tried
    try:
        for rule in retention_rules():
            policy = policies.get(rule.kind)
            if policy is None or not policy.enabled:
                continue
            counts[rule.kind] = {}
            try:
                retention_apply(rule=rule, policy=policy, now=now, batch_size=batch_size, counts=counts[rule.kind],
                                progress=partial(progress, rule.kind))
            except SoftTimeLimitExceeded:  # the run's time is up, not this rule's fault
                raise
            except Exception:  # one rule's failure keeps none of the others from running
                logger.exception("The retention rule %s failed; the run goes on with the others", rule.kind)
                run.failed.append(rule.kind)
        stopped = False
    finally:
        _run_end(run, counts, stopped=stopped)
    return run


def _run_end(run: RetentionRun, counts: dict, *, stopped: bool) -> None:
    """Record how ``run`` ended: its counts, when, whether it was stopped before its end,
    the rules that failed; and its audit event, when it did anything or did not go well."""
    run.counts, run.finished_at, run.stopped = counts, timezone.now(), stopped
    run.save(update_fields=["counts", "finished_at", "stopped", "failed"])
    if stopped or run.failed or any(value for kind_counts in counts.values() for value in kind_counts.values()):
        audit_record(actor=None, action=AuditAction.RETENTION_RUN, actor_role="system:retention", target=run,
                     new={"counts": counts, **({"stopped": True} if stopped else {}),
                          **({"failed": run.failed} if run.failed else {})})


def days_ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def whole_days_before(now: datetime, days: int) -> datetime:
    """The start of India's day ``days`` days before ``now``'s: a record last touched
    before it has been left ``days`` whole days (the day it was touched not counted),
    whatever the time of day of the run."""
    day = timezone.localdate(now) - timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time.min))


def reminder_names(policy: RetentionPolicy, now: datetime) -> date:
    """The day (India's) a reminder sent at ``now`` under ``policy`` names, from which the
    run may act on the record: stored with its mark (``RetentionMark.due_on``)."""
    return timezone.localdate(now) + timedelta(days=policy.days_after_reminder)


def grace_passed(policy: RetentionPolicy, now: datetime) -> Q:
    """Of a rule's marks (``RetentionMark``): reminded at least the policy's
    ``days_after_reminder`` whole days of India before the day of ``now``, whatever the hour
    of either run (never in the run that reminds), and the day the reminder named has come (a
    grace shortened since does not bring it forward)."""
    return named_day_reached(now) & Q(reminded_at__lt=whole_days_before(now, policy.days_after_reminder - 1))


def named_day_reached(now: datetime) -> Q:
    """Of a rule's marks (``RetentionMark``): the day its reminder named has come (or it
    named none, as marks stored before the day was)."""
    return Q(due_on__isnull=True) | Q(due_on__lte=timezone.localdate(now))
