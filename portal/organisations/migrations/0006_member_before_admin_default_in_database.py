"""A membership's ``member_before_admin`` gets its default in the database too (0004 added it NOT
NULL without): during an upgrade the code before 0004 grants roles without it. Setting a
column's default rewrites no row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('organisations', '0005_names_composed'),
    ]

    operations = [
        migrations.AlterField(
            model_name='membership',
            name='member_before_admin',
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
