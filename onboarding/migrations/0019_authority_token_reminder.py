"""Each competent authority's link says whether it was a reminder of the deadline sweep's,
which no longer counts against its mailbox's day. The reminders of the last 24 hours (the
only ones that counted) are marked too: a reminder's link was written with the moment its
step was reminded (deadlines._claim, _new_links), which no other link of the step has. The
column is added with its default in the database (no rewrite of the table); the marking,
one UPDATE of at most a day's links, runs after it in a transaction of its own (the
migration has none around them), not holding the table's lock."""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def recent_reminders_mark(apps, schema_editor):
    AuthorityToken = apps.get_model("onboarding", "AuthorityToken")
    AuthorityToken.objects.using(schema_editor.connection.alias).filter(
        created_at__gt=timezone.now() - timedelta(days=1), step__reminded_at=F("created_at"),
    ).update(reminder=True)


class Migration(migrations.Migration):
    atomic = False  # the marking is not in the lock of the added column

    dependencies = [
        ('onboarding', '0018_authority_mailbox_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='authoritytoken',
            name='reminder',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(recent_reminders_mark, migrations.RunPython.noop),
    ]
