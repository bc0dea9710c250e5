"""The beat schedule (portal/settings.py CELERY_BEAT_SCHEDULE) as a beat reads it: the
daily jobs run at fixed night hours, India time, whenever beat was started."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.beat import ScheduleEntry
from django.conf import settings

from portal.celery import app

IST = ZoneInfo("Asia/Kolkata")
DAILY = ("audit-head-publish", "retention-run", "monitoring-audit-chain-check", "verification-roster-rows-remove",
         "outbox-old-remove", "sessions-clear")


def first_run(name, started):
    """When a beat started at ``started`` (with a new schedule file: a container's, or a
    host's first) first runs the entry ``name``."""
    with time_machine.travel(started, tick=False):
        entry = ScheduleEntry(name=name, app=app, **settings.CELERY_BEAT_SCHEDULE[name])
        return started + entry.schedule.remaining_estimate(entry.last_run_at)


@pytest.mark.parametrize("name", DAILY)
def test_a_daily_job_first_runs_at_its_night_hour_whenever_beat_started(name):
    """Each daily job once a day at its hour of the night, not a day after the beat started
    (a beat restarted each day, with a new schedule file, would never have run them), nor in
    office hours, whatever the hour it started."""
    for hour in range(24):
        started = datetime(2026, 12, 7, hour, 5, tzinfo=IST)
        run = first_run(name, started).astimezone(IST)
        assert timedelta(0) < run - started <= timedelta(days=1)
        assert 1 <= run.hour < 5, (started, run)


def test_the_daily_jobs_run_one_after_another_the_chain_checked_before_its_head_is_published():
    """Not all at one minute: each has its own time; the audit chain's check comes before the
    head it publishes is written out."""
    started = datetime(2026, 12, 7, 12, 0, tzinfo=IST)
    runs = {name: first_run(name, started) for name in DAILY}
    assert len(set(runs.values())) == len(DAILY)
    assert runs["monitoring-audit-chain-check"] < runs["audit-head-publish"]
