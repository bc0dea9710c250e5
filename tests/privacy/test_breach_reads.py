"""The breach report's reads: the request log file (PORTAL_REQUEST_LOG_FILE, written by
the real middleware through LOGGING's file handler) and its rotations searched for the
pages about one record that an actor or an address opened, and the people they lead to."""

import grp
import gzip
import json
import logging.handlers
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from portal.client import client_digest
from portal.logfilters import RedactSecrets
from portal.logformat import JsonFormatter, RequestIdFilter
from portal.privacy.breach import breach_drafts, breach_findings
from tests.factories import OrganisationFactory, UserFactory, application_with_state
from tests.onboarding.approval_helpers import make_state_admin, make_superadmin, second_factor_given, state_step
from tests.verification.helpers import GovernmentProfileFactory, make_admin

pytestmark = pytest.mark.django_db

INTRUDER_IP = "203.0.113.9"


@pytest.fixture
def request_log_file(tmp_path, settings):
    """portal.requests written to a file as LOGGING writes it when PORTAL_REQUEST_LOG_FILE is set."""
    path = tmp_path / "portal-requests.log"
    handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("portal.requests")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    settings.REQUEST_LOG_FILE = str(path)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


@pytest.fixture
def reads(request_log_file):
    """An organisation admin's account, from one address, opens two members' records and a
    page about no one; a state administrator's account, from the same address, opens an
    application's step; an honest admin opens a third member's record from another."""
    start = timezone.now() - timedelta(minutes=5)
    organisation = OrganisationFactory()
    intruder = make_admin(organisation, email="intruder.admin@mha.gov.in")
    honest = make_admin(organisation, email="honest.admin@mha.gov.in")
    read = [GovernmentProfileFactory(organisation=organisation, user=UserFactory(email=f"read{n}@mha.gov.in"))
            for n in range(2)]
    other = GovernmentProfileFactory(organisation=organisation, user=UserFactory(email="other@mha.gov.in"))
    intruder_client = Client(REMOTE_ADDR=INTRUDER_IP)
    intruder_client.force_login(intruder)
    for profile in read:
        assert intruder_client.get(f"/verification/profiles/{profile.pk}/").status_code == 200
    assert intruder_client.get("/verification/queue/").status_code == 200
    assert intruder_client.get("/verification/profiles/999999/").status_code == 404  # not a read
    honest_client = Client(REMOTE_ADDR="10.0.0.5")
    honest_client.force_login(honest)
    assert honest_client.get(f"/verification/profiles/{other.pk}/").status_code == 200
    state_admin = make_state_admin("MH", email="state.admin@maharashtra.gov.in")
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    step = state_step(application_with_state(nodal_officer=officer, jurisdiction="MH"))
    state_client = Client(REMOTE_ADDR=INTRUDER_IP)
    state_client.force_login(state_admin)
    second_factor_given(state_client, state_admin)
    assert state_client.get(f"/onboarding/queue/{step.pk}/").status_code == 200
    return start


def test_the_request_log_line_carries_a_keyed_digest_of_the_client_address_not_the_address(request_log_file,
                                                                                            settings):
    Client(REMOTE_ADDR="192.0.2.10").get("/accounts/login/")
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    Client(REMOTE_ADDR="10.0.0.1").get("/accounts/login/", HTTP_X_FORWARDED_FOR="198.51.100.7")
    text = request_log_file.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["client"] for line in lines] == [client_digest("192.0.2.10"), client_digest("198.51.100.7")]
    assert re.fullmatch(r"[0-9a-f]{32}", lines[0]["client"]) and lines[0]["client"] != lines[1]["client"]
    assert "192.0.2.10" not in text and "198.51.100.7" not in text and "10.0.0.1" not in text
    settings.AUDIT_HMAC_KEY = "another key of at least thirty-two characters"
    assert client_digest("192.0.2.10") != lines[0]["client"]  # keyed: not found by hashing addresses


def test_an_actors_reads_lead_to_the_people_whose_pages_they_opened(reads):
    findings = breach_findings(start=reads, end=timezone.now() + timedelta(minutes=1), actor="Intruder.Admin@mha.gov.in")
    log = findings.log
    assert log.configured and log.files == 1 and log.reads == 3
    assert log.by_route == {"verification:profile": 2, "verification:queue": 1}
    assert findings.events == 0 and findings.record_types == ["verification.governmentprofile"]
    assert [email for _pk, email in findings.people] == ["read0@mha.gov.in", "read1@mha.gov.in"]
    report = breach_drafts(findings)["report"]
    assert "Pages read in the request log by that actor or address: 3" in report
    assert "verification:profile 2" in report


