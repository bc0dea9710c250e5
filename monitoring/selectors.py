"""The dashboard's figures, each a set-based aggregate over the viewer's scope
(monitoring.scope): a constant number of queries however much data there is.
Figures that need a scan of every government profile come from the summary table
kept by beat (monitoring.services.figures_refresh).

Each figure's query is built once per process for each shape of scope (portal.compiled:
``Scope.shape`` and ``Scope.values``): building them through the ORM at every request
took longer than PostgreSQL took to answer them for an organisation's scope."""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from monitoring.models import AuditChainCheck, FiguresRun, OrganisationFigures
from monitoring.scope import PreparedIContains, PreparedIExact, Scope, ScopeShape, applications_q, organisations_q
from onboarding.models import Application, ApplicationStatus, ApprovalStep, Decision, DocumentKind, Stage
from portal import compiled
from portal.organisations.models import Membership, MembershipRole, Organisation, OrganisationStatus
from portal.permissions import admins_who_act

FIGURES_RUN = "organisation_figures"
MONTHS = 12
OVERDUE_SHOWN = 10
LETTERS_SHOWN = 10
NO_DECIDER_SHOWN = 10

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


# The scope's rows in a compiled query (``shape``: Scope.shape, ``values``: its markers).

def _applications(shape: ScopeShape, values: dict) -> QuerySet[Application]:
    return Application.objects.all() if shape is None else Application.objects.filter(applications_q(shape, values))


def _steps(shape: ScopeShape, values: dict) -> QuerySet[ApprovalStep]:
    if shape is None:
        return ApprovalStep.objects.all()
    return ApprovalStep.objects.filter(application_id__in=_applications(shape, values).values("pk"))


def _organisations(shape: ScopeShape, values: dict) -> QuerySet[Organisation]:
    return Organisation.objects.all() if shape is None else Organisation.objects.filter(organisations_q(shape, values))


def _status_counts_query(shape: ScopeShape, **values) -> QuerySet:
    return _applications(shape, values).order_by().values_list("status").annotate(n=Count("id"))


def status_counts(scope: Scope) -> dict[str, int]:
    """Applications in each state of the lifecycle, every state listed (one query)."""
    return _figures(scope, ("counts",))["counts"]


def _status_counts_from(rows: list[tuple]) -> dict[str, int]:
    found = dict(rows)
    return {status: found.get(status, 0) for status in ApplicationStatus.values}


def _overdue_query(shape: ScopeShape, *, now: datetime, **values) -> QuerySet[ApprovalStep]:
    return (
        _steps(shape, values).filter(decision="", due_at__lte=now)
        .select_related("application")
        .only("stage", "due_at", "application__reference", "application__organisation_name")
        .annotate(total=Window(Count("id")))
        .order_by("due_at", "id")[:OVERDUE_SHOWN]
    )


def overdue_steps(scope: Scope, *, now: datetime) -> tuple[int, list[ApprovalStep]]:
    """Open approval steps past their due date: how many, and the longest overdue with
    what the dashboard shows of them (one query: the count comes with each row, a
    window over every overdue step)."""
    return _figures(scope, ("overdue",), now=now)["overdue"]


def _counted_from(shown: list) -> tuple[int, list]:
    """How many rows there are in all (each row's ``total``, a window over every row) and those shown."""
    return (shown[0].total if shown else 0), shown


def _letters_failed_query(shape: ScopeShape, **values) -> QuerySet[Application]:
    return (
        _applications(shape, values)
        .filter(status=ApplicationStatus.APPROVED, approval_letter_failed_at__isnull=False)
        .exclude(documents__kind=DocumentKind.APPROVAL_LETTER)
        .only("reference", "organisation_name", "closed_at", "approval_letter_failed_at")
        .annotate(total=Window(Count("id")))
        .order_by("closed_at", "id")[:LETTERS_SHOWN]
    )


def letters_not_issued(scope: Scope) -> tuple[int, list[Application]]:
    """Approved applications whose approval letter could not be issued (over the render
    limits, or another error; the beat job tries each again): how many, and the longest
    waiting with what the dashboard shows of them (one query, the count a window over
    every row)."""
    return _figures(scope, ("letters",))["letters"]


