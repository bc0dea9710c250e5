import os
import subprocess
import sys
from pathlib import Path

from portal.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


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


def test_production_settings_pass_check_deploy():
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))
    } | {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "AUDIT_HMAC_KEY": "production-like-audit-key-kept-outside-the-database-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in",
        "SITE_URL": "https://onboarding.sandes.gov.in",
    }
    command = ["check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_a_missing_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
