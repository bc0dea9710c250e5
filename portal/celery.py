"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

import os
from pathlib import Path

from celery import Celery

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
