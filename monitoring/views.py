"""The monitoring dashboard (one layout for every role, filled for its scope), its
CSV export, and the audit log viewer."""

from functools import lru_cache
from itertools import chain
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models.functions import Upper
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import SimpleLazyObject
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from monitoring import selectors, services
from monitoring.auditlog import AuditFilters, audit_events
from monitoring.forms import AuditFilterForm, DashboardFilterForm
from monitoring.scope import Scope, audit_scope, dashboard_scope
from onboarding.models import ApplicationStatus, Stage
from portal.access import asked_on_this_site, rule
from portal.audit.models import AuditAction, AuditEvent
from portal.csv_files import inert_lines, started
from portal.ids import DB_INT_MAX
from portal.limits import next_hourly, shown_from
from portal.organisations.models import Level, Organisation, OrganisationStatus
from portal.organisations.states import JURISDICTION_CHOICES, State
from portal.paging import CountedUpTo
from portal.permissions import RULES, is_auditor, is_superadmin, may_change_organisation_status
from portal.text import as_searched

PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50
# The audit log's pages count at most this many events (200 pages): past it the page says
# there are more, and the filters narrow them or the last page leads on to the older ones
# (counted again up to the bound). A count of all the events the superadmins read is every
# row of the log, which only grows.
AUDIT_COUNT_MAX = 10_000
EXPORT_MAX_ROWS = 20000
CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 640, 220, 20, 40


def scope_label(scope: Scope) -> str:
    if scope.everything:
        return _("every state, UT and central body")
    parts = []
    if scope.jurisdictions:
        names = dict(JURISDICTION_CHOICES)
        parts.append(", ".join(sorted(str(names.get(code, code)) for code in scope.jurisdictions)))
    if scope.administered is not None:
        parts.append(_("the organisations you administer and the offices below them"))
    return _(" and ").join(parts)


def _filters(form: DashboardFilterForm) -> selectors.OrganisationFilters:
    """The filters asked for: each one that is right (a wrong one, told at its field, is
    left out, and the others still apply)."""
    if not form.is_bound:
        return selectors.OrganisationFilters()
    form.is_valid()
    data = form.cleaned_data
    return selectors.OrganisationFilters(query=as_searched(data.get("q", "")).strip(), state=data.get("state", ""),
                                         status=data.get("status", ""), sort=data.get("sort") or selectors.DEFAULT_SORT)


def _query(filters: selectors.OrganisationFilters) -> str:
    values = {"q": filters.query, "state": filters.state, "status": filters.status, "sort": filters.sort}
    return urlencode({key: value for key, value in values.items() if value})


def _svg_number(value: float) -> str:
    """A coordinate as SVG reads it: a full stop for the decimals in every language (the
    template would write it in the page's own number format)."""
    return str(round(value, 1))


def chart_bars(months: list) -> dict:
    """The bars of the organisations-onboarded chart, as SVG coordinates (no script, no
    style), with each month's names written once here rather than by a filter each."""
    top = max((n for _month, n in months), default=0) or 1
    slot = CHART_WIDTH / len(months)
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bars = []
    for index, (month, n) in enumerate(months):
        height = plot * n / top
        local = template_localtime(month)
        bars.append({
            "month": month, "month_long": date_format(local, "M Y"), "month_short": date_format(local, "M y"), "n": n,
            "x": _svg_number(index * slot + slot * 0.15), "width": _svg_number(slot * 0.7),
            "y": _svg_number(CHART_TOP + plot - round(height, 1)), "height": _svg_number(height),
            "label_x": _svg_number(index * slot + slot / 2), "value_y": _svg_number(CHART_TOP + plot - round(height, 1) - 4),
        })
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "baseline": CHART_TOP + plot,
            "month_y": CHART_HEIGHT - CHART_BOTTOM + 16, "top": top}


# A page whose first row would lie past a database's largest integer cannot be asked for
# with OFFSET: it is past the end, which get_page answers.
MAX_PAGE = DB_INT_MAX // PAGE_SIZE


def _table_page(scope: Scope, filters: selectors.OrganisationFilters, number, viewer) -> Page:
    """The table's page as ``Paginator.get_page`` gives it, in one query: the rows are
    counted in the same query (a window over every row, before the page's slice), its
    SQL built once per process (``selectors.organisation_table_slice``). A page number
    past the end (no row to carry the count) is answered by ``get_page`` itself. Each row
    a dictionary of what the table shows (``_rows``)."""
    try:
        wanted = int(number or 1)
    except (TypeError, ValueError):
        wanted = 1
    if 1 <= wanted <= MAX_PAGE:
        start = (wanted - 1) * PAGE_SIZE
        found = selectors.organisation_table_slice(scope, filters, start=start, stop=start + PAGE_SIZE)
        if found or wanted == 1:
            paginator = Paginator(found, PAGE_SIZE)
            paginator.count = found[0][-1] if found else 0  # (a cached property: no count query)
            return Page(_rows(found, viewer), wanted, paginator)
    rows = selectors.organisation_rows(scope, filters).values_list(*selectors.TABLE_COLUMNS)
    page = Paginator(rows, PAGE_SIZE).get_page(number)
    page.object_list = _rows(page.object_list, viewer)
    return page


