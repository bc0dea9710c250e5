"""Statements prepared once per PostgreSQL connection, then run with ``EXECUTE``.

PostgreSQL plans a query each time it receives one. For the small indexed reads that
every page makes (the signed-in user with their roles, the queue's counts and rows, the
review page's reads) planning took longer than running: 0.75 ms against 0.19 ms for the
user's row with its roles. A statement made with ``PREPARE`` keeps its plan on its
connection (after five runs PostgreSQL uses one generic plan when it costs no more than
the values' own plans did), and ``EXECUTE`` of it is one statement like any other: several
go in one round trip, and each counts as one query in Django's query log. The ``PREPARE``
is the connection's own setup, sent before the first ``EXECUTE`` and outside the log (as
Django's own connection setup is); a prepared statement lasts as long as its connection
and survives a rollback.

Two things make a prepared statement fail where the query itself would not; both are
answered by preparing again, and running once more when outside a transaction (only
reads come here):
- a migration changed the type of a column it reads ("cached plan must not change result
  type"), between ``make migrate`` and the workers' restart;
- the connection no longer has it ("prepared statement ... does not exist": a ``DISCARD
  ALL`` or ``DEALLOCATE ALL`` by something between the portal and the database).

A statement's plan is PostgreSQL's choice: its first five runs are planned for their
values, then it keeps one generic plan when that costs no more than those did. Where the
caller knows the generic plan is the right one but PostgreSQL's estimate of it is higher
(a ``LIMIT`` and ``OFFSET`` it cannot see, which it takes for a tenth of the rows), it runs
the read inside ``generic_plan()``: the ``EXECUTE`` goes between ``SET plan_cache_mode =
force_generic_plan`` and ``RESET plan_cache_mode`` in the same round trip, so the statement
is not planned again at each call (the state queue's far pages: 0.4 ms of planning a page).

A connection pooler in transaction mode (PgBouncer's default) hands a session's prepared
statements to other clients' transactions: the portal connects to PostgreSQL directly, or
through a pooler in session mode (deploy/README.md, section 2)."""

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

import psycopg
from django.db.utils import NotSupportedError, ProgrammingError
from psycopg import pq

# The names of the statements prepared on each connection (psycopg's own connection
# object, new when Django reconnects).
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Inside generic_plan(): the statements run with their generic plan.
_generic: ContextVar[bool] = ContextVar("generic_plan", default=False)


@contextmanager
def generic_plan() -> Iterator[None]:
    """The statements executed inside run with their generic plan (PostgreSQL's
    ``plan_cache_mode`` for that ``EXECUTE`` only; see the module's text). For a read whose
    best plan does not depend on its values, where PostgreSQL's estimate says otherwise."""
    token = _generic.set(True)
    try:
        yield
    finally:
        _generic.reset(token)


def nextset(cursor) -> bool:
    """Move ``cursor`` to the rows of the next statement ``execute`` ran (past the results of
    the settings around a generic plan); False when there is none."""
    while cursor.nextset():
        if cursor.description is not None:
            return True
    return False


def execute(cursor, statements: Sequence[tuple[str, str, Sequence]]) -> None:
    """``EXECUTE`` each of ``statements`` (its name, the ``PREPARE`` that makes it, its
    arguments: the ``$1``... of the ``PREPARE`` in order; integers, dates and times, text)
    with ``cursor`` (Django's, on PostgreSQL), in one round trip, each prepared first where
    this connection has not prepared it yet. Read each one's rows in turn
    (``nextset(cursor)`` between them).

    The arguments are written into the ``EXECUTE`` here, each as a literal of its type
    (text quoted by libpq), and the statement sent without parameters: psycopg's client-side
    binding would parse the text for its ``%s`` each time when there are more than 50 (a
    page of the queue: 0.45 ms a request)."""
    connection = cursor.db
    try:
        _execute(cursor, connection, statements)
    except (NotSupportedError, ProgrammingError) as error:
        if not (_stale(error) and connection.get_autocommit()):
            raise
        _prepared_on.pop(connection.connection, None)
        with connection.wrap_database_errors:
            connection.connection.execute("DEALLOCATE ALL")
        _execute(cursor, connection, statements)


def _execute(cursor, connection, statements: Sequence[tuple[str, str, Sequence]]) -> None:
    prepared = _prepared_on.setdefault(connection.connection, set())
    missing = {name: prepare for name, prepare, _arguments in statements if name not in prepared}
    if missing:
        with connection.wrap_database_errors:
            connection.connection.execute(";\n".join(missing.values()))  # no arguments: its text as it is
        prepared.update(missing)
    escaping = pq.Escaping(connection.connection.pgconn)
    with connection.wrap_database_errors:  # a refused value is the DataError the ORM would raise
        sql = ";\n".join(
            f"EXECUTE {name}({', '.join(_literal(escaping, argument) for argument in arguments)})" if arguments
            else f"EXECUTE {name}"
            for name, _prepare, arguments in statements
        )
    generic = _generic.get()
    if generic:
        # A failed EXECUTE leaves the setting as it was: a SET is undone with the transaction
        # (or savepoint) the error rolls back, and outside Django's atomic blocks the string
        # is one implicit transaction.
        sql = f"SET plan_cache_mode = force_generic_plan;\n{sql};\nRESET plan_cache_mode"
    cursor.execute(sql)
    if generic:  # past the SET's result: the first statement's rows are next
        nextset(cursor)


def _literal(escaping: pq.Escaping, value) -> str:
    """``value`` as an SQL literal: what psycopg's client-side binding writes for it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::{'timestamptz' if value.tzinfo else 'timestamp'}"
    if isinstance(value, date):
        return f"'{value.isoformat()}'::date"
    if isinstance(value, str):
        if "\x00" in value:  # libpq would end the literal there: psycopg refuses it, and so does this
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return escaping.escape_literal(value.encode()).decode()
    raise TypeError(f"no literal for an argument of type {type(value).__name__}")


def _stale(error: Exception) -> bool:
    """Whether ``error`` is PostgreSQL's refusal of a statement prepared earlier on this
    connection (see the module's text), not of the query."""
    cause = error.__cause__
    return (isinstance(cause, psycopg.errors.InvalidSqlStatementName)
            or (isinstance(cause, psycopg.errors.FeatureNotSupported)
                and "cached plan must not change result type" in str(cause)))

