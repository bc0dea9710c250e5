"""PostgreSQL's transaction-level advisory locks, taken by a namespace (the first of its
two keys: four letters read as a number, one per kind of thing locked) and a key: until
the transaction ends, whoever asks for the same pair waits. SQLite, for development, has
one writer at a time: nothing is taken there."""

from django.db import connection


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
