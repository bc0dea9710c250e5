"""A profile's verified name is empty by default in the database too (0007 added it NOT NULL
without): during an upgrade the code before 0007 writes requests to be verified without it. Setting a
column's default rewrites no row."""

import portal.text
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('verification', '0010_names_composed'),
    ]

    operations = [
        migrations.AlterField(
            model_name='governmentprofile',
            name='verified_name',
            field=portal.text.ComposedCharField(blank=True, db_default='', default='', max_length=150, verbose_name='verified name'),
        ),
    ]
