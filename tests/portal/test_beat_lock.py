"""Exactly one Celery beat (portal/celery.py): a beat holds a lock in the shared cache;
a second one stops; the lock of a beat of this host that died is taken over at once."""

import socket

import pytest
from celery.signals import beat_init
from django.core.cache import cache
from django.test import override_settings

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


def test_two_beats_finding_the_same_dead_beats_lock_do_not_both_take_it(monkeypatch, settings):
    """Both read the dead holder before either writes (a restart by systemd and `make run` at
    once): one takes the lock over, the other does not run. (A cache shared by the threads
    outside the test's transaction: Redis in production.)"""
    import threading

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "beat"}}

    dead = f"{socket.gethostname()}:999999999"
    cache.set(portal_celery.BEAT_LOCK_KEY, dead, timeout=60)
    cache.delete(f"{portal_celery.BEAT_LOCK_KEY}:taken-from:{dead}")
    both_read = threading.Barrier(2, timeout=5)
    kill = portal_celery.os.kill

    def kill_after_both_read(pid, signal):
        if pid == 999999999:
            both_read.wait()
        return kill(pid, signal)

    monkeypatch.setattr(portal_celery.os, "kill", kill_after_both_read)
    taken = {}

    def start(holder):
        taken[holder] = portal_celery._beat_lock_take(holder)

    holders = [f"{socket.gethostname()}:{n}" for n in (111, 222)]
    threads = [threading.Thread(target=start, args=(holder,)) for holder in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken.values()) == [False, True]
    assert cache.get(portal_celery.BEAT_LOCK_KEY) == next(holder for holder, won in taken.items() if won)
    cache.delete_many([portal_celery.BEAT_LOCK_KEY, f"{portal_celery.BEAT_LOCK_KEY}:taken-from:{dead}"])


def test_a_beat_that_cannot_reach_the_cache_does_not_run_without_the_lock(no_renewal_thread, monkeypatch, caplog):
    """Celery logs and swallows an exception a beat_init receiver raises, and the beat then runs:
    a cache that does not answer at the start (Redis restarting, a loaded host) would leave it
    running unlocked beside the one that holds the lock. It tries again a while, then stops."""
    monkeypatch.setattr(portal_celery, "BEAT_LOCK_RETRY_SECONDS", 0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = {"default": {"BACKEND": "portal.rediscache.RedisCache",
                               "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
                               "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    with override_settings(CACHES=unreachable), pytest.raises(SystemExit) as stopped:
        beat_init.send(sender=None)
    assert stopped.value.code == 1 and no_renewal_thread == []
    assert caplog.text.count("Could not reach the cache to take the beat lock") == portal_celery.BEAT_LOCK_START_ATTEMPTS
    assert "this beat does not run without it" in caplog.text
