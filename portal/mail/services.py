"""Putting mail in the outbox (in the caller's transaction) and back in the queue, and
lifting the refusal of an address as unknown. Sending it is portal.mail.delivery's, run
by portal.mail.tasks."""

import base64
import re
import uuid
from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.accounts.models import ERASED_EMAIL_DOMAIN
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.mail.models import (
    NOT_SENT_NO_LONGER_HOLDS,
    OutboxMessage,
    OutboxPriority,
    OutboxStatus,
    UnknownMailbox,
    with_priority,
    with_topic,
)
from portal.mail.tasks import BULK_QUEUE, outbox_dispatch, outbox_dispatch_many
from portal.permissions import AnyUser
from portal.redaction import remove_secret_links


def _message_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">").strip() or "localhost"


# An address with nothing around it (no name, comment, quotes or list), as a roster's
# thousands are: read as it is, what parsing it would give.
_PLAIN_ADDRESS = re.compile(r'[^\s<>()",;:\\\[\]@]+@[^\s<>()",;:\\\[\]@]+')


def is_mailable(address: str) -> bool:
    """Whether mail may be written to this address: not to the placeholder an account is
    given when its erasure is granted (the person gets no more mail from the portal)."""
    text = str(address)
    plain = text if _PLAIN_ADDRESS.fullmatch(text) else parseaddr(text)[1]
    return plain.rsplit("@", 1)[-1].strip().lower() != ERASED_EMAIL_DOMAIN


def _mailable(addresses: Iterable[str]) -> list[str]:
    return [address for address in addresses if is_mailable(address)]


def _outbox_row(message: EmailMessage) -> OutboxMessage:
    html = ""
    for content, mimetype in getattr(message, "alternatives", []) or []:
        if mimetype == "text/html":
            html = content
    attachments = []
    for attachment in message.attachments:
        if isinstance(attachment, tuple) or hasattr(attachment, "filename"):
            filename, content, mimetype = attachment[0], attachment[1], attachment[2]
            if isinstance(content, str):
                content = content.encode("utf-8")
            attachments.append(
                {"filename": filename, "mimetype": mimetype or "application/octet-stream",
                 "content_b64": base64.b64encode(content).decode("ascii")}
            )
    headers = {k: str(v) for k, v in (message.extra_headers or {}).items() if k.lower() != "message-id"}
    return OutboxMessage(
        message_id=f"<{uuid.uuid4().hex}@{_message_domain()}>",
        subject=str(message.subject),
        from_email=str(message.from_email or settings.DEFAULT_FROM_EMAIL),
        to=_mailable(message.to), cc=_mailable(message.cc), bcc=_mailable(message.bcc),
        reply_to=_mailable(message.reply_to),
        body=str(message.body), html_body=html, attachments=attachments, headers=headers,
        next_attempt_at=timezone.now(), priority=getattr(message, "outbox_priority", OutboxPriority.NORMAL),
        asked_for=getattr(message, "outbox_asked_for", False), topic=getattr(message, "outbox_topic", ""),
    )


def _dispatch_after_commit(ids: list[int], priority: int) -> None:
    """Hand the rows to the workers after commit, one task per batch; BULK rows' tasks go
    to a queue of their own (BULK_QUEUE), which workers take in turn with the other: the
    hundreds of tasks of a roster, queued first, would otherwise make the mail queued a
    moment later (a sign-up code) wait behind all of them."""
    queue = BULK_QUEUE if priority == OutboxPriority.BULK else None
    transaction.on_commit(lambda: outbox_dispatch_many(ids, queue=queue))


def outbox_enqueue(*, messages: Iterable[EmailMessage]) -> list[OutboxMessage]:
    """Store EmailMessages in the outbox (one INSERT, however many), each with the priority
    it is marked with (models.with_priority; NORMAL if none, and not asked for), and schedule their delivery
    after commit: one task per batch of rows, each batch over one connection (BULK rows'
    in a queue of their own). An erased person's placeholder address is left out
    (is_mailable); a message left with no recipient is not stored."""
    rows = [row for row in map(_outbox_row, messages) if row.to or row.cc or row.bcc]
    if not rows:
        return []
    rows = OutboxMessage.objects.bulk_create(rows)
    for priority in sorted({row.priority for row in rows}):
        _dispatch_after_commit([row.pk for row in rows if row.priority == priority], priority)
    return rows


# A message id's 32 hex digits as PostgreSQL makes them for outbox_enqueue_each: the
# milliseconds since 1970 (12 digits), then 20 digits of a random UUID. The rows of
# one batch then go to the end of the message id's indexes, not each to a page of its own.
_TIME_ORDERED_HEX = ("lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')"
                     " || substr(replace(gen_random_uuid()::text, '-', ''), 13)")


