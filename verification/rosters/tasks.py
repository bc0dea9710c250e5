"""The roster import's Celery task. Thin: it calls the service, which works in
batches (each its own transaction) for a slice of time and leaves the rest to the
next run of the task; safe to run twice."""

import logging

from celery import shared_task

from verification.rosters.apply import roster_applies_idle_claim, roster_apply_run
from verification.rosters.invitations import held_invitations_send as held_send
from verification.rosters.invitations import mails_forget
from verification.rosters.retention import roster_rows_remove as rows_remove

logger = logging.getLogger(__name__)
SLICE_SECONDS = 200  # below the task's soft time limit


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=300, soft_time_limit=260)
def roster_apply(roster_id):
    if not roster_apply_run(roster_id=roster_id, budget_seconds=SLICE_SECONDS):
        roster_apply_dispatch(roster_id)


def roster_apply_dispatch(roster_id):
    """Ask a worker to apply the roster (after commit). With the broker down the import
    stays queued (its page says it goes on): roster_applies_resume queues it again once it
    has made no progress for apply.APPLY_IDLE_AFTER."""
    try:
        roster_apply.delay(roster_id)
    except Exception:
        logger.warning("Could not queue roster import %s; the beat job will queue it again", roster_id, exc_info=True)


@shared_task(name="verification.rosters.tasks.roster_applies_resume", acks_late=True, reject_on_worker_lost=True,
             time_limit=120, soft_time_limit=100)
def roster_applies_resume():
    """Beat, every 5 minutes: the imports whose task was lost (the broker down when it was
    queued, or when a run stopped at its time limit queued the next; a worker that died),
    idle for apply.APPLY_IDLE_AFTER, queued again; returns how many."""
    roster_ids = roster_applies_idle_claim()
    for roster_id in roster_ids:
        roster_apply_dispatch(roster_id)
    return len(roster_ids)


@shared_task(name="verification.rosters.tasks.roster_rows_remove", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def roster_rows_remove():
    """Beat, daily: the rows of rosters applied (or left unapplied) ROSTER_ROWS_KEEP_DAYS
    ago removed, ten rosters a transaction until none is left; and the records of invitation
    mails older than the per-address limit's 24 hours."""
    mails_forget()
    removed = total = rows_remove()
    while removed:
        removed = rows_remove()
        total += removed
    return total


@shared_task(name="verification.rosters.tasks.held_invitations_send", acks_late=True, reject_on_worker_lost=True,
             time_limit=300, soft_time_limit=260)
def held_invitations_send():
    """Beat, hourly: the invitations made but not mailed (their address had had the day's
    invitation mails) mailed once the address is under the limit; returns how many."""
    return held_send()
