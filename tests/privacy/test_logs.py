"""What the logs must not hold, through the data protection flows (sign-in, the
notice, the download, a request, a retention run): no password, session id, CSRF
token or email address in any line of any logger; and the setting that keeps logs
at least as long as CERT-In asks. Retention erases no log: it has no rule for one."""

import logging
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.test import Client

from portal.privacy.notice import notice_publish
from portal.privacy.registry import retention_rules
from portal.privacy.retention import retention_run
from tests.factories import PASSWORD, ApplicationFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_log_line():
    """Every line any logger writes from when it is called (the root and the loggers that do not
    propagate, such as the request log), at DEBUG; SQL is left out (only in debug mode)."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    changed = []

    def start():
        loggers = [logging.getLogger()] + [
            logger for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and not logger.propagate
        ]
        for logger in loggers:
            changed.append((logger, logger.level))
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
        quiet = logging.getLogger("django.db.backends")
        changed.append((quiet, quiet.level))
        quiet.setLevel(logging.INFO)
        return stream.getvalue

    yield start
    for logger, level in reversed(changed):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_no_secret_or_address_reaches_a_log_line_through_the_privacy_flows(every_log_line):
    root = make_superadmin(email="root.secret@sandes.nic.in")
    notice = notice_publish(version="2026.2", body_en="Notice.", actor=root)
    person = UserFactory(email="asha.secret@mha.gov.in")
    ApplicationFactory(nodal_officer=person, letter=True)
    logged = every_log_line()
    client = Client()
    assert client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}).status_code == 302
    page = client.get("/privacy/notice/accept/?next=/privacy/my-data/")
    csrf = page.context["csrf_token"]
    client.post("/privacy/notice/accept/", {"accept": "on", "notice": notice.pk, "next": "/privacy/my-data/"})
    client.get("/privacy/my-data/download/")
    client.post("/privacy/my-data/", {"action": "request", "kind": "erasure", "details": "Erase it."})
    retention_run()
    text = logged()
    assert "portal.requests" in text  # the request log was captured
    for secret in (PASSWORD, client.cookies["sessionid"].value, str(csrf), client.cookies["csrftoken"].value,
                   person.email, root.email):
        assert secret not in text


def test_log_retention_below_cert_in_minimum_is_refused(settings):
    assert settings.PRIVACY_LOG_RETENTION_DAYS == 365
    assert not [e for e in run_checks() if e.id == "privacy.E001"]
    settings.PRIVACY_LOG_RETENTION_DAYS = 90
    [error] = [e for e in run_checks() if e.id == "privacy.E001"]
    assert "must be kept at least 180 days" in error.msg


def test_no_retention_rule_is_about_logs():
    assert {rule.kind for rule in retention_rules()} == {
        "draft_application", "closed_application", "returned_application", "revoked_verification",
        "closed_verification_request", "unused_account"}
