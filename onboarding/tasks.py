"""Celery tasks of the approval routing. Thin: they call services and are safe to run twice."""

from celery import shared_task

from onboarding import deadlines, letters


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=600, soft_time_limit=540)
def deadline_sweep():
    """Beat, every 15 minutes: reminders, escalations, and approval letters not yet issued."""
    result = deadlines.deadline_sweep()
    issued = 0
    for application_id in letters.approval_letters_pending():
        if letters.approval_letter_issue(application_id=application_id) is not None:
            issued += 1
    return {**result, "letters": issued}


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=300, soft_time_limit=240)
def approval_letter_send(application_id):
    document = letters.approval_letter_issue(application_id=application_id)
    return document.pk if document else None
