from celery import shared_task

from portal.mail.services import outbox_deliver, outbox_due_ids


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
