"""The directory's search by name reads the name a person's organisation verified
(GovernmentProfile.verified_name, rules.search_candidates): its pg_trgm GIN index on
``UPPER(verified_name::text)``, made as 0002 makes the others. (0002's index on the
account's name stays: other searches may want it; the directory no longer reads it.)
Elsewhere (SQLite, the embedded default) nothing is made.

The index is built CONCURRENTLY, outside a transaction: a plain CREATE INDEX holds a SHARE
lock on the profiles for the whole build, and every write of a profile by the processes
still running during `make migrate` waited for it."""

from django.db import migrations

from portal.migration_operations import index_drop, trigram_index_build

INDEXES = {
    "visibility_trgm_profile_verified_name": ("verification_governmentprofile", "verified_name"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        trigram_index_build(schema_editor, name, table, column)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        index_drop(schema_editor, name)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("visibility", "0002_directory_search_trigram_indexes"),
        ("verification", "0008_fill_verified_names"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
