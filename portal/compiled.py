"""Queries whose SQL is built once per process.

Turning a queryset into SQL (resolving lookups, joins, expressions, subqueries) costs the
portal far more than PostgreSQL takes to run a small indexed query: the platform roles
that every signed-in page reads took about 4 ms of Python to build and 0.3 ms to run.
``rows`` builds such a query once per process, from the ORM as it is written, with a
marker in place of each value that changes between calls; later calls run the same SQL
with their own values in the markers' places.

On PostgreSQL each such query is also a statement prepared once per connection
(``portal.prepared``), the values that change its arguments and the rest written into
its text as the ORM's query had them: PostgreSQL plans it once, not at every call
(planning the user's row with their roles took it four times as long as running it).

Only for queries whose shape does not depend on their values (no branch on them, no
list of varying length). ``rows`` returns the selected columns (``values_list``) as
tuples, each value converted as the ORM converts it (the database's and the field's
converters: SQLite's dates, a JSON field's documents); ``objects`` returns a queryset's
model instances as the ORM makes them, with what it ``select_related``.
"""

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from weakref import ref as weak_ref

import psycopg
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators

from portal import prepared

# (build function, its constants) -> (database alias, SQL, parameters, name of the value each one is or None,
# the compiler and its converters of the selected columns, the queryset's fetch mode)
_compiled: dict[tuple, tuple] = {}


def _marker(value, index: int, variant: int):
    """A value of the same type as ``value``, one of two variants: the query is built with
    each, and the parameters that differ between the two are the markers' places. Each
    value's marker is its own whatever the number of values (an admin of hundreds of
    organisations gives a dashboard's query two values each): a date and time's index is
    its seconds past a moment of its variant's year, an integer's is added to its
    variant's base (the two variants' markers at one index always differ by 1,000; a
    variant's markers are only compared with each other). An integer marker is one every
    integer field accepts (the ORM answers a value outside a field's range with no query
    at all), a small integer field's up to the 768th value."""
    if isinstance(value, bool):
        raise TypeError("a boolean cannot be told from a constant: build it into the query")
    if isinstance(value, int):
        return 31_000 + 1_000 * variant + index
    if isinstance(value, datetime):
        return datetime(1111 + variant, 1, 1, tzinfo=UTC) + timedelta(seconds=index)
    if isinstance(value, str):
        return f"\x00compiled-marker-{variant}-{index}\x00"
    raise TypeError(f"no marker for a value of type {type(value).__name__}")


def _built(build: Callable[..., QuerySet], constants: tuple, values: dict, variant: int) -> tuple:
    markers = {name: _marker(value, index, variant) for index, (name, value) in enumerate(sorted(values.items()))}
    queryset = build(*constants, **markers)
    compiler = queryset.query.get_compiler(using=queryset.db)
    return markers, queryset, compiler, *compiler.as_sql()


def _compile(build: Callable[..., QuerySet], constants: tuple, values: dict) -> tuple:
    markers, queryset, compiler, sql, params = _built(build, constants, values, 0)
    _markers, _queryset, _compiler, other_sql, other_params = _built(build, constants, values, 1)
    # What SQLCompiler.results_iter converts, for the same columns.
    converters = compiler.get_converters([column[0] for column in compiler.select[0:compiler.col_count]])
    # Each marker as the database receives it: itself, or adapted (SQLite receives a date and time as text).
    ops = connections[queryset.db].ops
    forms = {name: (marker, ops.adapt_datetimefield_value(marker) if isinstance(marker, datetime) else marker)
             for name, marker in markers.items()}
    slots = tuple(
        next((name for name, (marker, adapted) in forms.items()
              if _same(param, marker) or _same(param, adapted)),
             None)
        for param in params
    )
    missing = set(markers) - set(slots)
    if missing:  # the ORM changed the value (a pattern, a conversion): this query is not for here
        raise ValueError(f"{build.__qualname__}: {', '.join(sorted(missing))} not passed through as a parameter")
    changed = tuple(a != b for a, b in zip(params, other_params, strict=True)) if len(params) == len(other_params) else ()
    if other_sql != sql or changed != tuple(slot is not None for slot in slots):
        raise ValueError(f"{build.__qualname__}: its SQL depends on its values, or holds a constant equal to a marker")
    return queryset.db, sql, tuple(params), slots, compiler, converters, queryset._fetch_mode


def _same(param, marker) -> bool:
    """``param`` is ``marker``, as it is or as the ORM typed it (PostgreSQL's integers are
    given their column's size: ``Int4(5)``)."""
    if type(marker) is int:
        return isinstance(param, int) and not isinstance(param, bool) and param == marker
    return type(param) is type(marker) and param == marker


def _entry(build: Callable[..., QuerySet], constants: tuple, values: dict) -> tuple:
    entry = _compiled.get((build, constants))
    if entry is None:
        entry = _compiled[build, constants] = _compile(build, constants, values)
    return entry


def _params(alias: str, params: tuple, slots: tuple, values: dict) -> list:
    ops = connections[alias].ops
    return [param if slot is None else _value(ops, param, values[slot]) for param, slot in zip(params, slots, strict=True)]


