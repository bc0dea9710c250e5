"""Sending outbox rows through the transport mailer, at most once each, without
holding a lock or a transaction while the mail server is talked to.

1. *Claim*, in a short transaction: the rows that may be sent are marked SENDING
   with the key of a lock this sender now holds (portal/mail/claims.py), when, and
   until when the claim stands (a lease). It commits before the mail server is
   contacted, so a save that writes mail meanwhile never waits for it.
2. *Send*: one connection to the transport for the whole batch (with a timeout),
   every claimed row handed over in turn, none after the sender's deadline, and no
   exchange with the server waiting past it (portal/mail/transport.py): a send is never
   in flight when the task's soft time limit comes.
3. *Record* each outcome in its own short statement: SENT (the stored copy then
   loses its secret links, portal/redaction.py), or back to PENDING with a back-off,
   or FAILED (given up: the stored copy loses its secret links too).
   A relay that cannot be reached or talked to, or that answers "later" (4xx), delays
   the message: it is tried again at most half an hour apart, and given up (FAILED) only
   ``OUTBOX_GIVE_UP_HOURS`` after its first failure (DESIGN §5: an outage delays mail,
   it never loses it). A refusal (5xx, or anything else) counts towards
   ``OUTBOX_MAX_ATTEMPTS``, at which it is given up. Rows the batch did not reach in
   its time go back to PENDING as they were. A message the server took for some of
   its recipients and refused for others (portal/mail/transport.py) is SENT, naming
   both; those it answered "later" get it from a new row, tried again as above, and
   those it refused for good are recorded as failed on the row. So too when it took it
   for nobody, refusing some for good and answering "later" for the others: the row
   is then FAILED for those refused for good (and for them only).
   A recipient refused for good as unknown (5.1.x, "User unknown": portal/mail/refusals.py)
   is recorded as such, and from then on, until a superadmin lifts it, no message is
   offered to the relay for that mailbox, nor for its "+tag" forms: it is recorded as
   failed for that recipient at once ("address refused as unknown on ..."), the message
   still sent to the others (a row with no other recipient FAILED at once, the relay not
   contacted). Mail its recipient asked
   for on a page since that refusal (OutboxMessage.asked_for: a sign-up code, a password
   reset) is offered all the same, their mailbox perhaps created since (a new joiner whose
   roster invitation was refused): refused again, the record is renewed (and the message's
   retry, written before that refusal, is not offered again); taken, the record is removed.
   The records are read
   once per batch: a refusal recorded during a batch spares the rows of the next batches.
   Either way the listeners are told, of the recipient's own mailbox (portal/mail/signals.py:
   the approval routing tells the nodal officer when it is their competent authority's
   address).

Rows are claimed by priority first (models.OutboxPriority), then oldest due first: the
mail a person waits for goes before mass mail queued earlier, and before its retries.
A row can be claimed when it is PENDING, or SENDING under a claim whose sender is
gone (its lock is free: the process died) or whose lease ran out. A SENT row is
never claimed again, so a redelivered task or the sweep sends nothing twice, and a
row keeps its Message-ID across attempts (DESIGN §5, §9).
"""

import base64
import email.policy
import logging
import re
import smtplib
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.header import Header
from email.message import EmailMessage as MimeMessage

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.mail.claims import ClaimLock, claim_is_alive
from portal.mail.models import OutboxMessage, OutboxStatus, UnknownMailbox
from portal.mail.refusals import mailbox_of, unknown_mailboxes, unknown_mailboxes_forget, unknown_mailboxes_record
from portal.mail.signals import mailboxes_unknown
from portal.redaction import remove_secret_links

logger = logging.getLogger(__name__)

# Rows one claim takes, sent over one connection.
BATCH_SIZE = 200
# A claim stands this long if its sender cannot be asked whether it is alive: longer
# than any task that sends may run (their hard time limits, portal/mail/tasks.py).
CLAIM_LEASE = timedelta(minutes=10)
# A task stops starting new sends after this long, below its soft time limit, and no
# exchange with the mail server waits past it: a send still in flight then is cut and
# recorded as an attempt that timed out (it is never in flight when the soft limit comes,
# to be put back as never tried). The rows it did not reach go back to PENDING for the sweep.
SEND_BUDGET_SECONDS = 90
# How long a redelivered task waits for another live sender to finish with its row.
WAIT_FOR_SENDER_SECONDS = 30
# Seconds each exchange with the mail server may take when the mailer sets no timeout.
DEFAULT_TIMEOUT_SECONDS = 20
# RFC 5322's limit for a line of a message. Headers shorter than this are not folded.
MAX_LINE_LENGTH = 998
# Plain ASCII words separated by single spaces, with no encoded word lookalike:
# a header value that is written as it is.
PLAIN_VALUE = re.compile(r"\A[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")


