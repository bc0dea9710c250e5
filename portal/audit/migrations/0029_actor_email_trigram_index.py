"""The audit log's filter by the actor's address (monitoring.auditlog.audit_events: a part of
the address, any case) is ``UPPER(actor_email::text) LIKE UPPER(%s)`` on PostgreSQL, which no
B-tree answers: without an index of its own, a filter matching few events read the whole log.
A pg_trgm GIN index on that expression answers it. Elsewhere (SQLite, the embedded default)
nothing is made.

pg_trgm is made here when it is not there yet, and left in place when this migration is
reversed: the directory's and the duplicate warnings' indexes (visibility 0002 and 0003,
onboarding 0006) depend on it, and PostgreSQL refuses to drop it under them."""

from django.db import migrations

NAME = "audit_trgm_event_actor_email"


def extension_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


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
        migrations.RunPython(extension_create, migrations.RunPython.noop),
        migrations.RunPython(create, drop),
    ]
