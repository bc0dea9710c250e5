"""Celery tasks of data protection. Thin and safe to run twice."""

from celery import shared_task

from portal.privacy import retention


@shared_task(name="portal.privacy.tasks.retention_run", acks_late=True, reject_on_worker_lost=True,
             time_limit=3000, soft_time_limit=2900)
def retention_run():
    """Beat, daily: every enabled retention policy applied; returns the counts."""
    return retention.retention_run().counts


@shared_task(name="portal.privacy.tasks.privacy_requests_sweep", acks_late=True, reject_on_worker_lost=True,
             time_limit=300, soft_time_limit=280)
def privacy_requests_sweep():
    """Beat, hourly: requests due soon reminded, overdue ones escalated, once each."""
    from portal.privacy.requests import privacy_requests_sweep as sweep  # noqa: PLC0415

    return sweep()


@shared_task(name="portal.privacy.tasks.files_left_remove", acks_late=True, reject_on_worker_lost=True,
             time_limit=300, soft_time_limit=280)
def files_left_remove():
    """Beat, hourly: stored files whose rows went but whose removal failed then, removed
    (portal.stored_files); returns how many."""
    from portal.stored_files import files_left_remove as remove  # noqa: PLC0415

    return remove()
