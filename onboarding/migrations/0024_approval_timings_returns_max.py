"""The most times one application may be returned for correction, a value of the approval
timings' row that superadmins change in the portal: its first value is the setting
ONBOARDING_RETURNS_MAX of the host that migrates (a row the release before writes gets the
setting's own default, 3). Taken back, the column goes, and the setting is read again."""

from django.conf import settings
from django.db import migrations, models


def returns_max_from_settings(apps, schema_editor):
    ApprovalTimings = apps.get_model("onboarding", "ApprovalTimings")
    ApprovalTimings.objects.using(schema_editor.connection.alias).update(returns_max=settings.ONBOARDING_RETURNS_MAX)


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0023_approval_step_reopened_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='approvaltimings',
            name='returns_max',
            field=models.PositiveSmallIntegerField(db_default=3, verbose_name='Times one application may be returned for correction'),
        ),
        migrations.RunPython(returns_max_from_settings, migrations.RunPython.noop),
    ]
