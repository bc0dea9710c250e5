"""Closed (withdrawn and finally rejected) applications are kept for the three years the data
protection notice promises every nodal officer, not the one year the policies were seeded
with (0001). The stored row is raised only where it still holds that seeded default and no
superadmin ever changed it: a keeping time a superadmin chose is theirs, even the same one.
Taking the migration back leaves the row as it is (a longer keeping time erases nothing)."""

from django.db import migrations

OLD_DEFAULT_DAYS = 365
THREE_YEARS = 3 * 365


def closed_applications_kept_three_years(apps, schema_editor):
    RetentionPolicy = apps.get_model("privacy", "RetentionPolicy")
    RetentionPolicy.objects.filter(kind="closed_application", days=OLD_DEFAULT_DAYS, changed_at__isnull=True,
                                   changed_by__isnull=True).update(days=THREE_YEARS)


class Migration(migrations.Migration):

    dependencies = [
        ("privacy", "0006_returned_application_policy"),
    ]

    operations = [
        migrations.RunPython(closed_applications_kept_three_years, migrations.RunPython.noop),
    ]