@lru_cache(maxsize=8)
def _table_words(_language: str | None) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The names of the states and UTs, levels and statuses in the current language
    (``_language``), translated once per process for each language instead of once a page."""
    return tuple({code: str(label) for code, label in choices}
                 for choices in (State.choices, Level.choices, OrganisationStatus.choices))


def _rows(found, viewer) -> list[dict]:
    """Each row (``selectors.TABLE_COLUMNS``) as the table shows it: its state (or level)
    and status in words, written here once a row rather than by the template; the
    organisation's id when ``viewer`` may suspend and reactivate it (its name then links to
    its status page: may_change_organisation_status, which reads only its state and level,
    no query); and ``key``, every value the row is written from (the template keeps each
    row's HTML by it, and writes the day it was onboarded only when it writes the row)."""
    states, levels, statuses = _table_words(get_language())
    rows = []
    for pk, name, short_code, state, level, status, activated_at, verified, pending, *_total in found:
        linked = pk if may_change_organisation_status(viewer, Organisation(state=state, level=level)) else None
        rows.append(
            {"key": (name, short_code, state, level, status, activated_at, verified, pending, linked),
             "pk": linked, "name": name, "short_code": short_code, "where": states.get(state) or levels.get(level, ""),
             "status_label": statuses.get(status, status), "activated_at": activated_at,
             "verified": verified, "pending": pending})
    return rows


@rule("monitoring")
@require_http_methods(["GET"])
def dashboard(request):
    scope = dashboard_scope(request.user)
    now = timezone.now()
    if request.GET:
        form = DashboardFilterForm(request.GET)
        filters = _filters(form)
    else:  # the blank form, made only when the template writes it (its HTML is kept: see filter_key)
        form, filters = SimpleLazyObject(DashboardFilterForm), selectors.OrganisationFilters()
    page = _table_page(scope, filters, request.GET.get("page"), request.user)
    figures = selectors.dashboard_figures(scope, now=now)  # on PostgreSQL in one round trip
    counts, (overdue_total, overdue), medians = figures["counts"], figures["overdue"], figures["medians"]
    months, summary = figures["months"], figures["summary"]
    letters_total, letters = figures["letters"]
    no_decider_total, no_decider = figures["no_decider"]
    return render(request, "monitoring/dashboard.html", {
        "scope_label": scope_label(scope), "form": form, "page": page, "query": _query(filters),
        # What the filters' form (and the export link) are written from: the values sent.
        "filter_key": (bool(request.GET), *(request.GET.get(name) for name in DashboardFilterForm.base_fields)),
        "statuses": [(ApplicationStatus(status).label, n) for status, n in counts.items()],
        "applications_total": sum(counts.values()),
        "overdue_total": overdue_total, "overdue": overdue, "now": now,
        "letters_total": letters_total, "letters": letters,
        "no_decider_total": no_decider_total, "no_decider": no_decider,
        "without_admin": figures["no_admin"],
        "medians": [(Stage(stage).label, days) for stage, days in medians.items()],
        # The chart written once per process for each set of figures (its coordinates only then).
        "chart_key": tuple(months), "chart": SimpleLazyObject(lambda: chart_bars(months)),
        "onboarded_total": sum(n for _m, n in months),
        "users": summary, "refreshed_at": summary["refreshed_at"], "rosters": summary["rosters"],
        "export_query": _query(filters),
        "may_audit": is_superadmin(request.user) or is_auditor(request.user) or scope.administered is not None,
        "may_track": RULES["adoption_tracker"](request.user),
    })


def _dashboard_asked(request) -> str:
    """The dashboard, filtered as the export asked for was."""
    query = request.GET.urlencode()
    return reverse("monitoring:dashboard") + (f"?{query}" if query else "")


@rule("monitoring")
@require_http_methods(["GET"])
@asked_on_this_site(_dashboard_asked)
def dashboard_export(request):
    """The organisations table as filtered and sorted on the dashboard (every page, up to
    EXPORT_MAX_ROWS rows), as CSV; the export is audited. Each one reads the whole scope
    again: at most MONITORING_EXPORTS_PER_HOUR an hour per account, then a page says when
    the next is possible (429)."""
    form = DashboardFilterForm(request.GET or None)
    filters = _filters(form)
    limit = settings.MONITORING_EXPORTS_PER_HOUR
    # Refused before counting the rows; export_record counts again under the account's
    # lock, which holds for exports asked at the same moment.
    allowed = next_hourly(request.user, AuditAction.MONITORING_EXPORTED, limit)
    if allowed is None:
        scope = dashboard_scope(request.user)
        rows = selectors.organisation_rows(scope, filters)
        total = min(rows.count(), EXPORT_MAX_ROWS)
        allowed = services.export_record(what="dashboard_organisations", filters={
            "q": filters.query, "state": filters.state, "status": filters.status, "sort": filters.sort},
            rows=total, scope=scope, organisations=rows[:EXPORT_MAX_ROWS], actor=request.user, limit=limit,
            request=request)
    if allowed is not None:
        return render(request, "monitoring/export_limited.html", {
            "limit": limit, "when": shown_from(allowed), "query": _query(filters),
        }, status=429)
    header = [_("Organisation"), _("Short code"), _("State / UT"), _("Level"), _("Status"), _("Onboarded on"),
              _("Verified users"), _("Waiting users")]
    organisations = started(rows[:EXPORT_MAX_ROWS], 2000)
    lines = inert_lines(chain([header], ([
        o.name, o.short_code, o.get_state_display(), o.get_level_display(), o.get_status_display(),
        timezone.localdate(o.activated_at).isoformat() if o.activated_at else "", o.verified, o.pending,
    ] for o in organisations)), language=get_language())
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="organisations-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


def _audit_filters(form: AuditFilterForm, scope: Scope) -> AuditFilters | None:
    """The filters asked for; None when one is wrong (it is told at its field, and nothing is listed)."""
    if not form.is_bound:
        return AuditFilters()
    if not form.is_valid():
        return None
    data = form.cleaned_data
    organisation = None
    if data["organisation"]:
        organisation = (scope.organisations().annotate(code=Upper("short_code"))
                        .filter(code=data["organisation"]).order_by("id").first())
        if organisation is None:
            form.add_error("organisation", _("No organisation with this short code is within what you may see."))
            return None
    return AuditFilters(actor=data["actor"].strip(), action=data["action"], organisation=organisation,
                        since=data["since"], until=data["until"])


def _event_id(value) -> int | None:
    """The id an "Older events" link lists the events before (``before``), or the one the
    pages after the first list the events up to (``upto``); or None: none given, or not an
    event's id (ignored, as a wrong page number is)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= DB_INT_MAX else None


@rule("audit_log")
@require_http_methods(["GET"])
def audit_log(request):
    """The events of the reader's scope, filtered, newest first, on pages counted up to
    AUDIT_COUNT_MAX events. Past them, the last page links to the older events (``before``
    the last one listed, by the events' ids, which the list is ordered by): counted and paged
    again up to the bound, and so on, so that every event of a busy day is on some page.
    The newest events' first page fixes its newest event's id into its links (``upto``):
    the pages they lead to list the events up to it, so that the events recorded meanwhile
    (on the first page, when it is shown again) do not push those it listed onto the next."""
    scope = audit_scope(request.user)
    form = AuditFilterForm(request.GET or None)
    filters = _audit_filters(form, scope)
    before = _event_id(request.GET.get("before")) if filters is not None else None
    upto = _event_id(request.GET.get("upto")) if filters is not None and before is None else None
    events = (audit_events(scope, filters, before=before, upto=upto) if filters is not None
              else AuditEvent.objects.none())
    page = CountedUpTo(events, AUDIT_PAGE_SIZE, AUDIT_COUNT_MAX).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # (the query the table would run)
    query = {name: request.GET.get(name, "")[:254] for name in ("actor", "action", "organisation", "since", "until")}
    if form.errors:
        query = {}
    filters_query = urlencode({k: v for k, v in query.items() if v})
    kept_upto = upto
    if upto is None and before is None and page.number == 1 and page.object_list:
        kept_upto = page.object_list[0].pk  # the newest listed: the pages after this one list up to it
    return render(request, "monitoring/audit_log.html", {
        "form": form, "page": page, "filters_query": filters_query, "before": before, "upto": upto,
        "query": urlencode({k: v for k, v in {**query, "before": before or "", "upto": kept_upto or ""}.items() if v}),
        # The last page of those counted, when more events match: where the older ones start.
        "older": page.object_list[-1].pk if page.paginator.more and not page.has_next() and page.object_list else None,
        "scope_label": scope_label(scope), "check": selectors.last_chain_check(),
        # The check walks the whole platform's chain: how many events it holds, and which
        # one broke it, are the platform's, told only to those who see all of it.
        "whole_platform": scope.everything,
        # Where each event came from (an address of the person who acted) is for those who
        # investigate: superadmins and auditors, not an organisation's administrators, who
        # see the platform staff's and their members' actions in their organisation.
        "show_from": is_superadmin(request.user) or is_auditor(request.user),
    })
