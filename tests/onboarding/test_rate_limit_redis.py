"""The authority links' rate limit with Redis as the cache (production): the counters
of a request (its client address, its link) are one round trip to Redis, and count as
the cache's own operations do (the other tests run with the database cache). A
redis-server is started on a free port (tests/conftest.py)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone

from onboarding.approval.tokens import LINK_RATE_PER_MINUTE, rate_limited


@pytest.fixture(autouse=True)
def one_minute(redis_cache):
    """The counters count per minute of the clock: each test's requests in one minute (a
    test that crossed from one to the next would start counting again halfway). After the
    Redis server is up: it is waited for by the clock."""
    with time_machine.travel(timezone.now().replace(second=1, microsecond=0) + timedelta(minutes=1), tick=False):
        yield


def sent(server):
    """Commands sent to Redis so far: what a client's round trips carried (INFO included)."""
    return sum(stats["calls"] for stats in server.info("commandstats").values())


def test_a_requests_counters_are_one_round_trip_and_stop_at_the_links_limit(redis_cache, settings):
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 1000
    request = RequestFactory().get("/onboarding/review/", REMOTE_ADDR="203.0.113.9")
    digest = "ab" * 32
    answers = []
    for _ in range(LINK_RATE_PER_MINUTE + 1):
        before = sent(redis_cache)
        answers.append(rate_limited(request, digest=digest))
        # SET NX and INCR for each of the two counters, in one pipeline; and this test's INFO.
        assert sent(redis_cache) - before == 5
    assert answers == [False] * LINK_RATE_PER_MINUTE + [True]
    # The counters are the cache's integers, with their lifetime: read back through the cache.
    keys = [key.decode() for key in redis_cache.keys("*ratelimit*")]
    assert len(keys) == 2 and all(0 < redis_cache.ttl(key) <= 120 for key in keys)
    assert sorted(cache.get(key.split(":", 2)[2]) for key in keys) == [LINK_RATE_PER_MINUTE + 1] * 2


def test_the_client_address_limit_counts_across_links(redis_cache, settings):
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 3
    request = RequestFactory().get("/onboarding/review/", REMOTE_ADDR="203.0.113.10")
    assert [rate_limited(request, digest=f"{i:064x}") for i in range(4)] == [False, False, False, True]
    assert rate_limited(request) is True


def test_the_client_address_limit_counts_an_ipv6_network_as_one_client(redis_cache, settings):
    """Each address of one /64 (what one IPv6 client holds) was a new count: the limit on
    link guesses per client held nobody back. Counted per network, as allauth counts."""
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 3
    answers = [
        rate_limited(RequestFactory().get("/onboarding/review/", REMOTE_ADDR=f"2001:db8:5:6::{n:x}"),
                     digest=f"{n:064x}")
        for n in range(1, 6)
    ]
    assert answers == [False, False, False, True, True]
    other = RequestFactory().get("/onboarding/review/", REMOTE_ADDR="2001:db8:5:7::1")
    assert rate_limited(other, digest="f" * 64) is False
