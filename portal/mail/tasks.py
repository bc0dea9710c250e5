"""Celery tasks of the outbox. Thin: they call portal.mail.delivery and are safe to run twice."""

import logging
import time

from celery import shared_task

from portal.mail.delivery import BATCH_SIZE, outbox_deliver, outbox_deliver_due, outbox_deliver_many
from portal.mail.retention import outbox_old_remove as remove
from portal.mail.retention import unknown_mailboxes_old_remove

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=180, soft_time_limit=150)
def outbox_send(outbox_id):
    """One row (a superadmin's "try again", and tasks queued before batches existed)."""
    return outbox_deliver(outbox_id=outbox_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=120, soft_time_limit=100)
def outbox_send_batch(outbox_ids):
    """The rows one transaction queued (at most BATCH_SIZE), over one connection."""
    outcomes = outbox_deliver_many(outbox_ids=outbox_ids)
    return sum(1 for status in outcomes.values() if status == "sent")


@shared_task(time_limit=300, soft_time_limit=280)
def outbox_sweep():
    """Deliver every pending message that is due (those whose task was lost, retries,
    and rows whose sender died), a batch per connection."""
    return outbox_deliver_due(budget=240)


def outbox_dispatch(outbox_id):
    """Ask a worker to send one outbox row (after commit)."""
    outbox_dispatch_many([outbox_id])


# After a hand-off to the broker failed, the process hands nothing more over for this long:
# the rows wait for outbox_sweep, and a request that writes mail twice (or the next ones) does
# not wait out the broker's socket timeouts again (settings: _BROKER_TIMEOUTS).
BROKER_PAUSE_SECONDS = 30
_broker_failed_at: float | None = None


# The queue of mass mail's tasks (OutboxPriority.BULK: a roster's invitations, the beat jobs'
# reminders). Every worker consumes it beside the default one (settings: CELERY_TASK_QUEUES),
# taking the two in turn: a sign-up code's task queued after a roster's hundreds waits for the
# batch a worker has in hand, not for all of them.
BULK_QUEUE = "outbox_bulk"


def outbox_dispatch_many(outbox_ids, *, queue=None):
    """Ask workers to send these rows (after commit): one Celery message per batch of
    BATCH_SIZE rows, not one per row, to ``queue`` (the default one if None). With the
    broker down (or hanging) the rows stay pending and outbox_sweep sends them later."""
    global _broker_failed_at
    for start in range(0, len(outbox_ids), BATCH_SIZE):
        batch = list(outbox_ids[start:start + BATCH_SIZE])
        if _broker_failed_at is not None and time.monotonic() - _broker_failed_at < BROKER_PAUSE_SECONDS:
            logger.warning("Not queueing %s outbox messages: the broker failed %.0f s ago; the sweep will send them.",
                           len(batch), time.monotonic() - _broker_failed_at)
            continue
        try:
            outbox_send_batch.apply_async((batch,), queue=queue)
        except Exception:  # broker down: the periodic sweep will send them later
            _broker_failed_at = time.monotonic()
            logger.warning("Could not queue %s outbox messages; the sweep will retry.", len(batch), exc_info=True)
        else:
            _broker_failed_at = None


@shared_task(name="portal.mail.tasks.outbox_old_remove", time_limit=600, soft_time_limit=540)
def outbox_old_remove():
    """Beat, daily: mail sent (or given up) OUTBOX_KEEP_DAYS ago removed, in batches, and the
    mailboxes refused as unknown not refused again since. Returns how many messages it removed."""
    unknown_mailboxes_old_remove()
    total, last = remove()
    while last is not None:
        removed, last = remove(after=last)
        total += removed
    return total
