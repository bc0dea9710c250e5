"""Celery tasks of verification (the beat's, and one queued when an organisation is
reactivated). Thin: each takes the ids of the profiles that are due from a selector and
hands them to a service, batch after batch (bounded: what is left waits for the next
run). Safe to run twice: the services check again, under a lock, that each profile is
still due. Names are stable (the beat schedule names them)."""

import logging

from celery import shared_task
from django.conf import settings

from verification import lifecycle

logger = logging.getLogger(__name__)

MAX_BATCHES = 20


@shared_task(name="verification.tasks.superannuation_lapse", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def superannuation_lapse():
    """Beat, hourly: verifications whose date of superannuation has passed are revoked."""
    batch, revoked = settings.VERIFICATION_SWEEP_BATCH, 0
    for _batch in range(MAX_BATCHES):
        ids = lifecycle.lapsed_profile_ids(limit=batch)
        if not ids:
            break
        revoked += lifecycle.profiles_lapse(profile_ids=ids)
        if len(ids) < batch:
            break
    return {"revoked": revoked}


@shared_task(name="verification.tasks.address_reconfirmation", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def address_reconfirmation():
    """Beat, hourly: this year's requests to confirm the official address, the one
    reminder, and the suspension of those whose grace period ended unconfirmed; first,
    the grace periods that stopped counting (the verification not in force) are marked,
    and those that count again given back the time they did not."""
    batch = settings.VERIFICATION_SWEEP_BATCH
    for _batch in range(MAX_BATCHES):
        marks = lifecycle.confirmation_pause_ids(limit=batch)
        if marks["pause"]:
            lifecycle.confirmations_pause(profile_ids=marks["pause"])
        if marks["resume"]:
            lifecycle.confirmations_resume(profile_ids=marks["resume"])
        if all(len(ids) < batch for ids in marks.values()):
            break
    steps = {"asked": lifecycle.confirmations_request, "reminded": lifecycle.confirmations_remind,
             "suspended": lifecycle.profiles_suspend_unconfirmed}
    kinds = {"asked": "ask", "reminded": "remind", "suspended": "suspend"}
    result = dict.fromkeys(steps, 0)
    for _batch in range(MAX_BATCHES):
        due = lifecycle.confirmation_due_ids(limit=batch)
        for name, service in steps.items():
            if due[kinds[name]]:
                result[name] += service(profile_ids=due[kinds[name]])
        if all(len(ids) < batch for ids in due.values()):
            break
    return result


@shared_task(name="verification.tasks.confirmations_resume_in", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def confirmations_resume_in(organisation_id):
    """Queued when an organisation is reactivated: its people asked to confirm their
    official address are given back, batch after batch, the grace the suspension took
    (what is left, or a task lost, the hourly job gives back)."""
    batch, resumed = settings.VERIFICATION_SWEEP_BATCH, 0
    for _batch in range(MAX_BATCHES):
        ids = lifecycle.confirmation_resume_ids(organisation_id=organisation_id, limit=batch)
        if ids:
            resumed += lifecycle.confirmations_resume(profile_ids=ids)
        if len(ids) < batch:
            break
    return {"resumed": resumed}


def confirmations_resume_dispatch(organisation_id):
    """Ask a worker to give the grace back (after commit). With the broker down, the hourly
    job (address_reconfirmation) gives it back instead."""
    try:
        confirmations_resume_in.delay(organisation_id)
    except Exception:
        logger.warning("Could not queue the confirmations of organisation %s; the hourly job will give their grace back",
                       organisation_id, exc_info=True)
