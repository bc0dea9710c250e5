"""The dashboard's figures read by queries built once per process (portal.compiled, shaped
by ``Scope.shape``) answer as the ORM does over the scope's own querysets
(``Scope.organisations``, ``applications``, ``steps``), for every kind of scope: everything,
jurisdictions (the centre too), one administered subtree, two, one inside another, and both
a jurisdiction and a subtree."""

import statistics
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from guardian.shortcuts import assign_perm

from monitoring import selectors
from monitoring.models import FiguresRun, OrganisationFigures
from monitoring.scope import Scope, dashboard_scope
from monitoring.selectors import OrganisationFilters
from onboarding.models import Stage
from portal.organisations.models import Level, Membership, MembershipRole
from portal.organisations.selectors import organisations_without_admin
from portal.permissions import ADMINISTER_ORGANISATION
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory
from tests.verification.helpers import make_admin
from verification.rosters.models import RosterImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def scopes(world):
    """Scopes of every shape, read as the dashboard reads them."""
    now = timezone.now()
    central = OrganisationFactory(name="Ministry_of 100% Records", short_code="GOI_REC", state="", level=Level.CENTRAL,
                                  activated_at=now - timedelta(days=3))
    odd = OrganisationFactory(name="Office 100% sure_ly", short_code="MH%X", parent=world["pune"],
                              activated_at=now - timedelta(days=33))
    application = ApplicationFactory(status="with_authority", jurisdiction="CENTRAL", organisation=central)
    ApprovalStepFactory(application=application, stage="authority", opened_at=now - timedelta(days=9),
                        due_at=now - timedelta(days=1))
    for organisation, status in ((world["pune"], "applied"), (world["revenue"], "applied"), (world["health"], "previewed"),
                                 (central, "applied")):
        RosterImport.objects.create(organisation=organisation, uploaded_by=world["superadmin"], uploaded_at=now,
                                    file_name="staff.csv", file_sha256="0" * 64, file_format="csv", status=status)
    two = make_admin(world["health"], email="two@example.gov.in")
    also_admin(two, world["revenue"])
    nested = make_admin(world["agri"], email="nested@example.gov.in")
    also_admin(nested, world["pune"])
    found = {role: dashboard_scope(world[role]) for role in
             ("superadmin", "state_admin_mh", "state_admin_ka", "admin_agri", "admin_revenue")}
    found["two subtrees"] = dashboard_scope(two)
    found["nested subtrees"] = dashboard_scope(nested)
    found["centre and a subtree"] = Scope(everything=False, jurisdictions=frozenset({"CENTRAL", "KA"}),
                                          administered=dashboard_scope(world["admin_agri"]).administered,
                                          subtrees=dashboard_scope(world["admin_agri"]).subtrees)
    found["centre"] = Scope(everything=False, jurisdictions=frozenset({"CENTRAL"}), administered=None)
    assert odd.ancestry.count("/") == 3
    assert len(found["two subtrees"].subtrees) == 2 and len(found["nested subtrees"].subtrees) == 1
    return found


def also_admin(user, organisation):
    Membership.objects.create(organisation=organisation, user=user, role=MembershipRole.ADMIN)
    assign_perm(ADMINISTER_ORGANISATION, user, organisation)


def _figures_by_orm(scope: Scope, now):
    """The figures as the ORM reads them over the scope's querysets."""
    overdue = list(scope.steps().filter(decision="", due_at__lte=now).order_by("due_at", "id")[:selectors.OVERDUE_SHOWN])
    figures = OrganisationFigures.objects.filter(organisation_id__in=scope.organisations().values("pk"))
    totals = figures.aggregate(verified=Sum("verified_users"), pending=Sum("pending_users"))
    since = now - timedelta(days=400)
    took: dict[str, list] = {}
    for step in scope.steps().exclude(decision__in=["", "cancelled"]).filter(decided_at__isnull=False):
        took.setdefault(step.stage, []).append(step.decided_at - step.opened_at)
    months = Counter(timezone.localtime(at).date().replace(day=1)
                     for at in scope.organisations().exclude(activated_at=None).values_list("activated_at", flat=True))
    return {
        "medians": {stage: round(statistics.median(took[stage]).total_seconds() / 86400, 1) if stage in took else None
                    for stage in Stage.values},
        "months": [(month.date(), months[month.date()]) for month, _n in selectors.onboarded_per_month(scope, now=now)],
        "statuses": Counter(scope.applications().values_list("status", flat=True)),
        "overdue": (scope.steps().filter(decision="", due_at__lte=now).count(), [step.pk for step in overdue]),
        "summary": {**{key: value or 0 for key, value in totals.items()},
                    "refreshed_at": FiguresRun.objects.get(name=selectors.FIGURES_RUN).finished_at,
                    "rosters": RosterImport.objects.filter(status="applied",
                                                           organisation__in=scope.organisations()).count()},
        "activated": sorted(scope.organisations().filter(activated_at__gte=since).values_list("pk", flat=True)),
        "no_admin": len(organisations_without_admin(set(scope.organisations().filter(status="active")
                                                        .values_list("pk", flat=True)))),
    }


