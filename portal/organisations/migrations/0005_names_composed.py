"""Names are stored composed (Unicode NFC,
portal.text.ComposedCharField): the organisations' names, in English and in the local language, and
what was stored before is composed here, so that a name with a nukta typed one way (U+095B
"ज़") is found by a search typed the other way (U+091C U+093C). Only the rows whose text is
not composed are rewritten (on PostgreSQL the database finds them: ``IS NOT NFC NORMALIZED``),
a thousand at a time; the field itself changes nothing in the database."""

import portal.text
from django.db import migrations


def names_compose(apps, schema_editor):
    model = apps.get_model("organisations", "Organisation")
    portal.text.composed_rows_save(model.objects.using(schema_editor.connection.alias), ['name', 'name_local'])


class Migration(migrations.Migration):

    dependencies = [
        ('organisations', '0004_role_end_dates'),
    ]

    operations = [
        migrations.AlterField(
            model_name='organisation',
            name='name',
            field=portal.text.ComposedCharField(max_length=200, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='organisation',
            name='name_local',
            field=portal.text.ComposedCharField(blank=True, max_length=200, verbose_name="name in Hindi or the state's language"),
        ),
        migrations.RunPython(names_compose, migrations.RunPython.noop),
    ]
