"""The accounts that held a competent authority's address when its link decided, kept on the
step: the next level and the appeal refuse them even once the address is off their account. A
row the release before writes gets [] from the database's default (its decisions are compared
with the addresses accounts hold now, as that release does)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0024_approval_timings_returns_max'),
    ]

    operations = [
        migrations.AddField(
            model_name='approvalstep',
            name='link_holders',
            field=models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list),
        ),
    ]
