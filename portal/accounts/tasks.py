"""Celery tasks of accounts. Their names are kept stable (the beat schedule names them)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="portal.accounts.tasks.sessions_clear", acks_late=True, reject_on_worker_lost=True,
             time_limit=600, soft_time_limit=540)
def sessions_clear():
    """Beat, daily: the sessions past their expiry removed from the database (Django
    never removes them itself: every sign-in, and every form someone signed out
    posts, would stay a row for good)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
