"""Telling a claim whose sender is still at work from one whose sender died.

Whoever claims outbox rows (portal/mail/delivery.py) first takes a lock of its own,
under a fresh random key, writes that key on the rows, and holds the lock until it
has recorded every outcome. It is no lock on a row and keeps no transaction open:
on PostgreSQL a session advisory lock, elsewhere (SQLite, one machine) an exclusive
``flock`` on a file under ``VAR_DIR``. The database server or the operating system
lets either go when the process ends, ``kill -9`` included; so another worker that
finds the lock free knows the rows' sender is gone and may take them at once, and
one that finds it held leaves them (or waits for them).
"""

import fcntl
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.db import connection

# The first of PostgreSQL's two advisory-lock keys: outbox claims ("MAIL").
ADVISORY_NAMESPACE = 0x4D41494C
KEY_MAX = 2**31 - 1


def _lock_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "outbox-claims"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _try_advisory(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, key])
        return bool(cursor.fetchone()[0])


def _advisory_unlock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, key])


def _try_flock(key: int) -> int | None:
    """An open descriptor holding the key's file lock, or None if another holds it."""
    fd = os.open(_lock_dir() / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _flock_release(key: int, fd: int) -> None:
    try:
        (_lock_dir() / f"{key}.lock").unlink(missing_ok=True)
    finally:
        os.close(fd)


class ClaimLock:
    """The lock a sender holds, under ``key``, while it sends the rows it claimed."""

    def __init__(self, key: int, fd: int | None = None) -> None:
        self.key, self._fd = key, fd

    @classmethod
    def take(cls) -> "ClaimLock":
        """A lock under a new key (never one another live sender holds)."""
        while True:
            key = secrets.randbelow(KEY_MAX) + 1
            if connection.vendor == "postgresql":
                if _try_advisory(key):
                    return cls(key)
            else:
                fd = _try_flock(key)
                if fd is not None:
                    return cls(key, fd)

    def release(self) -> None:
        if connection.vendor == "postgresql":
            _advisory_unlock(self.key)
        elif self._fd is not None:
            _flock_release(self.key, self._fd)
            self._fd = None


def claim_is_alive(key: int) -> bool:
    """Whether a sender still holds the lock of claim ``key`` (False: it finished or died)."""
    if connection.vendor == "postgresql":
        if not _try_advisory(key):
            return True
        _advisory_unlock(key)
        return False
    fd = _try_flock(key)
    if fd is None:
        return True
    _flock_release(key, fd)  # a dead sender's file: nobody needs it any more
    return False