def _value(ops, marker, value):
    """``value`` in its marker's place, as the ORM gives the database such a value."""
    if isinstance(value, datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(marker, int) and type(marker) is not int:
        return type(marker)(value)  # an integer of the column's size
    return value


def rows(build: Callable[..., QuerySet], constants: tuple = (), **values) -> list[tuple]:
    """The rows of ``build(*constants, **values)``, its SQL built on the first call in this
    process with these ``constants`` (hashable values that are part of the query's shape)."""
    return together(("rows", build, constants, values))[0]


def _fetch(alias, sql, params, compiler, converters, *, key: tuple, names: tuple) -> list[tuple]:
    """The rows of ``sql`` with ``params``, converted; on PostgreSQL as the statement
    prepared for ``key`` (``names``: see ``_statement``)."""
    with connections[alias].cursor() as cursor:
        if cursor.db.vendor == "postgresql":
            prepared.execute(cursor, [_statement(cursor.db, key, sql, params, names)])
        else:
            cursor.execute(sql, params)
        return _converted(cursor.fetchall(), compiler, converters)


# Statement key -> (its name, the PREPARE that makes it, the position in the parameters of
# each of its arguments): made once per process.
_statements: dict[tuple, tuple[str, str, tuple[int, ...]]] = {}
_PLACEHOLDER = re.compile(r"%%|%s")


def _statement(connection, key: tuple, sql: str, params: list, names: tuple) -> tuple[str, str, list]:
    """The statement prepared for ``key`` and this call's arguments, for
    ``portal.prepared.execute``: ``sql`` with each parameter that is a value (whose
    ``names`` entry, by position, is not None) as ``$1``... (one for the places of the same
    name), the others written in as the ORM's query would send them."""
    found = _statements.get(key)
    if found is None:
        numbers = {}  # name -> its $ number
        for name in names:
            if name is not None and name not in numbers:
                numbers[name] = len(numbers) + 1
        positions = iter(names)

        def placeholder(match: re.Match) -> str:
            if match.group() == "%%":
                return "%%"
            name = next(positions)
            return "%s" if name is None else f"${numbers[name]}"

        text = _PLACEHOLDER.sub(placeholder, sql)
        written = psycopg.ClientCursor(connection.connection).mogrify(
            text, [param for param, name in zip(params, names, strict=True) if name is None])
        # Named by its text, so that one name is one statement whichever thread (of a
        # threaded server) makes it first: two made at once never share a name; and after
        # the function that builds it, so that a query log reads "EXECUTE
        # c3f9a1c0e72b4_steps_query(...)" (the digest first, as PostgreSQL keeps 63
        # characters of a name).
        digest = hashlib.blake2b(written.encode(), digest_size=6).hexdigest()
        statement = f"c{digest}_{_builder(key).__name__.strip('_')}"[:63]
        firsts = tuple(names.index(name) for name in numbers)  # where each argument is
        found = _statements[key] = (statement, f"PREPARE {statement} AS {written}", firsts)
    statement, prepare, firsts = found
    return statement, prepare, [params[position] for position in firsts]


def _builder(key: tuple) -> Callable:
    """The build function a statement's key names (``(build, constants)``, or a slice's key
    holding such keys)."""
    first = key[0]
    return first if callable(first) else _builder(next(part for part in key if isinstance(part, tuple)))


def _converted(found: list, compiler, converters) -> list[tuple]:
    """Fetched rows with each value converted as the ORM converts it."""
    return [tuple(row) for row in compiler.apply_converters(found, converters)] if converters else found


# (build function, its constants) -> how a row becomes instances: what ModelIterable works out for each query
_makers: dict[tuple, tuple] = {}


def objects(build: Callable[..., QuerySet], constants: tuple = (), **values) -> list[Model]:
    """The model instances of ``build(*constants, **values)`` (a queryset of a model, with
    what it ``select_related``), made as Django's ModelIterable makes them, its SQL built on
    the first call in this process with these ``constants``. The related objects of a
    queryset from a related manager (``application.steps``) are not set on them."""
    return together(("objects", build, constants, values))[0]


def _instances(build: Callable[..., QuerySet], constants: tuple, rows: list[tuple]) -> list[Model]:
    """The instances of the rows of ``build``'s query (as ``objects`` makes them)."""
    alias, _sql, _params_, _slots, compiler, _converters, fetch_mode = _compiled[build, constants]
    maker = _makers.get((build, constants))
    if maker is None:
        klass_info = compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        maker = _makers[build, constants] = (
            klass_info["model"], start, end,
            [column[0].target.attname for column in compiler.select[start:end]],
            get_related_populators(klass_info, compiler.select, alias, fetch_mode),
            tuple(compiler.annotation_col_map.items()),
        )
    model, start, end, init_list, populators, annotations = maker
    found, peers = [], []
    for row in rows:
        instance = model.from_db(alias, init_list, row[start:end], fetch_mode=fetch_mode)
        if fetch_mode.track_peers:
            peers.append(weak_ref(instance))
            instance._state.peers = peers
        for populator in populators:
            populator.populate(row, instance)
        for name, position in annotations:
            setattr(instance, name, row[position])
        found.append(instance)
    return found


def together(*calls: tuple[str, Callable[..., QuerySet], tuple, dict]) -> list:
    """Several reads that depend on none of each other in one round trip: each call is
    ``(kind, build, constants, values)``, ``kind`` one of "rows", "objects", "first" (what
    the function of that name answers); their answers in the same order. On PostgreSQL
    their prepared statements' ``EXECUTE`` go in one ``execute``, joined by ";"
    (psycopg's client-side binding, Django's default, sends them together) and each one's
    rows are read in turn; elsewhere (SQLite takes one statement at a time) one query each."""
    entries = [((build, constants), _entry(build, constants, values), values)
               for _kind, build, constants, values in calls]
    aliases = {entry[0] for _key, entry, _values in entries}
    if len(aliases) == 1 and connections[next(iter(aliases))].vendor == "postgresql":
        with connections[next(iter(aliases))].cursor() as cursor:
            prepared.execute(cursor, [
                _statement(cursor.db, key, sql, _params(alias, params, slots, values), slots)
                for key, (alias, sql, params, slots, *_rest), values in entries
            ])
            found = []
            for index, (_key, (_a, _s, _p, _sl, compiler, converters, _f), _values) in enumerate(entries):
                if index:
                    prepared.nextset(cursor)
                found.append(_converted(cursor.fetchall(), compiler, converters))
    else:
        found = [_fetch(alias, sql, _params(alias, params, slots, values), compiler, converters,
                        key=key, names=slots)
                 for key, (alias, sql, params, slots, compiler, converters, _f), values in entries]
    return [_answer(kind, build, constants, rows) for (kind, build, constants, _values), rows in zip(calls, found, strict=True)]


def _answer(kind: str, build: Callable[..., QuerySet], constants: tuple, rows: list[tuple]):
    """What ``rows``, ``objects`` or ``first`` (``kind``) answers with these rows of ``build``'s query."""
    if kind == "rows":
        return rows
    instances = _instances(build, constants, rows)
    if kind == "objects":
        return instances
    return instances[0] if instances else None


def first(build: Callable[..., QuerySet], constants: tuple = (), **values) -> Model | None:
    """The first of ``objects(build, constants, **values)``, or None (slice the queryset
    ``[:1]`` in ``build`` when more than one row may match)."""
    return together(("first", build, constants, values))[0]


def subquery(build: Callable[..., QuerySet], constants: tuple = (), **values) -> RawSQL:
    """``build(*constants, **values)`` (a one-column ``values()`` queryset) as an expression to
    filter by (``pk__in=``), its SQL built once per process like ``rows``."""
    alias, sql, params, slots, _compiler, _converters, _fetch_mode = _entry(build, constants, values)
    return RawSQL(sql, _params(alias, params, slots, values))


def slices(parts: list[tuple[Callable[..., QuerySet], tuple, int, int, dict]]) -> list[tuple]:
    """The rows of each part's slice, one part after the other: a part is ``(build,
    constants, start, stop, values)``, its rows ``rows(build, constants, **values)[start:stop]``
    (``build`` gives an ordered, unsliced queryset). Each part's SQL is built once per
    process, its slice bounds passed as parameters (the ORM writes them into the SQL, a
    query for each page). One query (``UNION ALL``) where the database allows a slice in a
    compound query (PostgreSQL), else one query a part. The parts select the same columns."""
    if not parts:
        return []
    found = []
    entries = []
    for build, constants, start, stop, values in parts:
        if not 0 <= start <= stop:
            raise ValueError(f"{build.__qualname__}: a slice from {start} to {stop}")
        alias, sql, params, slots, compiler, converters, _fetch_mode = _entry(build, constants, values)
        if compiler.query.is_sliced or not compiler.query.order_by:
            raise ValueError(f"{build.__qualname__}: a slice needs an ordered, unsliced queryset")
        entries.append((alias, sql, [*_params(alias, params, slots, values), stop - start, start], compiler, converters,
                        (build, constants), (*slots, (None, "limit"), (None, "offset"))))
    alias, compiler, converters = entries[0][0], entries[0][3], entries[0][4]
    if len(entries) > 1 and connections[alias].features.supports_slicing_ordering_in_compound:
        sql = " UNION ALL ".join(f"({entry_sql} LIMIT %s OFFSET %s)" for _a, entry_sql, *_rest in entries)
        return _fetch(alias, sql, [param for entry in entries for param in entry[2]], compiler, converters,
                      key=("slices", *(entry[5] for entry in entries)),
                      names=tuple(None if name is None else (part, name)
                                  for part, entry in enumerate(entries) for name in entry[6]))
    for entry_alias, entry_sql, entry_params, entry_compiler, entry_converters, key, names in entries:
        found.extend(_fetch(entry_alias, f"{entry_sql} LIMIT %s OFFSET %s", entry_params, entry_compiler,
                            entry_converters, key=("slice", key), names=names))
    return found
