"""Roster cells are stored composed (Unicode NFC: portal.text.single_line) since names were
(verification 0010), so that a name with a nukta typed one way (U+095B "ज़") is the same
name typed the other way (U+091C U+093C). What rosters stored before is composed here where
it is still in use: the name, designation and office of the invitations still pending (a
roster uploaded again compares its rows with them: the same details written the other way
were counted as changed), and of the staged rows still to apply, which become invitations
and verifications. Accepted and cancelled invitations, and rows applied or refused, are
records of what was sent and are left as they are. Only the rows whose text is not composed
are rewritten (on PostgreSQL the database finds them: ``IS NOT NFC NORMALIZED``), a thousand
at a time; one whose composed text would no longer fit its field (each "ज़" written as one
character becomes two) is left as it is and logged, never cut. Taken back, it changes nothing:
the composed text is the same text."""

from django.db import migrations

import portal.text

NAMES = ["name", "designation", "office"]


def names_compose(apps, schema_editor):
    alias = schema_editor.connection.alias
    Invitation = apps.get_model("rosters", "Invitation")
    RosterRow = apps.get_model("rosters", "RosterRow")
    portal.text.composed_rows_save(Invitation.objects.using(alias).filter(status="pending"), NAMES)
    portal.text.composed_rows_save(
        RosterRow.objects.using(alias).filter(done=False, outcome__in=["verify", "invite", "change"]), NAMES)


class Migration(migrations.Migration):

    dependencies = [
        ('rosters', '0006_one_pending_invitation_per_mailbox'),
    ]

    operations = [
        migrations.RunPython(names_compose, migrations.RunPython.noop),
    ]
