"""The official-email rules the portal starts with. The consumer-mail rules are those of the
code's list of personal mail services (portal.accounts.personal_mail) this migration seeded."""

from django.db import migrations

from portal.accounts.personal_mail import SEEDED_FIRST

OFFICIAL = ["gov.in", "nic.in", "mil.in"]
CONTRACTOR = ["-external.gov.in", "-external.nic.in"]
MANUAL_REVIEW = ["ac.in", "edu.in", "res.in", "co.in", "org.in"]
CONSUMER = SEEDED_FIRST  # the code's list of personal mail services, as it was when this seeded them


def seed(apps, schema_editor):
    Rule = apps.get_model("accounts", "EmailSuffixRule")
    for kind, suffixes in [("official", OFFICIAL), ("contractor", CONTRACTOR), ("manual_review", MANUAL_REVIEW), ("consumer", CONSUMER)]:
        for suffix in suffixes:
            Rule.objects.get_or_create(suffix=suffix, defaults={"kind": kind, "note": "seed"})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
