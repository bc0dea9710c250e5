"""What an officer's input can cost: every PDF is rendered in a child process with
limits of time and memory, one render per application version at a time.

The crafted draft of the issue (5,000 line breaks in every multi-line field,
right-to-left and zero-width text in every other one) rendered for over 14 minutes
in the request and grew the process to 3.1 GB. It can no longer be typed into the
form (test_input_bounds.py), so it is written to the database here, as a draft
saved before the bounds would be. Under limits the test sets, the person who asked
for the PDF is answered within them, with a message in their language on the page
they came from; nothing is stored; the next render works.
"""

import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django import forms
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from onboarding.application import pdf
from onboarding.application.forms import SECTION_FORMS
from onboarding.approval import letters, tasks
from onboarding.approval import services as approvals
from onboarding.approval.letters import approval_letter_issue
from onboarding.approval.tasks import approval_letters_issue
from onboarding.models import Application, ApplicationDocument, ApprovalStep, DocumentKind, Stage
from portal.audit.models import AuditAction, AuditEvent
from portal.limits import shown_from
from tests.factories import ApplicationFactory, OrganisationFactory, PlatformRoleFactory
from tests.html_tree import page
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    TRANSACTIONAL,
    authority_approved,
    latest_link,
    make_state_admin,
    official_email_rules,
    run_beat_jobs,
    signed_in,
    state_step,
    submitted_application,
    with_totp,
)
from tests.onboarding.form_helpers import new_application, post_section, reload, valid
from tests.onboarding_data import VALID

TIMEOUT, MEMORY_MB = 2, 300

NOT_MADE_EN = "The PDF of this application could not be prepared"
NOT_MADE_HI = "इस आवेदन की PDF तैयार नहीं की जा सकी"
NOT_MADE_MR = "या अर्जाची PDF तयार करता आली नाही"
BUSY_EN = "The PDF of this application is being prepared. Try again in a minute."

RTL_ZERO_WIDTH = ("\u202e\u200bمرحبا\u200f\u2067\u200d" * 700)[:5000]


def make_hostile(application):
    """Every multi-line answer 5,000 line breaks, every other answer 5,000 characters
    of right-to-left and zero-width text: what a draft could hold before the bounds."""
    data = {}
    for section, form_class in SECTION_FORMS.items():
        values = {}
        for name, field in form_class().fields.items():
            if isinstance(field, (forms.MultipleChoiceField, forms.BooleanField)):
                continue
            values[name] = "\n" * 5000 if isinstance(field.widget, forms.Textarea) else RTL_ZERO_WIDTH
        data[section.value] = values
    Application.objects.filter(pk=application.pk).update(data=data, version=application.version + 1)
    return reload(application)


@pytest.fixture
def limits(settings):
    settings.PDF_RENDER_TIMEOUT_SECONDS = TIMEOUT
    settings.PDF_RENDER_MEMORY_MB = MEMORY_MB
    # Ready, as a web worker's is before it serves (a test before may have had it stopped).
    pdf.render_server_start(wait=60)
    return settings


def alerts(response):
    return [node.squashed_text() for node in page(response).iter() if "alert" in node.get("class", "").split()]


