from django.db import migrations, models


def fill_ancestry(apps, schema_editor):
    Organisation = apps.get_model("organisations", "Organisation")
    parents = dict(Organisation.objects.values_list("pk", "parent_id"))

    def ancestry(pk):
        chain, seen, current = [], {pk}, parents.get(pk)
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = parents.get(current)
        return "/" + "".join(f"{p}/" for p in reversed(chain))

    for pk in parents:
        Organisation.objects.filter(pk=pk).update(ancestry=ancestry(pk))


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="ancestry",
            field=models.CharField(db_index=True, default="/", editable=False, max_length=500),
        ),
        migrations.RunPython(fill_ancestry, migrations.RunPython.noop),
    ]
