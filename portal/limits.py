"""Limits on what one account can make the portal do: mail someone, fill a queue,
store a file, download a costly file. Each service counts its own rows (what it did, or
the audit rows of it) over a window, a day unless it says otherwise; this is the shared
arithmetic. Requests a minute (of an API client, from a client address) are counted in
the shared cache instead (``minute_counted``)."""
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from portal.advisory import advisory_lock
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.rediscache import cache_redis

WINDOW = timedelta(days=1)


def next_allowed(rows: QuerySet, field: str, limit: int, now: datetime, *,
                 window: timedelta = WINDOW) -> datetime | None:
    """None while fewer than ``limit`` of ``rows`` have ``field`` in the ``window`` (24
    hours) before ``now``; else when the oldest of those leaves the window (the next one
    is allowed). Reads at most ``limit`` values."""
    recent = list(rows.filter(**{f"{field}__gt": now - window}).order_by(field).values_list(field, flat=True)[:limit])
    return recent[0] + window if len(recent) >= limit else None


def next_allowed_among(sources: list[tuple[QuerySet, str]], limit: int, now: datetime, *,
                       window: timedelta = WINDOW) -> datetime | None:
    """``next_allowed`` for a limit that counts the rows of several ``sources`` together
    ((rows, field) pairs: what was kept and what was refused once the work had started):
    None while fewer than ``limit`` of them fall in the ``window`` before ``now``; else when
    enough of them have left it that one more is allowed (the ``limit``-th newest leaves).
    One query per source, each reading at most ``limit`` values."""
    moments = sorted((moment for rows, field in sources
                      for moment in rows.filter(**{f"{field}__gt": now - window}).order_by(f"-{field}")
                      .values_list(field, flat=True)[:limit]), reverse=True)
    return moments[limit - 1] + window if len(moments) >= limit else None


def shown(moment: datetime) -> str:
    """``moment`` as the limit's message names it: in the portal's time zone, the month
    in the language of the page ("4 Dec 2026, 21:28", "4 डिसेंबर 2026, 21:28")."""
    return date_format(timezone.localtime(moment), "j M Y, H:i")


