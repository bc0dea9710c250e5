"""Telling a claim whose sender is still at work from one whose sender died.

Whoever claims outbox rows (portal/mail/delivery.py) first takes a lock of its own,
under a fresh random key, writes that key on the rows, and holds the lock until it
has recorded every outcome. It is no lock on a row and keeps no transaction open: a
process's lock (``portal.advisory.SessionLock``), which the database server or the
operating system lets go when the process ends, ``kill -9`` included; so another worker that
finds the lock free knows the rows' sender is gone and may take them at once, and
one that finds it held leaves them (or waits for them).
"""

import secrets

from portal.advisory import SessionLock

# The first of PostgreSQL's two advisory-lock keys: outbox claims ("MAIL").
ADVISORY_NAMESPACE = 0x4D41494C
KEY_MAX = 2**31 - 1


class ClaimLock:
    """The lock a sender holds, under ``key``, while it sends the rows it claimed."""

    def __init__(self, lock: SessionLock) -> None:
        self._lock, self.key = lock, lock.key

    @classmethod
    def take(cls) -> "ClaimLock":
        """A lock under a new key (never one another live sender holds)."""
        while True:
            lock = SessionLock(ADVISORY_NAMESPACE, secrets.randbelow(KEY_MAX) + 1)
            if lock.try_take():
                return cls(lock)

    def release(self) -> None:
        self._lock.release()


def claim_is_alive(key: int) -> bool:
    """Whether a sender still holds the lock of claim ``key`` (False: it finished or died)."""
    return SessionLock(ADVISORY_NAMESPACE, key).is_held_elsewhere()
