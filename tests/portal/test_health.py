import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from portal.celery import app
from tests.pg_trace import backend_terminate, kept_connection_at_the_start_of_a_request, statements_sent

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_asks_the_database_once(client, transactional_db, require_postgresql):
    """The connection's own check (SELECT 1) is the question, and the only statement sent."""
    assert client.get("/healthz").status_code == 200  # the connection open, the broker's answer kept
    kept_connection_at_the_start_of_a_request()
    sent, response = statements_sent(lambda: client.get("/healthz"))
    assert response.json()["database"] == "ok"
    assert sent == [' "SELECT 1"'], sent


def test_healthz_answers_on_a_new_connection_when_the_kept_one_was_dropped(client, transactional_db,
                                                                             require_postgresql):
    assert client.get("/healthz").status_code == 200
    pid = connection.connection.info.backend_pid
    backend_terminate(pid)
    kept_connection_at_the_start_of_a_request()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"
    assert connection.connection.info.backend_pid != pid


def test_healthz_is_503_when_the_database_does_not_answer(client, django_db_blocker, require_postgresql):
    with django_db_blocker.unblock():
        connection.close()
        port = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = 1  # nothing listens on port 1
        try:
            response = client.get("/healthz")
        finally:
            connection.close()
            connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "broker": "ok"}


class StalledServer:
    """A TCP server on loopback that accepts connections and, once ``stall()`` was called (at
    once without a ``target``), answers nothing on them: a database or broker that hangs, a
    firewall that swallows packets after the handshake. Until then it forwards each connection
    to ``target`` (host, port). It lets go of every connection HOLD_SECONDS after the stall, so
    that code without a limit of its own fails a test instead of hanging it."""

    HOLD_SECONDS = 20

    def __init__(self, target=None):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stalled, self.stopped = threading.Event(), threading.Event()
        self.stalled_at = time.monotonic()
        if target is None:
            self.stalled.set()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def stall(self):
        self.stalled_at = time.monotonic()
        self.stalled.set()

    def _holding(self):
        return not self.stopped.is_set() and time.monotonic() - self.stalled_at < self.HOLD_SECONDS

    def _accept(self):
        self.listener.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                client, _address = self.listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, client):
        upstream = None if self.stalled.is_set() else socket.create_connection(self.target)
        with selectors.DefaultSelector() as selector:
            if upstream is not None:
                selector.register(client, selectors.EVENT_READ, upstream)
                selector.register(upstream, selectors.EVENT_READ, client)
            while not self.stalled.is_set() and not self.stopped.is_set():
                for key, _events in selector.select(0.1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        self.stopped.wait(self.HOLD_SECONDS)
                    key.data.sendall(data)
        while self._holding():  # stalled: nothing more goes either way
            time.sleep(0.1)
        for sock in (client, upstream):
            if sock is not None:
                sock.close()

    def close(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join()
        self.listener.close()


@pytest.fixture
def stalled_server():
    """``stalled_server(target=None)``: a StalledServer, closed at the end of the test."""
    servers = []
    yield lambda target=None: servers.append(StalledServer(target)) or servers[-1]
    for server in servers:
        server.close()


@pytest.fixture
def database_at(transactional_db, django_db_blocker):
    """``database_at(port)``: Django's connection goes to 127.0.0.1:port from now until the end
    of the test, its connect timeout (DATABASE_CONNECT_TIMEOUT) shortened to 2 seconds (psycopg's least)."""
    saved = dict(connection.settings_dict), dict(connection.settings_dict["OPTIONS"])

    def move(port):
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=port)
        if "connect_timeout" in connection.settings_dict["OPTIONS"]:  # the configured limit, shortened
            connection.settings_dict["OPTIONS"]["connect_timeout"] = 2

    with django_db_blocker.unblock():
        yield move
        connection.close()
    connection.settings_dict.update(saved[0])
    connection.settings_dict["OPTIONS"].clear()
    connection.settings_dict["OPTIONS"].update(saved[1])


def timed_get(client, path):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_healthz_is_503_within_seconds_when_the_database_accepts_connections_and_never_answers(
        client, database_at, stalled_server, require_postgresql):
    database_at(stalled_server().port)
    response, took = timed_get(client, "/healthz")
    assert response.status_code == 503 and response.json()["database"] == "down"
    assert took < 6, f"/healthz answered after {took:.0f} s"


def test_healthz_is_503_within_seconds_when_a_kept_database_connection_stops_answering(
        client, database_at, stalled_server, require_postgresql):
    params = connection.settings_dict
    server = stalled_server(target=(params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)))
    database_at(server.port)
    first = client.get("/healthz")
    assert first.status_code == 200, first.json()  # a connection kept, through the server
    server.stall()
    kept_connection_at_the_start_of_a_request()
    response, took = timed_get(client, "/healthz")
    assert response.status_code == 503 and response.json()["database"] == "down"
    assert took < 8, f"/healthz answered after {took:.0f} s"