def outbox_enqueue_each(*, subject: str, body: str, to: list[str], fills: dict[str, list[str]],
                        priority: OutboxPriority = OutboxPriority.BULK, topics: list[str] | None = None) -> list[int]:
    """The same plain-text message to each address of ``to``, with each marker of
    ``fills`` in its body replaced by that address's own value (``fills[marker][i]``
    for ``to[i]``, the markers replaced in their order), as ``outbox_enqueue`` would
    store the messages one by one. On PostgreSQL the rows are made by one
    ``INSERT ... SELECT`` (the body's shared text sent once), for the thousands of
    messages a batch job writes: mass mail, BULK unless ``priority`` says otherwise
    (sent after any other mail); ``topics``, each message's topic (OutboxMessage.topic,
    for ``outbox_drop``), none if not given. The ids, their delivery scheduled after
    commit. An erased person's placeholder address gets nothing (is_mailable)."""
    topics = topics if topics is not None else [""] * len(to)
    kept = [i for i, address in enumerate(to) if is_mailable(address)]
    if len(kept) < len(to):
        to, topics = [to[i] for i in kept], [topics[i] for i in kept]
        fills = {marker: [values[i] for i in kept] for marker, values in fills.items()}
    if not to:
        return []
    if connection.vendor != "postgresql":
        def personal(i: int) -> str:
            text = body
            for marker, values in fills.items():
                text = text.replace(marker, values[i])
            return text

        rows = outbox_enqueue(messages=[with_topic(with_priority(EmailMessage(subject=subject, body=personal(i),
                                                                              to=[address]), priority), topics[i])
                                        for i, address in enumerate(to)])
        return [row.pk for row in rows]
    text = "%s"
    for n in range(len(fills)):
        text = f"replace({text}, %s, f.v{n})"
    columns = ", ".join(["address", "topic", *(f"v{n}" for n in range(len(fills))), "n"])  # none to fill: address, topic, n
    arrays = ", ".join("%s::text[]" for _n in range(len(fills) + 2))
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} (message_id, created_at, subject, from_email, \"to\", cc, bcc,"
            f" reply_to, body, html_body, attachments, headers, status, attempts, refusals, last_error,"
            f" next_attempt_at, priority, topic)"
            f" SELECT '<' || {_TIME_ORDERED_HEX} || %s, %s, %s, %s, jsonb_build_array(f.address),"
            f" '[]', '[]', '[]', {text}, '', '[]', '{{}}', %s, 0, 0, '', %s, %s, f.topic"
            f" FROM unnest({arrays}) WITH ORDINALITY AS f({columns}) ORDER BY f.n RETURNING id",
            [f"@{_message_domain()}>", now, str(subject), settings.DEFAULT_FROM_EMAIL, body,
             *fills, OutboxStatus.PENDING, now, int(priority), list(to), list(topics), *fills.values()],
        )
        ids = [row[0] for row in cursor.fetchall()]
    _dispatch_after_commit(ids, priority)
    return ids


def outbox_drop(*, topics: Iterable[str]) -> int:
    """Give up the messages under ``topics`` (OutboxMessage.topic) still waiting to be sent,
    tried before or not (a relay down: waiting for their next attempt): what they say no
    longer holds (a link replaced, its step closed). Kept as failed, saying why, without the
    links that worked as a key, as a message given up is; one being sent at this moment is
    left to its sender. Returns how many; a query, and one more when there are some."""
    topics = sorted({topic for topic in topics if topic})
    if not topics:
        return 0
    with transaction.atomic():
        rows = list(OutboxMessage.objects.select_for_update(skip_locked=True)
                    .filter(topic__in=topics, status=OutboxStatus.PENDING).only("id", "body", "html_body"))
        for row in rows:
            row.status, row.last_error = OutboxStatus.FAILED, NOT_SENT_NO_LONGER_HOLDS
            row.body, row.html_body = remove_secret_links(row.body), remove_secret_links(row.html_body)
        if rows:
            OutboxMessage.objects.bulk_update(rows, ["status", "last_error", "body", "html_body"])
    return len(rows)


def outbox_requeue(*, outbox_id: int, actor: AnyUser, request: HttpRequest | None = None) -> bool:
    """A superadmin puts a failed message back in the queue. False when it is no longer
    failed (sent again by someone else first, or a second submit): nothing done then."""
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().get(pk=outbox_id)
        if row.status != OutboxStatus.FAILED:
            return False
        row.status = OutboxStatus.PENDING
        row.attempts = row.refusals = 0
        row.failing_since = None
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "attempts", "refusals", "failing_since", "next_attempt_at"])
        audit_record(actor=actor, action=AuditAction.OUTBOX_REQUEUED, target=row, request=request)
        transaction.on_commit(lambda: outbox_dispatch(row.pk))
    return True


def unknown_mailbox_lift(*, unknown_mailbox_id: int, actor: AnyUser, request: HttpRequest | None = None) -> bool:
    """A superadmin lifts the refusal of an address the relay refused as unknown
    (portal/mail/refusals.py): its mailbox exists now, or the relay was wrong. The next
    message to it is offered to the relay again; refused again, it is recorded again.
    False when it was lifted already (a second submit, another superadmin first): nothing
    done then."""
    with transaction.atomic():
        record = UnknownMailbox.objects.select_for_update().get(pk=unknown_mailbox_id)
        if record.lifted_at is not None:
            return False
        record.lifted_at = timezone.now()
        record.save(update_fields=["lifted_at"])
        audit_record(
            actor=actor, action=AuditAction.OUTBOX_UNKNOWN_MAILBOX_LIFTED, target=record, request=request,
            old={"email": record.mailbox, "refusals": record.refusals, "first_refused_at": record.first_refused_at,
                 "last_refused_at": record.last_refused_at},
            new={"lifted_at": record.lifted_at},
        )
    return True
