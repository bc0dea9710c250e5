"""The chain check's problem code and values get their defaults in the database too (0002 added
them NOT NULL without): during an upgrade the code before 0002 records its checks without them. Setting a
column's default rewrites no row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0002_chain_check_problem_code'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditchaincheck',
            name='first_problem_code',
            field=models.CharField(blank=True, db_default='', default='', max_length=40),
        ),
        migrations.AlterField(
            model_name='auditchaincheck',
            name='first_problem_values',
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
    ]
