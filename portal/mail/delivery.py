"""Sending outbox rows through the transport mailer, at most once each."""

import base64
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.utils import timezone

from portal.mail.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)


def _build(row: OutboxMessage) -> EmailMultiAlternatives:
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


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** attempts, 240))


def outbox_deliver(*, outbox_id: int) -> str | None:
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


def outbox_due_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
