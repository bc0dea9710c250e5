"""Beat jobs of monitoring overlapping, in real concurrent transactions on PostgreSQL
(the contenders and the lock they wait on: tests/onboarding/test_race_pg.py)."""

import pytest

from monitoring import services
from monitoring.models import OrganisationFigures
from tests.onboarding.approval_helpers import TRANSACTIONAL
from tests.onboarding.test_race_pg import race
from tests.verification.helpers import GovernmentProfileFactory

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("require_postgresql")]


def test_two_figures_refreshes_at_once_both_finish():
    """A refresh deletes the figures and inserts them again: a second one running at the
    same moment (a run that outlasted its interval, or a retry after a worker was lost)
    deleted none of the rows the first had just inserted and failed inserting them again
    (an IntegrityError on the primary key). Refreshes now wait for each other."""
    organisations = [GovernmentProfileFactory().organisation for _ in range(3)]
    services.figures_refresh()
    results = race(
        [services.figures_refresh, services.figures_refresh],
        hold_sql="SELECT organisation_id FROM monitoring_organisationfigures FOR UPDATE",
    )
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    assert set(OrganisationFigures.objects.values_list("organisation_id", flat=True)) == {o.pk for o in organisations}
