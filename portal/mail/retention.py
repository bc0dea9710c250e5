"""How long the outbox keeps the mail it has sent: its rows hold each message as sent
(the addresses, the names and what the mail said). A daily beat job removes those sent
or given up OUTBOX_KEEP_DAYS ago, except mail to a person under a legal hold."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.mail.models import OutboxMessage, OutboxStatus
from portal.privacy.retention import held_person_addresses


def outbox_old_remove(*, now: datetime | None = None, batch_size: int = 5000, after: int = 0) -> tuple[int, int | None]:
    """Remove the messages sent (or given up) more than OUTBOX_KEEP_DAYS ago among the
    next ``batch_size`` of them with an id above ``after``; returns how many it removed
    and the last id it looked at (None: none left to look at)."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    held = {email.lower() for email in held_person_addresses().values_list("email", flat=True)}
    old = (OutboxMessage.objects.filter(status__in=[OutboxStatus.SENT, OutboxStatus.FAILED], created_at__lt=before,
                                        pk__gt=after)
           .order_by("id").values_list("id", "to")[:batch_size])
    with transaction.atomic():
        rows = list(old)
        ids = [pk for pk, to in rows if not held & {address.lower() for address in to}]
        OutboxMessage.objects.filter(pk__in=ids).delete()
    return len(ids), (rows[-1][0] if rows else None)