def stopped_get(client, caplog, url, **extra):
    """GET ``url``, asserting that the render it asked for was stopped at the limits the
    test set (the server's log says so), not finished or failed some other way."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="onboarding.application.pdf"):
        response = client.get(url, **extra)
    stopped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("PDF render stopped at its")]
    assert stopped == [f"PDF render stopped at its time limit ({TIMEOUT} s)"] or (
        len(stopped) == 1 and stopped[0].endswith(f"{MEMORY_MB} MB, {TIMEOUT} s)")), stopped
    return response


@pytest.mark.django_db
def test_the_hostile_draft_is_refused_within_the_limits_with_a_message_on_the_page_the_officer_came_from(
    limits, officer_client, officer, caplog
):
    application = make_hostile(new_application(officer))
    task_list = f"http://testserver/onboarding/{application.pk}/tasks/"

    response = stopped_get(officer_client, caplog, f"/onboarding/{application.pk}/form.pdf", HTTP_REFERER=task_list)
    assert response.status_code == 302 and response["Location"] == task_list
    messages = alerts(officer_client.get(task_list))
    assert any(message.startswith(NOT_MADE_EN) for message in messages), messages

    # In the officer's language; without a Referer (a bookmarked link), on the application's page:
    # the same version is not laid out again (OVER_LIMIT_KEPT_SECONDS), the refusal is the same.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="onboarding.application.pdf"):
        response = officer_client.get(f"/onboarding/{application.pk}/form.pdf", HTTP_ACCEPT_LANGUAGE="hi")
    assert not [r for r in caplog.records if r.getMessage().startswith("PDF render stopped at its")]
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    messages = alerts(officer_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="hi"))
    assert any(message.startswith(NOT_MADE_HI) for message in messages), messages

    assert not ApplicationDocument.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).exists()


@pytest.mark.django_db
def test_a_referer_of_another_site_is_not_where_the_refusal_sends_the_officer(limits, officer_client, officer):
    application = make_hostile(new_application(officer))
    response = officer_client.get(f"/onboarding/{application.pk}/form.pdf", HTTP_REFERER="https://evil.example/phish")
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"


@pytest.mark.django_db
def test_the_competent_authority_is_told_on_the_review_page_when_the_pdf_cannot_be_made(limits, officer, caplog):
    application = make_hostile(submitted_application(officer))
    client = Client(HTTP_ACCEPT_LANGUAGE="mr")
    # The link from the email, followed as a browser does, to the review page and its link to the PDF.
    review = client.get(latest_link()[0], follow=True)
    assert review.status_code == 200
    [pdf_url] = [a.get("href") for a in page(review).find_all("a") if (a.get("href") or "").endswith("form.pdf")]

    response = stopped_get(client, caplog, pdf_url)
    # Back to the page of the same application (the browser may hold several links).
    step = ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY)
    assert review.redirect_chain == [(f"/onboarding/review/?step={step.pk}", 302)]
    assert response.status_code == 302 and response["Location"] == f"/onboarding/review/?step={step.pk}"
    assert response["Referrer-Policy"] == "same-origin"  # the page's address stays on the site
    messages = alerts(client.get(response["Location"]))
    assert any(message.startswith(NOT_MADE_MR) for message in messages), messages
    assert not ApplicationDocument.objects.filter(application=application).exists()


def soft_hyphen_answers(soft="i\u00ad"):
    """Every text answer the form takes as typed, a letter and a soft hyphen (U+00AD) again
    and again up to its field's length: valid, submitted like any other."""
    keep = ("pin_code", "mobile", "landline", "website", "email_domains", "short_code", "tech_mobile")
    data = {}
    for section, values in VALID.items():
        fields = SECTION_FORMS[next(s for s in SECTION_FORMS if s.value == section)]().fields
        data[section] = {
            name: ((soft * 1000)[:getattr(fields[name], "max_length", None) or 150]
                   if isinstance(fields.get(name), forms.CharField) and not isinstance(fields[name], forms.EmailField)
                   and isinstance(value, str) and value and name not in keep else value)
            for name, value in values.items()}
    return data


@pytest.mark.django_db
def test_a_form_of_soft_hyphens_is_laid_out_within_the_default_limit(settings, officer):
    """Soft hyphens typed in every answer: the layout tried a break at each one, and such a
    form, valid and submitted, went over the render's limit (about 40 s of a 10 s limit) in
    every language for everyone. The form's PDF hyphenates nothing."""
    settings.PDF_RENDER_TIMEOUT_SECONDS = 10
    pdf.render_server_start(wait=60)
    application = submitted_application(officer, soft_hyphen_answers())
    for language in ("en", "mr"):
        content = pdf.render_pdf(pdf.application_form_html(reload(application), language))
        assert content.startswith(b"%PDF-")


