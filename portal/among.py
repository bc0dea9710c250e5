"""A column among a list of values, asked of PostgreSQL as ``column = ANY(%s)``: the list is
one array parameter. ``column__in=values`` makes it one parameter per value, each prepared by
Django's lookup and each a placeholder psycopg finds in the statement's text: a batch of
several thousand values (a roster's batch of mailboxes, its rows' ids) pays that per value
in every statement that names it. SQLite, for development, is asked ``IN`` as Django makes it."""

from collections.abc import Collection

from django.db import connection
from django.db.models import BooleanField, Expression, F, Q


class _Among(Expression):
    """``column = ANY(%s::db_type[])``, the values passed as they are (no per-value preparation:
    the caller gives them as the column holds them)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, values: list, db_type: str):
        super().__init__()
        self.column, self.values, self.db_type = F(column), values, db_type

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, expressions):
        [self.column] = expressions

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.column)
        return f"{sql} = ANY(%s::{self.db_type}[])", (*params, self.values)


def among(column: str, values: Collection, db_type: str) -> Q | Expression:
    """A filter: ``column`` (a field's name, or a path through relations) is one of ``values``
    (of the column's type as stored: ids, or text as written), ``db_type`` the array's element
    type in PostgreSQL (``bigint``, ``text``). An empty ``values`` matches nothing, as ``IN``
    does: a query filtered by it is not sent at all (Django's EmptyResultSet)."""
    values = list(values)
    if connection.vendor != "postgresql" or not values:
        return Q(**{f"{column}__in": values})
    return _Among(column, values, db_type)
