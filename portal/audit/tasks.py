"""Celery tasks of the audit log. Thin: they call portal.audit's services and are safe
to run twice. Their names are kept stable (the beat schedule names them)."""

from celery import shared_task

from portal.audit import publish


@shared_task(name="portal.audit.tasks.audit_head_publish", acks_late=True, reject_on_worker_lost=True,
             time_limit=120, soft_time_limit=100)
def audit_head_publish():
    """Beat, daily: the chain head written to the log and mailed to the superadmins."""
    return publish.audit_head_publish()
