"""Putting mail in the outbox (in the caller's transaction) and back in the queue.
Sending it is portal.mail.delivery's, run by portal.mail.tasks."""

import base64
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.mail.models import OutboxMessage, OutboxStatus
from portal.mail.tasks import outbox_dispatch, outbox_dispatch_many
from portal.permissions import AnyUser

SUBJECT_MAX_LENGTH = OutboxMessage._meta.get_field("subject").max_length


def _message_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">").strip() or "localhost"


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
        subject=str(message.subject)[:SUBJECT_MAX_LENGTH],
        from_email=str(message.from_email or settings.DEFAULT_FROM_EMAIL),
        to=list(message.to), cc=list(message.cc), bcc=list(message.bcc), reply_to=list(message.reply_to),
        body=str(message.body), html_body=html, attachments=attachments, headers=headers,
        next_attempt_at=timezone.now(),
    )


def outbox_enqueue(*, messages: Iterable[EmailMessage]) -> list[OutboxMessage]:
    """Store EmailMessages in the outbox (one INSERT, however many) and schedule their
    delivery after commit: one task per batch of rows, each batch over one connection."""
    rows = OutboxMessage.objects.bulk_create([_outbox_row(message) for message in messages])
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: outbox_dispatch_many(ids))
    return rows


def outbox_requeue(*, outbox_id: int, actor: AnyUser, request: HttpRequest | None = None) -> OutboxMessage:
    """A superadmin puts a failed message back in the queue."""
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().get(pk=outbox_id)
        if row.status != OutboxStatus.FAILED:
            return row
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit_record(actor=actor, action=AuditAction.OUTBOX_REQUEUED, target=row, request=request)
        transaction.on_commit(lambda: outbox_dispatch(row.pk))
    return row