@pytest.mark.django_db
def test_a_version_over_the_limits_is_not_laid_out_again_at_each_download_of_the_link(limits, officer, caplog):
    """The competent authority's renders are counted against nobody (no account), and a
    render stopped at its limit stores nothing: each download of the link laid the same
    version out again, to the limit. Once over the limits, the version is not laid out again
    in that language for a while (OVER_LIMIT_KEPT_SECONDS), then tried again."""
    make_hostile(submitted_application(officer))
    client = Client()
    review = client.get(latest_link()[0], follow=True)
    [pdf_url] = [a.get("href") for a in page(review).find_all("a") if (a.get("href") or "").endswith("form.pdf")]
    stopped_get(client, caplog, pdf_url)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="onboarding.application.pdf"):
        for _ in range(3):
            response = client.get(pdf_url)
            assert response.status_code == 302
            assert any(message.startswith(NOT_MADE_EN) for message in alerts(client.get(response["Location"])))
    assert [r for r in caplog.records if r.getMessage().startswith("PDF render stopped at its")] == []
    with time_machine.travel(timezone.now() + timedelta(seconds=pdf.OVER_LIMIT_KEPT_SECONDS + 60)):
        stopped_get(client, caplog, pdf_url)


@pytest.mark.django_db
def test_a_readers_download_of_a_version_over_the_limits_is_not_laid_out_again_either(limits, caplog):
    """A reader's PDF (an auditor's) is rendered at each download and never stored: one that
    went over the limits was laid out again at the next, while the officer's and the
    authority's were not."""
    application = make_hostile(ApplicationFactory(status="with_state"))
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)
    client = signed_in(auditor)
    url = f"/onboarding/{application.pk}/form.pdf"
    stopped_get(client, caplog, url)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="onboarding.application.pdf"):
        messages = alerts(client.get(url, follow=True))
    assert not [r for r in caplog.records if r.getMessage().startswith("PDF render stopped at its")]
    assert any(message.startswith(NOT_MADE_EN) for message in messages), messages


@pytest.mark.django_db
def test_the_filled_form_renders_under_the_same_memory_limit(settings, officer_client, officer):
    """The hostile draft is refused for what it holds, not because the limits leave no room."""
    settings.PDF_RENDER_MEMORY_MB = MEMORY_MB
    application = submitted_application(officer)
    response = officer_client.get(f"/onboarding/{application.pk}/form.pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_the_memory_limit_stops_a_render_that_needs_more(settings, caplog):
    settings.PDF_RENDER_TIMEOUT_SECONDS = 60
    settings.PDF_RENDER_MEMORY_MB = 240
    html = "<html><body>" + "<div>x</div>" * 100_000 + "</body></html>"  # about 1 GB to lay out
    with pytest.raises(pdf.PdfNotRendered) as refused:
        pdf.render_pdf(html)
    assert refused.value.reason == pdf.OVER_LIMIT
    assert "out of memory" in caplog.text  # stopped by the memory limit, not the time limit


def test_a_failure_at_the_memory_limit_counts_as_the_limit():
    """A C library refused memory may report it as another error (SystemError): the render
    is then over its limit when the process's address space reached the limit."""
    from onboarding.application.pdf_worker import address_space_peak, reached_memory_limit

    assert reached_memory_limit(1)  # this process has more than a megabyte of address space
    assert not reached_memory_limit(1_000_000)
    # Not when the peak is the one the process started with (a forked child's is its parent's).
    assert not reached_memory_limit(1, peak_before=address_space_peak())


def test_the_time_limit_stops_the_child_and_the_parent_stays_small(settings, caplog):
    settings.PDF_RENDER_TIMEOUT_SECONDS = 1
    html = "<html><body>" + "<p>\u202eمرحبا\u200b" + "<br>" * 20000 + "</p>" * 20 + "</body></html>"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(pdf.PdfNotRendered) as refused:
        pdf.render_pdf(html)
    assert refused.value.reason == pdf.OVER_LIMIT
    assert ("PDF render stopped at its time limit (1 s)" in caplog.text
            or f"s; {settings.PDF_RENDER_MEMORY_MB} MB, 1 s)" in caplog.text), caplog.text
    # The layout happened in the child: this process's peak did not grow (kB on Linux).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50 * 1024


def environment_of(pid):
    return dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)


