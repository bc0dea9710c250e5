"""The approval timings as a row superadmins change in the portal, its first values those of
the settings (ONBOARDING_AUTHORITY_DUE_DAYS, ONBOARDING_STATE_DUE_DAYS, ONBOARDING_APPEAL_DUE_DAYS,
ONBOARDING_REMINDER_DAYS_BEFORE, ONBOARDING_APPEAL_WINDOW_DAYS, ONBOARDING_TOKEN_TTL_DAYS) of the
host that migrates. Taken back, the table goes, and the settings are read again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def timings_from_settings(apps, schema_editor):
    ApprovalTimings = apps.get_model("onboarding", "ApprovalTimings")
    ApprovalTimings.objects.using(schema_editor.connection.alias).get_or_create(pk=1, defaults={
        "authority_due_days": settings.ONBOARDING_AUTHORITY_DUE_DAYS,
        "state_due_days": settings.ONBOARDING_STATE_DUE_DAYS,
        "appeal_due_days": settings.ONBOARDING_APPEAL_DUE_DAYS,
        "reminder_days_before": settings.ONBOARDING_REMINDER_DAYS_BEFORE,
        "appeal_window_days": settings.ONBOARDING_APPEAL_WINDOW_DAYS,
        "token_ttl_days": settings.ONBOARDING_TOKEN_TTL_DAYS,
    })


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0020_application_placement_told'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApprovalTimings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('authority_due_days', models.PositiveSmallIntegerField(verbose_name='Days the competent authority has to decide')),
                ('state_due_days', models.PositiveSmallIntegerField(verbose_name='Days the state or central administrators have to decide')),
                ('appeal_due_days', models.PositiveSmallIntegerField(verbose_name='Days the superadmins have to decide an appeal')),
                ('reminder_days_before', models.PositiveSmallIntegerField(verbose_name='Days before the due date the reminder is sent')),
                ('appeal_window_days', models.PositiveSmallIntegerField(verbose_name='Days the nodal officer has to appeal a rejection')),
                ('token_ttl_days', models.PositiveSmallIntegerField(verbose_name="Days the competent authority's link works")),
                ('earlier', models.JSONField(db_default=models.Value([], output_field=models.JSONField()), default=list)),
                ('changed_at', models.DateTimeField(blank=True, null=True)),
                ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('pk', 1)), name='approval_timings_one_row')],
            },
        ),
        migrations.RunPython(timings_from_settings, migrations.RunPython.noop),
    ]