class OutboxEmail(EmailMultiAlternatives):
    """An outbox row as an email whose every header decodes to exactly its text.

    CPython's header folding breaks long subjects that mix ASCII and Devanagari
    (DESIGN §9). The message is generated with lines of up to 998 characters, so a
    plain subject is never folded; a subject (or an ``X-`` header) that is not plain
    ASCII is written as RFC 2047 encoded words made here, each whole, which a reader
    joins back to the very text, however long."""

    # Recipients the message names (in its headers) but is not offered to: their mailbox is
    # refused as unknown (portal/mail/refusals.py).
    left_out: frozenset[str] = frozenset()

    def recipients(self) -> list[str]:
        """The envelope's recipients: those the message names, less ``left_out``."""
        return [address for address in super().recipients() if address not in self.left_out]

    def message(self, *, policy: email.policy.Policy = email.policy.default) -> MimeMessage:
        msg = super().message(policy=policy)
        msg.policy = policy.clone(max_line_length=MAX_LINE_LENGTH)
        texts = {"Subject": str(self.subject)}
        texts.update({name: str(value) for name, value in self.extra_headers.items() if name.lower().startswith("x-")})
        for name, value in texts.items():
            if PLAIN_VALUE.match(value) and "=?" not in value and len(name) + 2 + len(value) <= MAX_LINE_LENGTH:
                continue
            del msg[name]
            msg.set_raw(name, Header(value, "utf-8", header_name=name).encode(linesep="\n"))
        return msg


def outbox_email(row: OutboxMessage, *, left_out: Iterable[str] = ()) -> OutboxEmail:
    """The email an outbox row stands for, with the row's own Message-ID. Every message says
    it was sent automatically (RFC 3834, and Exchange's header for it), so that no vacation
    responder answers the portal's mail: a roster's thousands of invitations would bring
    thousands of replies to an address that reads none. ``left_out``: recipients it still
    names but is not offered to (OutboxEmail.left_out)."""
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All", **row.headers}
    headers["Message-ID"] = row.message_id
    message = OutboxEmail(
        subject=row.subject, body=row.body, from_email=row.from_email, to=row.to, cc=row.cc, bcc=row.bcc,
        reply_to=row.reply_to, headers=headers,
    )
    message.left_out = frozenset(left_out)
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    for attachment in row.attachments:
        message.attach(attachment["filename"], base64.b64decode(attachment["content_b64"]), attachment["mimetype"])
    return message


# The longest wait between two attempts: after a refusal, and while the relay is out of reach.
BACKOFF_MAX = timedelta(hours=4)
BACKOFF_MAX_TEMPORARY = timedelta(minutes=30)


def backoff(attempts: int, *, temporary: bool = False) -> timedelta:
    """2, 4, 8 ... minutes after the ``attempts``-th attempt, up to 4 hours, or to half an
    hour while the failures are temporary: once the relay is back, the mail goes within
    half an hour (while it is out of reach, a try costs one connection per batch of rows)."""
    cap = BACKOFF_MAX_TEMPORARY if temporary else BACKOFF_MAX
    return min(timedelta(minutes=2 ** min(attempts, 16)), cap)


# Claiming ---------------------------------------------------------------------------

def _abandoned_claims(ids: list[int] | None, now: datetime) -> list[int]:
    """Keys of claims, on SENDING rows still within their lease, whose sender is gone."""
    queryset = OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_until__gt=now)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    keys = set(queryset.order_by().values_list("claim_key", flat=True).distinct())
    return [key for key in keys if key is not None and not claim_is_alive(key)]


# The order rows are claimed (and sent) in: by priority first (models.OutboxPriority: a sign-up
# code before a roster's invitations, or their retries, written earlier), then oldest due
# first. Served by the index "outbox_claim_order".
CLAIM_ORDER = ("priority", "next_attempt_at", "id")


