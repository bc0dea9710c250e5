"""Settings for the test suite: the real settings, with fast password hashing,
Celery tasks run in-process (the real task code), and files in a temporary folder."""

import atexit
import os
import shutil
import tempfile

os.environ["PORTAL_TESTING"] = "1"
if "PORTAL_VAR_DIR" not in os.environ:
    # Made by the first process of a run (pytest's, before its workers), which the others
    # inherit it from, and removed when that process ends.
    os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp(prefix="portal-test-")
    atexit.register(shutil.rmtree, os.environ["PORTAL_VAR_DIR"], ignore_errors=True)

from portal.settings import *  # noqa: E402,F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CACHES = {"default": DATABASE_CACHE}  # noqa: F405

# PostgreSQL: no commit of the test run waits for its write-ahead log to reach the
# disk (the test databases are thrown away), and no query is compiled to machine code
# (the tests' queries are small; compiling one costs more than it saves).
if DATABASES["default"]["ENGINE"] == "portal.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off -c jit=off"  # noqa: F405
