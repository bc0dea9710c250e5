"""The directory's search reads only the profiles it may list (verified or suspended:
rules.search_candidates), each field's matches capped: its pg_trgm GIN indexes on the
profiles (0002, 0003) become partial indexes of those profiles, so that each capped scan
reads them alone, never the requests waiting for a decision, rejected, revoked or
cancelled (tens of thousands in a state), which took the cap's places. Nothing else
searches these columns by substring: the indexes of every profile are dropped.
Elsewhere (SQLite, the embedded default) nothing is made.

The indexes are built CONCURRENTLY, outside a transaction (as 0003's is): a plain CREATE
INDEX holds a SHARE lock on the profiles for the whole build, and every write of a
profile by the processes still running during `make migrate` waited for it."""

from django.db import migrations

from portal.migration_operations import index_drop, trigram_index_build

TABLE = "verification_governmentprofile"
LISTABLE = "status IN ('verified', 'suspended')"  # verification.models.HELD_STATUSES, as the search filters by

# The partial indexes of the listable profiles (as 0002 and 0003 name theirs: table, column).
INDEXES = {
    "visibility_trgm_listed_designation": (TABLE, "designation"),
    "visibility_trgm_listed_office": (TABLE, "office"),
    "visibility_trgm_listed_email": (TABLE, "official_email"),
    "visibility_trgm_listed_mobile": (TABLE, "mobile"),
    "visibility_trgm_listed_code": (TABLE, "employee_code"),
    "visibility_trgm_listed_verified_name": (TABLE, "verified_name"),
}
# Each one's index of every profile (0002, 0003), which it replaces.
REPLACES = {
    "visibility_trgm_listed_designation": "visibility_trgm_profile_designation",
    "visibility_trgm_listed_office": "visibility_trgm_profile_office",
    "visibility_trgm_listed_email": "visibility_trgm_profile_email",
    "visibility_trgm_listed_mobile": "visibility_trgm_profile_mobile",
    "visibility_trgm_listed_code": "visibility_trgm_profile_code",
    "visibility_trgm_listed_verified_name": "visibility_trgm_profile_verified_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        trigram_index_build(schema_editor, name, table, column, LISTABLE)
        index_drop(schema_editor, REPLACES[name])


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        trigram_index_build(schema_editor, REPLACES[name], table, column)
        index_drop(schema_editor, name)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("visibility", "0003_verified_name_trigram_index"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
