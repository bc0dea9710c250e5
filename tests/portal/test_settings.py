"""The settings as the processes that run the portal load them (portal/settings.py), in a
process of their own: what the development server and gunicorn log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("debug", ["", "0"])
def test_a_line_of_django_request_is_written_once(debug):
    """`make run` (debug on) printed each line of django.request ("Not Found: ...",
    "Internal Server Error: ...") twice: once by the root's handler, once by a handler
    Django's own default configuration had left on the "django" logger."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": debug,
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "AUDIT_HMAC_KEY": "production-like-audit-key-kept-outside-the-database-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in", "SITE_URL": "https://onboarding.sandes.gov.in",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://portal@127.0.0.1:5432/portal",
        "EMAIL_HOST": "127.0.0.1",
    }
    script = ("import django, logging; django.setup(); "
              "logging.getLogger('django.request').warning('Not Found: %s', '/no-such-page-4711')")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("/no-such-page-4711") == 1, result.stderr
