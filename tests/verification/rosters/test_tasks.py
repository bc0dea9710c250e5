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


class WorkerLost(BaseException):
    """The worker running the task killed (its hard time limit, out of memory): nothing
    after it runs in that process."""


@pytest.mark.parametrize("cut", ["soft time limit", "worker killed"])
def test_an_import_whose_batch_never_finishes_is_stopped_after_a_few_runs_and_its_page_says_why(
        world, monkeypatch, django_capture_on_commit_callbacks, cut):
    """A batch that can never finish within the task's time (cut at the soft time limit and
    queued again at once, or its worker killed and queued again by the beat job) is rolled
    back every time: after APPLY_RUNS_WITHOUT_PROGRESS runs in a row without progress the
    import is stopped, audited as a failure, and its page says why in the admin's language,
    instead of "the import goes on" for weeks while a worker is kept busy with it."""
    from celery.exceptions import SoftTimeLimitExceeded
    from django.utils import translation

    from portal.audit.models import AuditAction, AuditEvent
    from verification.rosters import apply as apply_module
    from verification.rosters import services, tasks

    UserFactory(email="person1@pune.mahaagri.gov.in")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
        with django_capture_on_commit_callbacks(execute=False):
            services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])

    def never_finishes(*args, **kwargs):
        raise SoftTimeLimitExceeded() if cut == "soft time limit" else WorkerLost()

    monkeypatch.setattr(apply_module, "_apply_rest", never_finishes)
    monkeypatch.setattr(apply_module, "_to_verify", lambda rows, organisation: rows.none())
    queued = []
    monkeypatch.setattr(tasks, "roster_apply_dispatch", queued.append)
    runs = 0
    for hours in range(48):  # the task, and the beat job queueing it again, for two days
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            tasks.roster_applies_resume.apply()
            if RosterImport.objects.get(pk=roster.pk).status not in (RosterStatus.QUEUED, RosterStatus.APPLYING):
                break
            runs += 1
            try:
                tasks.roster_apply(roster.pk)
            except WorkerLost:
                pass
    roster.refresh_from_db()
    assert (roster.status, roster.error) == (RosterStatus.FAILED, apply_module.NO_PROGRESS)
    assert runs <= apply_module.APPLY_RUNS_WITHOUT_PROGRESS + 1
    failed = AuditEvent.objects.get(action=AuditAction.ROSTER_APPLY_FAILED, target_id=str(roster.pk))
    assert failed.new_values == {"status": RosterStatus.FAILED, "error": apply_module.NO_PROGRESS}
    admin = signed_in(world["admin_office"])
    for language in ("en", "hi", "mr"):
        admin.cookies["django_language"] = language
        body = admin.get(f"/verification/rosters/{roster.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        with translation.override(language):
            said = translation.gettext("It was run several times in a row without getting further (a batch could not "
                                       "finish in the time a run is given), so it was stopped.")
        assert said in body and "the import goes on" not in body and (language == "en" or "It was run" not in said)
