"""Celery tasks of the outbox. Thin: they call portal.mail.delivery and are safe to run twice."""

import logging

from celery import shared_task

from portal.mail.delivery import outbox_deliver, outbox_due_ids

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=120, soft_time_limit=100)
def outbox_send(outbox_id):
    return outbox_deliver(outbox_id=outbox_id)


@shared_task(time_limit=300, soft_time_limit=280)
def outbox_sweep():
    """Deliver every pending message that is due (those whose enqueue was lost, and retries)."""
    sent = 0
    for outbox_id in outbox_due_ids():
        if outbox_deliver(outbox_id=outbox_id) == "sent":
            sent += 1
    return sent


def outbox_dispatch(outbox_id):
    """Ask a worker to send one outbox row (after commit). With the broker down the
    row stays pending and outbox_sweep sends it later."""
    try:
        outbox_send.delay(outbox_id)
    except Exception:  # broker down: the periodic sweep will send it later
        logger.warning("Could not queue outbox message %s; the sweep will retry.", outbox_id, exc_info=True)
