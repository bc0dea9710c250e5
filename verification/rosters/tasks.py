"""The roster import's Celery task. Thin: it calls the service, which works in
batches (each its own transaction) for a slice of time and leaves the rest to the
next run of the task; safe to run twice."""

import logging

from celery import shared_task

from verification.rosters.apply import roster_apply_run
from verification.rosters.retention import roster_rows_remove as rows_remove

logger = logging.getLogger(__name__)
SLICE_SECONDS = 200  # below the task's soft time limit


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=300, soft_time_limit=260)
def roster_apply(roster_id):
    if not roster_apply_run(roster_id=roster_id, budget_seconds=SLICE_SECONDS):
        roster_apply_dispatch(roster_id)


def roster_apply_dispatch(roster_id):
    """Ask a worker to apply the roster (after commit). With the broker down the import
    stays queued; the page says so and asking again queues it again."""
    try:
        roster_apply.delay(roster_id)
    except Exception:
        logger.warning("Could not queue roster import %s", roster_id, exc_info=True)


@shared_task(name="verification.rosters.tasks.roster_rows_remove", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def roster_rows_remove():
    """Beat, daily: the rows of rosters applied (or left unapplied) ROSTER_ROWS_KEEP_DAYS
    ago removed, ten rosters a transaction until none is left."""
    removed = total = rows_remove()
    while removed:
        removed = rows_remove()
        total += removed
    return total
