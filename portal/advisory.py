"""PostgreSQL's transaction-level advisory locks, taken by a namespace (the first of its
two keys: four letters read as a number, one per kind of thing locked) and a key: until
the transaction ends, whoever asks for the same pair waits. SQLite, for development, has
one writer at a time: nothing is taken there."""

import zlib
from collections.abc import Iterable

from django.db import connection

# The locks advisory_locks spreads its keys over, in one namespace.
BUCKETS = 64


def advisory_lock(namespace: int, key: int | str = 0) -> None:
    """Wait for, then hold until the transaction ends, the lock (``namespace``, ``key``); a
    text key is hashed by PostgreSQL (``hashtext``): callers fold its case first, as each
    kind of thing locked needs."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if isinstance(key, str):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [namespace, key])
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, key])


def advisory_locks(namespace: int, keys: Iterable[str]) -> None:
    """Wait for, then hold until the transaction ends, the locks of many text ``keys``
    (callers fold their case first): each key's lock is one of BUCKETS locks of
    ``namespace`` (its CRC-32's remainder, the same in every process), all taken in one
    statement in the order of the buckets, so that callers asking for overlapping keys
    cannot deadlock each other, and one with thousands of keys holds at most BUCKETS locks.
    Two keys may share a lock: a caller then waits for one it did not need."""
    if connection.vendor != "postgresql":
        return
    buckets = sorted({zlib.crc32(key.encode()) % BUCKETS for key in keys})
    if not buckets:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(%s, bucket)) FROM "
                       "(SELECT unnest(%s::int[]) AS bucket ORDER BY 1) AS buckets", [namespace, buckets])
