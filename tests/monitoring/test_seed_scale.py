"""seed_scale at a small size: every state of the lifecycle, verified users, figures
counted; and its refusal of a production-looking database."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from monitoring.models import ExpectedOffice, FiguresRun, OrganisationFigures
from onboarding.models import Application, ApplicationStatus, ApprovalStep
from portal.organisations.models import Organisation
from tests.factories import OrganisationFactory
from verification.models import GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db


def test_seed_scale_small(require_postgresql, settings):
    settings.DEBUG = False  # an empty database is never refused
    call_command("seed_scale", organisations=60, users=500, verbosity=0)
    assert Organisation.objects.count() == 60
    statuses = set(Application.objects.values_list("status", flat=True))
    assert statuses == set(ApplicationStatus.values)
    assert ApprovalStep.objects.filter(decision="").exists()
    by_status = dict(GovernmentProfile.objects.values_list("status").annotate(n=Count("id")))
    assert sum(by_status.values()) == 500 and by_status[VerificationStatus.VERIFIED] > 300
    assert sum(OrganisationFigures.objects.values_list("verified_users", flat=True)) == by_status[VerificationStatus.VERIFIED]
    assert FiguresRun.objects.exists() and ExpectedOffice.objects.exists()
    # A second run adds a batch beside the first.
    call_command("seed_scale", organisations=10, users=20, verbosity=0, force=True)
    assert Organisation.objects.count() == 70


def test_seed_scale_refuses_a_production_looking_database(require_postgresql, settings):
    OrganisationFactory()
    settings.DEBUG = False
    with pytest.raises(CommandError, match="looks like production"):
        call_command("seed_scale", organisations=5, users=5, verbosity=0)
    assert Organisation.objects.count() == 1
    settings.DEBUG = True
    call_command("seed_scale", organisations=5, users=5, verbosity=0)
    assert Organisation.objects.count() == 6


def test_the_dashboard_benchmarks_role_holders_are_shown_the_dashboard(require_postgresql, bench_script, settings):
    """bench/dashboard.py on seed_scale data (bench/README.md): each role holder it makes gets the
    page, as a person signed in with their confirmed official address and second factor does; made
    once, so that a second run of the script finds the same people."""
    settings.DEBUG = False
    call_command("seed_scale", organisations=12, users=20, verbosity=0)
    OrganisationFactory(state="MH", parent=None)  # the department whose admin it asks as (seed_scale's at 400)
    dashboard = bench_script("dashboard")
    holders = dashboard.role_holders()
    assert list(holders) == ["superadmin", "state admin MH", "auditor (all)", "organisation admin"]
    for name, (person, _scope) in holders.items():
        page = dashboard.signed_in(person).get("/monitoring/")
        assert page.status_code == 200, (name, page.status_code, page.get("Location"))
    assert dashboard.role_holders() == holders
