from django.db import migrations, models
from django.db.models import Count, Min

BATCH = 2000


def _mailbox(email):
    from portal.accounts.official_email import normalise_address

    return normalise_address(email) or email


def _fill(queryset, model):
    batch = []
    for obj in queryset.only("id", "email").iterator(chunk_size=BATCH):
        obj.mailbox = _mailbox(obj.email)
        batch.append(obj)
        if len(batch) >= BATCH:
            model.objects.bulk_update(batch, ["mailbox"])
            batch = []
    model.objects.bulk_update(batch, ["mailbox"])


def mailboxes_fill(apps, schema_editor):
    """Each invitation's mailbox, and that of each staged row still to apply (duplicates
    were decided when it was staged; applying finds waiting invitations by it). Where
    one mailbox has several invitations waiting in one organisation (its address written
    with "+tags"), the first made stays and the others are cancelled, audited: their links
    stop working, as when an admin cancels one."""
    Invitation = apps.get_model("rosters", "Invitation")
    RosterRow = apps.get_model("rosters", "RosterRow")
    _fill(Invitation.objects.all(), Invitation)
    _fill(RosterRow.objects.filter(done=False, outcome__in=["verify", "invite", "change"]), RosterRow)
    doubled = (Invitation.objects.filter(status="pending").values("organisation_id", "mailbox")
               .annotate(n=Count("id"), first=Min("id")).filter(n__gt=1))
    cancelled = []
    for group in doubled:
        cancelled += (Invitation.objects.filter(status="pending", organisation_id=group["organisation_id"],
                                                mailbox=group["mailbox"]).exclude(pk=group["first"])
                      .values_list("pk", "email", "mailbox"))
    if not cancelled:
        return
    # The application's own audit log (hash-chained): every change is an event.
    from portal.audit.models import AuditAction
    from portal.audit.services import audit_record_many
    from verification.rosters.models import Invitation as CurrentInvitation

    Invitation.objects.filter(pk__in=[pk for pk, _email, _mailbox in cancelled]).update(status="cancelled")
    audit_record_many([
        {"action": AuditAction.INVITATION_CANCELLED, "target": CurrentInvitation(pk=pk), "actor_role": "system:migration",
         "old": {"status": "pending"}, "new": {"status": "cancelled", "email": email, "reason": "mailbox_invited",
                                               "mailbox": mailbox}}
        for pk, email, mailbox in cancelled
    ])


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0029_actor_email_trigram_index'),
        ('rosters', '0004_roster_progressed_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='rosterrow',
            name='mailbox',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='invitation',
            name='mailbox',
            field=models.CharField(default='', max_length=254),
            preserve_default=False,
        ),
        migrations.RemoveConstraint(
            model_name='invitation',
            name='rosters_one_pending_invitation',
        ),
        migrations.RunPython(mailboxes_fill, migrations.RunPython.noop),
    ]
