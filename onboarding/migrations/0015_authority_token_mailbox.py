"""Each competent authority's link records the mailbox it was mailed to (AuthorityToken.mailbox:
ONBOARDING_AUTHORITY_MAILS_PER_DAY counts the links one mailbox gets in a day). The column
alone, with its default in the database: adding it changes no row (PostgreSQL 11 and later),
so the ALTER TABLE's lock, which stops every read of the links, lasts an instant, and the
release still running during `make migrate` writes its links with "". Their mailboxes are
filled a batch at a time by 0017, and the index the limit reads is built concurrently by 0018:
neither in this migration's transaction, which would hold that lock until both were done."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('onboarding', '0014_document_language_default_in_database'),
    ]

    operations = [
        migrations.AddField(
            model_name='authoritytoken',
            name='mailbox',
            field=models.CharField(db_default='', max_length=254),
        ),
    ]