def _no_decider_query(shape: ScopeShape, **values) -> QuerySet[ApprovalStep]:
    return (
        _steps(shape, values).filter(decision="", nobody_may_decide_since__isnull=False)
        .select_related("application")
        .only("stage", "jurisdiction", "nobody_may_decide_since", "application__reference",
              "application__organisation_name")
        .annotate(total=Window(Count("id")))
        .order_by("nobody_may_decide_since", "id")[:NO_DECIDER_SHOWN]
    )


def steps_nobody_may_decide(scope: Scope) -> tuple[int, list[ApprovalStep]]:
    """Open state steps and appeals that nobody may decide (no administrator of their
    jurisdiction, every superadmin refused: they wait for an administrator to be
    appointed): how many, and the longest waiting (one query, the count a window)."""
    return _figures(scope, ("no_decider",))["no_decider"]


def _no_admin_query(shape: ScopeShape, *, now: datetime, **values) -> QuerySet:
    """One row: the scope's active organisations where nobody holds the admin role without
    an end date with a right to act (portal.permissions.admins_who_act, as the last-admin
    rule counts them: portal.organisations.selectors.organisations_without_admin)."""
    kept = admins_who_act(Membership.objects.filter(
        organisation_id=OuterRef("pk"), role=MembershipRole.ADMIN, is_active=True, ends_at__isnull=True), now)
    return (
        _organisations(shape, values).filter(~Exists(kept), status=OrganisationStatus.ACTIVE)
        .order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values_list("n")
    )


def organisations_without_admin_count(scope: Scope, *, now: datetime) -> int:
    """How many of the scope's active organisations have no admin whose role does not end
    (its people's requests wait for the admins above it, or the superadmins). One query."""
    return _figures(scope, ("no_admin",), now=now)["no_admin"]


def _decided(shape: ScopeShape, values: dict) -> QuerySet[ApprovalStep]:
    return _steps(shape, values).exclude(decision__in=["", Decision.CANCELLED]).filter(decided_at__isnull=False)


_DURATION = ExpressionWrapper(F("decided_at") - F("opened_at"), output_field=DurationField())


def _medians_query(shape: ScopeShape, **values) -> QuerySet:
    return _decided(shape, values).order_by().values_list("stage").annotate(median=Median(_DURATION))


def _durations_query(shape: ScopeShape, **values) -> QuerySet:
    return _decided(shape, values).annotate(took=_DURATION).values_list("stage", "took")


def median_days_per_stage(scope: Scope) -> dict[str, float | None]:
    """Median days from a step's opening to its decision, per stage (decided steps; one query)."""
    return _figures(scope, ("medians",))["medians"]


def _medians_from(found: list[tuple]) -> dict[str, float | None]:
    rows = dict(found)
    return {stage: (round(rows[stage].total_seconds() / 86400, 1) if rows.get(stage) is not None else None)
            for stage in Stage.values}


def _medians_of_durations(found: list[tuple]) -> dict[str, float | None]:
    """``_medians_from`` of every decided step's duration: the embedded default (SQLite) has no median."""
    durations: dict[str, list[timedelta]] = {}
    for stage, took in found:
        durations.setdefault(stage, []).append(took)
    return _medians_from([(stage, statistics.median(took)) for stage, took in durations.items()])


def _onboarded_query(shape: ScopeShape, _time_zone: str, *, since: datetime, **values) -> QuerySet:
    """(The months are cut in the current time zone, ``_time_zone``, which the SQL names.)"""
    return (
        _organisations(shape, values).filter(activated_at__gte=since).order_by()
        .annotate(month=TruncMonth("activated_at")).values_list("month").annotate(n=Count("id"))
    )


def onboarded_per_month(scope: Scope, *, now: datetime) -> list[tuple[datetime, int]]:
    """Organisations activated in each of the last 12 months, oldest first, months
    without one included (one query)."""
    return _figures(scope, ("months",), now=now)["months"]


def _months(now: datetime) -> list[datetime]:
    """The first moments of the last MONTHS months (the current time zone's), oldest first."""
    current = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = [current]
    for _i in range(MONTHS - 1):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


def _onboarded_from(months: list[datetime], rows: list[tuple]) -> list[tuple[datetime, int]]:
    found = {timezone.localtime(month).date().replace(day=1) if isinstance(month, datetime) else month: n
             for month, n in rows}
    return [(month, found.get(month.date(), 0)) for month in months]