def test_every_database_connection_has_a_connect_timeout(settings):
    assert settings.DATABASE_CONNECT_TIMEOUT == 5  # DATABASE_CONNECT_TIMEOUT unset
    if connection.vendor == "postgresql":
        assert connection.settings_dict["OPTIONS"]["connect_timeout"] == settings.DATABASE_CONNECT_TIMEOUT


def test_healthz_is_503_when_the_broker_is_down(client, db):
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["broker"] != "ok"


@pytest.fixture
def broker_at():
    """``broker_at(url)``: Celery's broker is ``url`` until the end of the test, no answer kept."""
    from portal import views

    old = app.conf.broker_url
    views._broker_checked.clear()
    views._readiness_kept.clear()
    yield lambda url: setattr(app.conf, "broker_url", url)
    app.conf.broker_url = old
    views._broker_checked.clear()
    views._readiness_kept.clear()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_503_within_seconds_when_the_broker_accepts_connections_and_never_answers(client, db, stalled_server,
                                                                                   broker_at, path):
    broker_at(f"redis://127.0.0.1:{stalled_server().port}/0")
    response, took = timed_get(client, path)
    assert response.status_code == 503
    assert took < 6, f"{path} answered after {took:.0f} s"


def test_the_brokers_probe_bounds_every_exchange_not_only_the_connection(monkeypatch):
    """AMQP's too: its client's reads and writes, not only the TCP connection, have a limit."""
    from portal import views

    opened = []
    monkeypatch.setattr(app, "connection_for_write", lambda **options: opened.append(options) or _Refused())
    with pytest.raises(ConnectionRefusedError):
        views._broker_connect()
    [options] = opened
    assert options["connect_timeout"] == views.BROKER_PROBE_SECONDS
    assert {options["transport_options"][name] for name in ("socket_timeout", "read_timeout", "write_timeout")} == {
        views.BROKER_PROBE_SECONDS}


class _Refused:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def ensure_connection(self, **options):
        raise ConnectionRefusedError


def test_healthz_shows_anyone_only_the_status_of_each_component(client, db, settings):
    settings.DEBUG = True  # the flag must not show either way
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    # No debug flag, no exception name, no version: ok or down per component.
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down"}


