"""A document's language gets its default in the database too (0005 added it NOT NULL without):
during an upgrade the code before 0005 stores its PDFs without it. Setting a
column's default rewrites no row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0013_step_nobody_may_decide'),
    ]

    operations = [
        migrations.AlterField(
            model_name='applicationdocument',
            name='language',
            field=models.CharField(db_default='en', default='en', max_length=10),
        ),
    ]
