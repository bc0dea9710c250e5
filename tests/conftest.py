import gc
import importlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import traceback
from pathlib import Path

import pytest
import redis
from django.apps import apps
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.test import Client
from django.utils import translation

from tests.factories import PASSWORD, UserFactory
from tests.smtp import smtp_server  # noqa: F401  (the fixture, for every test module)

OUTBOX_MAILERS = {
    "default": {"BACKEND": "portal.mail.backends.OutboxEmailBackend"},
    "transport": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
}


@pytest.hookimpl(trylast=True)  # after pytest-django's own (which blocks the database)
def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs the suite on every core), each worker
    is its own process with its own test database (pytest-django names it after the
    worker: test_<name>_gw0, ...). Its files must be its own too: drop the folder
    portal/settings_test.py made for this process from the environment the workers
    inherit, so each makes one of its own (uploads, rendered PDFs)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        os.environ.pop("PORTAL_VAR_DIR", None)
    # A test builds many short-lived objects (querysets, model instances, responses):
    # Python's cycle collector, at its default of a collection every 2,000 new objects,
    # walks them again and again, and walks every object Django and the libraries made
    # at import too. Those are set aside (gc.freeze) and the collector runs less often:
    # some 15% less processor time for the same tests. It still collects every cycle.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    _migrated_template_start(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """The .mo catalogues are build output, not committed: `make test` compiles them,
    and so does a bare pytest run here, when one is missing or older than its .po.
    This runs once, before any test is collected and so before any catalogue is
    loaded, in the process that starts the xdist workers (or the only process), so
    two workers never write the same file and every one reads the fresh files."""
    if hasattr(session.config, "workerinput"):
        return
    stale = [
        po.parent.parent.name
        for po in Path(django_settings.BASE_DIR, "locale").glob("*/LC_MESSAGES/django.po")
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command("compilemessages", locale=stale, ignore_patterns=[".venv"], verbosity=0)


# Under pytest-xdist on PostgreSQL, the process that starts the workers migrates one
# database, and each worker's test database is a copy of it (CREATE DATABASE ...
# TEMPLATE): the migrations run once, not once a worker. The worker still runs
# migrate on its copy (Django's test database setup), which finds every migration
# applied. The migrations run in a thread of that process, started as soon as pytest
# is configured, while the workers start (each imports Django and the project, about
# as long as the migrations take); a worker waits for the copy's source before its
# first database test, on a file the thread writes when it is done ("ok", or why it
# failed). Its name, for the workers (and the tests that make a database of their own
# for other processes), is in the first variable; the file's path in the second.
TEMPLATE_VARIABLE = "PORTAL_TEST_DATABASE_TEMPLATE"
TEMPLATE_READY_VARIABLE = "PORTAL_TEST_DATABASE_TEMPLATE_READY"
TEMPLATE_WAIT_SECONDS = 900


def _migrated_template_start(config):
    if (
        hasattr(config, "workerinput")
        or not getattr(config.option, "numprocesses", None)
        or getattr(config.option, "reuse_db", False)
        or connection.vendor != "postgresql"
    ):
        return
    template = f"{connection.creation._get_test_db_name()}_template"[:63]
    ready = Path(tempfile.mkdtemp(prefix="portal-test-template-")) / "ready"
    os.environ[TEMPLATE_VARIABLE], os.environ[TEMPLATE_READY_VARIABLE] = template, str(ready)
    thread = threading.Thread(target=_migrated_template_create, args=(config, template, ready),
                              name="migrated-template", daemon=True)
    thread.start()
    config.add_cleanup(lambda: _migrated_template_drop(thread, template, ready))


def _migrated_template_create(config, template, ready):
    """In its own thread (its own connection): migrate the template database, then say so
    in ``ready``, written whole (a worker reads it as soon as it exists)."""
    from pytest_django.plugin import blocking_manager_key

    outcome = "ok"
    test_settings = connection.settings_dict.setdefault("TEST", {})
    name, test_name = connection.settings_dict["NAME"], test_settings.get("NAME")
    test_settings["NAME"] = template
    try:
        with config.stash[blocking_manager_key].unblock():
            connection.creation.create_test_db(verbosity=0, autoclobber=True)
    except BaseException:
        outcome = traceback.format_exc()
    finally:
        connection.close()
        connection.settings_dict["NAME"] = django_settings.DATABASES["default"]["NAME"] = name
        test_settings["NAME"] = test_name
    partial = ready.with_suffix(".partial")
    partial.write_text(outcome)
    partial.rename(ready)


def _migrated_template_wait():
    """In a worker: wait until the template is migrated; fail every database test if it
    could not be."""
    ready = Path(os.environ[TEMPLATE_READY_VARIABLE])
    deadline = time.monotonic() + TEMPLATE_WAIT_SECONDS
    while not ready.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the migrated template database was not ready within {TEMPLATE_WAIT_SECONDS} s")
        time.sleep(0.05)
    outcome = ready.read_text()
    if outcome != "ok":
        raise RuntimeError(f"the migrated template database could not be made:\n{outcome}")


def _migrated_template_drop(thread, template, ready):
    thread.join()
    os.environ.pop(TEMPLATE_VARIABLE, None)
    os.environ.pop(TEMPLATE_READY_VARIABLE, None)
    shutil.rmtree(ready.parent, ignore_errors=True)
    connection.close()
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(template)} WITH (FORCE)")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A worker's test database is a copy of the migrated template, when there is one."""
    template = os.environ.get(TEMPLATE_VARIABLE)
    if template:
        _migrated_template_wait()
        django_settings.DATABASES["default"].setdefault("TEST", {})["TEMPLATE"] = template
        connection.settings_dict.setdefault("TEST", {})["TEMPLATE"] = template


