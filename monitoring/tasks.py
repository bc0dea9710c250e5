"""Beat jobs of monitoring. Thin: they call monitoring's services and are safe to run
twice. Their names are kept stable (the beat schedule names them)."""

from celery import shared_task

from monitoring import services


@shared_task(name="monitoring.tasks.figures_refresh", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def figures_refresh():
    """Every 15 minutes: verified and waiting users per organisation, into the summary table."""
    return services.figures_refresh()


@shared_task(name="monitoring.tasks.audit_chain_check", acks_late=True, reject_on_worker_lost=True,
             time_limit=3000, soft_time_limit=2900)
def audit_chain_check():
    """Daily: walk the audit chain, keep the result for the audit log viewer; a broken
    chain is also logged as an error and mailed to the superadmins (each day it is found)."""
    check = services.audit_chain_check()
    return {"intact": check.intact, "events": check.events, "problems": check.problems}
