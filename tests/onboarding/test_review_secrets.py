"""The competent authority's link is a secret (CONVENTIONS, Trust): it never reaches
a log line, the address the pages are served at, or a page that outlives it.

- the link's token moves into the session (its hash, not the token) and the browser
  goes on to addresses without it;
- through a whole review, and the link opened again once used, no log record of any
  logger (at DEBUG, SQL included) holds the token; the development server's access
  log and gunicorn's neither;
- a used link's page says only that it was used; the confirmation right after the
  decision, in the browser that decided, says what was decided;
- the link's pages are limited per link (from any address) and per client address
  (the real one behind trusted proxies).
"""

import http.cookiejar
import logging
import re
import secrets
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import connection
from django.test import Client
from django.utils import timezone

from onboarding.approval.tokens import LINK_RATE_PER_MINUTE, token_hash
from onboarding.models import ApprovalStep, Decision, Stage
from tests.factories import UserFactory
from tests.html_tree import html_problems
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    AUTHORITY_EMAIL,
    TRANSACTIONAL,
    latest_link,
    official_email_rules,
    submitted_application,
)
from tests.onboarding_data import VALID

pytestmark = pytest.mark.usefixtures("empty_cache")

REMARKS = "State the number of users correctly."
FORMAT = logging.Formatter("%(levelname)s %(name)s %(message)s")


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = {}

    def emit(self, record):
        self.records.setdefault(id(record), record)