def test_healthz_refuses_other_methods(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.generic("TRACE", "/healthz").status_code == 405


def test_production_settings_pass_check_deploy(tmp_path):
    """With the variables of deploy/portal.env.example, before anything made the request log's folder
    (deploy/README.md runs `make migrate` before systemd makes it for portal-web; a worker host never
    has it): a command that writes no request line does not open the file."""
    request_log = tmp_path / "log" / "requests.log"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))
    } | {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "AUDIT_HMAC_KEY": "production-like-audit-key-kept-outside-the-database-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in",
        "SITE_URL": "https://onboarding.sandes.gov.in",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://portal@127.0.0.1:5432/portal",
        # The documented production variables (README, Running in production): Redis and the object store.
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "STORAGE_S3_BUCKET": "portal-files",
        "STORAGE_S3_ENDPOINT_URL": "https://s3.example.gov.in",
        "PORTAL_TRUSTED_PROXY_COUNT": "1",
        "EMAIL_HOST": "smtp.example.gov.in",
        "PORTAL_REQUEST_LOG_FILE": str(request_log),
    }
    command = ["check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert not request_log.parent.exists()


def test_production_settings_refuse_a_missing_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def example_secret_key():
    """The DJANGO_SECRET_KEY of deploy/portal.env.example, which people copy."""
    lines = (ROOT / "deploy" / "portal.env.example").read_text().splitlines()
    [value] = [line.partition("=")[2] for line in lines if line.startswith("DJANGO_SECRET_KEY=")]
    return value


@pytest.mark.parametrize(("key", "refusal"), [
    ("a1B2c3D4e5" * 4 + "f6G7h8I9", "DJANGO_SECRET_KEY must be at least 50 characters long."),  # 48
    (example_secret_key(), "DJANGO_SECRET_KEY is still the placeholder of deploy/portal.env.example"),
])
def test_production_settings_refuse_a_short_or_placeholder_secret_key(key, refusal):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key,
        "AUDIT_HMAC_KEY": "production-like-audit-key-kept-outside-the-database-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in", "SITE_URL": "https://onboarding.sandes.gov.in",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://portal@127.0.0.1:5432/portal",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert refusal in result.stderr


def test_production_settings_refuse_the_examples_audit_key_placeholder():
    """Whoever read the example could recompute the audit chain's hashes after editing it."""
    lines = (ROOT / "deploy" / "portal.env.example").read_text().splitlines()
    [placeholder] = [line.partition("=")[2] for line in lines if line.startswith("AUDIT_HMAC_KEY=")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "AUDIT_HMAC_KEY": placeholder,
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in", "SITE_URL": "https://onboarding.sandes.gov.in",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://portal@127.0.0.1:5432/portal",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY is still the placeholder of deploy/portal.env.example" in result.stderr


def test_the_examples_secret_key_placeholder_is_as_long_as_a_real_key():
    # Django's check --deploy (W009) wants 50 characters: a placeholder shorter than that
    # suggests a shorter key would do.
    assert len(example_secret_key()) >= 50


def test_production_settings_name_every_missing_variable_at_once():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_", "EMAIL_")) and k not in ("DATABASE_URL", "SITE_URL")} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    for name in ("AUDIT_HMAC_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "SITE_URL", "EMAIL_HOST"):
        assert f"{name} must be set when DJANGO_DEBUG is off." in result.stderr
    assert "DJANGO_SECRET_KEY must be set" not in result.stderr


def test_production_settings_refuse_a_missing_email_host():
    """Without a relay the transport would be Django's console backend: every mail, its
    single-use links included, printed to the journal and its outbox row marked sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_", "EMAIL_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "AUDIT_HMAC_KEY": "production-like-audit-key-kept-outside-the-database-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in", "SITE_URL": "https://onboarding.sandes.gov.in",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://portal@127.0.0.1:5432/portal",
    }
    script = ("import django; django.setup(); from django.core.mail import EmailMessage, mailers; "
              "mailers['transport'].send_messages([EmailMessage('Subject', 'SECRETLINKTOKEN', 'a@sandes.gov.in', "
              "['b@mha.gov.in'])])")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "SECRETLINKTOKEN" not in result.stdout
    assert result.returncode != 0
    assert "EMAIL_HOST must be set when DJANGO_DEBUG is off." in result.stderr


def test_make_serve_refuses_to_start_without_the_production_variables():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_", "EMAIL_")) and k not in ("DATABASE_URL", "SITE_URL")} | {
        "DJANGO_SECRET_KEY": "set"}
    for target in ("serve", "migrate", "worker", "beat"):
        result = subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode != 0, target
        assert ("Refusing to start in production mode (DJANGO_DEBUG=0): not set: "
                "AUDIT_HMAC_KEY DJANGO_ALLOWED_HOSTS DATABASE_URL SITE_URL EMAIL_HOST") in result.stderr, (target, result.stderr)


def _make_run_site_url(**variables):
    """The SITE_URL `make run` gives the portal (what `make -n` shows it would run)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")} | variables
    result = subprocess.run(["make", "--no-print-directory", "-n", "run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found = re.findall(r"^echo \"Links in the mail point at (\S+)\"$", result.stdout, re.MULTILINE)
    assert len(found) == 1, result.stdout
    return found[0]


def test_make_run_on_another_port_mails_links_to_that_port():
    """`PORT=8080 make run` serves on 8080: the links it mails (role mails, verification,
    the competent authority's, sign-up) lead there, not to the default port; a SITE_URL
    set in the environment is kept."""
    assert _make_run_site_url() == "http://127.0.0.1:8000"
    assert _make_run_site_url(PORT="8123") == "http://127.0.0.1:8123"
    assert _make_run_site_url(PORT="8123", SITE_URL="http://portal.test:9000") == "http://portal.test:9000"


def test_healthz_keeps_the_brokers_answer_a_few_seconds(client, db, monkeypatch):
    from portal import views

    calls = []
    monkeypatch.setattr(views, "_broker_connect", lambda: calls.append(1))
    views._broker_checked.clear()
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert calls == [1]  # one connection for five answers
    views._broker_checked.clear()


@pytest.fixture
def fresh_readiness():
    from portal import views

    views._readiness_kept.clear()
    yield views
    views._readiness_kept.clear()


def test_readyz_checks_each_component_with_its_time(client, db, fresh_readiness):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker", "storage"}
    assert all(check["status"] == "ok" and check["ms"] >= 0 for check in body["checks"].values())


def test_readyz_checks_at_most_once_in_a_few_seconds_whoever_asks(client, db, fresh_readiness, monkeypatch):
    calls = []
    monkeypatch.setattr(fresh_readiness, "_storage_check", lambda: calls.append(1))
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    assert calls == [1]  # one check (one listing of the object store) for five answers
    fresh_readiness._readiness_kept["answer"] = (time.monotonic() - fresh_readiness.READINESS_CHECK_SECONDS, {})
    assert client.get("/readyz").status_code == 200 and calls == [1, 1]  # then checked again


def test_readyz_is_503_naming_what_failed_and_nothing_else(client, db, fresh_readiness):
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "down" and body["checks"]["database"]["status"] == "ok"
    assert "Connection" not in response.content.decode() and "6379" not in response.content.decode()
    assert client.post("/readyz").status_code == 405


def test_production_settings_refuse_links_that_are_not_https():
    """Every mailed link (an authority's single-use link, an invitation) is built on
    SITE_URL: in production it must be given, and reach the portal over HTTPS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "AUDIT_HMAC_KEY": "production-like-audit-key-kept-outside-the-database-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in", "SITE_URL": "http://onboarding.sandes.gov.in",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://portal@127.0.0.1:5432/portal",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SITE_URL must start with https:// when DJANGO_DEBUG is off" in result.stderr


def _settings_env(**variables):
    """The test's environment less its own settings module, with ``variables`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "PORTAL_TESTING"))}
    return env | variables


@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("ONBOARDING_SWEEP_BATCH", "-5", "from 1 to 100000"),  # the sweep's LIMIT: a ValueError at each run
    ("ONBOARDING_SWEEP_BATCH", "0", "from 1 to 100000"),  # every step in one transaction
    ("ONBOARDING_TOKEN_TTL_DAYS", "5000000", "from 1 to 365"),
    ("ONBOARDING_REMINDER_DAYS_BEFORE", "-3", "from 0 to 6"),
    ("ONBOARDING_REMINDER_DAYS_BEFORE", "5000000", "from 0 to 6"),
    ("ONBOARDING_APPEAL_WINDOW_DAYS", "-1", "from 1 to 365"),
    ("ONBOARDING_APPEAL_WINDOW_DAYS", "5000000", "from 1 to 365"),  # an OverflowError at the authority's rejection
    ("ONBOARDING_AUTHORITY_DUE_DAYS", "-1", "from 1 to 365"),  # every step escalated at once
    ("ONBOARDING_STATE_DUE_DAYS", "5000000", "from 1 to 365"),
    ("ONBOARDING_APPEAL_DUE_DAYS", "seven", "from 1 to 365"),
    ("ONBOARDING_RETURNS_MAX", "0", "from 1 to 20"),  # no application could ever be returned for correction
])
def test_an_out_of_range_deadline_setting_is_refused_at_start(name, value, allowed):
    """Not started, then failed in the beat job or in a decision: refused, naming the variable and what it may be."""
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=_settings_env(**{name: value}),
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert re.search(rf"{name} must be a whole number {allowed}\b", result.stderr), result.stderr[-500:]


