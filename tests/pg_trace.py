"""What a Django database connection sends to PostgreSQL, for tests that count round trips
below Django's query log (which misses the connection's own health check); and connections
of their own to the same server, for tests that act beside Django's (a second session, a
backend ended, a database made)."""

import json
import re
import tempfile
import time
from contextlib import contextmanager

import psycopg
from django.db import connection
from psycopg import pq


@contextmanager
def column_retyped(table, column, to="text"):
    """``table.column`` of type ``to`` for the time of the block, as a migration would
    change it (then its declared type again)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = %s::regclass AND attname = %s", [table, column])
        (declared,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {to}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {declared}")


def rows_read(plan, table, *, leaving_out=()):
    """The rows of ``table`` a plan's scans read (a node of EXPLAIN (ANALYZE, FORMAT JSON) and
    those below it): returned, and removed by a filter or a recheck, in all their loops; not
    those of the subplans named in ``leaving_out``."""
    if plan.get("Subplan Name") in leaving_out:
        return 0
    read = 0
    if plan.get("Relation Name") == table:
        read += (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
                 + plan.get("Rows Removed by Index Recheck", 0)) * plan.get("Actual Loops", 1)
    return read + sum(rows_read(child, table, leaving_out=leaving_out) for child in plan.get("Plans", ()))


def rows_read_by_queries(queries, table, *, hashed=True):
    """The rows of ``table`` PostgreSQL read (by EXPLAIN ANALYZE) for those of ``queries``
    (Django's query log, CaptureQueriesContext) that select from it. ``hashed=False``: not
    those of a hashed subplan (read whole once, whatever the rows it is asked about: the
    planner's choice for small tables, where a lookup a row costs more)."""
    read = 0
    with connection.cursor() as cursor:
        for sql in (query["sql"] for query in queries):
            if table in sql and sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) " + sql.replace("%", "%%"))
                (plan,) = cursor.fetchone()
                plan = plan if isinstance(plan, list) else json.loads(plan)
                leaving_out = () if hashed else set(re.findall(r"hashed (SubPlan \d+)", json.dumps(plan)))
                read += rows_read(plan[0]["Plan"], table, leaving_out=leaving_out)
    return read


def plans(name_pattern):
    """How many times the statements prepared on the test's connection whose names match
    ``name_pattern`` (a regular expression, PostgreSQL's ``~``) ran with their generic plan,
    and with a plan for their values: (generic, custom), summed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(generic_plans), 0)::int, COALESCE(SUM(custom_plans), 0)::int "
                       "FROM pg_prepared_statements WHERE name ~ %s", [name_pattern])
        return cursor.fetchone()


def prepared_text(sql):
    """``sql`` as Django's query log has it, with each ``EXECUTE name(...)`` of a statement
    prepared on the test's connection (portal.prepared) replaced by the statement's text
    (PostgreSQL's ``pg_prepared_statements``): what the database ran."""
    if "EXECUTE " not in sql:
        return sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        statements = dict(cursor.fetchall())

    def text(match):
        # The source text PostgreSQL keeps is the whole string the PREPARE came in: several, joined by ";\n".
        name = match.group(1)
        prepares = statements[name]
        start = prepares.index(f"PREPARE {name} AS ") + len(f"PREPARE {name} AS ")
        end = prepares.find(";\nPREPARE ", start)
        return prepares[start:end if end >= 0 else None]

    return re.sub(r"\bEXECUTE (\w+)(\([^;]*\))?", text, sql)


def statements_sent(call):
    """The statements the database connection sends to PostgreSQL during ``call()``
    (libpq's trace of the protocol), and what ``call()`` returned."""
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            result = call()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode().splitlines()
    return [line.split("\t", 3)[3] for line in lines if line.startswith("F\t") and "\tQuery\t" in line], result


def kept_connection_at_the_start_of_a_request():
    """What close_old_connections leaves at the start of a request on a connection kept
    from an earlier one (CONN_MAX_AGE): its health check to do (CONN_HEALTH_CHECKS)."""
    connection.health_check_enabled = True
    connection.health_check_done = False


def backend_terminate(pid):
    """End the PostgreSQL backend ``pid`` from another connection, as a server restart or a
    proxy would drop a kept connection."""
    with other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        # pg_terminate_backend signals the backend and returns: wait until it has ended (its
        # last message sent), as it has when a later request finds the connection.
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, f"backend {pid} did not end"
            time.sleep(0.01)


def other_connection(*, dbname: str | None = None, autocommit: bool = True) -> psycopg.Connection:
    """A connection of its own, outside Django's, to the test database (or to ``dbname``)
    on the same server with the same account."""
    params = connection.settings_dict
    return psycopg.connect(dbname=dbname or params["NAME"], user=params["USER"] or None,
                           password=params["PASSWORD"] or None, host=params["HOST"] or None,
                           port=params["PORT"] or None, autocommit=autocommit)
