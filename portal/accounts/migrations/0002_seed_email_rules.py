from django.db import migrations

OFFICIAL = ["gov.in", "nic.in", "mil.in"]
CONTRACTOR = ["-external.gov.in", "-external.nic.in"]
MANUAL_REVIEW = ["ac.in", "edu.in", "res.in", "co.in", "org.in"]
CONSUMER = [
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.in", "yahoo.in", "ymail.com", "rocketmail.com",
    "outlook.com", "outlook.in", "hotmail.com", "hotmail.co.in", "live.com", "live.in", "msn.com",
    "rediffmail.com", "rediff.com", "icloud.com", "me.com", "mac.com", "aol.com", "protonmail.com", "proton.me",
    "zoho.com", "zohomail.in", "gmx.com", "mail.com", "yandex.com", "tutanota.com",
]


def seed(apps, schema_editor):
    Rule = apps.get_model("accounts", "EmailSuffixRule")
    for kind, suffixes in [("official", OFFICIAL), ("contractor", CONTRACTOR), ("manual_review", MANUAL_REVIEW), ("consumer", CONSUMER)]:
        for suffix in suffixes:
            Rule.objects.get_or_create(suffix=suffix, defaults={"kind": kind, "note": "seed"})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
