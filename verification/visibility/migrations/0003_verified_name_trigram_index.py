"""The directory's search by name reads the name a person's organisation verified
(GovernmentProfile.verified_name, rules.search_candidates): its pg_trgm GIN index on
``UPPER(verified_name::text)``, made as 0002 makes the others. (0002's index on the
account's name stays: other searches may want it; the directory no longer reads it.)
Elsewhere (SQLite, the embedded default) nothing is made."""

from django.db import migrations

INDEXES = {
    "visibility_trgm_profile_verified_name": ("verification_governmentprofile", "verified_name"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("visibility", "0002_directory_search_trigram_indexes"),
        ("verification", "0008_fill_verified_names"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
