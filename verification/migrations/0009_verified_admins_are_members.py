from django.db import migrations
from django.db.models import Exists, OuterRef


def verified_admins_mark_members(apps, schema_editor):
    """An admin (an organisation's first admin, made at its activation) verified there
    since was left marked as no member under the role, and its ending would have made
    them no one there: each such admin role in force of someone verified in that
    organisation now is marked as a member's, as verifying them marks it."""
    Membership = apps.get_model("organisations", "Membership")
    GovernmentProfile = apps.get_model("verification", "GovernmentProfile")
    verified_there = GovernmentProfile.objects.filter(
        user_id=OuterRef("user_id"), organisation_id=OuterRef("organisation_id"), status="verified")
    Membership.objects.filter(Exists(verified_there), role="admin", is_active=True,
                              member_before_admin=False).update(member_before_admin=True)


class Migration(migrations.Migration):

    dependencies = [
        ('organisations', '0004_role_end_dates'),
        ('verification', '0008_fill_verified_names'),
    ]

    operations = [
        migrations.RunPython(verified_admins_mark_members, migrations.RunPython.noop),
    ]