def _claim(*, ids: list[int] | None, now: datetime, limit: int, lock: ClaimLock) -> list[OutboxMessage]:
    """Claim up to ``limit`` rows for ``lock``'s holder (those of ``ids``, or those due)
    in one short transaction; the claimed rows, loaded after it committed."""
    pending = Q(status=OutboxStatus.PENDING)
    if ids is None:
        pending &= Q(next_attempt_at__lte=now)
    claimable = pending | Q(status=OutboxStatus.SENDING, claimed_until__lte=now)
    abandoned = _abandoned_claims(ids, now)
    if abandoned:
        claimable |= Q(status=OutboxStatus.SENDING, claim_key__in=abandoned)
    with transaction.atomic():
        queryset = OutboxMessage.objects.select_for_update(skip_locked=True).filter(claimable)
        if ids is not None:
            queryset = queryset.filter(pk__in=ids)
        picked = list(queryset.order_by(*CLAIM_ORDER).values_list("pk", flat=True)[:limit])
        if not picked:
            return []
        OutboxMessage.objects.filter(pk__in=picked).update(
            status=OutboxStatus.SENDING, claim_key=lock.key, claimed_at=now, claimed_until=now + CLAIM_LEASE,
        )
    return list(OutboxMessage.objects.filter(pk__in=picked, claim_key=lock.key).order_by(*CLAIM_ORDER))


# Recording outcomes -----------------------------------------------------------------

def _record_sent(row: OutboxMessage, *, refused: dict[str, tuple[int, str]] | None = None,
                 left_out: dict[str, UnknownMailbox] | None = None) -> str:
    """SENT, and the stored copy keeps no link that still works (DESIGN §5: nothing
    in the outbox outlives its use as a secret).

    ``refused``: the recipients the mail server refused while it took the message for
    the others (portal/mail/transport.py). The row then says to whom it was delivered
    and who was refused, for the superadmins' outbox page; those answered "later" (4xx)
    get the message from a new row of their own, tried again like any other (an outage
    delays mail, never loses it), and those refused for good (5xx) are recorded as
    failed. The ones who got it never get it twice. ``left_out``: the recipients it was not
    offered to, their mailbox refused as unknown before ({address: its record}), recorded as failed.

    On PostgreSQL the commit does not wait for the disk (``synchronous_commit`` off
    for this transaction only): it halves the time a message takes. The record is
    at once visible and survives the worker's death; only a crash of the database
    server in the next fraction of a second could lose it, and the message would
    then be sent a second time, never lost."""
    if refused or left_out:
        return _record_partly_sent(row, refused or {}, left_out or {})
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        OutboxMessage.objects.filter(pk=row.pk).exclude(status=OutboxStatus.SENT).update(
            status=OutboxStatus.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1, last_error="",
            claim_key=None, claimed_until=None,
            body=remove_secret_links(row.body), html_body=remove_secret_links(row.html_body),
        )
    return OutboxStatus.SENT


def _only(addresses: list[str], kept: set[str]) -> list[str]:
    return [address for address in addresses if address in kept]


def _deferred(refused: dict[str, tuple[int, str]]) -> set[str]:
    """The refused recipients the mail server answered "later" (4xx), not "never" (5xx)."""
    return {address for address, (code, _reply) in refused.items() if 400 <= code < 500}


def _retry_deferred(row: OutboxMessage, refused: dict[str, tuple[int, str]], now: datetime) -> OutboxMessage | None:
    """A new PENDING row, with the same message, for the recipients the server answered
    "later" (4xx), failing since ``now`` and tried again as in an outage; None when none was."""
    deferred = _deferred(refused)
    if not deferred:
        return None
    reasons = "; ".join(f"{code} {reply}" for address, (code, reply) in refused.items() if address in deferred)
    return OutboxMessage.objects.create(
        message_id=f"<{uuid.uuid4().hex}@{row.message_id.rsplit('@', 1)[-1]}",
        subject=row.subject, from_email=row.from_email, to=_only(row.to, deferred),
        cc=_only(row.cc, deferred), bcc=_only(row.bcc, deferred), reply_to=row.reply_to,
        body=row.body, html_body=row.html_body, attachments=row.attachments, headers=row.headers,
        status=OutboxStatus.PENDING, attempts=1, failing_since=now, priority=row.priority, asked_for=row.asked_for,
        last_error=f"Deferred by the mail server when message #{row.pk} was sent: {reasons}"[:2000],
        next_attempt_at=now + backoff(1, temporary=True),
    )


