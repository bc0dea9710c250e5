"""The audit log's filter by the actor's address (monitoring.auditlog.audit_events: a part of
the address, any case) is ``UPPER(actor_email::text) LIKE UPPER(%s)`` on PostgreSQL, which no
B-tree answers: without an index of its own, a filter matching few events read the whole log.
A pg_trgm GIN index on that expression answers it. Elsewhere (SQLite, the embedded default)
nothing is made."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

NAME = "audit_trgm_event_actor_email"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "audit_auditevent" USING gin ((UPPER(("actor_email")::text)) gin_trgm_ops)'
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0028_step_assigned_action"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
