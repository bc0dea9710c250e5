"""Retention of onboarding records, registered with the core's retention engine
(portal/privacy) from OnboardingConfig.ready.

- Drafts not saved for the policy's days get a reminder (English and the
  application's second language); still not saved ``grace_days`` after it, they are
  erased with their files. A save that changes nothing counts: it moves ``updated_at``.
- Withdrawn and finally rejected applications keep their reference, organisation,
  status, dates and each step's stage and decision; after the policy's days (by
  default the three years the data protection notice promises, which the page of
  the policies recalls to a superadmin who keeps them for less) they
  lose the form's answers, their saved versions, their files and the personal
  details of their steps (names, addresses, remarks, grounds, client address).
Applications under appeal are never due (their status is neither)."""

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from onboarding.application.declarations import (
    CLOSED_APPLICATION_PROMISE,
    CLOSED_APPLICATION_PROMISED_DAYS,
    DRAFT_APPLICATION_PROMISE,
    LEFT_APPLICATION_PROMISED_DAYS,
)
from onboarding.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    ApplicationVersion,
    ApprovalStep,
    Attachment,
    AuthorityToken,
)
from onboarding.notifications import build_bilingual, send_many
from portal.privacy.models import RetentionKind, RetentionMark, RetentionPolicy
from portal.privacy.registry import RetentionRule, retention_rule_register
from portal.privacy.retention import days_ago, grace_passed
from portal.stored_files import files_delete_after_commit

CLOSED_STATUSES = (ApplicationStatus.WITHDRAWN, ApplicationStatus.REJECTED_FINAL)


def _reminded(*conditions: Q, **filters) -> QuerySet:
    return RetentionMark.objects.filter(*conditions, kind=RetentionKind.DRAFT_APPLICATION, target_id=OuterRef("pk"),
                                        **filters)


def drafts_to_remind(policy: RetentionPolicy, now: datetime) -> QuerySet:
    """Drafts untouched for the policy's days and not reminded since they were last touched."""
    return Application.objects.filter(status=ApplicationStatus.DRAFT, updated_at__lt=days_ago(now, policy.days)) \
        .exclude(Exists(_reminded(reminded_at__gte=OuterRef("updated_at"))))


def drafts_due(policy: RetentionPolicy, now: datetime) -> QuerySet:
    """Drafts reminded long enough ago (grace_passed: a day at least, even for a policy stored
    with none, counted in whole days of India as the returned applications' are) and
    untouched since."""
    return Application.objects.filter(status=ApplicationStatus.DRAFT, updated_at__lt=days_ago(now, policy.days)) \
        .filter(Exists(_reminded(grace_passed(policy, now), reminded_at__gte=OuterRef("updated_at"))))


def drafts_remind(ids: list[int], now: datetime) -> None:
    from portal.privacy.retention import retention_policies  # noqa: PLC0415 (one query, the policies)

    grace = next(p.days_after_reminder for p in retention_policies() if p.kind == RetentionKind.DRAFT_APPLICATION)
    # Not to an officer whose account is deactivated: it cannot sign in to save the draft, as
    # the reminder asks (the draft is erased on its day as any other).
    applications = Application.objects.filter(pk__in=ids, nodal_officer__is_active=True).select_related("nodal_officer")
    send_many([
        build_bilingual(to=[application.nodal_officer.email], template="retention_draft_reminder",
                        context={"application": application,
                                 "erase_on": timezone.localdate(now + timedelta(days=grace))})
        for application in applications
    ])


def _delete_files(ids: list[int]) -> None:
    """The stored files of these applications, deleted after the commit (rows go in the transaction)."""
    files_delete_after_commit(
        (field.storage, field.name)
        for model in (Attachment, ApplicationDocument)
        for field in (row.file for row in model.objects.filter(application_id__in=ids).only("file"))
    )


def files_remove(ids: list[int]) -> None:
    """These applications' letters and form PDFs: the rows now, the stored files after the commit."""
    _delete_files(ids)
    Attachment.objects.filter(application_id__in=ids).delete()
    ApplicationDocument.objects.filter(application_id__in=ids).delete()


def drafts_erase(ids: list[int], now: datetime) -> None:
    ids = list(Application.objects.filter(pk__in=ids, status=ApplicationStatus.DRAFT).values_list("pk", flat=True))
    _delete_files(ids)
    Application.objects.filter(pk__in=ids).delete()


def applications_audit(ids: list[int]) -> tuple[list[int], list[tuple[str, str]]]:
    return [], [("onboarding.application", str(pk)) for pk in ids]


def closed_due(policy: RetentionPolicy, now: datetime) -> QuerySet:
    cutoff = days_ago(now, policy.days)
    return Application.objects.filter(status__in=CLOSED_STATUSES).filter(
        Q(closed_at__lt=cutoff) | Q(closed_at__isnull=True, updated_at__lt=cutoff))


def closed_reduce(ids: list[int], now: datetime) -> None:
    ids = list(Application.objects.filter(pk__in=ids, status__in=CLOSED_STATUSES).values_list("pk", flat=True))
    files_remove(ids)
    ApplicationVersion.objects.filter(application_id__in=ids).delete()
    AuthorityToken.objects.filter(step__application_id__in=ids).delete()
    ApprovalStep.objects.filter(application_id__in=ids).update(
        assignee_email="", assignee_name="", grounds="", remarks="", decided_by_email="", ip=None, user_agent="")
    # updated_at is left as it was: reducing is not a change by the officer.
    Application.objects.filter(pk__in=ids).update(data={})


def register() -> None:
    retention_rule_register(RetentionRule(
        kind=RetentionKind.DRAFT_APPLICATION, target_type="onboarding.application", person_field="nodal_officer_id",
        due=drafts_due, apply=drafts_erase, audit_of=applications_audit,
        remind_due=drafts_to_remind, remind=drafts_remind,
        promised_days=LEFT_APPLICATION_PROMISED_DAYS, promise=DRAFT_APPLICATION_PROMISE,
    ))
    retention_rule_register(RetentionRule(
        kind=RetentionKind.CLOSED_APPLICATION, target_type="onboarding.application", person_field="nodal_officer_id",
        due=closed_due, apply=closed_reduce, audit_of=applications_audit, deletes=False,
        promised_days=CLOSED_APPLICATION_PROMISED_DAYS, promise=CLOSED_APPLICATION_PROMISE,
    ))
