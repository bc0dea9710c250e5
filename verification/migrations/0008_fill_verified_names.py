"""The verified names of the profiles held now, filled a thousand at a time, each batch in a
transaction of its own (the migration has none around them): one UPDATE of every held
profile in the migration's transaction kept them all locked until the last was filled, and a
suspension, revocation or reinstatement by the processes still running during `make migrate`
waited for it (34 s at 300,000 profiles)."""

from django.db import migrations, transaction
from django.db.models import OuterRef, Subquery

BATCH = 1000


def verified_names_fill(apps, schema_editor):
    """The profiles held now (verified or suspended) were vouched for under their account's
    name as it is: the best record there is of the name their organisation verified. Ended
    ones keep none (a revoked record's details are the retention's to reduce, not to fill)."""
    GovernmentProfile = apps.get_model("verification", "GovernmentProfile")
    User = apps.get_model("accounts", "User")
    alias = schema_editor.connection.alias
    unnamed = GovernmentProfile.objects.using(alias).filter(status__in=["verified", "suspended"], verified_name="")
    name = Subquery(User.objects.using(alias).filter(pk=OuterRef("user_id")).values("full_name")[:1])
    after = 0
    while True:
        with transaction.atomic(using=alias):
            ids = list(unnamed.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not ids:
                return
            unnamed.filter(pk__in=ids).update(verified_name=name)
        after = ids[-1]


class Migration(migrations.Migration):
    atomic = False  # a transaction per batch

    dependencies = [
        ('accounts', '0001_initial'),
        ('verification', '0007_verified_name'),
    ]

    operations = [
        migrations.RunPython(verified_names_fill, migrations.RunPython.noop),
    ]
