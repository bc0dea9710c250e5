"""Indexes for the duplicate warnings (onboarding.application.services.duplicate_warnings):
open applications whose organisation name contains one of a name's significant words, or
whose staff email domains contain one of a domain list, any case. Django matches
``icontains`` as ``UPPER(column::text) LIKE UPPER(%s)`` on PostgreSQL, so each index is a
pg_trgm GIN index on that expression, of the submitted applications only (the warnings
ask for those with a reference): without them, every task list scanned every open
application's answers twice (30 ms each at 10,000 applications). Elsewhere (SQLite, the
embedded default) nothing is made."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "onboarding_trgm_organisation_name": 'UPPER(("organisation_name")::text)',
    "onboarding_trgm_email_domains": """UPPER(("data" #>> '{organisation,email_domains}'::text[]))""",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "onboarding_application" USING gin (({expression}) gin_trgm_ops) '
            'WHERE "reference" IS NOT NULL'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0005_document_language"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
