"""Celery tasks of the approval routing. Thin: they call services and are safe to run twice."""

from celery import shared_task
from django.conf import settings

from onboarding import deadlines, letters

MAX_BATCHES = 20


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=600, soft_time_limit=540)
def deadline_sweep():
    """Beat, every 15 minutes: reminders, escalations, rejections whose appeal period
    ended, and approval letters not yet issued.
    Each batch is one transaction with a constant number of queries; a full batch
    means there may be more, so another follows."""
    batch = settings.ONBOARDING_SWEEP_BATCH
    result = {"reminded": 0, "escalated": 0}
    for _batch in range(MAX_BATCHES):  # bounded: whatever is left waits for the next run
        done = deadlines.deadline_sweep(limit=batch)
        result = {key: result[key] + done[key] for key in result}
        if done["reminded"] < batch and done["escalated"] < batch:
            break
    finalised = deadlines.rejections_finalise()
    issued = 0
    for application_id in letters.approval_letters_pending():
        if letters.approval_letter_issue(application_id=application_id) is not None:
            issued += 1
    return {**result, "rejections_final": finalised, "letters": issued}


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=300, soft_time_limit=240)
def approval_letter_send(application_id):
    document = letters.approval_letter_issue(application_id=application_id)
    return document.pk if document else None
