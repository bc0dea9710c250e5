"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

import logging
import os
import socket
import threading
import time
from pathlib import Path

from celery import Celery
from celery.signals import beat_init, before_task_publish, task_postrun, task_prerun

from portal.logformat import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, source, **kwargs):
    """The filesystem broker (the embedded default) cannot publish into a missing folder.
    Make its folders when Celery first reads its configuration, before the first
    message or the worker's start, rather than as a side effect of importing settings."""
    if not str(source.broker_url or "").startswith("filesystem://"):
        return
    options = source.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


# One JSON line a task (LOGGING's ``portal.tasks``), carrying the id of the request
# that queued it. Names, ids, the outcome and the time: never the arguments.
task_logger = logging.getLogger("portal.tasks")
_task_started: dict[str, tuple[float, object]] = {}


@before_task_publish.connect
def _pass_request_id(headers=None, **kwargs):
    request_id = request_id_var.get()
    if request_id and isinstance(headers, dict):
        headers.setdefault("portal_request_id", request_id)


@task_prerun.connect
def _task_started_log(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "portal_request_id", None) if task is not None else None
    # A task run in the request's own thread (eager, in tests) keeps the request's id.
    token = request_id_var.set(request_id if isinstance(request_id, str) else request_id_var.get())
    _task_started[task_id] = (time.perf_counter(), token)


@task_postrun.connect
def _task_finished_log(task_id=None, task=None, state=None, **kwargs):
    started, token = _task_started.pop(task_id, (None, None))
    try:
        task_logger.info("task", extra={"fields": {
            "task": getattr(task, "name", None),
            "task_id": task_id,
            "state": state,
            "retries": getattr(getattr(task, "request", None), "retries", None),
            "ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
        }})
    finally:
        if token is not None:
            request_id_var.reset(token)


# Exactly one beat in the whole installation: two would queue every periodic job twice.
# A beat holds a lock in the shared cache (Redis in production) while it runs, renewed
# every BEAT_LOCK_SECONDS / 3; a second beat finds it held, says so and stops. The lock of
# a beat that died ends by itself after BEAT_LOCK_SECONDS, so its replacement starts then.
BEAT_LOCK_KEY = "portal:celery-beat"
BEAT_LOCK_SECONDS = 60
BEAT_LOCK_START_ATTEMPTS = 10
BEAT_LOCK_RETRY_SECONDS = 3
beat_logger = logging.getLogger("portal.beat")


def _beat_lock_keep(holder: str) -> None:
    from django.core.cache import cache

    while True:
        time.sleep(BEAT_LOCK_SECONDS / 3)
        try:
            if cache.get(BEAT_LOCK_KEY) == holder:
                cache.touch(BEAT_LOCK_KEY, BEAT_LOCK_SECONDS)
            elif not cache.add(BEAT_LOCK_KEY, holder, timeout=BEAT_LOCK_SECONDS):
                beat_logger.error("Another Celery beat took the beat lock (%s): this one stops.", cache.get(BEAT_LOCK_KEY))
                os._exit(1)
        except Exception:  # the cache is away for a moment: keep beating, try again later
            beat_logger.warning("Could not renew the beat lock", exc_info=True)


def _beat_lock_take_from_dead(holder: str) -> bool:
    """Take the lock of a beat of this host that is no longer running (a restart within
    BEAT_LOCK_SECONDS of a crash, or `make run` started again at once)."""
    from django.core.cache import cache

    dead = str(cache.get(BEAT_LOCK_KEY) or "")
    host, _, pid = dead.rpartition(":")
    if host != socket.gethostname() or not (pid.isascii() and pid.isdigit()):
        return False
    try:
        os.kill(int(pid), 0)
        return False  # it is running
    except ProcessLookupError:
        # Two beats that read the same dead holder (a restart and `make run` at once): the
        # one that adds the key naming it takes the lock over; the other does not run.
        if not cache.add(f"{BEAT_LOCK_KEY}:taken-from:{dead}", holder, timeout=BEAT_LOCK_SECONDS):
            return False
        cache.set(BEAT_LOCK_KEY, holder, timeout=BEAT_LOCK_SECONDS)
        return True
    except PermissionError:  # running, as another user
        return False


def _beat_lock_take(holder: str) -> bool:
    """Whether this beat now holds the lock. A cache that does not answer (Redis restarting, a
    loaded host) is asked again a while; after that the beat stops (systemd starts it again):
    Celery logs and ignores an exception of a beat_init receiver and would run the beat unlocked."""
    from django.core.cache import cache

    for attempt in range(1, BEAT_LOCK_START_ATTEMPTS + 1):
        try:
            return cache.add(BEAT_LOCK_KEY, holder, timeout=BEAT_LOCK_SECONDS) or _beat_lock_take_from_dead(holder)
        except Exception:
            beat_logger.warning("Could not reach the cache to take the beat lock (attempt %d of %d)",
                                attempt, BEAT_LOCK_START_ATTEMPTS, exc_info=True)
            time.sleep(BEAT_LOCK_RETRY_SECONDS)
    beat_logger.error("The cache holding the beat lock does not answer: this beat does not run without it.")
    raise SystemExit(1)


@beat_init.connect
def _only_one_beat(sender=None, **kwargs):
    from django.core.cache import cache

    holder = f"{socket.gethostname()}:{os.getpid()}"
    if not _beat_lock_take(holder):
        beat_logger.error("Another Celery beat is running (%s): this one stops. Run exactly one beat.",
                          cache.get(BEAT_LOCK_KEY))
        raise SystemExit(1)
    threading.Thread(target=_beat_lock_keep, args=(holder,), name="beat-lock", daemon=True).start()