def minute_up(moment: datetime) -> datetime:
    """``moment`` if it is a whole minute, else the next whole minute."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def shown_from(moment: datetime) -> str:
    """The moment from which something is allowed again, as a refusal names it ("you can
    ... from %(when)s"): rounded up to the minute, since the message names no seconds. Cut
    down (next allowed at 11:00:40, named 11:00), the person coming back at the minute named
    is refused again and told the same minute, already past."""
    return shown(minute_up(moment))


def refuse_over(rows: QuerySet, field: str, limit: int, now: datetime, message: str, *,
                code: str = "too_many", values: dict | None = None) -> None:
    """Raise ValidationError (``code``, "too_many" unless the caller tells its limit apart)
    with ``message`` (translated, with ``%(n)s``, the limit, ``%(when)s``, when the next one
    is allowed, and any of ``values``) when ``limit`` of ``rows`` already have ``field`` in
    the 24 hours before ``now``."""
    allowed = next_allowed(rows, field, limit, now)
    if allowed:
        raise ValidationError(message % {**(values or {}), "n": limit, "when": shown_from(allowed)}, code=code)


def refuse_over_actions(*, actor, action: str, limit: int, now: datetime, message: str) -> None:
    """``refuse_over`` for the actions ``action`` that ``actor`` took, as the audit log records them."""
    refuse_over(AuditEvent.objects.filter(actor_id=actor.pk, action=action), "created_at", limit, now, message)


HOUR = timedelta(hours=1)


def next_hourly(user: AbstractBaseUser, action: str, limit: int) -> datetime | None:
    """None while ``user`` did ``action`` (an AuditAction: one row each time, written by
    what is limited) fewer than ``limit`` times in the last hour; else when the next is
    allowed. Counted from the audit log, which outlives any cache's count."""
    return next_allowed(AuditEvent.objects.filter(actor_id=user.pk, action=action), "created_at", limit,
                        timezone.now(), window=HOUR)


def hourly_audited(*, actor: AbstractBaseUser, action: str, limit: int, lock: Callable[[], None], new: dict,
                   request: HttpRequest | None = None, target: Model | None = None) -> datetime | None:
    """Write the audit row of one ``action`` of ``actor`` (``new`` its values, ``target`` what
    it was done to, if anything) unless they did it ``limit`` times in the last hour: then
    nothing is written and the moment the next is allowed is returned (None once written).
    ``lock()`` takes the account's advisory lock of that action first, in the same
    transaction as the count and the row: requests made at the same moment cannot all pass
    the count (an export counted before its costly work, by ``next_hourly``, is counted
    again here)."""
    with transaction.atomic():
        lock()
        allowed = next_hourly(actor, action, limit)
        if allowed is None:
            audit_record(actor=actor, action=action, target=target, request=request, new=new)
    return allowed


def over_hourly(user: AbstractBaseUser, action: str, limit: int) -> bool:
    """Whether ``user`` did ``action`` ``limit`` times in the last hour already: the next
    is refused (``next_hourly``)."""
    return next_hourly(user, action, limit) is not None


def hourly_slot_take(kind: str, user_pk: int | str, limit: int) -> datetime | None:
    """Count one ``kind`` of costly work (a PDF render, a letter's check) for the account
    ``user_pk`` (or another who: a client's network) before it is done, or, when ``limit``
    of them began in the last hour, do not and return when the next may. Counted in the shared cache, since the work may
    write nothing (a refused letter, a reader's PDF): each takes one of the account's
    ``limit`` slots, a key added with its own hour of life and holding when it began
    (never incremented: the database cache's ``incr`` would give the count five minutes)."""
    keys = [f"{kind}:{user_pk}:{slot}" for slot in range(limit)]
    now = time.time()
    taken = cache.get_many(keys)
    for key in keys:
        if key not in taken and cache.add(key, now, timeout=int(HOUR.total_seconds())):
            return None
    taken = cache.get_many(keys) or taken  # the slots another request took meanwhile
    began = min(taken.values(), default=now)
    return datetime.fromtimestamp(began + HOUR.total_seconds(), tz=UTC)


def hourly_slot_give_back(kind: str, user_pk: int | str, limit: int) -> None:
    """Give back the latest of the account's ``kind`` slots (``hourly_slot_take``): the work
    it counted came to nothing through no doing of theirs (a letter checked that the storage
    could not keep), and they may try again."""
    taken = cache.get_many([f"{kind}:{user_pk}:{slot}" for slot in range(limit)])
    if taken:
        cache.delete(max(taken, key=taken.__getitem__))


# Requests a minute, counted in the shared cache (every worker and machine: Redis in
# production, the database cache in the embedded default). A fixed window of one minute, its
# counter named after the minute (so a counter is only ever touched during its own minute,
# and expires after it): the first request of a minute adds it, the others increment it.
MINUTE_SECONDS = 60
MINUTE_COUNTER_SECONDS = MINUTE_SECONDS + 5  # a counter outlives its minute a little


def minute_window(now: float) -> int:
    """The minute of ``now`` (seconds since the epoch), which names its counters."""
    return int(now // MINUTE_SECONDS)


def minute_wait(now: float) -> int:
    """The seconds (at least 1) from ``now`` to the next minute, when a counter starts again."""
    return max(1, math.ceil((minute_window(now) + 1) * MINUTE_SECONDS - now))


# The first of PostgreSQL's two advisory-lock keys: a minute's counter in the database cache ("MINC").
MINUTE_COUNTER_LOCK = 0x4D494E43


def _counted_in_database_cache(key: str) -> int | None:
    """The database cache's counter ``key`` counted once more (its new value), or None when
    the cache is another (Redis increments atomically). That cache has no increment of its
    own: Django's reads the value and writes it back, and requests at once overwrote each
    other's counts; here the read and the write are one transaction, which holds the
    counter's lock until it ends (the caller's, if one is open): PostgreSQL's advisory lock,
    SQLite's write lock (its transactions begin IMMEDIATE: settings.DATABASES)."""
    if not isinstance(caches["default"], DatabaseCache):
        return None
    with transaction.atomic(savepoint=False):
        advisory_lock(MINUTE_COUNTER_LOCK, key)  # nothing to take on SQLite (one writer at a time)
        count = (cache.get(key) or 0) + 1
        cache.set(key, count, timeout=MINUTE_COUNTER_SECONDS)
    return count


def minute_counted(key: str) -> int:
    """The minute's counter ``key`` counted once more: its new value."""
    counted = _counted_in_database_cache(key)
    if counted is not None:
        return counted
    try:
        return cache.incr(key)  # most requests: the minute's counter exists
    except ValueError:
        # The first request of the minute (or two at once: one adds, the other increments).
        return 1 if cache.add(key, 1, timeout=MINUTE_COUNTER_SECONDS) else cache.incr(key)


def minutes_counted(keys: list[str]) -> list[int]:
    """Each of the minute's counters ``keys`` counted once more: their new values. With
    Redis as the cache (production), all of them in one round trip: SET NX with the
    counter's lifetime, then INCR, for each, in one pipeline (the cache's operations take a
    round trip each, and a counter's first of the minute two more); elsewhere through the
    cache's operations (``minute_counted``)."""
    backend = cache_redis()
    if backend is None:
        # In the order of the keys, so that two callers in a transaction of their own, each
        # holding the counters' locks it took until it ends, cannot wait for each other.
        counted = {key: minute_counted(key) for key in sorted(set(keys))}
        return [counted[key] for key in keys]
    pipeline = backend.client().pipeline(transaction=False)
    for key in keys:
        name = backend.make_and_validate_key(key)
        pipeline.set(name, 0, nx=True, ex=MINUTE_COUNTER_SECONDS)  # an integer, stored as the cache stores one
        pipeline.incr(name)
    return [int(count) for count in pipeline.execute()[1::2]]


def per_minute_wait(counter: str, limit: int, *, now: float | None = None) -> int:
    """Count one request against ``counter`` (what is limited, and for whom: no address
    in it, a digest of one) this minute; 0 while the minute's count is within ``limit``,
    else the seconds to wait (at least 1) until the next minute, when it is answered again."""
    now = time.time() if now is None else now
    if minute_counted(f"{counter}:{minute_window(now)}") <= limit:
        return 0
    return minute_wait(now)
