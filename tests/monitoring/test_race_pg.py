"""Beat jobs of monitoring overlapping, in real concurrent transactions on PostgreSQL
(the contenders and the lock they wait on: tests/onboarding/test_race_pg.py)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from monitoring import services
from monitoring.models import OrganisationFigures
from monitoring.tasks import figures_refresh
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY
from tests.onboarding.approval_helpers import TRANSACTIONAL, make_superadmin
from tests.onboarding.test_race_pg import race
from tests.verification.helpers import GovernmentProfileFactory, second_factor_given

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


def test_a_refresh_that_waited_for_another_does_not_put_back_older_figures(monkeypatch):
    """A refresh counted, then waited for the one running to commit, then replaced its
    newer figures with the older ones it had counted (an organisation's first request
    made meanwhile left out), until the next refresh. Each now counts once it holds the lock."""
    organisation = GovernmentProfileFactory().organisation
    real_lock = services._figures_lock
    reached, go = threading.Event(), threading.Event()

    def lock():
        if threading.current_thread().name == "first":
            reached.set()
            assert go.wait(20)
        real_lock()

    monkeypatch.setattr(services, "_figures_lock", lock)
    errors = []

    def first():
        try:
            figures_refresh.run()
        except Exception as error:  # noqa: BLE001 - said by the assertion below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert reached.wait(20)
    GovernmentProfileFactory(organisation=organisation)  # a second request, after the first refresh began
    figures_refresh.run()
    assert OrganisationFigures.objects.get(organisation=organisation).pending_users == 2
    go.set()
    thread.join(30)
    assert not errors
    assert OrganisationFigures.objects.get(organisation=organisation).pending_users == 2


def test_exports_asked_at_once_make_no_more_than_the_hourly_limit(settings):
    """The limit was read before the export's audit row was written, with nothing held
    between: exports asked at the same moment each found the account under its limit,
    and all were made (each reading the whole scope again, the cost the limit is for).
    The check and the row are now made under a lock of the account's."""
    settings.MONITORING_EXPORTS_PER_HOUR = 1
    root = make_superadmin(email="root@sandes.nic.in")

    def export():
        client = Client()
        client.force_login(root)
        second_factor_given(client, root)
        response = client.get("/monitoring/organisations.csv")
        if response.streaming:
            b"".join(response.streaming_content)
        return response.status_code

    # The audit chain held: each export that found the account under its limit waits
    # there to write its row; the others wait on the account's lock.
    results = race([export, export, export], hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY])
    assert sorted(value for _outcome, value in results) == [200, 429, 429], results
    assert AuditEvent.objects.filter(action=AuditAction.MONITORING_EXPORTED).count() == 1
