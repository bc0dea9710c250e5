"""PostgreSQL's advisory locks, taken by a namespace (the first of its two keys: four
letters read as a number, one per kind of thing locked) and a key.

A transaction's (``advisory_lock``, ``advisory_locks``): until the transaction ends,
whoever asks for the same pair waits. SQLite, for development, has one writer at a time:
nothing is taken there.

A process's (``SessionLock``), held across transactions while a piece of work runs, and
never waited for: whoever finds it held knows the work is under way, and whoever finds it
free knows nobody is at it. The database server (a session advisory lock), or elsewhere
the operating system (an exclusive ``flock`` on a file under ``VAR_DIR``), lets it go when
the process ends, ``kill -9`` included."""

import fcntl
import os
import zlib
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
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


class SessionLock:
    """The process's lock (``namespace``, ``key``), held from ``try_take`` until ``release``
    (or the process's end), whatever transactions it runs meanwhile. PostgreSQL's is the
    connection's: one closed meanwhile (a failover) has let it go."""

    def __init__(self, namespace: int, key: int) -> None:
        self.namespace, self.key = namespace, key
        self._fd: int | None = None

    def _file(self) -> Path:
        folder = Path(settings.VAR_DIR) / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.namespace:x}-{self.key}.lock"

    def try_take(self) -> bool:
        """Take the lock if nobody holds it: whether it was taken."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [self.namespace, self.key])
                return bool(cursor.fetchone()[0])
        fd = os.open(self._file(), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if connection.vendor == "postgresql":
            if connection.connection is not None:  # one closed meanwhile let it go
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [self.namespace, self.key])
        elif self._fd is not None:
            try:
                self._file().unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None

    def is_held_elsewhere(self) -> bool:
        """Whether another process holds the lock now (taken and let go again to find out)."""
        if not self.try_take():
            return True
        self.release()
        return False
