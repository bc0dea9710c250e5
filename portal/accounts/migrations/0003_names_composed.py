"""Names are stored composed (Unicode NFC,
portal.text.ComposedCharField): the accounts' names, and
what was stored before is composed here, so that a name with a nukta typed one way (U+095B
"ज़") is found by a search typed the other way (U+091C U+093C). Only the rows whose text is
not composed are rewritten (on PostgreSQL the database finds them: ``IS NOT NFC NORMALIZED``),
a thousand at a time; the field itself changes nothing in the database."""

import portal.text
from django.db import migrations


def names_compose(apps, schema_editor):
    model = apps.get_model("accounts", "User")
    portal.text.composed_rows_save(model.objects.using(schema_editor.connection.alias), ['full_name'])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_seed_email_rules'),
    ]

    operations = [
        migrations.AlterField(
            model_name='user',
            name='full_name',
            field=portal.text.ComposedCharField(blank=True, max_length=150, verbose_name='full name'),
        ),
        migrations.RunPython(names_compose, migrations.RunPython.noop),
    ]