def test_the_render_processes_get_no_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "not-for-the-child")
    monkeypatch.setenv("DATABASE_URL", "postgres://portal:password@db/portal")
    # The render server, started afresh with this environment: its children inherit its own.
    pdf.render_server_stop()
    assert pdf.render_pdf("<html><body><p>Hello</p></body></html>").startswith(b"%PDF-")
    seen = environment_of(pdf._server.process.pid)
    assert "DJANGO_SECRET_KEY" not in seen and "DATABASE_URL" not in seen
    assert seen["MALLOC_ARENA_MAX"] == "2"

    # A render in a process of its own (the server busy with another thread's render).
    alone = {}
    run = subprocess.run

    def spy(*args, **kwargs):
        alone.update(kwargs["env"])
        return run(*args, **kwargs)

    monkeypatch.setattr(pdf.subprocess, "run", spy)
    with pdf._server.lock:
        assert pdf.render_pdf("<html><body><p>Hello</p></body></html>").startswith(b"%PDF-")
    assert "DJANGO_SECRET_KEY" not in alone and "DATABASE_URL" not in alone
    assert alone["MALLOC_ARENA_MAX"] == "2"


# The render server ------------------------------------------------------------------------

HELLO = "<html><body><p>Hello</p></body></html>"
# With the portal's fonts, which WeasyPrint writes to a temporary folder for fontconfig.
PDF_WITH_FONTS = ('<html><head><link rel="stylesheet" href="css/pdf-fonts.css"></head>'
                  '<body style="font-family: \'Noto Sans Devanagari\'"><p>आवेदन पत्र</p></body></html>')
SLOW = "<html><body>" + "<p>\u202eمرحبا\u200b" + "<br>" * 20000 + "</p>" * 20 + "</body></html>"


def test_renders_reuse_one_server_and_each_runs_in_a_child_of_its_own():
    pdf.render_server_stop()
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    server = pdf._server.process.pid
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    assert pdf._server.process.pid == server
    # The server holds no thread when it forks, and no child is left behind.
    status = Path(f"/proc/{server}/status").read_text()
    assert "Threads:\t1\n" in status
    assert not Path(f"/proc/{server}/task/{server}/children").read_text().split()


def test_a_web_worker_starts_its_server_ready_before_its_first_render():
    pdf.render_server_stop()
    pdf.render_server_start(wait=60)
    assert pdf._server.ready  # WeasyPrint imported, a first page laid out
    server = pdf._server.process.pid
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    assert pdf._server.process.pid == server


def test_a_server_stopped_at_the_time_limit_is_replaced_by_the_next_render(settings):
    pdf.render_server_stop()
    settings.PDF_RENDER_TIMEOUT_SECONDS = 1
    # A new server's import and first layout (about a second) are not counted in the render's.
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    stopped = pdf._server.process.pid
    with pytest.raises(pdf.PdfNotRendered):
        pdf.render_pdf("<html><body>" + "<p>\u202eمرحبا\u200b" + "<br>" * 20000 + "</p>" * 20 + "</body></html>")
    assert not Path(f"/proc/{stopped}").exists() or "zombie" in Path(f"/proc/{stopped}/status").read_text()
    settings.PDF_RENDER_TIMEOUT_SECONDS = 30
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    assert pdf._server.process.pid != stopped


def files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*") if path.is_file())