def _refusal_lines(refused: dict[str, tuple[int, str]], retry: OutboxMessage | None) -> list[str]:
    """What the row says of each refused recipient, for the superadmins' outbox page."""
    deferred = _deferred(refused)
    return [f"Deferred for {address} ({code} {reply}): sent again as message #{retry.pk}." if address in deferred
            else f"Failed for {address}, refused by the mail server ({code} {reply}): not sent to them."
            for address, (code, reply) in refused.items()]


def _day(moment: datetime) -> str:
    """A date as the outbox's pages write one (15 Mar 2026), in the portal's time zone."""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"


def _left_out_lines(left_out: dict[str, UnknownMailbox]) -> list[str]:
    """What the row says of each recipient it was not offered to, for the superadmins' outbox page."""
    return [f"Failed for {address}: address refused as unknown on {_day(record.last_refused_at)} ({record.reply}), "
            f"not offered to the mail server again." for address, record in left_out.items()]


def _unknown_record(refused: dict[str, tuple[int, str]]) -> None:
    """Record the recipients the relay refused as unknown (portal/mail/refusals.py), after the
    row's own outcome, and tell whoever listens (signals.mailboxes_unknown): a failure here
    is logged and loses no message (the next refusal of the address records it)."""
    try:
        with transaction.atomic():
            mailboxes = unknown_mailboxes_record(refused=refused, now=timezone.now())
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.exception("Recording the recipients refused as unknown failed")
        return
    _unknown_tell(mailboxes)


def _unknown_forget(offered: dict[str, UnknownMailbox], refused: dict[str, tuple[int, str]] | None) -> None:
    """Remove the records of the recipients ``offered`` to the relay despite them (mail they
    asked for, _left_out) that it took (not in ``refused``): their mailbox exists now. A
    failure here is logged and loses no message (the record then stands as it was)."""
    taken = [record for address, record in offered.items() if address not in (refused or {})]
    if not taken:
        return
    try:
        unknown_mailboxes_forget(records=taken)
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.exception("Removing the records of recipients no longer refused as unknown failed")


def _unknown_tell(mailboxes: list[str]) -> None:
    """Tell the listeners (the approval routing: a competent authority's address) that mail to
    these mailboxes cannot arrive, in a transaction of their own: what they write commits with
    it, and their failure is logged, never the sender's."""
    if not mailboxes:
        return
    try:
        with transaction.atomic():
            mailboxes_unknown.send(sender=UnknownMailbox, mailboxes=sorted(set(mailboxes)))
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.exception("A listener to the recipients refused as unknown failed")


def _log_refusals(row: OutboxMessage, refused: dict[str, tuple[int, str]], retry: OutboxMessage | None,
                  outcome: str) -> None:
    # No address in the log line (the worker's log is kept and shipped elsewhere): the row names them.
    codes = sorted({code for code, _reply in refused.values()})
    logger.warning("Outbox message %s %s %s of %s recipients refused (SMTP code %s)%s", row.pk, outcome,
                   len(refused), len([*row.to, *row.cc, *row.bcc]), ", ".join(map(str, codes)),
                   f"; tried again as message {retry.pk}" if retry else "")


def _record_partly_sent(row: OutboxMessage, refused: dict[str, tuple[int, str]],
                        left_out: dict[str, UnknownMailbox]) -> str:
    """SENT for the recipients the server took; a new PENDING row, with the same
    message, for those it answered "later" (4xx), failing since now; the others'
    refusal (5xx) written in ``last_error``, and so is each recipient left out (its
    mailbox refused as unknown before). One transaction: the new row exists
    exactly when this one is recorded as sent."""
    now = timezone.now()
    delivered = [address for address in [*row.to, *row.cc, *row.bcc] if address not in refused and address not in left_out]
    with transaction.atomic():
        if not OutboxMessage.objects.select_for_update().filter(pk=row.pk).exclude(status=OutboxStatus.SENT).exists():
            return OutboxStatus.SENT  # recorded by another sender meanwhile
        retry = _retry_deferred(row, refused, now)
        lines = [f"Delivered to {', '.join(delivered)}.", *_refusal_lines(refused, retry), *_left_out_lines(left_out)]
        OutboxMessage.objects.filter(pk=row.pk).update(
            status=OutboxStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=" ".join(lines)[:2000],
            claim_key=None, claimed_until=None,
            body=remove_secret_links(row.body), html_body=remove_secret_links(row.html_body),
        )
    if refused:
        _log_refusals(row, refused, retry, "sent, but")
        _unknown_record(refused)
    if left_out:
        _log_left_out(row, left_out, "sent, but")
        _unknown_tell([mailbox_of(address) for address in left_out])
    return OutboxStatus.SENT