def _summary_query(shape: ScopeShape, rosters_model: type | None, **values) -> QuerySet:
    """One row (an aggregate over a constant, so no GROUP BY): the verified and waiting users
    of the scope's organisations (summary table), when they were counted, and the roster
    files applied to them (with the roster app: ``rosters_model``), the last two in
    subqueries of their own."""
    figures = OrganisationFigures.objects.all()
    if shape is not None:
        figures = figures.filter(organisation_id__in=_organisations(shape, values).values("pk"))
    refreshed = FiguresRun.objects.filter(name=FIGURES_RUN).order_by("pk").values("finished_at")[:1]
    columns = {"refreshed_at": Subquery(refreshed, output_field=DateTimeField())}
    if rosters_model is not None:
        rosters = rosters_model.objects.filter(status="applied")
        if shape is not None:
            rosters = rosters.filter(organisation_id__in=_organisations(shape, values).values("pk"))
        rosters = rosters.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")
        columns["rosters"] = Subquery(rosters, output_field=IntegerField())
    return (
        figures.order_by().annotate(one=Value(1)).values("one")
        .annotate(verified=Coalesce(Sum("verified_users"), 0), pending=Coalesce(Sum("pending_users"), 0), **columns)
        .values_list("verified", "pending", *columns)
    )


def summary_figures(scope: Scope) -> dict:
    """``verified`` and ``pending``: the government users of the scope's organisations, from
    the summary table; ``refreshed_at``: when that table was counted (None: not yet);
    ``rosters``: roster files applied to the scope's organisations (None when the portal
    has no roster imports). One query."""
    return _figures(scope, ("summary",))["summary"]


def _summary_from(rows: list[tuple]) -> dict:
    [(verified, pending, refreshed_at, *rosters)] = rows
    return {"verified": verified, "pending": pending, "refreshed_at": refreshed_at,
            "rosters": rosters[0] if rosters else None}


FIGURES = ("counts", "overdue", "medians", "months", "summary", "letters", "no_decider", "no_admin")


def dashboard_figures(scope: Scope, *, now: datetime) -> dict:
    """The dashboard's figures of the scope: ``counts`` (``status_counts``), ``overdue``
    (``overdue_steps``), ``medians`` (``median_days_per_stage``), ``months``
    (``onboarded_per_month``), ``summary`` (``summary_figures``), ``letters``
    (``letters_not_issued``), ``no_decider`` (``steps_nobody_may_decide``) and ``no_admin``
    (``organisations_without_admin_count``); on PostgreSQL their eight queries in one round
    trip (``compiled.together``)."""
    return _figures(scope, FIGURES, now=now)


def _figures(scope: Scope, names: tuple[str, ...], *, now: datetime | None = None) -> dict:
    """The figures ``names`` (of ``FIGURES``) of the scope, their queries (each built once per
    process for its shape of scope) in one round trip on PostgreSQL (``compiled.together``);
    none for a scope that sees nothing, as the ORM answers a condition that nothing meets
    (but when the summary table was counted)."""
    now = now or timezone.now()
    months, postgresql = _months(now), connection.vendor == "postgresql"
    finish = {  # what makes each figure of its query's rows
        "counts": _status_counts_from, "overdue": _counted_from,
        "medians": _medians_from if postgresql else _medians_of_durations,
        "months": lambda rows: _onboarded_from(months, rows), "summary": _summary_from,
        "letters": _counted_from, "no_decider": _counted_from,
        "no_admin": lambda rows: rows[0][0] if rows else 0,
    }
    if scope.is_empty:
        return {name: _empty_summary() if name == "summary" else finish[name]([]) for name in names}
    values, shape = scope.values(), scope.shape
    calls = {  # each figure's call of compiled.together
        "counts": ("rows", _status_counts_query, (shape,), values),
        "overdue": ("objects", _overdue_query, (shape,), {**values, "now": now}),
        "medians": ("rows", _medians_query if postgresql else _durations_query, (shape,), values),
        "months": ("rows", _onboarded_query, (shape, timezone.get_current_timezone_name()), {**values, "since": months[0]}),
        "summary": ("rows", _summary_query, (shape, roster_model()), values),
        "letters": ("objects", _letters_failed_query, (shape,), values),
        "no_decider": ("objects", _no_decider_query, (shape,), values),
        "no_admin": ("rows", _no_admin_query, (shape,), {**values, "now": now}),
    }
    found = compiled.together(*(calls[name] for name in names))
    return {name: finish[name](rows) for name, rows in zip(names, found, strict=True)}


def _empty_summary() -> dict:
    return {"verified": 0, "pending": 0, "refreshed_at": figures_refreshed_at(),
            "rosters": None if roster_model() is None else 0}


