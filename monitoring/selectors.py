"""The dashboard's figures, each a set-based aggregate over the viewer's scope
(monitoring.scope): a constant number of queries however much data there is.
Figures that need a scan of every government profile come from the summary table
kept by beat (monitoring.services.figures_refresh)."""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from monitoring.models import AuditChainCheck, FiguresRun, OrganisationFigures
from monitoring.scope import Scope
from onboarding.models import ApplicationStatus, ApprovalStep, Decision, Stage
from portal.organisations.models import Organisation

FIGURES_RUN = "organisation_figures"
MONTHS = 12
OVERDUE_SHOWN = 10

# Sort keys of the organisations table: what the query string may say -> ordering.
ORGANISATION_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "state": ("state", "name", "id"),
    "-state": ("-state", "name", "id"),
    "activated": (F("activated_at").asc(nulls_last=True), "id"),
    "-activated": (F("activated_at").desc(nulls_last=True), "id"),
    "verified": ("verified", "name", "id"),
    "-verified": ("-verified", "name", "id"),
    "pending": ("pending", "name", "id"),
    "-pending": ("-pending", "name", "id"),
}
DEFAULT_SORT = "name"


class Median(Aggregate):
    """PostgreSQL's median (of durations here)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def status_counts(scope: Scope) -> dict[str, int]:
    """Applications in each state of the lifecycle, every state listed (one query)."""
    found = dict(scope.applications().order_by().values_list("status").annotate(n=Count("id")))
    return {status: found.get(status, 0) for status in ApplicationStatus.values}


def overdue_steps(scope: Scope, *, now: datetime) -> tuple[int, list[ApprovalStep]]:
    """Open approval steps past their due date: how many, and the longest overdue with
    what the dashboard shows of them (one query: the count comes with each row, a
    window over every overdue step)."""
    shown = list(
        scope.steps().filter(decision="", due_at__lte=now)
        .select_related("application")
        .only("stage", "due_at", "application__reference", "application__organisation_name")
        .annotate(total=Window(Count("id")))
        .order_by("due_at", "id")[:OVERDUE_SHOWN]
    )
    return (shown[0].total if shown else 0), shown


def median_days_per_stage(scope: Scope) -> dict[str, float | None]:
    """Median days from a step's opening to its decision, per stage (decided steps; one query)."""
    decided = scope.steps().exclude(decision__in=["", Decision.CANCELLED]).filter(decided_at__isnull=False)
    duration = ExpressionWrapper(F("decided_at") - F("opened_at"), output_field=DurationField())
    if connection.vendor == "postgresql":
        rows = dict(decided.order_by().values_list("stage").annotate(median=Median(duration)))
    else:  # the embedded default (SQLite) has no median: computed here
        values: dict[str, list[timedelta]] = {}
        for stage, took in decided.annotate(took=duration).values_list("stage", "took"):
            values.setdefault(stage, []).append(took)
        rows = {stage: statistics.median(took) for stage, took in values.items()}
    return {stage: (round(rows[stage].total_seconds() / 86400, 1) if rows.get(stage) is not None else None)
            for stage in Stage.values}


def onboarded_per_month(scope: Scope, *, now: datetime) -> list[tuple[datetime, int]]:
    """Organisations activated in each of the last 12 months, oldest first, months
    without one included (one query)."""
    current = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = [current]
    for _i in range(MONTHS - 1):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    found = dict(
        scope.organisations().filter(activated_at__gte=months[0]).order_by()
        .annotate(month=TruncMonth("activated_at")).values_list("month").annotate(n=Count("id"))
    )
    found = {timezone.localtime(month).date().replace(day=1) if isinstance(month, datetime) else month: n
             for month, n in found.items()}
    return [(month, found.get(month.date(), 0)) for month in months]


def user_totals(scope: Scope) -> dict[str, int]:
    """Verified and waiting government users of the scope's organisations, from the summary table (one query)."""
    figures = OrganisationFigures.objects.all()
    if not scope.everything:
        figures = figures.filter(organisation_id__in=scope.organisations().values("pk"))
    totals = figures.aggregate(verified=Coalesce(Sum("verified_users"), 0), pending=Coalesce(Sum("pending_users"), 0))
    return totals


def figures_refreshed_at() -> datetime | None:
    return FiguresRun.objects.filter(name=FIGURES_RUN).values_list("finished_at", flat=True).first()


@dataclass(frozen=True)
class OrganisationFilters:
    query: str = ""
    state: str = ""
    status: str = ""
    sort: str = DEFAULT_SORT


def organisation_rows(scope: Scope, filters: OrganisationFilters) -> QuerySet[Organisation]:
    """The scope's organisations with their verified and waiting users (summary table),
    filtered and sorted by a whitelisted key."""
    rows = scope.organisations()
    if filters.query:
        rows = rows.filter(Q(name__icontains=filters.query) | Q(short_code__iexact=filters.query))
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.status:
        rows = rows.filter(status=filters.status)
    rows = rows.annotate(
        verified=Coalesce(F("monitoring_figures__verified_users"), Value(0)),
        pending=Coalesce(F("monitoring_figures__pending_users"), Value(0)),
    )
    ordering = ORGANISATION_SORTS.get(filters.sort, ORGANISATION_SORTS[DEFAULT_SORT])
    return rows.only("id", "name", "short_code", "state", "level", "status", "activated_at").order_by(*ordering)


def last_chain_check() -> AuditChainCheck | None:
    return AuditChainCheck.objects.order_by("-checked_at", "-id").first()


def roster_model() -> type | None:
    """The roster import model, when the roster app is installed (None otherwise)."""
    try:
        return apps.get_model("rosters", "RosterImport")
    except LookupError:
        return None


def rosters_imported(scope: Scope) -> int | None:
    """Roster files applied to the scope's organisations (one query), or None when the
    portal has no roster imports."""
    model = roster_model()
    if model is None:
        return None
    rosters = model.objects.filter(status="applied")
    if not scope.everything:
        rosters = rosters.filter(organisation_id__in=scope.organisations().values("pk"))
    return rosters.count()


