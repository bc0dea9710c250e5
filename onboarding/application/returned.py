"""Applications returned for correction and left so: the retention run's rule for them
(the core's engine, portal/privacy), registered from OnboardingConfig.ready under a
policy of their own (RetentionKind.RETURNED_APPLICATION, edited by the superadmins).

- Not touched (``updated_at``: the return itself, a section saved, a resubmission) for
  the policy's days, the application's nodal officer gets a reminder, in English and
  the application's second language: the return's stage, day and remarks (as the
  return's own mail gives them), the day from which it is withdrawn, a link to its
  form. The reminder is audited (the application's timeline shows it).
- Still untouched ``days_after_reminder`` later, it is withdrawn by the system through
  the withdrawal's own service (``applications_withdraw_not_corrected``), not erased:
  it has a reference and a history of decisions. The closed applications' policy
  reduces it later, as any withdrawn application.

A reminder costs a constant number of queries per batch; withdrawals go one by one
through the service (each its audit row, its links, its mail), within the run's batches."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from onboarding.application.declarations import LEFT_APPLICATION_PROMISED_DAYS, RETURNED_APPLICATION_PROMISE
from onboarding.application.selectors import RETURNED_POLICY, withdrawal_day
from onboarding.application.services import applications_withdraw_not_corrected
from onboarding.models import Application, ApplicationStatus, ApprovalStep, Decision
from onboarding.notifications import build_bilingual, send_many
from portal.audit.models import AuditAction
from portal.audit.services import audit_record_many
from portal.privacy.models import RetentionMark, RetentionPolicy
from portal.privacy.registry import RetentionRule, retention_rule_register
from portal.privacy.retention import grace_passed, retention_policies, whole_days_before


def _left(policy: RetentionPolicy, now: datetime) -> QuerySet:
    """Untouched for the policy's days, counted in whole days of India (as the form's
    estimate of the day counts them: selectors.correction_deadline)."""
    return Application.objects.filter(status=ApplicationStatus.CHANGES_REQUESTED,
                                      updated_at__lt=whole_days_before(now, policy.days))


def _reminded(*conditions: Q, **filters) -> QuerySet:
    """Its reminder, sent since the application was last touched."""
    return RetentionMark.objects.filter(*conditions, kind=RETURNED_POLICY, target_id=OuterRef("pk"),
                                        reminded_at__gte=OuterRef("updated_at"), **filters)


def returned_to_remind(policy: RetentionPolicy, now: datetime) -> QuerySet:
    """Returned for correction, untouched for the policy's days, not reminded since."""
    return _left(policy, now).exclude(Exists(_reminded()))


def returned_due(policy: RetentionPolicy, now: datetime) -> QuerySet:
    """Returned for correction, reminded at least ``days_after_reminder`` ago (never in the
    run that reminds them) and untouched since, once the day the reminder named has come:
    a grace shortened after the reminder does not withdraw it before that day."""
    return _left(policy, now).filter(Exists(_reminded(grace_passed(policy, now))))


def returned_remind(ids: list[int], now: datetime) -> None:
    """Mail each application's nodal officer its reminder and record it (constant queries:
    the policies, the applications with their officers, their returns, the mail, the audit)."""
    policy = next(policy for policy in retention_policies() if policy.kind == RETURNED_POLICY)
    withdraw_on = withdrawal_day(policy, now)
    returns = ApprovalStep.objects.filter(decision=Decision.RETURN).order_by("-decided_at", "-id")
    applications = list(Application.objects.filter(pk__in=ids).select_related("nodal_officer").order_by("pk")
                        .prefetch_related(Prefetch("steps", queryset=returns, to_attr="returns")))
    send_many([
        build_bilingual(to=[application.nodal_officer.email], template="retention_returned_reminder",
                        context={"application": application, "step": next(iter(application.returns), None),
                                 "withdraw_on": withdraw_on})
        for application in applications
    ])
    audit_record_many([
        {"action": AuditAction.APPLICATION_CORRECTION_REMINDED, "actor_role": "system:retention",
         "target": application, "new": {"withdraw_on": withdraw_on.isoformat()}}
        for application in applications
    ])


def returned_withdraw(ids: list[int], now: datetime) -> None:
    applications_withdraw_not_corrected(application_ids=ids)


def _nothing_to_redact(ids: list[int]) -> tuple[list[int], list[tuple[str, str]]]:
    """A withdrawn application keeps its history: the closed applications' policy redacts it later."""
    return [], []


def register() -> None:
    retention_rule_register(RetentionRule(
        kind=RETURNED_POLICY, target_type="onboarding.application", person_field="nodal_officer_id",
        due=returned_due, apply=returned_withdraw, audit_of=_nothing_to_redact, deletes=False,
        remind_due=returned_to_remind, remind=returned_remind,
        promised_days=LEFT_APPLICATION_PROMISED_DAYS, promise=RETURNED_APPLICATION_PROMISE,
    ))