def _log_left_out(row: OutboxMessage, left_out: dict[str, UnknownMailbox], outcome: str) -> None:
    # No address in the log line, as for the refusals.
    logger.info("Outbox message %s %s %s of %s recipients not offered: refused as unknown before", row.pk, outcome,
                len(left_out), len({*row.to, *row.cc, *row.bcc}))


def _record_left_out(row: OutboxMessage, key: int, left_out: dict[str, UnknownMailbox]) -> str:
    """Every recipient of the row is refused as unknown (portal/mail/refusals.py): FAILED at
    once, each of them named, the relay not contacted."""
    now = timezone.now()
    updated = OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.SENDING, claim_key=key).update(
        status=OutboxStatus.FAILED, failing_since=row.failing_since or now,
        last_error=" ".join(_left_out_lines(left_out))[:2000], claim_key=None, claimed_until=None,
        **_given_up_copy(row),
    )
    if not updated:  # another sender took it over meanwhile (our lease ran out)
        return OutboxMessage.objects.filter(pk=row.pk).values_list("status", flat=True).first()
    _log_left_out(row, left_out, "not sent:")
    _unknown_tell([mailbox_of(address) for address in left_out])
    return OutboxStatus.FAILED


def _record_partly_deferred(row: OutboxMessage, key: int, refused: dict[str, tuple[int, str]]) -> str:
    """The server took the message for nobody, refusing some recipients for good (5xx) and
    answering "later" (4xx) for the others: as when it takes it for some (_record_partly_sent),
    those answered "later" get it from a new PENDING row, tried again as in an outage (not
    given up with the others after OUTBOX_MAX_ATTEMPTS refusals), and this row is FAILED
    for the ones refused for good, who alone it is now for (a superadmin who queues it again
    sends it to them only). One transaction."""
    now = timezone.now()
    refused_for_good = set(refused) - _deferred(refused)
    with transaction.atomic():
        if not OutboxMessage.objects.select_for_update().filter(
                pk=row.pk, status=OutboxStatus.SENDING, claim_key=key).exists():
            # Another sender took it over meanwhile (our lease ran out).
            return OutboxMessage.objects.filter(pk=row.pk).values_list("status", flat=True).first()
        retry = _retry_deferred(row, refused, now)
        OutboxMessage.objects.filter(pk=row.pk).update(
            status=OutboxStatus.FAILED, attempts=F("attempts") + 1, refusals=F("refusals") + 1,
            failing_since=row.failing_since or now, last_error=" ".join(_refusal_lines(refused, retry))[:2000],
            to=_only(row.to, refused_for_good), cc=_only(row.cc, refused_for_good),
            bcc=_only(row.bcc, refused_for_good), claim_key=None, claimed_until=None, **_given_up_copy(row),
        )
    _log_refusals(row, refused, retry, "not sent:")
    _unknown_record(refused)
    return OutboxStatus.FAILED


def _given_up_copy(row: OutboxMessage) -> dict[str, str]:
    """What a message given up keeps of its text: as a sent one, no link that still works
    (its recipients never got it, so the key it carries would work until it expires; the
    competent authority gets a new link from the nodal officer or the reminder)."""
    return {"body": remove_secret_links(row.body), "html_body": remove_secret_links(row.html_body)}


