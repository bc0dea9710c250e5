"""Celery tasks of the approval routing, one per beat job. Thin: they call services
and are safe to run twice. Their names are kept stable (queued messages and the
beat schedule name them)."""

import logging
import time

from celery import shared_task
from django.conf import settings

from onboarding.approval import deadlines, letters

logger = logging.getLogger(__name__)
MAX_BATCHES = 20
# Approval letters one run of approval_letters_issue tries at most, and the seconds after which
# it tries no further one (each render may take PDF_RENDER_TIMEOUT_SECONDS): the rest wait for
# the next run, under the task's time limit.
LETTERS_PER_RUN = 50
LETTERS_SECONDS = 300


@shared_task(name="onboarding.tasks.deadline_sweep", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def deadline_sweep():
    """Beat, every 15 minutes: reminders before a step's due date and escalations after it.
    Each batch is one transaction with a constant number of queries; a full batch (of
    steps claimed, whether or not a reminder went: an authority no longer eligible gets
    none) means there may be more, so another follows."""
    batch = settings.ONBOARDING_SWEEP_BATCH
    result = {"reminded": 0, "escalated": 0}
    for _batch in range(MAX_BATCHES):  # bounded: whatever is left waits for the next run
        done, claimed = deadlines.deadline_sweep_batch(limit=batch)
        result = {key: result[key] + done[key] for key in result}
        if claimed["reminded"] < batch and claimed["escalated"] < batch:
            break
    return result


@shared_task(name="onboarding.tasks.undecided_steps_assign", acks_late=True, reject_on_worker_lost=True,
             time_limit=300, soft_time_limit=240)
def undecided_steps_assign():
    """Beat, every 15 minutes: the steps nobody could decide, told to whoever may decide them
    now (an administrator appointed since); a batch at a time, the rest at the next run."""
    return {"assigned": deadlines.undecided_steps_assign(limit=settings.ONBOARDING_SWEEP_BATCH)}


@shared_task(name="onboarding.tasks.rejections_finalise", acks_late=True, reject_on_worker_lost=True,
             time_limit=300, soft_time_limit=240)
def rejections_finalise():
    """Beat, hourly: rejections whose appeal period ended without an appeal become final."""
    return {"rejections_final": deadlines.rejections_finalise()}


@shared_task(name="onboarding.tasks.approval_letters_issue", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def approval_letters_issue():
    """Beat, every 15 minutes: the approval letters whose queuing at approval was lost, or
    that could not be issued (tried after the others: letters.approval_letters_pending); one
    that fails keeps none of the others from being issued (letters.approval_letter_issue)."""
    issued, stop_at = 0, time.monotonic() + LETTERS_SECONDS
    for application_id in letters.approval_letters_pending(limit=LETTERS_PER_RUN):
        if time.monotonic() > stop_at:
            break
        if letters.approval_letter_issue(application_id=application_id) is not None:
            issued += 1
    return {"letters": issued}


@shared_task(name="onboarding.tasks.approval_letter_send", acks_late=True, reject_on_worker_lost=True,
             time_limit=300, soft_time_limit=240)
def approval_letter_send(application_id):
    document = letters.approval_letter_issue(application_id=application_id)
    return document.pk if document else None


def approval_letter_enqueue(application_id):
    """After commit: ask a worker to issue the letter. If the broker is down,
    approval_letters_issue issues it later."""
    try:
        approval_letter_send.delay(application_id)
    except Exception:  # broker down: the beat job issues pending letters
        logger.warning("Could not queue the approval letter of application %s; the beat job will.", application_id,
                       exc_info=True)
