"""Requests per minute of each API client, counted in Django's cache (shared by every
worker and machine: Redis in production, the database cache in the embedded default).

A fixed window of one minute per client, its counter named after the minute (so a
counter is only ever touched during its own minute, and expires after it): the first
request of a minute adds it, the others increment it. At most ``API_RATE_PER_MINUTE`` requests a minute
are answered; the others are told how many seconds remain until the next minute.

A client is counted under its token's hash (one token per client, never changed), so
that with Redis the token's check, the count and the last-use marker are one round
trip (api.auth) before the client is known.

Requests whose token is refused (none, malformed, unknown, revoked) are counted the
same way per client address (``API_REFUSED_PER_MINUTE``): past it, the address's
requests whose token would have to be looked up are answered 429 until the minute ends
(api.auth), so that nobody can make the portal look tokens up (or guess at them) without end.
The minute's counters are portal.limits' (``minute_counted``), as other limits a minute are."""

import time

from django.conf import settings
from django.core.cache import cache

from portal.limits import minute_counted, minute_wait, minute_window


def rate_key(subject: str | int, window: int) -> str:
    """The cache key of a client's counter for one minute (``subject``: its token's hash)."""
    return f"api-rate:{subject}:{window}"


def rate_wait(count: int, now: float) -> int:
    """0 if the ``count``-th request of the minute of ``now`` may be answered, else the
    seconds to wait (at least 1) before the client's next request will be."""
    if count <= settings.API_RATE_PER_MINUTE:
        return 0
    return minute_wait(now)


def rate_limit_wait(subject: str | int, *, now: float | None = None) -> int:
    """Count one request of the client (``subject``: its token's hash); 0 if it may be
    answered, else the seconds to wait (at least 1) before the client's next request will be."""
    now = time.time() if now is None else now
    return rate_wait(minute_counted(rate_key(subject, minute_window(now))), now)


def refused_key(address: str, window: int) -> str:
    """The cache key of the counter of refused tokens from one client address for one minute."""
    return f"api-refused:{address}:{window}"


def refused_count_wait(address: str, *, now: float) -> int:
    """Count one request from ``address`` whose token was refused; 0 while the minute's
    count is within API_REFUSED_PER_MINUTE (a 401), else the seconds to wait (a 429)."""
    if minute_counted(refused_key(address, minute_window(now))) <= settings.API_REFUSED_PER_MINUTE:
        return 0
    return minute_wait(now)


def refused_wait(address: str, *, now: float) -> int:
    """Before a token is looked up (nothing counted): 0 while ``address`` has had fewer than
    API_REFUSED_PER_MINUTE tokens refused this minute, else the seconds to wait."""
    if (cache.get(refused_key(address, minute_window(now))) or 0) < settings.API_REFUSED_PER_MINUTE:
        return 0
    return minute_wait(now)
