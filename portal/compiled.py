"""Queries whose SQL is built once per process.

Turning a queryset into SQL (resolving lookups, joins, expressions, subqueries) costs the
portal far more than PostgreSQL takes to run a small indexed query: the platform roles
that every signed-in page reads took about 4 ms of Python to build and 0.3 ms to run.
``rows`` builds such a query once per process, from the ORM as it is written, with a
marker in place of each value that changes between calls; later calls run the same SQL
with their own values in the markers' places.

Only for queries whose shape does not depend on their values (no branch on them, no
list of varying length) and that select columns (``values_list``): ``rows`` returns
tuples, each value converted as the ORM converts it (the database's and the field's
converters: SQLite's dates, a JSON field's documents).
"""

from collections.abc import Callable
from datetime import UTC, datetime

from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

# (build function, its constants) -> (database alias, SQL, parameters, name of the value each one is or None,
# the compiler and its converters of the selected columns)
_compiled: dict[tuple, tuple] = {}


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


def _compile(build: Callable[..., QuerySet], constants: tuple, values: dict) -> tuple:
    markers = {name: _marker(value, index) for index, (name, value) in enumerate(sorted(values.items()))}
    queryset = build(*constants, **markers)
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    # What SQLCompiler.results_iter converts, for the same columns.
    converters = compiler.get_converters([column[0] for column in compiler.select[0:compiler.col_count]])
    # Each marker as the database receives it: itself, or adapted (SQLite receives a date and time as text).
    ops = connections[queryset.db].ops
    forms = {name: (marker, ops.adapt_datetimefield_value(marker) if isinstance(marker, datetime) else marker)
             for name, marker in markers.items()}
    slots = tuple(
        next((name for name, (marker, adapted) in forms.items()
              if (type(param) is type(marker) and param == marker) or (type(param) is type(adapted) and param == adapted)),
             None)
        for param in params
    )
    missing = set(markers) - set(slots)
    if missing:  # the ORM changed the value (a pattern, a conversion): this query is not for here
        raise ValueError(f"{build.__qualname__}: {', '.join(sorted(missing))} not passed through as a parameter")
    return queryset.db, sql, tuple(params), slots, compiler, converters


def _entry(build: Callable[..., QuerySet], constants: tuple, values: dict) -> tuple:
    entry = _compiled.get((build, constants))
    if entry is None:
        entry = _compiled[build, constants] = _compile(build, constants, values)
    return entry


def _params(alias: str, params: tuple, slots: tuple, values: dict) -> list:
    ops = connections[alias].ops
    return [param if slot is None else ops.adapt_datetimefield_value(values[slot])
            if isinstance(values[slot], datetime) else values[slot]
            for param, slot in zip(params, slots, strict=True)]


def rows(build: Callable[..., QuerySet], constants: tuple = (), **values) -> list[tuple]:
    """The rows of ``build(*constants, **values)``, its SQL built on the first call in this
    process with these ``constants`` (hashable values that are part of the query's shape)."""
    alias, sql, params, slots, compiler, converters = _entry(build, constants, values)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, _params(alias, params, slots, values))
        found = cursor.fetchall()
    return [tuple(row) for row in compiler.apply_converters(found, converters)] if converters else found


def subquery(build: Callable[..., QuerySet], constants: tuple = (), **values) -> RawSQL:
    """``build(*constants, **values)`` (a one-column ``values()`` queryset) as an expression to
    filter by (``pk__in=``), its SQL built once per process like ``rows``."""
    alias, sql, params, slots, _compiler, _converters = _entry(build, constants, values)
    return RawSQL(sql, _params(alias, params, slots, values))
