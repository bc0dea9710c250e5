from django.db import migrations
from django.db.models import OuterRef, Subquery


def verified_names_fill(apps, schema_editor):
    """The profiles held now (verified or suspended) were vouched for under their account's
    name as it is: the best record there is of the name their organisation verified. Ended
    ones keep none (a revoked record's details are the retention's to reduce, not to fill)."""
    GovernmentProfile = apps.get_model("verification", "GovernmentProfile")
    User = apps.get_model("accounts", "User")
    GovernmentProfile.objects.filter(status__in=["verified", "suspended"], verified_name="").update(
        verified_name=Subquery(User.objects.filter(pk=OuterRef("user_id")).values("full_name")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('verification', '0007_verified_name'),
    ]

    operations = [
        migrations.RunPython(verified_names_fill, migrations.RunPython.noop),
    ]