def test_renders_leave_no_temporary_files_behind(settings, monkeypatch, tmp_path):
    """WeasyPrint writes each render's fonts (about 1.5 MB) to a folder of its own and
    removes it only when the render's objects are collected, which a child's ``os._exit``
    or a limit's signal never does: every render would leave its fonts on the web host."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this process's temporary folder
    pdf.render_server_stop()
    for _ in range(3):
        assert pdf.render_pdf(PDF_WITH_FONTS).startswith(b"%PDF-")
    folder = Path(pdf._server.folder)
    assert folder.parent == tmp_path
    # The server keeps its children's temporary files in a folder of its own in the one it
    # was given, and removes each child's after it ended.
    assert [path.name[:7] for path in folder.iterdir()] == ["render-"]
    assert files_under(folder) == []
    # A server stopped at the time limit (its child killed mid-render): its folder goes with it.
    settings.PDF_RENDER_TIMEOUT_SECONDS = 1
    with pytest.raises(pdf.PdfNotRendered):
        pdf.render_pdf(SLOW)
    assert not folder.exists()
    # A render in a process of its own (the server busy with another thread's render).
    settings.PDF_RENDER_TIMEOUT_SECONDS = 30
    alone = []
    run = subprocess.run

    def spy(*args, **kwargs):
        alone.append(Path(kwargs["env"]["TMPDIR"]))
        return run(*args, **kwargs)

    monkeypatch.setattr(pdf.subprocess, "run", spy)
    with pdf._server.lock:
        assert pdf.render_pdf(PDF_WITH_FONTS).startswith(b"%PDF-")
    assert [path.parent for path in alone] == [tmp_path]
    # A server whose process ended without stopping it (a Celery pool's child ends with
    # os._exit) sees its input closed and removes the folder itself.
    assert pdf.render_pdf(PDF_WITH_FONTS).startswith(b"%PDF-")
    folder, process = Path(pdf._server.folder), pdf._server.process
    process.stdin.close()
    process.wait(timeout=30)
    assert not folder.exists()
    pdf.render_server_stop()
    # And a server that stops takes its folder with it: nothing is left.
    assert pdf.render_pdf(PDF_WITH_FONTS).startswith(b"%PDF-")
    pdf.render_server_stop()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_a_server_stopped_at_the_time_limit_is_replaced_at_once_not_at_the_next_render(limits, officer, caplog):
    """Its replacement imports WeasyPrint and lays out its first page while nobody waits:
    the next render, a minute later, does not pay for it. (The wall clock and the
    processor limits are the same number of seconds: when the processor limit stops the
    render's child first, the server itself was not stopped, and serves on.)"""
    application = make_hostile(new_application(officer))
    stopped = pdf._server.process.pid
    with caplog.at_level("WARNING", logger=pdf.logger.name), pytest.raises(pdf.PdfNotRendered):
        pdf.render_pdf(pdf.application_form_html(application))
    replacement = pdf._server.process
    at_the_wall_clock = any("stopped at its time limit" in record.getMessage() for record in caplog.records)
    assert replacement is not None and (replacement.pid != stopped) == at_the_wall_clock
    assert replacement.poll() is None
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    assert pdf._server.process is replacement


def test_a_server_that_died_is_replaced_and_the_render_still_made(caplog):
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    dead = pdf._server.process.pid
    os.kill(dead, signal.SIGKILL)
    pdf._server.process.wait()
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")  # a new server
    assert pdf._server.process.pid != dead
    # One that dies after it was found running: this render is made in a process of its own.
    process = pdf._server.process
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.poll = lambda: None  # as it answered just before it died
    assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
    assert "rendering in a process of its own" in caplog.text
    assert pdf._server.process is None  # the next render starts a new one


def python_run(code: str) -> subprocess.CompletedProcess:
    """``code`` run by a Python of its own (with this run's settings module), as a worker would."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=django_settings.BASE_DIR, check=False)


FORKED_COPY = """
import os, sys
import django
django.setup()
from onboarding.application import pdf
HELLO = "<html><body><p>Hello</p></body></html>"
assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
parents = pdf._server.process.pid
pid = os.fork()
if pid == 0:  # the child: exit status 0 only if it rendered through a server of its own
    code = 1
    try:
        if pdf._server.process is None and pdf.render_pdf(HELLO).startswith(b"%PDF-"):
            code = 0 if pdf._server.process.pid != parents else 2
        pdf.render_server_stop()
    finally:
        os._exit(code)
_pid, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert pdf._server.process.pid == parents
assert pdf.render_pdf(HELLO).startswith(b"%PDF-")
print("ok")
"""


def test_a_forked_copy_of_the_process_starts_a_server_of_its_own():
    """A Celery pool forks its children from a process that may have a server: a child
    does not talk to its parent's, and the parent's keeps working. (In a Python of its
    own: this one has threads, which fork() does not copy.)"""
    result = python_run(FORKED_COPY)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_a_server_stops_when_its_process_is_gone():
    """A worker that exits (or is killed: gunicorn's timeout, max_requests) leaves no server behind."""
    code = ("import os, django; django.setup(); from onboarding.application import pdf; "
            "pdf.render_server_start(wait=60); print(pdf._server.process.pid, flush=True); os._exit(0)")
    result = python_run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    server = Path(f"/proc/{int(result.stdout.strip())}/status")

    def running():
        try:
            return "zombie" not in server.read_text()
        except OSError:  # gone
            return False

    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()


def test_renders_from_two_threads_at_once_are_both_made():
    results = []
    threads = [threading.Thread(target=lambda: results.append(pdf.render_pdf(HELLO))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and all(result.startswith(b"%PDF-") for result in results)


# One render per version at a time -------------------------------------------------------

@pytest.mark.django_db
def test_a_request_for_a_version_being_rendered_waits_briefly_then_is_told_to_try_again(settings, officer_client, officer):
    settings.PDF_RENDER_WAIT_SECONDS = 0.5
    application = new_application(officer)
    url = f"/onboarding/{application.pk}/form.pdf"
    with pdf.render_lock(f"{DocumentKind.FORM_PDF}:{application.pk}:{application.version}:en") as held:
        assert held
        started = time.monotonic()
        response = officer_client.get(url)
        assert time.monotonic() - started >= 0.5  # it waited PDF_RENDER_WAIT_SECONDS first
        assert response.status_code == 302
        assert BUSY_EN in alerts(officer_client.get(response["Location"]))
        assert not ApplicationDocument.objects.exists()
        # Another version is not held by this lock.
        with pdf.render_lock(f"{DocumentKind.FORM_PDF}:{application.pk}:{application.version + 1}:en") as other:
            assert other
        # Nor is the same version in the other language.
        with pdf.render_lock(f"{DocumentKind.FORM_PDF}:{application.pk}:{application.version}:hi") as other:
            assert other
    assert officer_client.get(url).status_code == 200  # released: rendered now


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_two_requests_for_the_same_version_render_it_once(settings, require_postgresql, officer, monkeypatch):
    settings.PDF_RENDER_WAIT_SECONDS = 30
    application = new_application(officer)
    results, errors, renders = [], [], []
    render = pdf.render_pdf
    monkeypatch.setattr(pdf, "render_pdf", lambda html: renders.append(1) or render(html))

    def download():
        try:
            results.append(pdf.application_form_pdf(application=reload(application), actor=officer).pk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=download) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert len(renders) == 1  # the second request waited for the first one's PDF
    assert ApplicationDocument.objects.filter(application=application).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).count() == 1


# Fresh renders per account an hour --------------------------------------------------------

TOO_MANY_EN = "You have reached the most PDFs the portal prepares for one person in an hour (3)"
TOO_MANY_HI = "आप एक घंटे में एक व्यक्ति के लिए पोर्टल द्वारा तैयार की जाने वाली अधिकतम PDF (3) तक पहुँच गए हैं"


@pytest.mark.django_db
def test_an_officer_alternating_saves_and_downloads_gets_at_most_pdf_renders_per_hour_renders(
    limits, officer_client, officer
):
    """Each save of a section is a new version, whose PDF is rendered afresh (a child
    process of up to 10 s and 512 MB): saving and downloading in a loop kept the portal
    rendering without end. Now the officer gets PDF_RENDERS_PER_HOUR fresh PDFs an hour;
    the next download is refused on the page they came from, saying from when they may
    ask again; a PDF already made is still served, and an hour later they render again."""
    limits.PDF_RENDERS_PER_HOUR = 3
    # Ordinary drafts, rendered to the end: the time limit of a normal render, not the
    # tight one the stopped renders are tested with (on a loaded machine one took over 2 s).
    limits.PDF_RENDER_TIMEOUT_SECONDS = 10
    application = new_application(officer)
    url, task_list = f"/onboarding/{application.pk}/form.pdf", f"http://testserver/onboarding/{application.pk}/tasks/"
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        for i in range(3):
            post_section(officer_client, application, "organisation", valid("organisation", name=f"Directorate {i}"))
            assert officer_client.get(url).status_code == 200
        assert officer_client.get(url).status_code == 200  # the stored PDF: not rendered again, not counted
        post_section(officer_client, application, "organisation", valid("organisation", name="Directorate 3"))
        response = officer_client.get(url, HTTP_REFERER=task_list)
        assert response.status_code == 302 and response["Location"] == task_list
        [message] = [m for m in alerts(officer_client.get(task_list)) if m.startswith(TOO_MANY_EN)]
        assert message.endswith(f"You can ask for another from {shown_from(started + timedelta(hours=1))}.")
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).count() == 3
    assert reload(application).data["organisation"]["name"] == "Directorate 3"  # what was typed is kept

    with time_machine.travel(started + timedelta(hours=1, seconds=1), tick=False):
        assert officer_client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).count() == 4


@pytest.mark.django_db
def test_a_render_stopped_at_its_limits_counts_as_one(limits, officer_client, officer, caplog):
    """The costliest render, the one stopped at the time or memory limit, writes nothing:
    it counts all the same, or downloading a hostile draft in a loop would be free."""
    limits.PDF_RENDERS_PER_HOUR = 1
    application = make_hostile(new_application(officer))
    url = f"/onboarding/{application.pk}/form.pdf"
    assert any(m.startswith(NOT_MADE_EN) for m in alerts(officer_client.get(url, follow=True)))
    make_hostile(application)  # a new version: one that went over the limits is not tried again a while
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="onboarding.application.pdf"):
        messages = alerts(officer_client.get(url, follow=True))
    assert not caplog.records  # refused before a render began: no render to stop or log
    assert any(m.startswith("You have reached the most PDFs the portal prepares for one person in an hour (1)") for m in messages), messages


