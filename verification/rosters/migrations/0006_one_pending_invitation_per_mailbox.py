from django.db import migrations, models


class Migration(migrations.Migration):
    """The index after the rows it covers were filled (0005), in a transaction of its own:
    PostgreSQL builds no index on a table with checks of the filling still pending."""

    dependencies = [
        ('rosters', '0005_one_invitation_per_mailbox'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='invitation',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('organisation', 'mailbox'), name='rosters_one_pending_invitation_per_mailbox'),
        ),
    ]
