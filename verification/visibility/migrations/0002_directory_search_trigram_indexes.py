"""Indexes for the directory search (rules.search_candidates): a substring search,
any case, of the person's name, their profile's details and the organisation's name.
Django matches ``icontains`` as ``UPPER(column::text) LIKE UPPER(%s)`` on PostgreSQL,
so each index is a pg_trgm GIN index on that expression. The tables belong to other
apps (accounts, organisations, verification); the indexes are the directory's, made
and dropped here. Elsewhere (SQLite, the embedded default) nothing is made."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "visibility_trgm_profile_designation": ("verification_governmentprofile", "designation"),
    "visibility_trgm_profile_office": ("verification_governmentprofile", "office"),
    "visibility_trgm_profile_email": ("verification_governmentprofile", "official_email"),
    "visibility_trgm_profile_mobile": ("verification_governmentprofile", "mobile"),
    "visibility_trgm_profile_code": ("verification_governmentprofile", "employee_code"),
    "visibility_trgm_user_full_name": ("accounts_user", "full_name"),
    "visibility_trgm_organisation_name": ("organisations_organisation", "name"),
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
        ("visibility", "0001_visibility_policy_and_personal_choices"),
        ("verification", "0001_initial"),
        ("accounts", "0001_initial"),
        ("organisations", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