@pytest.mark.django_db
def test_a_reader_gets_at_most_pdf_renders_per_hour_renders_and_reading_still_writes_nothing(limits):
    """A reader's PDF (an auditor's, an administrator's) is rendered at each download and
    never stored: an auditor could keep the portal rendering by downloading again and
    again. Now the next one is refused on the application's page, in their language, and
    still nothing is written to the database."""
    limits.PDF_RENDERS_PER_HOUR = 3
    # Ordinary drafts, rendered to the end: the time limit of a normal render, not the
    # tight one the stopped renders are tested with (on a loaded machine one took over 2 s).
    limits.PDF_RENDER_TIMEOUT_SECONDS = 10
    application = ApplicationFactory(status="with_state")
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)
    client = signed_in(auditor)
    events = AuditEvent.objects.count()
    url = f"/onboarding/{application.pk}/form.pdf"
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="hi")
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    messages = alerts(client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="hi"))
    assert any(message.startswith(TOO_MANY_HI) for message in messages), messages
    assert not ApplicationDocument.objects.exists() and AuditEvent.objects.count() == events


# The approval letter ----------------------------------------------------------------------

@pytest.mark.django_db
def test_an_approval_letter_that_goes_over_the_limits_is_not_issued_and_the_beat_job_issues_it_later(
    settings, officer, django_capture_on_commit_callbacks, caplog
):
    application = authority_approved(officer)
    settings.PDF_RENDER_TIMEOUT_SECONDS = 0.05  # no render finishes in time
    with django_capture_on_commit_callbacks(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    application.refresh_from_db()
    assert application.status == "approved"
    assert approval_letter_issue(application_id=application.pk) is None
    assert not ApplicationDocument.objects.filter(kind=DocumentKind.APPROVAL_LETTER).exists()
    assert any(record.levelname == "ERROR" and "approval letter" in record.getMessage() for record in caplog.records)

    settings.PDF_RENDER_TIMEOUT_SECONDS = 30
    assert run_beat_jobs()["letters"] == 1
    assert sorted(ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER)
                  .values_list("language", flat=True)) == ["en", "mr"]  # one letter in each language


