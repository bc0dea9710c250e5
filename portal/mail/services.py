import base64
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.utils import timezone

from portal.mail.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)


def _message_domain():
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">").strip() or "localhost"


def _outbox_row(message):
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
        subject=str(message.subject)[:500],
        from_email=str(message.from_email or settings.DEFAULT_FROM_EMAIL),
        to=list(message.to), cc=list(message.cc), bcc=list(message.bcc), reply_to=list(message.reply_to),
        body=str(message.body), html_body=html, attachments=attachments, headers=headers,
        next_attempt_at=timezone.now(),
    )


def outbox_enqueue(*, messages):
    """Store EmailMessages in the outbox (one INSERT, however many) and schedule the
    delivery of each after commit."""
    rows = OutboxMessage.objects.bulk_create([_outbox_row(message) for message in messages])
    ids = [row.pk for row in rows]

    def dispatch_all():
        for outbox_id in ids:
            _dispatch(outbox_id)

    transaction.on_commit(dispatch_all)
    return rows


def _dispatch(outbox_id):
    from portal.mail.tasks import outbox_send

    try:
        outbox_send.delay(outbox_id)
    except Exception:  # broker down: the periodic sweep will send it later
        logger.warning("Could not queue outbox message %s; the sweep will retry.", outbox_id, exc_info=True)


def _build(row):
    headers = dict(row.headers)
    headers["Message-ID"] = row.message_id
    email = EmailMultiAlternatives(
        subject=row.subject, body=row.body, from_email=row.from_email, to=row.to, cc=row.cc, bcc=row.bcc,
        reply_to=row.reply_to, headers=headers,
    )
    if row.html_body:
        email.attach_alternative(row.html_body, "text/html")
    for attachment in row.attachments:
        email.attach(attachment["filename"], base64.b64decode(attachment["content_b64"]), attachment["mimetype"])
    return email


def backoff(attempts):
    return timedelta(minutes=min(2 ** attempts, 240))


def outbox_deliver(*, outbox_id):
    """Deliver one outbox row through the transport mailer, at most once.

    The row stays locked while it is handed to the transport, so two workers
    never send it together; a row already sent is left alone, so running this
    twice (a redelivered task, the sweep) sends nothing twice.
    Returns the row's status afterwards.
    """
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().filter(pk=outbox_id).first()
        if row is None or row.status != OutboxStatus.PENDING:
            return row.status if row else None
        row.attempts += 1
        try:
            mailers["transport"].send_messages([_build(row)])
        except Exception as exc:  # any transport failure: keep the row, try later
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
            row.next_attempt_at = timezone.now() + backoff(row.attempts)
            row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("Outbox message %s not sent (attempt %s): %s", row.pk, row.attempts, row.last_error)
            return row.status
        row.status = OutboxStatus.SENT
        row.sent_at = timezone.now()
        row.last_error = ""
        row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return row.status


def outbox_due_ids(*, now=None, limit=500):
    now = now or timezone.now()
    return list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_requeue(*, outbox_id, actor, request=None):
    """A superadmin puts a failed message back in the queue."""
    from portal.audit.models import AuditAction
    from portal.audit.services import audit_record

    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().get(pk=outbox_id)
        if row.status != OutboxStatus.FAILED:
            return row
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit_record(actor=actor, action=AuditAction.OUTBOX_REQUEUED, target=row, request=request)
        transaction.on_commit(lambda: _dispatch(row.pk))
    return row
