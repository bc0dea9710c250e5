"""Requests per minute of each API client, counted in Django's cache (shared by every
worker and machine: Redis in production, the database cache in the embedded default).

A fixed window of one minute per client, its counter named after the minute (so a
counter is only ever touched during its own minute, and expires after it): the first
request of a minute adds it, the others increment it. At most ``API_RATE_PER_MINUTE`` requests a minute
are answered; the others are told how many seconds remain until the next minute."""

import math
import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def rate_limit_wait(client_id: int, *, now: float | None = None) -> int:
    """Count one request of the client; 0 if it may be answered, else the seconds to
    wait (at least 1) before the client's next request will be."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{client_id}:{window}"
    try:
        count = cache.incr(key)  # most requests: the minute's counter exists
    except ValueError:
        # The first request of the minute (or two at once: one adds, the other increments).
        count = 1 if cache.add(key, 1, timeout=WINDOW_SECONDS + 5) else cache.incr(key)
    if count <= settings.API_RATE_PER_MINUTE:
        return 0
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
