"""Expired sessions are removed by a daily beat job (Django leaves them in the table)."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.accounts.tasks import sessions_clear


@pytest.mark.django_db
def test_the_daily_job_removes_expired_sessions_and_keeps_live_ones():
    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="", expire_date=now - timedelta(seconds=1))
    Session.objects.create(session_key="l" * 32, session_data="", expire_date=now + timedelta(hours=1))
    sessions_clear.delay()  # the real task, run in this process (CELERY_TASK_ALWAYS_EAGER)
    assert list(Session.objects.values_list("session_key", flat=True)) == ["l" * 32]


def test_the_job_is_on_the_beat_schedule_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["sessions-clear"]
    assert entry == {"task": "portal.accounts.tasks.sessions_clear", "schedule": crontab(hour=1, minute=15)}