def _refreshed_query(name: str) -> QuerySet:
    return FiguresRun.objects.filter(name=name).order_by("pk").values_list("finished_at")[:1]


def figures_refreshed_at() -> datetime | None:
    found = compiled.rows(_refreshed_query, (FIGURES_RUN,))
    return found[0][0] if found else None


@dataclass(frozen=True)
class OrganisationFilters:
    query: str = ""
    state: str = ""
    status: str = ""
    sort: str = DEFAULT_SORT


def organisation_rows(scope: Scope, filters: OrganisationFilters) -> QuerySet[Organisation]:
    """The scope's organisations with their verified and waiting users (summary table),
    filtered and sorted by a whitelisted key (the table's query, ``_filtered_query``,
    built through the ORM: for the CSV export)."""
    if scope.is_empty:
        return Organisation.objects.none()
    constants, values = _table_call(scope, filters)
    return _filtered_query(*constants, **values).only("id", "name", "short_code", "state", "level", "status",
                                                      "activated_at")


# What the dashboard's table shows of each organisation (and, last, how many rows in all).
TABLE_COLUMNS = ("id", "name", "short_code", "state", "level", "status", "activated_at", "verified", "pending")


def _filtered_query(shape: ScopeShape, searched: bool, by_state: bool, by_status: bool, sort: str,
                    **values) -> QuerySet[Organisation]:
    """The organisations of a scope of ``shape`` (its markers in ``values``), filtered by what
    was asked (the search's patterns: the name in English or the local language, the short
    code; the state, the status in ``values``), with their
    verified and waiting users, in the order ``sort`` names."""
    rows = _organisations(shape, values)
    if searched:
        rows = rows.filter(Q(PreparedIContains(F("name"), values["name_pattern"]))
                           | Q(PreparedIContains(F("name_local"), values["name_pattern"]))
                           | Q(PreparedIExact(F("short_code"), values["code"])))
    if by_state:
        rows = rows.filter(state=values["state"])
    if by_status:
        rows = rows.filter(status=values["status"])
    rows = rows.annotate(
        verified=Coalesce(F("monitoring_figures__verified_users"), Value(0)),
        pending=Coalesce(F("monitoring_figures__pending_users"), Value(0)),
    )
    return rows.order_by(*ORGANISATION_SORTS[sort])


def _table_query(*constants, **values) -> QuerySet:
    """``_filtered_query`` with the number of rows (a window over every row, before a
    page's slice) as the last column, for ``compiled.slices``."""
    return _filtered_query(*constants, **values).annotate(table_total=Window(Count("id"))).values_list(
        *TABLE_COLUMNS, "table_total")


def _table_call(scope: Scope, filters: OrganisationFilters) -> tuple[tuple, dict]:
    """The constants and values of ``_filtered_query`` for a scope (not empty) and filters."""
    ops = connection.ops
    values = scope.values()
    if filters.query:
        values.update(name_pattern=f"%{ops.prep_for_like_query(filters.query)}%",
                      code=ops.prep_for_iexact_query(filters.query))
    if filters.state:
        values["state"] = filters.state
    if filters.status:
        values["status"] = filters.status
    sort = filters.sort if filters.sort in ORGANISATION_SORTS else DEFAULT_SORT
    return (scope.shape, bool(filters.query), bool(filters.state), bool(filters.status), sort), values


def organisation_table_slice(scope: Scope, filters: OrganisationFilters, *, start: int, stop: int) -> list[tuple]:
    """Rows ``[start:stop]`` of ``organisation_rows(scope, filters)`` as ``TABLE_COLUMNS``,
    each with how many rows there are in all last (one query, its SQL built once per
    process for each shape of scope and filters)."""
    if scope.is_empty:
        return []
    constants, values = _table_call(scope, filters)
    return compiled.slices([(_table_query, constants, start, stop, values)])


def last_chain_check() -> AuditChainCheck | None:
    return AuditChainCheck.objects.order_by("-checked_at", "-id").first()


def roster_model() -> type | None:
    """The roster import model, when the roster app is installed (None otherwise)."""
    try:
        return apps.get_model("rosters", "RosterImport")
    except LookupError:
        return None


def api_client_model() -> type | None:
    """The verification API's client model, when the API app is installed (None
    otherwise): monitoring imports nothing of the API (it reads the model by name)."""
    try:
        return apps.get_model("api", "ApiClient")
    except LookupError:
        return None
