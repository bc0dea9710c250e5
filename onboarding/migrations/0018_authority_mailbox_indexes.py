"""The indexes the competent authorities' mailboxes are looked up by: the links one mailbox got
in a day (ONBOARDING_AUTHORITY_MAILS_PER_DAY, after 0017 filled their mailboxes) and the open
authority steps waiting on an address the relay refused as unknown. Built concurrently, outside
a transaction (portal.migration_operations.AddIndexConcurrently, as audit 0029 builds its own):
a plain CREATE INDEX holds a SHARE lock on the table for the whole build, and every link or step
the release still running during `make migrate` writes would wait for it."""

from django.db import migrations, models

import portal.migration_operations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ('onboarding', '0017_authority_token_mailbox_fill'),
    ]

    operations = [
        portal.migration_operations.AddIndexConcurrently(
            model_name='authoritytoken',
            index=models.Index(fields=['mailbox', 'created_at'], name='authority_token_mailbox_idx'),
        ),
        portal.migration_operations.AddIndexConcurrently(
            model_name='approvalstep',
            index=models.Index(condition=models.Q(('decision', ''), ('stage', 'authority')), fields=['assignee_email'], name='open_authority_step_email_idx'),
        ),
    ]
