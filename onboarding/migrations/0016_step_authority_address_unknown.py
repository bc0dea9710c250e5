"""When the nodal officer was told that the relay refused their competent authority's address
as unknown (ApprovalStep.address_unknown_told_at). The column alone (nullable: adding it
changes no row); the index of the open authority steps' addresses is built concurrently by
0018, not in this migration's transaction, where its build would stop every write of the steps."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0015_authority_token_mailbox'),
    ]

    operations = [
        migrations.AddField(
            model_name='approvalstep',
            name='address_unknown_told_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