def test_opening_a_rosters_preview_or_downloading_its_refused_rows_is_a_read_of_the_roster(request_log_file):
    """The preview lists a roster's refused rows, the download all of them (people's names,
    addresses and mobile numbers): both are reads of the roster, as a member's record is."""
    from tests.verification.rosters.helpers import csv_bytes, person, upload

    start = timezone.now() - timedelta(minutes=5)
    organisation = OrganisationFactory()
    admin = make_admin(organisation, email="roster.admin@mha.gov.in")
    roster = upload(organisation, admin, csv_bytes([person(1, **{"Official email": "x@gmail.com"})]))
    client = Client(REMOTE_ADDR=INTRUDER_IP)
    client.force_login(admin)
    assert client.get(f"/verification/rosters/{roster.pk}/").status_code == 200
    assert client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").status_code == 200
    findings = breach_findings(start=start, end=timezone.now() + timedelta(minutes=1), actor=admin.email)
    assert findings.log.by_route == {"verification:roster": 1, "verification:roster_refusals": 1}
    assert findings.log.targets == {"rosters.rosterimport": {str(roster.pk)}}


def test_an_address_finds_every_account_that_used_it(reads):
    findings = breach_findings(start=reads, end=timezone.now() + timedelta(minutes=1), ip=INTRUDER_IP)
    assert findings.log.reads == 4 and findings.log.by_route["onboarding:queue_step"] == 1
    assert sorted(findings.record_types) == ["onboarding.approvalstep", "verification.governmentprofile"]
    assert sorted(email for _pk, email in findings.people) == [
        "nodal.officer@mahaagri.gov.in", "read0@mha.gov.in", "read1@mha.gov.in"]


def test_outside_the_period_nothing(reads):
    findings = breach_findings(start=reads - timedelta(days=2), end=reads - timedelta(days=1), ip=INTRUDER_IP)
    assert findings.log.reads == 0 and findings.people == []


def test_rotated_files_are_read_gzip_too_and_files_written_before_the_period_are_skipped(reads, request_log_file):
    rotated = Path(f"{request_log_file}-20261201.gz")
    with gzip.open(rotated, "wt", encoding="utf-8") as handle:
        handle.write(request_log_file.read_text())
    request_log_file.write_text("")
    old = Path(f"{request_log_file}-20261001.gz")
    with gzip.open(old, "wt", encoding="utf-8") as handle:
        handle.write(rotated.read_bytes().decode("latin-1"))  # would be unreadable garbage if it were read
    long_ago = (reads - timedelta(days=30)).timestamp()
    os.utime(old, (long_ago, long_ago))
    findings = breach_findings(start=reads, end=timezone.now() + timedelta(minutes=1), actor="intruder.admin@mha.gov.in")
    assert findings.log.files == 2 and findings.log.reads == 3


def test_the_line_budget_stops_the_search_and_says_so(reads):
    findings = breach_findings(start=reads, end=timezone.now() + timedelta(minutes=1), ip=INTRUDER_IP,
                               max_log_lines=2)
    assert findings.log.truncated and findings.log.lines == 2 and findings.log.reads <= 2
    assert "the line limit was reached" in breach_drafts(findings)["report"]


def test_without_a_file_the_report_says_reads_were_not_searched(settings):
    settings.REQUEST_LOG_FILE = ""
    findings = breach_findings(start=timezone.now() - timedelta(days=1), end=timezone.now())
    assert not findings.log.configured and findings.log.reads == 0
    assert "not searched (no request log file configured)" in breach_drafts(findings)["report"]


def test_the_command_reads_a_file_restored_from_a_backup(reads, request_log_file, settings, tmp_path):
    restored = tmp_path / "restored.log.gz"
    with gzip.open(restored, "wt", encoding="utf-8") as handle:
        handle.write(request_log_file.read_text())
    settings.REQUEST_LOG_FILE = ""
    out = StringIO()
    call_command("breach_report", "--from", reads.isoformat(), "--to", (timezone.now() + timedelta(minutes=1)).isoformat(),
                 "--ip", INTRUDER_IP, "--request-log", str(restored), stdout=out)
    text = out.getvalue()
    assert "Pages read (request log): 4 in " in text and "  verification:profile 2" in text
    assert "People affected: 3" in text and "nodal.officer@mahaagri.gov.in" in text
    with pytest.raises(CommandError, match="No such request log file"):
        call_command("breach_report", "--from", reads.isoformat(), "--to", timezone.now().isoformat(),
                     "--request-log", str(tmp_path / "missing.log"))


