"""Celery tasks of organisations and roles. Thin: they call the services and are
safe to run twice. Their names are kept stable (the beat schedule names them)."""

from celery import shared_task

from portal.organisations import services


@shared_task(name="portal.organisations.tasks.role_expiries_record", acks_late=True, reject_on_worker_lost=True,
             time_limit=120, soft_time_limit=100)
def role_expiries_record():
    """Beat, every 15 minutes: roles past their end date recorded as ended, once each
    (they already count for nothing: portal.permissions reads the end dates)."""
    return services.role_expiries_record()