@pytest.mark.django_db
def test_an_approval_letter_rendered_at_a_download_counts_against_pdf_renders_per_hour(
    settings, officer, officer_client, django_capture_on_commit_callbacks, monkeypatch
):
    """A letter issued before letters came in two languages is rendered in the second one
    when it is downloaded; a render that failed was tried again at every download, none of
    them counted: any viewer could keep the portal rendering (up to 10 s and 512 MB each).
    Those renders now count against the account's PDF_RENDERS_PER_HOUR as the form PDF's
    do; past it the download is refused on the application's page, saying from when."""
    application = authority_approved(officer)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER,
                                       language="mr").delete()  # issued in English only
    settings.PDF_RENDERS_PER_HOUR = 2
    renders = []

    def render(html):
        renders.append(html)
        raise pdf.PdfNotRendered(pdf.OVER_LIMIT)  # stopped at its limits, the costliest

    monkeypatch.setattr(letters, "render_pdf", render)
    url, detail = f"/onboarding/{application.pk}/approval-letter.pdf?language=mr", f"/onboarding/{application.pk}/"
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        for _ in range(2):
            response = officer_client.get(url)
            assert response.status_code == 302 and response["Location"] == detail
            assert any(m.startswith(NOT_MADE_EN) for m in alerts(officer_client.get(detail)))
        response = officer_client.get(url)
        assert response.status_code == 302 and response["Location"] == detail
        [message] = [m for m in alerts(officer_client.get(detail))
                     if m.startswith("You have reached the most PDFs the portal prepares for one person in an hour (2)")]
        assert message.endswith(f"You can ask for another from {shown_from(started + timedelta(hours=1))}.")
    assert len(renders) == 2
    # The English letter, stored, is served without a render and without counting.
    assert officer_client.get(f"/onboarding/{application.pk}/approval-letter.pdf").status_code == 200
    assert len(renders) == 2