@pytest.fixture
def all_log_records():
    """Every record of every logger at DEBUG (those that do not propagate too), SQL
    included; as each would be written: formatted, with its arguments and traceback."""
    keep = _Keep()
    loggers = [logging.getLogger()] + [
        logger for logger in list(logging.root.manager.loggerDict.values()) if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(keep)
    debug_cursor, connection.force_debug_cursor = connection.force_debug_cursor, True
    try:
        yield lambda: [f"{FORMAT.format(record)} {record.args!r}" for record in keep.records.values()]
    finally:
        connection.force_debug_cursor = debug_cursor
        for logger, level in saved:
            logger.removeHandler(keep)
            logger.setLevel(level)


def consume(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


# The link moves into the session ------------------------------------------------------------

@pytest.mark.django_db
def test_the_link_moves_into_the_session_and_out_of_the_address(officer):
    submitted_application(officer)
    path, token = latest_link()
    client = Client()
    response = client.get(path)
    # To the page of the link's step: reloaded, it shows that application whatever link is opened next.
    step = ApprovalStep.objects.get(stage=Stage.AUTHORITY)
    assert response.status_code == 302 and response["Location"] == f"/onboarding/review/?step={step.pk}"
    assert response["Referrer-Policy"] == "no-referrer"
    # The session keeps the token's hash, never the token.
    assert token not in str(dict(client.session)) and token_hash(token) in client.session.values()
    page = client.get("/onboarding/review/")
    html = page.content.decode()
    assert page.status_code == 200 and VALID["organisation"]["name"] in html
    assert token not in html
    step = ApprovalStep.objects.get(application__nodal_officer=officer, stage=Stage.AUTHORITY)
    assert f'href="/onboarding/review/{step.pk}/form.pdf"' in html and f'href="/onboarding/review/{step.pk}/letter/"' in html
    # Another browser, without the link in its session, gets nothing there.
    elsewhere = Client().get("/onboarding/review/")
    assert elsewhere.status_code == 404 and "Open the link from your email" in elsewhere.content.decode()
    assert html_problems(elsewhere.content.decode()) == []
    assert Client().get("/onboarding/review/form.pdf").status_code == 404
    assert Client().get(f"/onboarding/review/{step.pk}/form.pdf").status_code == 404


# No token in any log line --------------------------------------------------------------------

@pytest.mark.django_db
def test_no_log_record_holds_the_token_through_a_whole_review(officer, all_log_records):
    submitted_application(officer)
    path, token = latest_link()
    client = Client()
    assert client.get(path, follow=True).status_code == 200
    assert consume(client.get("/onboarding/review/letter/")).startswith(b"%PDF")
    assert consume(client.get("/onboarding/review/form.pdf")).startswith(b"%PDF")
    response = client.post("/onboarding/review/", {"decision": "return", "remarks": REMARKS})
    assert response.status_code == 302 and response["Location"] == "/onboarding/review/done/"
    assert client.get("/onboarding/review/done/").status_code == 200
    # The link opened again, an address under it that does not exist, a form posted to it
    # without its CSRF token: each is logged (410, 404, 403), with the path.
    assert Client().get(path).status_code == 410
    assert Client().get(f"{path}letter/").status_code == 404
    assert Client(enforce_csrf_checks=True).post(path, {"decision": "approve", "confirm": "on"}).status_code == 403

    lines = all_log_records()
    assert any("/onboarding/review/[redacted]/" in line for line in lines), lines
    assert any("UPDATE" in line and "onboarding_authoritytoken" in line for line in lines)  # SQL was captured
    leaks = [line for line in lines if token in line]
    assert leaks == []


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_the_development_servers_access_log_holds_no_token(all_log_records):
    submitted_application(UserFactory(email="nodal.officer@mahaagri.gov.in"))
    path, token = latest_link()
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())  # (portal/wsgi.py would set Django up again, and logging with it)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        with browser.open(base + path, timeout=30) as page:
            assert page.status == 200 and re.fullmatch(re.escape(base) + r"/onboarding/review/\?step=\d+", page.url)
        with browser.open(base + "/onboarding/review/form.pdf", timeout=30) as pdf:
            assert pdf.read().startswith(b"%PDF")
        with pytest.raises(urllib.error.HTTPError) as missing:
            browser.open(base + path + "letter/", timeout=30)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    lines = all_log_records()
    access = [line for line in lines if " django.server " in line]
    assert any('"GET /onboarding/review/[redacted]/ HTTP/1.1" 302' in line for line in access), access
    assert any(re.search(r'"GET /onboarding/review/\?step=\d+ HTTP/1.1" 200', line) for line in access), access
    assert [line for line in lines if token in line] == []


@pytest.mark.django_db
def test_gunicorns_access_log_holds_no_token(all_log_records):
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    token = secrets.token_urlsafe(32)
    loggers = [logging.getLogger("gunicorn.access"), logging.getLogger("gunicorn.error")]
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    cfg = Config()
    cfg.set("accesslog", "/dev/null")
    cfg.set("errorlog", "/dev/null")
    try:
        log = Logger(cfg)
        environ = {
            "REQUEST_METHOD": "GET", "RAW_URI": f"/onboarding/review/{token}/", "PATH_INFO": f"/onboarding/review/{token}/",
            "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7",
            "HTTP_REFERER": f"https://sandes.gov.in/onboarding/review/{token}/", "HTTP_USER_AGENT": "Mozilla/5.0",
        }
        request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
        response = SimpleNamespace(status="302 Found", sent=0, headers=[("Location", "/onboarding/review/")])
        log.access(response, request, environ, timedelta(milliseconds=12))
        log.error("Error handling request %s", f"/onboarding/review/{token}/letter/")
    finally:
        for logger, handlers, level, propagate in saved:
            for handler in list(logger.handlers):
                if handler not in handlers:
                    logger.removeHandler(handler)
                    handler.close()
            logger.setLevel(level)
            logger.propagate = propagate
    lines = all_log_records()
    access = [line for line in lines if " gunicorn.access " in line]
    assert len(access) == 1 and '"GET /onboarding/review/[redacted]/ HTTP/1.1" 302' in access[0], access
    assert "https://sandes.gov.in/onboarding/review/[redacted]/" in access[0]
    assert any(" gunicorn.error " in line and "/onboarding/review/[redacted]/letter/" in line for line in lines)
    assert [line for line in lines if token in line] == []


# A used link's page ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_used_links_page_shows_no_decision_remarks_or_names(officer):
    application = submitted_application(officer)
    path, _token = latest_link()
    deciding = Client()
    deciding.get(path)
    assert deciding.post("/onboarding/review/", {"decision": "reject", "remarks": REMARKS, "confirm": "on"}).status_code == 302
    # Right after deciding, in the browser that decided: what was decided.
    done = deciding.get("/onboarding/review/done/").content.decode()
    assert "Your decision was recorded" in done and "Reject" in done and REMARKS in done

    # The link opened again, by anyone holding the email: only that it was used.
    for client in (Client(), deciding):
        response = client.get(path)
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has already been used" in html and application.reference in html
        for secret in (REMARKS, "Reject", AUTHORITY_EMAIL, VALID["competent_authority"]["name"], officer.full_name,
                       officer.email, VALID["organisation"]["name"]):
            assert secret not in html, secret
    assert ApprovalStep.objects.get().decision == Decision.REJECT


@pytest.mark.django_db
def test_the_confirmation_is_only_for_the_browser_that_decided(officer):
    submitted_application(officer)
    path, _token = latest_link()
    deciding, onlooker = Client(), Client()
    deciding.get(path)
    onlooker.get(path)  # opened before the decision, from the same email
    deciding.post("/onboarding/review/", {"decision": "return", "remarks": REMARKS})
    later = onlooker.get("/onboarding/review/done/")
    assert later.status_code == 302 and later["Location"] == "/onboarding/review/"
    page = onlooker.get("/onboarding/review/")
    assert page.status_code == 410 and REMARKS not in page.content.decode()
    assert "Return for correction" not in page.content.decode() and "Returned for" not in page.content.decode()


# Rate limits -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_one_link_is_limited_per_minute_from_any_address(officer):
    submitted_application(officer)
    path, _token = latest_link()
    # The requests in one minute of the clock (the limit counts per minute: a run that
    # crossed from one to the next would start counting again halfway).
    with time_machine.travel(timezone.now().replace(second=1, microsecond=0) + timedelta(minutes=1), tick=False):
        authority = Client(REMOTE_ADDR="198.51.100.1")
        assert authority.get(path).status_code == 302  # the link, kept in this browser's session
        others = [Client(REMOTE_ADDR=f"198.51.100.{i}").get(path).status_code
                  for i in range(2, LINK_RATE_PER_MINUTE + 1)]
        assert others == [302] * (LINK_RATE_PER_MINUTE - 1)
        # Over the link's limit, from a new address as from one that has the link in its session.
        blocked = Client(REMOTE_ADDR="198.51.100.99").get(path)
        assert blocked.status_code == 429 and "Too many requests" in blocked.content.decode()
        assert authority.get("/onboarding/review/").status_code == 429
        assert authority.get("/onboarding/review/form.pdf").status_code == 429
    # Another link, from one of those addresses, is not affected.
    submitted_application(UserFactory(email="second.officer@mahaagri.gov.in"))
    other_path, _other = latest_link()
    assert Client(REMOTE_ADDR="198.51.100.2").get(other_path, follow=True).status_code == 200


@pytest.mark.django_db
def test_clients_behind_a_trusted_proxy_are_limited_by_their_own_address(officer, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 5
    submitted_application(officer)
    path, _token = latest_link()
    proxy = "10.0.0.2"
    guesser = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert [guesser.get(f"/onboarding/review/{secrets.token_urlsafe(32)}/").status_code for _ in range(5)] == [404] * 5
    assert guesser.get(path).status_code == 429
    # An authority behind the same proxy is counted on its own address.
    authority = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.20")
    assert authority.get(path, follow=True).status_code == 200
