"""How long the outbox keeps the mail it has sent: its rows hold each message as sent
(the addresses, the names and what the mail said). A daily beat job removes those sent
or given up OUTBOX_KEEP_DAYS ago, except mail to a person under a legal hold. An erasure
granted to a person removes the mail to them at once, sent or not. The same holds for the
mailboxes the relay refused as unknown (portal/mail/refusals.py): a record not refused
again for OUTBOX_KEEP_DAYS is removed (the address is then tried once more), and an
erasure removes the person's at once."""

import re
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.mail.models import OutboxMessage, OutboxStatus, UnknownMailbox
from portal.mail.refusals import mailbox_of
from portal.privacy.retention import held_person_addresses

# What a delivery record (``last_error``, read by superadmins) says in place of an erased person's address.
ERASED_IN_RECORD = "(an erased address)"


def outbox_old_remove(*, now: datetime | None = None, batch_size: int = 5000, after: int = 0) -> tuple[int, int | None]:
    """Remove the messages sent (or given up) more than OUTBOX_KEEP_DAYS ago among the
    next ``batch_size`` of them with an id above ``after``; returns how many it removed
    and the last id it looked at (None: none left to look at)."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    held = set(held_person_addresses())
    old = (OutboxMessage.objects.filter(status__in=[OutboxStatus.SENT, OutboxStatus.FAILED], created_at__lt=before,
                                        pk__gt=after)
           .order_by("id").values_list("id", "to", "cc", "bcc", "reply_to")[:batch_size])
    with transaction.atomic():
        rows = list(old)
        # A held person named anywhere in a message (in copy, as the address to reply to) keeps it.
        ids = [pk for pk, *named in rows
               if not held & {parseaddr(address)[1].lower() for addresses in named for address in addresses}]
        OutboxMessage.objects.filter(pk__in=ids).delete()
    return len(ids), (rows[-1][0] if rows else None)


def outbox_person_remove(*, addresses: list[str]) -> int:
    """Remove the mail to a person whose erasure was granted (at one of ``addresses``,
    in any case), sent or still to send: a message only to them is deleted; one to
    others too loses their addresses and still goes to the others. A message to others
    that names them as the address to reply to, or whose delivery record names them
    (delivered to them, refused for them), loses their address there too. The rows are found
    by their recipients' text (the same lookup on PostgreSQL and SQLite), then checked
    address by address. Returns how many rows were deleted or changed."""
    erased = {address.lower() for address in addresses}
    near = Q()
    for address in erased:
        for field in ("to", "cc", "bcc", "reply_to", "last_error"):
            near |= Q(**{f"{field}__icontains": address})
    if not near:
        return 0
    rows = list(OutboxMessage.objects.select_for_update().filter(near).order_by("id")
                .only("id", "to", "cc", "bcc", "reply_to", "last_error"))
    # Whole addresses only: not "asha@" inside "basha@", nor a domain that goes on.
    named = re.compile(r"(?<![\w.+-])(?:" + "|".join(re.escape(address) for address in sorted(erased, key=len, reverse=True))
                       + r")(?![\w-]|\.[\w-])", re.IGNORECASE)
    deleted, changed = [], []
    for row in rows:
        kept = {field: [value for value in getattr(row, field) if parseaddr(value)[1].lower() not in erased]
                for field in ("to", "cc", "bcc", "reply_to")}
        last_error = named.sub(ERASED_IN_RECORD, row.last_error)
        if not any(kept[field] for field in ("to", "cc", "bcc")):
            deleted.append(row.pk)
        elif last_error != row.last_error or any(kept[field] != getattr(row, field) for field in kept):
            row.to, row.cc, row.bcc, row.reply_to = kept["to"], kept["cc"], kept["bcc"], kept["reply_to"]
            row.last_error = last_error
            changed.append(row)
    OutboxMessage.objects.filter(pk__in=deleted).delete()
    if changed:
        OutboxMessage.objects.bulk_update(changed, ["to", "cc", "bcc", "reply_to", "last_error"])
    return len(deleted) + len(changed)


def unknown_mailboxes_old_remove(*, now: datetime | None = None) -> int:
    """Remove the records of mailboxes refused as unknown whose last refusal is more than
    OUTBOX_KEEP_DAYS old, lifted or not: the next message to such an address is offered to the
    relay again (a mailbox created since gets it), and recorded again if it is refused."""
    now = now or timezone.now()
    removed, _kinds = UnknownMailbox.objects.filter(
        last_refused_at__lt=now - timedelta(days=settings.OUTBOX_KEEP_DAYS)).delete()
    return removed


def unknown_mailboxes_person_remove(user, addresses: list[str]) -> list[tuple[str, str]]:
    """An erasure handler (portal/privacy/requests.py): the records of the person's mailboxes
    refused as unknown are removed; their audit events (a refusal lifted) are redacted with the
    person's (the targets returned)."""
    records = UnknownMailbox.objects.filter(mailbox__in={mailbox_of(address) for address in addresses})
    targets = [(UnknownMailbox._meta.label_lower, str(pk)) for pk in records.values_list("pk", flat=True)]
    records.delete()
    return targets
