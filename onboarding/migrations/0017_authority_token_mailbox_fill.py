"""Each link's mailbox (0015), from the address it was mailed to, filled 2,000 links at a time,
each batch in a transaction of its own (the migration has none around them, as verification
0008): one transaction for all of them held their row locks, and 0015's lock on the whole table
with them, until the last link was filled, while the competent authorities opening their links,
the submissions writing new ones and the deadline sweep waited. The links of the last 24 hours
count towards their mailbox's limit from the first request after the upgrade. Taken back, it
changes nothing (0015 taken back drops the column)."""

from django.db import migrations, transaction

BATCH = 2000


def mailboxes_fill(apps, schema_editor):
    from portal.accounts.mail_limits import mailbox_key

    AuthorityToken = apps.get_model("onboarding", "AuthorityToken")
    alias = schema_editor.connection.alias
    unfilled = AuthorityToken.objects.using(alias).filter(mailbox="")
    after = 0
    while True:
        with transaction.atomic(using=alias):
            tokens = list(unfilled.filter(pk__gt=after).order_by("pk").only("id", "email")[:BATCH])
            if not tokens:
                return
            for token in tokens:
                token.mailbox = mailbox_key(token.email)
            AuthorityToken.objects.using(alias).bulk_update(tokens, ["mailbox"])
        after = tokens[-1].pk


class Migration(migrations.Migration):
    atomic = False  # a transaction per batch

    dependencies = [
        ('onboarding', '0016_step_authority_address_unknown'),
    ]

    operations = [
        migrations.RunPython(mailboxes_fill, migrations.RunPython.noop),
    ]
