"""The audit log as its viewers may read it: superadmins and auditors of everything
all of it; an auditor of a state the events about that state's organisations,
applications, government profiles and expected offices; an organisation admin those
about their organisations (and the offices below them). One query a page."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from monitoring.models import ExpectedOffice
from monitoring.scope import Scope, ids_as_text
from onboarding.models import Application
from portal.audit.models import AuditEvent
from portal.organisations.models import Organisation
from verification.models import GovernmentProfile


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    organisation: Organisation | None = None
    since: date | None = None
    until: date | None = None


def _about(organisations: QuerySet, applications: QuerySet, expected: QuerySet | None) -> Q:
    """Events whose target is one of these organisations, their applications or government profiles (or expected offices)."""
    query = (
        Q(target_type="organisations.organisation", target_id__in=ids_as_text(organisations))
        | Q(target_type="onboarding.application", target_id__in=ids_as_text(applications))
        | Q(target_type="verification.governmentprofile",
            target_id__in=ids_as_text(GovernmentProfile.objects.filter(organisation_id__in=organisations.values("pk"))))
    )
    if expected is not None:
        query |= Q(target_type="monitoring.expectedoffice", target_id__in=ids_as_text(expected))
    return query


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events(scope: Scope, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The events the scope covers, filtered, newest first."""
    events = AuditEvent.objects.all()
    if not scope.everything:
        expected = ExpectedOffice.objects.filter(jurisdiction__in=scope.jurisdictions) if scope.jurisdictions else None
        events = events.filter(_about(scope.organisations(), scope.applications(), expected))
    if filters.organisation is not None:
        # (The organisation was chosen among the scope's: its events are within it.)
        one = Organisation.objects.filter(pk=filters.organisation.pk)
        events = events.filter(_about(one, Application.objects.filter(organisation_id=filters.organisation.pk), None))
    if filters.actor:
        events = events.filter(actor_email__icontains=filters.actor)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.since:
        events = events.filter(created_at__gte=_start_of(filters.since))
    if filters.until:
        events = events.filter(created_at__lt=_start_of(filters.until + timedelta(days=1)))
    return events.defer("old_values", "new_values", "prev_hash").order_by("-id")
