"""The directory's search by name reads the name a person's organisation verified
(GovernmentProfile.verified_name, rules.search_candidates): its pg_trgm GIN index on
``UPPER(verified_name::text)``, made as 0002 makes the others. (0002's index on the
account's name stays: other searches may want it; the directory no longer reads it.)
Elsewhere (SQLite, the embedded default) nothing is made.

The index is built CONCURRENTLY, outside a transaction: a plain CREATE INDEX holds a SHARE
lock on the profiles for the whole build, and every write of a profile by the processes
still running during `make migrate` waited for it."""

from django.db import migrations

INDEXES = {
    "visibility_trgm_profile_verified_name": ("verification_governmentprofile", "verified_name"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        if not _index_valid(schema_editor, name):  # a concurrent build that stopped leaves an invalid index
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def _index_valid(schema_editor, name):
    """Whether the index is there and whole (True when it is not there at all)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [f'"{name}"'])
        row = cursor.fetchone()
    return row is None or row[0]


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("visibility", "0002_directory_search_trigram_indexes"),
        ("verification", "0008_fill_verified_names"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
