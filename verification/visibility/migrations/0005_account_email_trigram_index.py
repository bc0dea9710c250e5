"""The index the members search reads the accounts' addresses by
(verification.selectors._member_candidates): an administrator finds a member by the
address they sign in with too, and without it that search read every member of the
organisation (100,000 from a roster). A pg_trgm GIN index of the accounts' addresses, as
Django matches ``icontains`` (``UPPER(email::text) LIKE``), made here with the other
search indexes (0002 to 0004). Built CONCURRENTLY, outside a transaction: a plain CREATE
INDEX holds a SHARE lock on the accounts for the whole build, and every sign-in writing an
account would wait for it. Elsewhere (SQLite, the embedded default) nothing is made."""

from django.db import migrations

from portal.migration_operations import index_drop, trigram_index_build

NAME = "visibility_trgm_user_email"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    trigram_index_build(schema_editor, NAME, "accounts_user", "email")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    index_drop(schema_editor, NAME)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("visibility", "0004_listable_profiles_trigram_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
