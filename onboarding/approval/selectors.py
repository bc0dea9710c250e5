"""Reads of approval steps, scoped to who is looking."""

from datetime import datetime

from django.db.models import BooleanField, Case, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from onboarding.models import Application, ApprovalStep, Decision, Stage
from portal.permissions import AnyUser, decided_jurisdictions, is_superadmin


def _in_jurisdictions_of(viewer: AnyUser, queryset: QuerySet[ApprovalStep]) -> QuerySet[ApprovalStep]:
    jurisdictions = decided_jurisdictions(viewer)
    if jurisdictions is None:
        return queryset
    return queryset.filter(jurisdiction__in=jurisdictions) if jurisdictions else queryset.none()


def state_steps_visible_to(viewer: AnyUser) -> QuerySet[ApprovalStep]:
    """State-stage steps (open or decided) of the viewer's jurisdictions."""
    return _in_jurisdictions_of(viewer, ApprovalStep.objects.filter(stage=Stage.STATE))


def state_queue(viewer: AnyUser, *, now: datetime | None = None) -> QuerySet[ApprovalStep]:
    """Open state steps the viewer may decide: overdue first, then the oldest."""
    now = now or timezone.now()
    return (
        state_steps_visible_to(viewer)
        .filter(decision="")
        .select_related("application", "application__nodal_officer")
        .annotate(overdue=Case(When(due_at__lte=now, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .order_by("-overdue", "opened_at", "id")
    )


def escalated_authority_steps(viewer: AnyUser) -> QuerySet[ApprovalStep]:
    """Competent authorities' steps of the viewer's jurisdictions that are overdue
    and were escalated to the state administrators."""
    return (
        _in_jurisdictions_of(viewer, ApprovalStep.objects.filter(stage=Stage.AUTHORITY, decision="", escalated_at__isnull=False))
        .select_related("application")
        .order_by("due_at", "id")
    )


def state_step_for(viewer: AnyUser, pk: int) -> ApprovalStep:
    try:
        return state_steps_visible_to(viewer).select_related("application", "application__nodal_officer").get(pk=pk)
    except (ApprovalStep.DoesNotExist, ValueError):
        raise Http404 from None


def appeal_queue(viewer: AnyUser) -> QuerySet[ApprovalStep]:
    if not is_superadmin(viewer):
        return ApprovalStep.objects.none()
    return (
        ApprovalStep.objects.filter(stage=Stage.APPEAL, decision="")
        .select_related("application", "application__nodal_officer")
        .order_by("due_at", "id")
    )


def appeal_step_for(viewer: AnyUser, pk: int) -> ApprovalStep:
    if not is_superadmin(viewer):
        raise Http404
    try:
        return ApprovalStep.objects.select_related("application", "application__nodal_officer").get(pk=pk, stage=Stage.APPEAL)
    except (ApprovalStep.DoesNotExist, ValueError):
        raise Http404 from None


def last_seen_step(step: ApprovalStep) -> ApprovalStep | None:
    """The earlier step of the same stage whose decider last saw the application, or None."""
    return (
        ApprovalStep.objects.filter(application_id=step.application_id, stage=step.stage, opened_at__lte=step.opened_at)
        .exclude(pk=step.pk)
        .exclude(decision__in=["", Decision.CANCELLED])
        .order_by("-opened_at", "-id")
        .first()
    )


def last_rejection(application: Application) -> ApprovalStep | None:
    """The application's latest rejected step, or None."""
    return application.steps.filter(decision=Decision.REJECT).order_by("-decided_at").first()


def steps_of(application: Application) -> list[ApprovalStep]:
    """Every step of an application the viewer may already see, oldest first."""
    return list(application.steps.exclude(decision=Decision.CANCELLED).order_by("opened_at", "id"))