def _figures_compiled(scope: Scope, now):
    total, overdue = selectors.overdue_steps(scope, now=now)
    return {
        "medians": selectors.median_days_per_stage(scope),
        "months": [(month.date(), n) for month, n in selectors.onboarded_per_month(scope, now=now)],
        "statuses": Counter({status: n for status, n in selectors.status_counts(scope).items() if n}),
        "overdue": (total, [step.pk for step in overdue]),
        "summary": selectors.summary_figures(scope),
        "activated": sorted(pk for (pk,) in selectors.compiled.rows(
            _activated_query, (scope.shape,), **scope.values(), since=now - timedelta(days=400))),
        "no_admin": selectors.organisations_without_admin_count(scope, now=now),
    }


def _activated_query(shape, *, since, **values):
    return selectors._organisations(shape, values).filter(activated_at__gte=since).values_list("pk")


def test_each_figure_answers_as_the_orm(scopes):
    now = timezone.now()
    for name, scope in scopes.items():
        assert _figures_compiled(scope, now) == _figures_by_orm(scope, now), name
        assert set(selectors._organisations(scope.shape, scope.values())) == set(scope.organisations()), name
        assert set(selectors._applications(scope.shape, scope.values())) == set(scope.applications()), name
        assert set(selectors._steps(scope.shape, scope.values())) == set(scope.steps()), name


FILTERS = [
    OrganisationFilters(),
    OrganisationFilters(sort="-verified"),
    OrganisationFilters(state="MH", sort="-activated"),
    OrganisationFilters(status="active", sort="state"),
    OrganisationFilters(query="office"),
    OrganisationFilters(query="100%"),  # a pattern's characters are searched for as they are
    OrganisationFilters(query="_"),
    OrganisationFilters(query="mh%x"),  # a short code in any case
    OrganisationFilters(query="goi_rec", state="MH"),
    OrganisationFilters(sort="unknown"),
]


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_the_table_answers_as_the_orm(scopes, filters):
    for name, scope in scopes.items():
        expected = list(selectors.organisation_rows(scope, filters).values_list(*selectors.TABLE_COLUMNS))
        for start, stop in ((0, 25), (0, 2), (2, 4), (50, 75)):
            found = selectors.organisation_table_slice(scope, filters, start=start, stop=stop)
            assert [row[:-1] for row in found] == expected[start:stop], (name, start)
            assert {row[-1] for row in found} <= {len(expected)}, name


def test_a_scope_that_sees_nothing_asks_nothing(world, django_assert_num_queries):
    nothing = Scope(everything=False, jurisdictions=frozenset(), administered=None)
    with django_assert_num_queries(0):
        assert selectors.status_counts(nothing) == dict.fromkeys(selectors.ApplicationStatus.values, 0)
        assert selectors.overdue_steps(nothing, now=timezone.now()) == (0, [])
        assert selectors.organisation_table_slice(nothing, OrganisationFilters(), start=0, stop=25) == []
        assert set(selectors.median_days_per_stage(nothing).values()) == {None}
    refreshed_at = selectors.figures_refreshed_at()
    assert refreshed_at is not None
    with django_assert_num_queries(1):  # (when the summary table was counted: the page says it whatever the scope)
        assert selectors.summary_figures(nothing) == {"verified": 0, "pending": 0, "rosters": 0,
                                                      "refreshed_at": refreshed_at}


def test_two_scopes_compiled_at_once_by_two_threads_do_not_share_a_prepared_statement(monkeypatch, request):
    """A threaded server: two requests reach the first use of two shapes of one query at
    once (Goa's and Sikkim's state administrators). Each statement's name is its own, so
    Sikkim's administrator, served next on the same connection, reads Sikkim's figures,
    not the statement prepared first under a shared name (Goa's)."""
    import threading

    from django.db import connection, connections

    from portal import compiled, prepared

    for _ in range(2):
        ApplicationFactory(status="with_state", jurisdiction="GA")
    ApplicationFactory(status="with_state", jurisdiction="SK")
    goa = Scope(everything=False, jurisdictions=frozenset({"GA"}), administered=None)
    sikkim = Scope(everything=False, jurisdictions=frozenset({"SK"}), administered=None)
    build = selectors._status_counts_query
    keys = [(build, (scope.shape,)) for scope in (goa, sikkim)]
    # A process that has not built these two yet (as after a worker starts); restored after.
    monkeypatch.setattr(compiled, "_compiled", {k: v for k, v in compiled._compiled.items() if k not in keys})
    monkeypatch.setattr(compiled, "_statements", {k: v for k, v in compiled._statements.items() if k not in keys})
    connection.ensure_connection()
    main = connections["default"]
    request.addfinalizer(lambda: (prepared._prepared_on.pop(main.connection, None),
                                  main.connection.execute("DEALLOCATE ALL")))
    entries = [compiled._entry(build, (scope.shape,), scope.values()) for scope in (goa, sikkim)]
    barrier = threading.Barrier(2, timeout=10)
    original = compiled._builder

    def in_step(key):  # both name their statement only once both have begun
        barrier.wait()
        return original(key)

    monkeypatch.setattr(compiled, "_builder", in_step)
    errors = []

    def make(key, entry):
        alias, sql, params, slots, *_rest = entry
        try:
            compiled._statement(main, key, sql, compiled._params(alias, params, slots, {}), slots)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(repr(exc))
            barrier.abort()

    threads = [threading.Thread(target=make, args=(key, entry)) for key, entry in zip(keys, entries, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(compiled, "_builder", original)

    assert errors == []
    names = [compiled._statements[key][0] for key in keys]
    assert len(set(names)) == 2, names
    assert selectors.status_counts(goa)["with_state"] == 2
    assert selectors.status_counts(sikkim)["with_state"] == 1