def _smtp_codes(exc: Exception) -> list[int]:
    """The reply codes of the mail server's refusal (one per refused recipient), if it was one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return sorted({code for code, _message in exc.recipients.values()})
    if isinstance(exc, smtplib.SMTPResponseException):
        return [exc.smtp_code]
    return []


def is_temporary(exc: Exception) -> bool:
    """Whether the failure says the mail server could not take the message now, rather
    than that it refused it: it could not be reached (connection refused, no route, a
    name that does not resolve), the connection broke or timed out, or every reply was a
    4xx ("try again later"). A 5xx, a feature the server lacks or anything else is a refusal."""
    codes = _smtp_codes(exc)
    if codes:
        return all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    # smtplib's other errors are OSErrors too: without a reply code, they are the server's answer.
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _record_failure(row: OutboxMessage, key: int, exc: Exception, *, relay_failed: bool = False) -> str:
    """Back to PENDING with a back-off, or FAILED (given up): after OUTBOX_MAX_ATTEMPTS
    refusals, or at a failure OUTBOX_GIVE_UP_HOURS after the first one; every recipient
    refused, some "later" and some for good, split (_record_partly_deferred). The error's text,
    which names the recipients a server refused, is kept in the row only, for the
    superadmins' outbox page: the log line (the worker's log is kept and shipped
    elsewhere) says which row, and the error's class and codes. ``relay_failed``: the
    failure came before any message was offered (connecting, TLS, the portal's own login:
    a 535 for an expired password), the relay's outage for every message alike, never a
    refusal of this one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and 0 < len(_deferred(exc.recipients)) < len(exc.recipients):
        return _record_partly_deferred(row, key, exc.recipients)
    now = timezone.now()
    attempts = row.attempts + 1
    temporary = relay_failed or is_temporary(exc)
    refusals = row.refusals + (0 if temporary else 1)
    failing_since = row.failing_since or now
    error = f"{type(exc).__name__}: {exc}"[:2000]
    give_up = (refusals >= settings.OUTBOX_MAX_ATTEMPTS
               or now - failing_since >= timedelta(hours=settings.OUTBOX_GIVE_UP_HOURS))
    status = OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
    updated = OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.SENDING, claim_key=key).update(
        status=status, attempts=attempts, refusals=refusals, failing_since=failing_since, last_error=error,
        next_attempt_at=now + backoff(attempts, temporary=temporary), claim_key=None, claimed_until=None,
        **(_given_up_copy(row) if give_up else {}),
    )
    codes = _smtp_codes(exc)
    logger.warning("Outbox message %s not sent (attempt %s%s): %s%s", row.pk, attempts,
                   ", gave up" if give_up else "", type(exc).__name__,
                   f", SMTP code {', '.join(map(str, codes))}" if codes else "")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        _unknown_record(exc.recipients)
    if not updated:  # another sender took it over meanwhile (our lease ran out)
        return OutboxMessage.objects.filter(pk=row.pk).values_list("status", flat=True).first()
    return status


def _release(key: int) -> None:
    """Rows of this claim that were not sent nor failed go back to PENDING as they were."""
    OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claim_key=key).update(
        status=OutboxStatus.PENDING, claim_key=None, claimed_until=None,
    )


# Sending ------------------------------------------------------------------------------

def _transport() -> BaseEmailBackend:
    backend = mailers["transport"]
    if getattr(backend, "timeout", False) is None:  # Django's SMTP backend without one would wait for ever
        backend.timeout = DEFAULT_TIMEOUT_SECONDS
    return backend


def _close(backend: BaseEmailBackend) -> None:
    try:
        backend.close()
    except Exception:  # a connection that already broke: nothing more to do with it
        logger.debug("Closing the transport failed", exc_info=True)


def _recipients(row: OutboxMessage) -> list[str]:
    return list(dict.fromkeys([*row.to, *row.cc, *row.bcc]))


def _left_out(row: OutboxMessage, unknown: dict[str, UnknownMailbox]) -> dict[str, UnknownMailbox]:
    """The recipients of ``row`` not offered to the relay ({address: its record}): those whose
    mailbox it refused as unknown (``unknown``: the batch's records), except when the row is
    mail its recipient asked for since the refusal (OutboxMessage.asked_for), which is offered
    all the same: their mailbox may have been created since. A row asked for before the last
    refusal (its own retry, after the relay refused it again) is not."""
    return {address: unknown[address] for address in _recipients(row)
            if address in unknown and not (row.asked_for and unknown[address].last_refused_at < row.created_at)}


