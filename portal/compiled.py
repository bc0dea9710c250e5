"""Queries whose SQL is built once per process.

Turning a queryset into SQL (resolving lookups, joins, expressions, subqueries) costs the
portal far more than PostgreSQL takes to run a small indexed query: the platform roles
that every signed-in page reads took about 4 ms of Python to build and 0.3 ms to run.
``rows`` builds such a query once per process, from the ORM as it is written, with a
marker in place of each value that changes between calls; later calls run the same SQL
with their own values in the markers' places.

Only for queries whose shape does not depend on their values (no branch on them, no
list of varying length) and whose columns need no conversion from the database
(``values_list`` of text, numbers, dates): ``rows`` returns the cursor's tuples.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

# (build function, its constants) -> (database alias, SQL, parameters, name of the value each one is or None)
_compiled: dict[tuple, tuple[str, str, tuple, tuple]] = {}


def _marker(value, index: int):
    """A value of the same type as ``value`` that no query holds by itself."""
    if isinstance(value, bool):
        raise TypeError("a boolean cannot be told from a constant: build it into the query")
    if isinstance(value, int):
        return -987_654_000 - index
    if isinstance(value, datetime):
        return datetime(1111, 1, 1, 1, 1, index, tzinfo=UTC)
    if isinstance(value, str):
        return f"\x00compiled-marker-{index}\x00"
    raise TypeError(f"no marker for a value of type {type(value).__name__}")


def _compile(build: Callable[..., QuerySet], constants: tuple, values: dict) -> tuple[str, str, tuple, tuple]:
    markers = {name: _marker(value, index) for index, (name, value) in enumerate(sorted(values.items()))}
    queryset = build(*constants, **markers)
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    slots = tuple(
        next((name for name, marker in markers.items() if type(param) is type(marker) and param == marker), None)
        for param in params
    )
    missing = set(markers) - set(slots)
    if missing:  # the ORM changed the value (a pattern, a conversion): this query is not for here
        raise ValueError(f"{build.__qualname__}: {', '.join(sorted(missing))} not passed through as a parameter")
    return queryset.db, sql, tuple(params), slots


def _sql(build: Callable[..., QuerySet], constants: tuple, values: dict) -> tuple[str, str, list]:
    entry = _compiled.get((build, constants))
    if entry is None:
        entry = _compiled[build, constants] = _compile(build, constants, values)
    alias, sql, params, slots = entry
    return alias, sql, [param if slot is None else values[slot] for param, slot in zip(params, slots, strict=True)]


def rows(build: Callable[..., QuerySet], constants: tuple = (), **values) -> list[tuple]:
    """The rows of ``build(*constants, **values)``, its SQL built on the first call in this
    process with these ``constants`` (hashable values that are part of the query's shape)."""
    alias, sql, params = _sql(build, constants, values)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def subquery(build: Callable[..., QuerySet], constants: tuple = (), **values) -> RawSQL:
    """``build(*constants, **values)`` (a one-column ``values()`` queryset) as an expression to
    filter by (``pk__in=``), its SQL built once per process like ``rows``."""
    _alias, sql, params = _sql(build, constants, values)
    return RawSQL(sql, params)
