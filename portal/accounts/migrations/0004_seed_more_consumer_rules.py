"""Consumer-mail rules for the personal mail services the seed (0002) lacked, so that the
official email rules page lists them: common in India (Indiatimes, Sify and VSNL mail) and
elsewhere, as the code lists them (portal.accounts.personal_mail.ADDED_SINCE). They are consumer
mail with or without a rule (official_email.PERSONAL_MAIL_SERVICES, and PERSONAL_MAIL_BRANDS for
Yahoo's, Microsoft's and others' domains in every country). A rule
a superadmin already made for one is left as it is; rolled back, nothing is taken away."""

from django.db import migrations

from portal.accounts.personal_mail import ADDED_SINCE

CONSUMER = ADDED_SINCE  # the code's list of personal mail services, those added since 0002


def seed(apps, schema_editor):
    Rule = apps.get_model("accounts", "EmailSuffixRule")
    for suffix in CONSUMER:
        Rule.objects.get_or_create(suffix=suffix, defaults={"kind": "consumer", "note": "seed"})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_names_composed")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