def _send_claimed(rows: list[OutboxMessage], key: int, deadline: float) -> dict[int, str]:
    """Hand every claimed row to the transport over one connection, less its recipients
    refused as unknown (one query for the batch); each outcome recorded."""
    outcomes = {}
    unknown = unknown_mailboxes(address for row in rows for address in _recipients(row))
    backend = _transport()
    backend.deadline = deadline  # no exchange waits past it (portal/mail/transport.py)
    connected = False
    try:
        for index, row in enumerate(rows):
            if time.monotonic() >= deadline:
                break  # the rest go back to PENDING (_release)
            left_out = _left_out(row, unknown)
            if left_out and len(left_out) == len(_recipients(row)):
                outcomes[row.pk] = _record_left_out(row, key, left_out)
                continue
            try:
                if not connected:
                    backend.open()
                    connected = True
                if backend.send_messages([outbox_email(row, left_out=left_out)]) == 0:
                    raise RuntimeError("the transport sent nothing")
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:  # any transport failure: keep the row, try later
                if not connected:  # the relay cannot be reached or refuses the portal: every row waits
                    if isinstance(exc, smtplib.SMTPException) and _smtp_codes(exc):
                        logger.error("The mail relay refused the portal's connection or login (%s, SMTP code %s): "
                                     "check EMAIL_HOST_USER, EMAIL_HOST_PASSWORD and EMAIL_USE_TLS.",
                                     type(exc).__name__, ", ".join(map(str, _smtp_codes(exc))))
                    for waiting in rows[index:]:
                        outcomes[waiting.pk] = _record_failure(waiting, key, exc, relay_failed=True)
                    break
                outcomes[row.pk] = _record_failure(row, key, exc)
                _close(backend)  # a fresh connection for the next row
                connected = False
            else:
                refused = getattr(backend, "refused", None)
                outcomes[row.pk] = _record_sent(row, refused=refused, left_out=left_out)
                _unknown_forget({address: record for address, record in unknown.items()
                                 if address in _recipients(row) and address not in left_out}, refused)
    finally:
        _close(backend)
    return outcomes


def _deliver(*, ids: list[int] | None, limit: int, deadline: float) -> dict[int, str]:
    """Claim a batch, send it, record it; {row id: status afterwards} of the rows claimed."""
    lock = ClaimLock.take()
    try:
        rows = _claim(ids=ids, now=timezone.now(), limit=limit, lock=lock)
        if not rows:
            return {}
        try:
            return _send_claimed(rows, lock.key, deadline)
        finally:
            _release(lock.key)
    finally:
        lock.release()


def outbox_deliver_many(*, outbox_ids: list[int], budget: float = SEND_BUDGET_SECONDS) -> dict[int, str]:
    """Send these rows (those that may be sent), a batch per connection. Rows another
    live sender holds are left to it. Returns {row id: status afterwards} of those sent or tried."""
    deadline = time.monotonic() + budget
    outcomes = {}
    ids = list(dict.fromkeys(outbox_ids))
    for start in range(0, len(ids), BATCH_SIZE):
        if time.monotonic() >= deadline:
            break
        outcomes.update(_deliver(ids=ids[start:start + BATCH_SIZE], limit=BATCH_SIZE, deadline=deadline))
    return outcomes


def outbox_deliver(*, outbox_id: int, wait: float = WAIT_FOR_SENDER_SECONDS) -> str | None:
    """Deliver one row, at most once. If another sender that is still alive holds it
    (a task delivered twice by the broker), wait up to ``wait`` seconds for it to finish,
    or to die, and take over then. Returns the row's status afterwards."""
    waited_until = time.monotonic() + wait
    while True:
        outcome = _deliver(ids=[outbox_id], limit=1, deadline=time.monotonic() + SEND_BUDGET_SECONDS).get(outbox_id)
        if outcome is not None:
            return outcome
        status = OutboxMessage.objects.filter(pk=outbox_id).values_list("status", flat=True).first()
        if status != OutboxStatus.SENDING or time.monotonic() >= waited_until:
            return status
        time.sleep(0.2)


def outbox_deliver_due(*, batch: int = BATCH_SIZE, budget: float = SEND_BUDGET_SECONDS) -> int:
    """The sweep: send every row that is due (queued ones whose task was lost, retries,
    abandoned claims), a batch per connection, until none is left or ``budget``
    seconds have passed. Returns how many were sent."""
    deadline = time.monotonic() + budget
    sent = 0
    while time.monotonic() < deadline:
        outcomes = _deliver(ids=None, limit=batch, deadline=deadline)
        sent += sum(1 for status in outcomes.values() if status == OutboxStatus.SENT)
        if not outcomes:
            return sent
    return sent
