"""The roster import's Celery tasks: an import whose task was lost (the broker down when it
was queued, a worker that died) is queued again by the beat job once it has made no
progress for a while, and applied."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from portal.celery import app as celery_app
from tests.factories import UserFactory
from tests.verification.helpers import signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification.rosters.apply import APPLY_IDLE_AFTER
from verification.rosters.models import RosterImport, RosterStatus
from verification.rosters.tasks import roster_applies_resume

pytestmark = pytest.mark.django_db


def _broker_is(url):
    """Celery publishes to ``url`` from now on (its pools, made for the broker of their
    first use, are made again)."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Nothing listens where Celery publishes (port 1) until ``back()``: tasks are published
    as in production, not run in the test's process; once back, run here again."""
    old = celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    _broker_is("redis://127.0.0.1:1/0")

    def back():
        _broker_is(old)
        celery_app.conf.task_always_eager = True

    yield back
    back()


def test_a_roster_applied_while_the_broker_is_down_is_applied_once_it_is_back(
        world, broker_down, django_capture_on_commit_callbacks):
    UserFactory(email="person1@pune.mahaagri.gov.in")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    admin = signed_in(world["admin_office"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/verification/rosters/{roster.pk}/apply/", {"confirm": "on"})
    assert response.status_code == 302
    assert "the import goes on" in admin.get(f"/verification/rosters/{roster.pk}/").content.decode()
    roster.refresh_from_db()
    assert roster.status == RosterStatus.QUEUED  # its task was never queued

    broker_down()  # the broker is back
    with time_machine.travel(timezone.now() + APPLY_IDLE_AFTER - timedelta(seconds=5), tick=False):
        roster_applies_resume.apply()
    roster.refresh_from_db()
    assert roster.status == RosterStatus.QUEUED  # not yet idle long enough to be taken for lost
    with time_machine.travel(timezone.now() + APPLY_IDLE_AFTER + timedelta(seconds=5), tick=False):
        assert roster_applies_resume.apply().get() == 1
    roster.refresh_from_db()
    assert (roster.status, roster.progress_done, roster.outcome) == (RosterStatus.APPLIED, 2,
                                                                     {"verified": 1, "invited": 1})
    assert "Finished: 1 verified, 1 invited" in admin.get(f"/verification/rosters/{roster.pk}/").content.decode()


def test_an_import_making_progress_is_not_queued_again_and_a_queued_one_once_per_idle_spell(
        world, broker_down, django_capture_on_commit_callbacks):
    """Its progress (each row verified, each batch) keeps the beat job off it; an import
    queued again and still idle (the broker still down) is queued again only once it has
    been idle that long again, not at every run of the job."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(world["admin_office"]).post(f"/verification/rosters/{roster.pk}/apply/", {"confirm": "on"})
    start = timezone.now()
    with time_machine.travel(start + APPLY_IDLE_AFTER / 2, tick=False):
        RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.APPLYING, progressed_at=timezone.now())
    with time_machine.travel(start + APPLY_IDLE_AFTER + timedelta(seconds=5), tick=False):
        assert roster_applies_resume.apply().get() == 0  # it progressed half-way through
    with time_machine.travel(start + APPLY_IDLE_AFTER * 2, tick=False):
        assert roster_applies_resume.apply().get() == 1  # the broker still down: its task lost again
        assert roster_applies_resume.apply().get() == 0
    roster.refresh_from_db()
    assert roster.status == RosterStatus.APPLYING


def test_the_job_is_on_the_beat_schedule_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["verification-roster-applies-resume"]
    assert entry == {"task": "verification.rosters.tasks.roster_applies_resume", "schedule": timedelta(minutes=5)}
    assert APPLY_IDLE_AFTER > timedelta(seconds=300)  # longer than the apply task's time limit
