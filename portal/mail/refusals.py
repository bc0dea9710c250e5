"""Mailboxes the mail relay refused for good as unknown, and not asking it again.

A relay answers a recipient whose mailbox does not exist with a permanent refusal and
an enhanced status code of the "address" kind (RFC 3463: 5.1.x, "550 5.1.1 User
unknown"); an old one without enhanced codes says so in words ("550 No such user
here"). Mail to such an address can never arrive, and offering it again and again
harms the portal's standing with the relay: the sender records the mailbox here
(``unknown_mailboxes_record``) and, while the record stands, leaves the address, and its
"+tag" forms (delivered to the same mailbox), out of every later message
(``unknown_mailboxes``: portal/mail/delivery.py). A tag refused says nothing of the
mailbox without it.

Only that answer suppresses: a "later" (4xx), a full mailbox (5.2.2), a refusal by policy
(5.7.x) or any other 5xx says nothing of the mailbox's existence and suppresses nothing;
nor do 5.1.7 and 5.1.8, which are about the sender's address, not the recipient's. A
record stands until a superadmin lifts it (portal/mail/services.py) or, not refused again,
OUTBOX_KEEP_DAYS after its last refusal (portal/mail/retention.py): a mailbox created
later is then tried once more. Mail the person asks for on a page (a sign-up code) is offered
to the relay despite the record; when the relay takes it, the record is removed
(``unknown_mailboxes_forget``): the mailbox exists now.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import parseaddr

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from portal.accounts.official_email import normalise_mailbox
from portal.mail.models import UnknownMailbox

# An enhanced status code at the start of a reply's text: class, subject, detail (RFC 3463).
ENHANCED_STATUS = re.compile(r"\A\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# 5.1.7 and 5.1.8: the sender's address (the portal's own), never the recipient's mailbox.
SENDER_ADDRESS_DETAILS = {7, 8}
# Basic codes a relay without enhanced codes refuses an unknown mailbox with (RFC 5321 4.2.2).
UNKNOWN_MAILBOX_CODES = {550, 551, 553}
# The words such a relay uses for it. "Mailbox unavailable" is not one: it is RFC 5321's text
# for any 550, a refusal by policy included.
UNKNOWN_MAILBOX_WORDS = re.compile(
    r"\b(?:unknown (?:user|recipient|mailbox|address)"
    r"|(?:user|recipient|mailbox|address) (?:is )?unknown"
    r"|no such (?:user|recipient|mailbox|address)"
    r"|(?:user|recipient|mailbox|address) (?:does not|doesn't) exist"
    r"|no mailbox here by that name)\b",
    re.IGNORECASE,
)
REPLY_MAX_LENGTH = UnknownMailbox._meta.get_field("reply").max_length


def mailbox_of(address: str) -> str:
    """The mailbox a recipient as a message names it ("Asha <Asha@MHA.gov.in>") reaches, in
    the one form per mailbox accounts are kept in (normalise_mailbox)."""
    return normalise_mailbox(parseaddr(str(address))[1] or str(address))


def is_unknown_mailbox(code: int, reply: str) -> bool:
    """Whether the relay's refusal of a recipient says its mailbox does not exist: a 5xx with
    an enhanced code 5.1.x (not 5.1.7 or 5.1.8), or, without an enhanced code, a 550, 551 or
    553 whose text says the user or mailbox is unknown."""
    if not 500 <= code < 600:
        return False
    enhanced = ENHANCED_STATUS.match(reply or "")
    if enhanced:
        status_class, subject, detail = enhanced.groups()
        return status_class == "5" and subject == "1" and int(detail) not in SENDER_ADDRESS_DETAILS
    return code in UNKNOWN_MAILBOX_CODES and bool(UNKNOWN_MAILBOX_WORDS.search(reply or ""))


def untagged(mailbox: str) -> str:
    """``mailbox`` (mailbox_of's form) without the "+tag" of its local part: the mailbox a
    tagged address is delivered to ("director+1@mha.gov.in" reaches "director@mha.gov.in")."""
    local, at, domain = mailbox.rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if at and local else mailbox


def unknown_mailboxes(addresses: Iterable[str]) -> dict[str, UnknownMailbox]:
    """{address as given: its record} for those of ``addresses`` whose mailbox the relay
    refused as unknown and whose refusal stands (not lifted): the record of the address's own
    mailbox or, for an address with a "+tag", that of the mailbox without it (a tag of a
    mailbox that does not exist cannot arrive either; a refused tag says nothing of the
    mailbox without it). One query, none for no address."""
    mailboxes = {address: mailbox_of(address) for address in set(addresses)}
    if not mailboxes:
        return {}
    wanted = {*mailboxes.values(), *map(untagged, mailboxes.values())}
    records = {record.mailbox: record for record in
               UnknownMailbox.objects.filter(mailbox__in=wanted, lifted_at__isnull=True)}
    found = {address: records.get(mailbox) or records.get(untagged(mailbox)) for address, mailbox in mailboxes.items()}
    return {address: record for address, record in found.items() if record is not None}


def unknown_mailboxes_record(*, refused: dict[str, tuple[int, str]], now: datetime) -> list[str]:
    """Record the recipients of ``refused`` ({address: (code, reply)}, the relay's answers)
    whose mailbox it refused as unknown: a new record, or the refusal counted on the one there
    (its lifting undone). The mailboxes recorded."""
    unknown = {}
    for address, (code, reply) in refused.items():
        mailbox = mailbox_of(address)
        if mailbox and is_unknown_mailbox(code, reply):
            unknown[mailbox] = f"{code} {reply}"[:REPLY_MAX_LENGTH]
    for mailbox, reply in unknown.items():
        if _refusal_count(mailbox, reply, now):
            continue
        try:
            with transaction.atomic():
                UnknownMailbox.objects.create(mailbox=mailbox, first_refused_at=now, last_refused_at=now, reply=reply)
        except IntegrityError:  # another sender recorded it meanwhile
            _refusal_count(mailbox, reply, now)
    return list(unknown)


def _refusal_count(mailbox: str, reply: str, now: datetime) -> int:
    return UnknownMailbox.objects.filter(mailbox=mailbox).update(
        last_refused_at=now, refusals=F("refusals") + 1, reply=reply, lifted_at=None,
    )


def unknown_mailboxes_forget(*, records: Iterable[UnknownMailbox]) -> int:
    """Remove these records: the relay took a message for their mailbox (it exists now). A
    record refused again since it was read (its last refusal changed) stands. How many went."""
    still = Q()
    for record in records:
        still |= Q(pk=record.pk, last_refused_at=record.last_refused_at)
    if not still:
        return 0
    removed, _kinds = UnknownMailbox.objects.filter(still).delete()
    return removed
