"""Operations the portal's migrations share."""

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    """An index built while the release still running during `make migrate` (deploy/README.md
    §6) goes on writing the table: a plain CREATE INDEX holds a SHARE lock on it for the whole
    build. On PostgreSQL, CREATE INDEX CONCURRENTLY, in a migration with ``atomic = False`` (as
    audit 0029 builds its own); a build that stopped leaves an invalid index of that name, which
    the next run drops and builds again, and a run that stopped after building it finds it there.
    Elsewhere (SQLite, the embedded default) a plain CREATE INDEX. Its state is AddIndex's: the
    index of the model's Meta."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        valid = _index_valid(schema_editor, self.index.name)
        if valid:
            return None
        if valid is False:
            index_drop(schema_editor, self.index.name)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)


def trigram_index_build(schema_editor, name: str, table: str, column: str, where: str = "") -> None:
    """Build, on PostgreSQL and outside a transaction (a migration with ``atomic = False``), the
    pg_trgm GIN index ``name`` of ``UPPER(column::text)`` (what a case-blind ``LIKE``/``icontains``
    of any part reads), only of the rows ``where`` names when given: CREATE INDEX CONCURRENTLY,
    so that the processes still running during `make migrate` go on writing the table. An index
    of that name a stopped build left invalid is dropped and built again; a whole one is kept.
    The RunPython migrations that build such indexes (audit 0029, visibility 0003 and 0004)
    call this; each checks the vendor first (elsewhere nothing is made)."""
    if _index_valid(schema_editor, name) is False:
        index_drop(schema_editor, name)
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema_editor.quote_name(name)} ON {schema_editor.quote_name(table)} "
        f"USING gin ((UPPER(({schema_editor.quote_name(column)})::text)) gin_trgm_ops)"
        + (f" WHERE {where}" if where else "")
    )


def index_drop(schema_editor, name: str) -> None:
    """Drop the index ``name`` if it is there, on PostgreSQL without locking its table's writes."""
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


def _index_valid(schema_editor, name: str) -> bool | None:
    """Whether the index is whole (False: a concurrent build that stopped left it invalid;
    None: it is not there)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                       [schema_editor.quote_name(name)])
        row = cursor.fetchone()
    return None if row is None else row[0]