@pytest.mark.django_db
def test_letters_that_cannot_be_rendered_do_not_keep_a_later_approval_from_its_letter(officer, monkeypatch, caplog):
    """The beat job tried the pending letters oldest approval first, a run's worth
    (LETTERS_PER_RUN) at a time: as many letters that went over the render limits at every
    try were tried first at every run, and no later approval whose queuing was lost got its
    letter again. A letter that fails is now tried after those never tried, the one that
    failed longest ago first; and it is issued once it can be rendered."""
    monkeypatch.setattr(tasks, "LETTERS_PER_RUN", 3)
    day_ago = timezone.now() - timedelta(days=1)
    stuck = {ApplicationFactory(status="approved", closed_at=day_ago, organisation=OrganisationFactory()).pk
             for _ in range(3)}
    real_render, real_html, rendering = letters.render_pdf, letters.approval_letter_html, {}

    def html(application, **kwargs):
        rendering["pk"] = application.pk
        return real_html(application, **kwargs)

    def render(html):
        if rendering["pk"] in stuck:
            raise pdf.PdfNotRendered(pdf.OVER_LIMIT)
        return real_render(html)

    monkeypatch.setattr(letters, "approval_letter_html", html)
    monkeypatch.setattr(letters, "render_pdf", render)
    application = authority_approved(officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    # Its queuing at commit lost (the broker down): the beat job's to issue.
    assert approval_letters_issue.delay().get() == {"letters": 0}  # the older approvals, tried first
    assert set(Application.objects.filter(approval_letter_failed_at__isnull=False).values_list("pk", flat=True)) == stuck
    assert any(record.levelname == "ERROR" and "approval letter" in record.getMessage() for record in caplog.records)
    assert approval_letters_issue.delay().get() == {"letters": 1}
    assert ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).count() == 2

    stuck.clear()  # rendered now (the cause gone)
    assert approval_letters_issue.delay().get() == {"letters": 3}
    assert not letters.approval_letters_pending(limit=10)
