"""The audit log's filter by the actor's address (monitoring.auditlog.audit_events: a part of
the address, any case) is ``UPPER(actor_email::text) LIKE UPPER(%s)`` on PostgreSQL, which no
B-tree answers: without an index of its own, a filter matching few events read the whole log.
A pg_trgm GIN index on that expression answers it. Elsewhere (SQLite, the embedded default)
nothing is made.

The index is built CONCURRENTLY, outside a transaction: a plain CREATE INDEX holds a SHARE
lock on the log for the whole build, and every audited action of the processes still
running during `make migrate` waited for it (14 s at 1,000,000 events).

pg_trgm is made here when it is not there yet, and left in place when this migration is
reversed: the directory's and the duplicate warnings' indexes (visibility 0002 and 0003,
onboarding 0006) depend on it, and PostgreSQL refuses to drop it under them."""

from django.db import migrations

from portal.migration_operations import index_drop, trigram_index_build

NAME = "audit_trgm_event_actor_email"


def extension_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    trigram_index_build(schema_editor, NAME, "audit_auditevent", "actor_email")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    index_drop(schema_editor, NAME)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("audit", "0028_step_assigned_action"),
    ]

    operations = [
        migrations.RunPython(extension_create, migrations.RunPython.noop),
        migrations.RunPython(create, drop),
    ]