def test_a_reminder_is_due_after_the_day_its_shortest_stage_opens():
    """Reminded "2 days before" a stage due in 2 days would be reminded on the day it opens."""
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT,
                            env=_settings_env(ONBOARDING_AUTHORITY_DUE_DAYS="2", ONBOARDING_REMINDER_DAYS_BEFORE="2"),
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert re.search(r"ONBOARDING_REMINDER_DAYS_BEFORE must be a whole number from 0 to 1\b", result.stderr), \
        result.stderr[-500:]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT,
                            env=_settings_env(ONBOARDING_AUTHORITY_DUE_DAYS="2", ONBOARDING_REMINDER_DAYS_BEFORE="1"),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-500:]


@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("DATABASE_CONNECT_TIMEOUT", "0", "a whole number from 2 to 120"),
    ("PORTAL_TRUSTED_PROXY_COUNT", "-1", "a whole number from 0 to 10"),
    ("ONBOARDING_SUBMISSIONS_PER_DAY", "0", "a whole number from 1 to 100"),
    ("ONBOARDING_LINK_RESENDS_PER_DAY", "-1", "a whole number from 1 to 100"),
    ("ONBOARDING_AUTHORITY_MAILS_PER_DAY", "0", "a whole number from 1 to 1000"),
    ("ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY", "0", "a whole number from 1 to 20"),
    ("ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY", "21", "a whole number from 1 to 20"),  # one officer, the mailbox's day
    ("ONBOARDING_OPEN_DRAFTS_MAX", "0", "a whole number from 1 to 100"),
    ("ONBOARDING_STARTS_PER_DAY", "101", "a whole number from 1 to 100"),
    ("ONBOARDING_TOKEN_RATE_PER_MINUTE", "0", "a whole number from 1 to 1000000000"),
    ("PDF_RENDER_TIMEOUT_SECONDS", "-1", "a number from 1 to 50"),
    # Inside a web request (a download, an upload): well under the web worker's timeout (GUNICORN_TIMEOUT, 60).
    ("PDF_RENDER_TIMEOUT_SECONDS", "90", "a number from 1 to 50"),
    ("PDF_RENDER_MEMORY_MB", "10", "a whole number from 128 to 16384"),
    ("PDF_RENDER_WAIT_SECONDS", "nan", "a number from 0 to 50"),
    ("PDF_RENDER_WAIT_SECONDS", "60", "a number from 0 to 50"),
    ("PDF_RENDERS_PER_HOUR", "0", "a whole number from 1 to 1000"),
    ("MONITORING_EXPORTS_PER_HOUR", "0", "a whole number from 1 to 1000"),
    ("LETTER_CHECK_SECONDS", "inf", "a number from 1 to 50"),
    ("LETTER_CHECK_SECONDS", "90", "a number from 1 to 50"),
    ("LETTER_CHECKS_PER_HOUR", "0", "a whole number from 1 to 1000"),
    ("OUTBOX_GIVE_UP_HOURS", "0", "a whole number from 1 to 720"),
    ("OUTBOX_KEEP_DAYS", "-90", "a whole number from 1 to 3650"),
    ("ROSTER_INVITATION_TTL_DAYS", "5000000", "a whole number from 1 to 365"),
    ("ROSTER_ROWS_KEEP_DAYS", "0", "a whole number from 1 to 3650"),
    ("ROSTER_UPLOADS_PER_DAY", "0", "a whole number from 1 to 100"),
    ("INVITATION_MAILS_PER_ADDRESS_PER_DAY", "0", "a whole number from 1 to 20"),
    ("INVITATION_MAILS_PER_ADDRESS_PER_DAY", "21", "a whole number from 1 to 20"),
    ("VERIFICATION_REQUESTS_PER_DAY", "0", "a whole number from 1 to 100"),
    ("VERIFICATION_WAITING_MAX", "0", "a whole number from 1 to 100"),
    ("VERIFICATION_SUSPENSIONS_PER_DAY", "1", "a whole number from 2 to 100"),
    ("VERIFICATION_RECONFIRM_DAYS", "5000000", "a whole number from 1 to 3650"),
    ("VERIFICATION_RECONFIRM_GRACE_DAYS", "0", "a whole number from 1 to 365"),
    ("VERIFICATION_RECONFIRM_REMINDER_DAYS", "30", "a whole number from 0 to 29"),
    ("VERIFICATION_SWEEP_BATCH", "-1", "a whole number from 1 to 100000"),
    ("API_RATE_PER_MINUTE", "0", "a whole number from 1 to 1000000000"),
    ("API_CLIENTS_PER_ORGANISATION", "0", "a whole number from 1 to 100"),
    ("API_REFUSED_PER_MINUTE", "0", "a whole number from 1 to 1000000"),
    ("PRIVACY_RETENTION_BATCH", "0", "a whole number from 1 to 100000"),
    ("PRIVACY_LOG_RETENTION_DAYS", "5000000", "a whole number from 1 to 3650"),
    ("PRIVACY_BREACH_LOG_MAX_LINES", "0", "a whole number from 1 to 100000000"),
    ("PRIVACY_BREACH_PAGE_LOG_SECONDS", "60", "a number from 1 to 50"),
    ("PRIVACY_REQUEST_DUE_DAYS", "0", "a whole number from 1 to 365"),
    ("PRIVACY_REQUEST_REMINDER_DAYS_BEFORE", "30", "a whole number from 0 to 29"),
    ("EMAIL_TIMEOUT", "0", "a whole number from 1 to 120"),
    ("EMAIL_TIMEOUT", "abc", "a whole number from 1 to 120"),
    ("EMAIL_PORT", "70000", "a whole number from 1 to 65535"),
    ("EMAIL_PORT", "0", "a whole number from 1 to 65535"),
    ("EMAIL_PORT", "abc", "a whole number from 1 to 65535"),
])
def test_every_number_read_from_the_environment_is_bounded(name, value, allowed):
    """As the README says: refused whatever else is set. A mail setting with EMAIL_HOST and
    without it (unused then: the mistake would otherwise show only on the day a relay is set)."""
    env = {k: v for k, v in _settings_env(**{name: value}).items() if k != "EMAIL_HOST"}
    for email_host in ([None, "smtp.example.gov.in"] if name.startswith("EMAIL_") else [None]):
        result = subprocess.run([sys.executable, "-c", "import portal.settings"], cwd=ROOT,
                                env=env | ({"EMAIL_HOST": email_host} if email_host else {}),
                                capture_output=True, text=True)
        assert result.returncode != 0, f"EMAIL_HOST={email_host!r}"
        assert re.search(rf"{name} must be {allowed}\b", result.stderr), (email_host, result.stderr[-500:])


def test_every_variable_the_settings_read_is_in_the_readmes_configuration_tables():
    """README.md's tables (Configuration, Running in production) name each variable with its default."""
    source = (ROOT / "portal" / "settings.py").read_text()
    read = set(re.findall(r"""(?:os\.environ\.get|os\.environ\[|env_\w+)\(?\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    assert {"DJANGO_SECURE_SSL_REDIRECT", "DEFAULT_FROM_EMAIL", "DATABASE_URL"} <= read
    rows = "\n".join(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `"))
    internal = {"PORTAL_TESTING"}  # set by portal/settings_test.py for the tests
    assert sorted(name for name in read - internal if f"`{name}`" not in rows) == []
    assert re.search(r"^\| `DJANGO_SECURE_SSL_REDIRECT` \|.*\| `1`[^|]*\|$", rows, re.M)
    default_from = re.search(r'"DEFAULT_FROM_EMAIL", "([^"]+)"', source).group(1)
    assert re.search(rf"^\| `DEFAULT_FROM_EMAIL` \|.*\| `{re.escape(default_from)}` \|$", rows, re.M)
