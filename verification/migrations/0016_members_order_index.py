"""The index the members page reads an organisation's members by, in its order: by name
whatever its case, then by id (verification.selectors.MembersSlice), of the verified and
suspended profiles it lists. Without it, every page sorted every member of the organisation
(100,000 from a roster). Built concurrently, outside a transaction
(portal.migration_operations.AddIndexConcurrently, as onboarding 0018 builds its own): a
plain CREATE INDEX holds a SHARE lock on the table for the whole build, and every request,
decision or roster row the release still running during `make migrate` writes would wait
for it."""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

import portal.migration_operations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ('organisations', '0006_member_before_admin_default_in_database'),
        ('verification', '0015_confirmation_mailed_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        portal.migration_operations.AddIndexConcurrently(
            model_name='governmentprofile',
            index=models.Index(models.F('organisation'), django.db.models.functions.text.Lower('verified_name'), models.F('id'), condition=models.Q(('status__in', ('verified', 'suspended'))), name='verification_members_order_idx'),
        ),
    ]
