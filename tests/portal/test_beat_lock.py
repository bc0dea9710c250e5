"""Exactly one Celery beat (portal/celery.py): a beat holds a lock in the shared cache;
a second one stops; the lock of a beat of this host that died is taken over at once."""

import socket

import pytest
from django.core.cache import cache

from portal import celery as portal_celery

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_renewal_thread(monkeypatch):
    started = []
    monkeypatch.setattr(portal_celery.threading, "Thread", lambda **kwargs: type("T", (), {"start": lambda self: started.append(kwargs)})())
    cache.delete(portal_celery.BEAT_LOCK_KEY)
    yield started
    cache.delete(portal_celery.BEAT_LOCK_KEY)


def test_the_first_beat_takes_the_lock_and_a_second_stops(no_renewal_thread, monkeypatch, caplog):
    portal_celery._only_one_beat()
    holder = cache.get(portal_celery.BEAT_LOCK_KEY)
    assert holder == f"{socket.gethostname()}:{portal_celery.os.getpid()}" and len(no_renewal_thread) == 1
    monkeypatch.setattr(portal_celery.socket, "gethostname", lambda: "another-host")
    with pytest.raises(SystemExit):
        portal_celery._only_one_beat()
    assert "Another Celery beat is running" in caplog.text
    assert cache.get(portal_celery.BEAT_LOCK_KEY) == holder


def test_the_lock_of_a_dead_beat_of_this_host_is_taken_over(no_renewal_thread):
    cache.set(portal_celery.BEAT_LOCK_KEY, f"{socket.gethostname()}:999999999", timeout=60)
    portal_celery._only_one_beat()
    assert cache.get(portal_celery.BEAT_LOCK_KEY) == f"{socket.gethostname()}:{portal_celery.os.getpid()}"
