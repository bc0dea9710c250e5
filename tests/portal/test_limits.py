"""The shared arithmetic of the portal's limits (portal.limits): when the next is allowed,
and how a refusal names that moment."""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import translation

from portal.limits import (
    MINUTE_COUNTER_SECONDS,
    minute_counted,
    minute_up,
    minute_window,
    minutes_counted,
    per_minute_wait,
    shown,
    shown_from,
)

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(("moment", "up"), [
    (datetime(2026, 3, 2, 11, 0, 40, tzinfo=IST), datetime(2026, 3, 2, 11, 1, tzinfo=IST)),
    (datetime(2026, 3, 2, 11, 0, 0, 1, tzinfo=IST), datetime(2026, 3, 2, 11, 1, tzinfo=IST)),
    (datetime(2026, 3, 2, 11, 0, tzinfo=IST), datetime(2026, 3, 2, 11, 0, tzinfo=IST)),
    (datetime(2026, 12, 31, 23, 59, 1, tzinfo=IST), datetime(2027, 1, 1, 0, 0, tzinfo=IST)),
])
def test_a_moment_is_rounded_up_to_a_whole_minute(moment, up):
    assert minute_up(moment) == up


def test_the_moment_a_refusal_names_for_the_next_try_is_not_before_it():
    """A page names minutes, not seconds: the next allowed at 11:00:40 is named 11:01, when
    it is allowed, not 11:00, when it is still refused; what happened at 10:00:40 stays 10:00."""
    with translation.override("en"):
        assert shown_from(datetime(2026, 3, 2, 11, 0, 40, tzinfo=IST)) == "2 Mar 2026, 11:01"
        assert shown_from(datetime(2026, 3, 2, 11, 0, tzinfo=IST)) == "2 Mar 2026, 11:00"
        assert shown_from(datetime(2026, 3, 2, 5, 30, 40, tzinfo=ZoneInfo("UTC"))) == "2 Mar 2026, 11:01"
        assert shown(datetime(2026, 3, 2, 10, 0, 40, tzinfo=IST)) == "2 Mar 2026, 10:00"
        assert shown_from(datetime(2026, 3, 2, 11, 0, 40, tzinfo=IST) - timedelta(hours=1)) == "2 Mar 2026, 10:01"


def commands_sent(server):
    """Commands Redis was sent so far (INFO included)."""
    return sum(stats["calls"] for stats in server.info("commandstats").values())


@pytest.mark.django_db
def test_several_minute_counters_are_counted_together_in_the_database_cache():
    """minutes_counted: each counter once more, its new value, in the minute's window; the
    embedded default's database cache counts through its own operations."""
    window = minute_window(time.time())
    keys = [f"test:a:{window}", f"test:b:{window}"]
    assert minutes_counted(keys) == [1, 1]
    assert minutes_counted(keys) == [2, 2]
    assert minutes_counted(keys[:1]) == [3]
    assert minute_counted(keys[1]) == 3  # the same counters as the one-at-a-time count's
    assert per_minute_wait("test:b", 3) > 0  # and as the limit a minute reads


@pytest.mark.django_db(transaction=True)
def test_a_minute_counter_of_the_database_cache_counts_every_request_at_once():
    """The embedded default's database cache has no increment of its own: Django's reads the
    value and writes it back, so requests at once overwrote each other's counts (80 at once
    left 12), and an API client sending in parallel was answered far past its limit. Each
    count is a value of its own, and the last is how many were counted."""
    import threading

    from django.db import connection

    key = f"test:parallel:{minute_window(time.time())}"
    start, counts, lock = threading.Barrier(8), [], threading.Lock()

    def count():
        try:
            start.wait()
            for _ in range(10):
                value = minute_counted(key)
                with lock:
                    counts.append(value)
        finally:
            connection.close()

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 81))
    assert cache.get(key) == 80


def test_several_minute_counters_are_one_round_trip_to_redis(redis_cache):
    """With Redis (production) every counter of a request in one pipeline: SET NX with the
    counter's lifetime, then INCR, for each; the values the cache's own operations read."""
    window = minute_window(time.time())
    keys = [f"test:a:{window}", f"test:b:{window}"]
    for n in range(1, 4):
        before = commands_sent(redis_cache)
        assert minutes_counted(keys) == [n, n]
        assert commands_sent(redis_cache) - before == 5  # two SET NX, two INCR; this test's INFO
    assert [cache.get(key) for key in keys] == [3, 3]
    assert minute_counted(keys[0]) == 4
    assert all(0 < redis_cache.ttl(cache.make_key(key)) <= MINUTE_COUNTER_SECONDS for key in keys)
