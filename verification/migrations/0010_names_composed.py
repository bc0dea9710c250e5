"""Names are stored composed (Unicode NFC,
portal.text.ComposedCharField): the profiles' verified names, designations and offices, and
what was stored before is composed here, so that a name with a nukta typed one way (U+095B
"ज़") is found by a search typed the other way (U+091C U+093C). Only the rows whose text is
not composed are rewritten (on PostgreSQL the database finds them: ``IS NOT NFC NORMALIZED``),
a thousand at a time; the field itself changes nothing in the database."""

import portal.text
from django.db import migrations


def names_compose(apps, schema_editor):
    model = apps.get_model("verification", "GovernmentProfile")
    portal.text.composed_rows_save(model.objects.using(schema_editor.connection.alias), ['verified_name', 'designation', 'office'])


class Migration(migrations.Migration):

    dependencies = [
        ('verification', '0009_verified_admins_are_members'),
    ]

    operations = [
        migrations.AlterField(
            model_name='governmentprofile',
            name='designation',
            field=portal.text.ComposedCharField(max_length=150, verbose_name='designation'),
        ),
        migrations.AlterField(
            model_name='governmentprofile',
            name='office',
            field=portal.text.ComposedCharField(max_length=200, verbose_name='office or unit'),
        ),
        migrations.AlterField(
            model_name='governmentprofile',
            name='verified_name',
            field=portal.text.ComposedCharField(blank=True, max_length=150, verbose_name='verified name'),
        ),
        migrations.RunPython(names_compose, migrations.RunPython.noop),
    ]