def test_the_page_shows_the_reads(reads):
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    response = client.get("/portal/privacy/breach/", {
        "start": timezone.localtime(reads).strftime("%Y-%m-%d %H:%M"),
        "end": timezone.localtime(timezone.now() + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M"),
        "actor": "intruder.admin@mha.gov.in", "ip": "", "second_language": "hi"})
    text = response.content.decode()
    assert response.status_code == 200 and "Pages read: 3 " in text and "read1@mha.gov.in" in text
    assert "other@mha.gov.in" not in text


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_pages_counts_are_grouped_as_every_figure_is_and_read_whatever_the_count(reads, request_log_file,
                                                                                       language):
    """The counts the page names (pages read, lines searched, reads of each page, people) are
    figures like the portal's others, "1,206", in each language; and one file searched is
    not "1 files", nor one read by a page "1 pages"."""
    lines = request_log_file.read_text().splitlines(keepends=True)
    request_log_file.write_text("".join(lines) + "".join(lines[:1]) * 1_200)  # a request of no record, many times
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    client.cookies["django_language"] = language
    response = client.get("/portal/privacy/breach/", {
        "start": timezone.localtime(reads).strftime("%Y-%m-%d %H:%M"),
        "end": timezone.localtime(timezone.now() + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M"),
        "actor": "intruder.admin@mha.gov.in", "ip": "", "second_language": "hi"})
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", response.content.decode())
    searched = len(lines) + 1_200
    assert f"{searched // 1000},{searched % 1000:03d}" in text and str(searched) not in text
    for wrong in (" 1 files", " 1 lines", "(1 files", "1 events"):
        assert wrong not in text, wrong


def test_logging_writes_the_request_lines_to_the_file_when_configured(tmp_path):
    """The real LOGGING of portal/settings.py, in a fresh process, with PORTAL_REQUEST_LOG_FILE set."""
    path = tmp_path / "requests.log"
    code = ("import django, logging; django.setup(); "
            "logging.getLogger('portal.requests').info('request', extra={'fields': {'path': '/x/', 'status': 200}})")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_REQUEST_LOG_FILE": str(path),
           "PORTAL_REQUEST_LOG": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=django_settings.BASE_DIR, timeout=60)
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["message"] == "request" and line["path"] == "/x/" and line["logger"] == "portal.requests"


def test_the_deploy_rotation_keeps_a_year_and_the_report_reads_across_it(reads, request_log_file, tmp_path):
    """deploy/logrotate-portal run by the real logrotate on the test's folder (the paths and the
    owner changed to the test's): the rotated file and the new one are both searched."""
    config = (Path(django_settings.BASE_DIR) / "deploy" / "logrotate-portal").read_text()
    kept = int(re.search(r"^\s*rotate (\d+)$", config, re.M).group(1))
    assert re.search(r"^\s*daily$", config, re.M) and kept >= django_settings.PRIVACY_LOG_RETENTION_DAYS
    owner, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    local = (config.replace("/var/log/portal/*.log", f"{request_log_file.parent}/*.log")
             .replace("portal portal", f"{owner} {group}"))
    assert local != config and "/var/log" not in local
    (tmp_path / "logrotate.conf").write_text(local)
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    subprocess.run([logrotate, "--force", "--state", str(tmp_path / "state"), str(tmp_path / "logrotate.conf")],
                   check=True, timeout=60)
    rotated = sorted(path.name for path in request_log_file.parent.iterdir() if path.name.startswith("portal-requests"))
    assert rotated == ["portal-requests.log", f"portal-requests.log-{time.strftime('%Y%m%d')}"], rotated
    assert request_log_file.stat().st_size == 0
    intruder = Client(REMOTE_ADDR=INTRUDER_IP)
    intruder.force_login(get_user_model().objects.get(email="intruder.admin@mha.gov.in"))
    profile = GovernmentProfileFactory(user=UserFactory(email="after.rotation@mha.gov.in"),
                                       organisation=OrganisationFactory())
    intruder.get(f"/verification/profiles/{profile.pk}/")  # 404: not their organisation's, so not a read
    assert request_log_file.stat().st_size > 0  # the handler reopened the new file
    findings = breach_findings(start=reads, end=timezone.now() + timedelta(minutes=1), ip=INTRUDER_IP)
    assert findings.log.files == 2 and findings.log.reads == 4


def _request_log_of(path, lines, start):
    """``lines`` successful reads of pages by many accounts, a second apart from ``start``,
    as the request log writes them."""
    with path.open("w") as log:
        for i in range(lines):
            stamp = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            log.write(json.dumps({"time": stamp, "level": "INFO", "logger": "portal.requests", "message": "request",
                                  "method": "GET", "path": "/monitoring/", "status": 200, "ms": 12.3,
                                  "user": 1 + i % 50, "client": "5f0c" * 8, "request_id": "a" * 32},
                                 separators=(",", ":")) + "\n")


def test_the_page_reads_the_request_log_for_its_own_time_and_says_its_findings_are_incomplete(
        tmp_path, settings, monkeypatch):
    """The page reads the request log inside the web request, up to a line a few tens of
    microseconds when no actor or address narrows the search: the command's budget
    (PRIVACY_BREACH_LOG_MAX_LINES, 5,000,000 lines) would take minutes, and the web
    worker's timeout (GUNICORN_TIMEOUT, 60 s) would end the request with a 502. The page
    stops at its own PRIVACY_BREACH_PAGE_LOG_SECONDS, says its findings are incomplete and
    how the command gives the whole answer; the command reads on. A clock that moves a
    second each time it is read (looked at every 10 lines here) stands in for a slow log."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from portal.privacy import breach_reads

    path = tmp_path / "portal-requests.log"
    _request_log_of(path, 200, datetime(2026, 1, 1, tzinfo=UTC))
    settings.REQUEST_LOG_FILE = str(path)
    settings.PRIVACY_BREACH_PAGE_LOG_SECONDS = 3
    clock = iter(range(1_000_000))
    monkeypatch.setattr(breach_reads, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    monkeypatch.setattr(breach_reads, "DEADLINE_LOOKED_AT_EVERY", 10)
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    response = client.get("/portal/privacy/breach/", {"start": "2026-01-01 05:30", "end": "2026-01-02 05:30",
                                                      "actor": "", "ip": "", "second_language": "hi"})
    text = " ".join(response.content.decode().split())
    # The deadline is taken at 0 (0 + 3 seconds); the clock reads 1, 2, 3 at lines 0, 10
    # and 20, and 4 at line 30: past it, the page stops with 30 lines read.
    assert response.status_code == 200 and "Pages read: 30 (lines searched: 30; files: 1)." in text
    assert ("The findings are incomplete: the page stopped reading the request log after 3 seconds, at line 30, "
            "before the end of the period.") in text
    assert "manage.py breach_report --from 2026-01-01T05:30+05:30 --to 2026-01-02T05:30+05:30 --language hi" in text
    out = StringIO()
    call_command("breach_report", "--from", "2026-01-01T05:30+05:30", "--to", "2026-01-02T05:30+05:30", stdout=out)
    # One file is "1 file", never "1 files" (the counts are said by plural messages).
    assert "Pages read (request log): 200 in 200 lines of 1 file\n" in out.getvalue()
    out = StringIO()
    call_command("breach_report", "--from", "2026-01-01T05:30+05:30", "--to", "2026-01-02T05:30+05:30",
                 "--log-max-lines", "1", stdout=out)
    assert "Pages read (request log): 1 in 1 line of 1 file (line limit reached" in out.getvalue()
    # The line budget reached before the time (a search an actor narrows reads lines fast).
    settings.PRIVACY_BREACH_PAGE_LOG_SECONDS, settings.PRIVACY_BREACH_LOG_MAX_LINES = 1000, 25
    response = client.get("/portal/privacy/breach/", {"start": "2026-01-01 05:30", "end": "2026-01-02 05:30",
                                                      "actor": "1", "ip": "", "second_language": "mr"})
    text = " ".join(response.content.decode().split())
    assert ("The findings are incomplete: the line limit (25 lines) was reached before the end of the period. "
            in text and "with a larger --log-max-lines." in text)
    assert "manage.py breach_report --from 2026-01-01T05:30+05:30 --to 2026-01-02T05:30+05:30 --actor 1 " in text