# The rows the migrations wrote (the official-email rules, content types,
# permissions...), as (model, COPY data) pairs, read once when the test database
# is made; see django_db_setup below.
_MIGRATION_ROWS: list[tuple[type, bytes]] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL, keep a copy of every row the migrations wrote, so that the flush
    that ends a transactional test (a browser test's live server included) puts them
    back: then every test sees the database as migrated, whatever ran before it on its
    worker, and the slow browser tests can run first (see pytest_collection_modifyitems)."""
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for model in apps.get_models(include_auto_created=True):
                if not model._meta.managed or model._meta.proxy:
                    continue
                table = connection.ops.quote_name(model._meta.db_table)
                with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                    data = b"".join(bytes(block) for block in copy)
                if data:
                    _MIGRATION_ROWS.append((model, data))


def _migration_rows_restore(conn):
    """Write the migrations' rows back after a flush, and move the id sequences past
    them. Foreign keys are checked at commit, so the order of the tables is free."""
    if not _MIGRATION_ROWS:
        return
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        for model, data in _MIGRATION_ROWS:
            with cursor.copy(f"COPY {conn.ops.quote_name(model._meta.db_table)} FROM STDIN") as copy:
                copy.write(data)
        for statement in conn.ops.sequence_reset_sql(no_style(), [model for model, _data in _MIGRATION_ROWS]):
            cursor.execute(statement)


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, the browser tests first. They are the slowest, and with the
    migrations' rows restored after every flush (above) nothing needs them last: handed
    out first, they spread over the xdist workers while the many quick tests fill the
    gaps at the end, instead of one worker finishing alone on a browser journey. The
    production profile's tests come next: one worker runs them together (their xdist
    group) for a minute or two, which is better begun early than left for the end; the one
    that waits for beat's first run of a one-minute job (``BEAT_WAITS``) comes last among
    them, by when the minute since beat started has mostly gone by in the others.
    (pytest-django's own ordering, database tests before transactional ones, runs
    first; this stable sort keeps it within each part.)"""
    if connection.vendor != "postgresql":
        return

    def part(item):
        nodeid = item.nodeid
        if nodeid.startswith("tests/browser/"):
            return 0
        if nodeid.startswith("tests/production/"):
            return 2 if item.name.startswith(BEAT_WAITS) else 1
        return 3

    items.sort(key=part)


BEAT_WAITS = "test_beat_runs_once_and_its_jobs_reach_the_worker"


@pytest.fixture(scope="session", autouse=True)
def _test_flush_passes_the_audit_truncate_guard():
    """On PostgreSQL a trigger refuses TRUNCATE on the audit tables (portal/audit
    migration 0006), and the flush that ends every transactional test (and the
    browser tests' live server) is a TRUNCATE of all tables. The test run flushes
    with ``session_replication_role = replica`` set for that transaction only:
    PostgreSQL's own switch for ordinary triggers, which only a superuser (or a role
    granted SET on it) may set; the tests' database user is one, the portal's need
    not be. Apart from tests that tamper with the log on purpose, nothing else in the
    run sets it, so every other statement meets the triggers."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        flushed = flush(self, ["SET LOCAL session_replication_role = replica", *sql_list])
        _migration_rows_restore(self.connection)
        return flushed

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        """One DELETE a table instead of one TRUNCATE of them all: the flush empties the
        same tables, but TRUNCATE gives every table (some 50) new files that the commit
        must write out, over a second a flush, where deleting the few rows a test wrote
        takes milliseconds. With the ordinary triggers off (above) no foreign key is
        checked, so the order of the tables is free. A flush that resets the sequences
        or cascades to tables not named is PostgreSQL's own TRUNCATE, as before."""
        if reset_sequences or allow_cascade:
            return sql_flush_truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    sql_flush_truncate = DatabaseOperations.sql_flush

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _celery_joins_allowed():
    """Tasks run eagerly in the tests (CELERY_TASK_ALWAYS_EAGER), each inside Celery's
    denied_join_result(), which sets a flag of the whole process and puts back the value it
    found: two threads queuing tasks at once (the race tests' contenders, a live server's
    requests) can leave it set, and every later ``.apply().get()`` in that xdist worker then
    fails "Never call result.get() within a task!". No test runs inside a task: it starts
    and ends with the flag down."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. Django's LocaleMiddleware activates
    a request's language for the thread and leaves it active, so a request in Hindi
    (the language switch, the error pages) would leave whatever test runs next in
    that worker in Hindi: which test that is depends on how xdist hands them out."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def _mail_through_outbox(settings):
    """Django's test setup replaces every mailer with locmem; put the outbox back in
    front, so tests exercise the real path (outbox row, task, transport). And a broker a
    test took down does not keep the next test's mail from being handed over
    (portal.mail.tasks.BROKER_PAUSE_SECONDS: a process's memory of a failed hand-off)."""
    from portal.mail import tasks as mail_tasks

    settings.MAILERS = OUTBOX_MAILERS
    mail_tasks._broker_failed_at = None


@pytest.fixture
def officer(db):
    return UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")


@pytest.fixture
def officer_client(officer):
    client = Client()
    assert client.login(email=officer.email, password=PASSWORD)
    return client


@pytest.fixture
def require_postgresql():
    """For tests of what only PostgreSQL has. Elsewhere they skip, or fail when
    CI_STRICT is set, so that CI can never pass them by skipping."""
    if connection.vendor == "postgresql":
        return
    reason = (
        "needs PostgreSQL for real concurrent transactions / the append-only trigger; "
        "`make test` uses the local PostgreSQL when it answers"
    )
    if os.environ.get("CI_STRICT"):
        pytest.fail(f"CI_STRICT is set and the database is {connection.vendor}: this test {reason}")
    pytest.skip(reason)


@pytest.fixture
def bench_script(monkeypatch):
    """Imports a script of bench/ by its name ("retention" for bench/retention.py), as the script
    itself runs (its folder first on the path, for its ``_setup``): the tests call the parts that
    make its data and sign its people in on the test database, at a tiny size."""
    monkeypatch.syspath_prepend(str(Path(django_settings.BASE_DIR) / "bench"))
    return importlib.import_module


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A redis-server of the module's own on a free port (for the tests of what the
    portal does with Redis as the cache, as in production); its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def empty_cache():
    """Django's cache emptied before and after the test: the rate limits count there."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def redis_cache(redis_url, settings):
    """Django's cache on that redis-server, emptied before and after; a client of it."""
    settings.CACHES = {"default": {"BACKEND": "portal.rediscache.RedisCache", "LOCATION": redis_url}}
    cache.clear()
    yield redis.Redis.from_url(redis_url)
    cache.clear()
