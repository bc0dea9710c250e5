"""PDF figures: our render (a child of the render server, with limits) against WeasyPrint alone in this
process, a cached download against a fresh one, and the hostile draft of the issue under the
limits (time to refusal, peak memory of this process and of the child).

Run: .venv/bin/python bench/pdf_render.py [--runs N] [--timeout S] [--memory MB]
"""

import argparse
import resource
import threading
import time
from pathlib import Path

from _setup import django_setup, timed


def build_application(email="bench.officer@mahaagri.gov.in"):
    """The filled form of the tests (every section through the services, and the letter)."""
    from tests.factories import UserFactory
    from tests.onboarding.approval_helpers import filled_application

    officer = UserFactory(email=email, full_name="Bench Officer")
    application = filled_application(officer)
    application.refresh_from_db()
    return officer, application


def hostile_figures(officer, application, *, timeout, memory_mb):
    """The crafted draft (5,000 line breaks in every multi-line answer, right-to-left and
    zero-width text in every other one) downloaded through the view under the limits:
    (seconds to the refusal, this process's peak RSS in MB, the render child's peak RSS in MB).
    Run before anything renders in this process, so the parent's peak is its own."""
    from django.conf import settings
    from django.test import Client

    from onboarding.application import pdf
    from tests.factories import PASSWORD
    from tests.onboarding.test_pdf_limits import make_hostile

    settings.PDF_RENDER_TIMEOUT_SECONDS, settings.PDF_RENDER_MEMORY_MB = timeout, memory_mb
    hostile = make_hostile(application)
    client = Client()
    client.login(email=officer.email, password=PASSWORD)
    pdf.render_server_start()
    server = pdf._server.process.pid
    peaks, done = [0], threading.Event()

    def watch():  # the render child is the server's child: its peak (VmHWM) read while it runs
        while not done.wait(0.05):
            try:
                children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
                for child in children:
                    status = Path(f"/proc/{child}/status").read_text()
                    peaks.append(int(status.split("VmHWM:")[1].split()[0]))
            except (OSError, IndexError):
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.perf_counter()
    response = client.get(f"/onboarding/{hostile.pk}/form.pdf")
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    assert response.status_code == 302, response.status_code
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return elapsed, parent, max(peaks) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=10, help="PDF_RENDER_TIMEOUT_SECONDS for the hostile draft")
    parser.add_argument("--memory", type=int, default=512, help="PDF_RENDER_MEMORY_MB for the hostile draft")
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.test import Client
    from weasyprint import HTML

    from onboarding.application import pdf
    from onboarding.models import Application, ApplicationDocument
    from tests.factories import PASSWORD

    hostile_officer, hostile_application = build_application(email="bench.hostile@mahaagri.gov.in")
    refused_in, parent_peak, child_peak = hostile_figures(
        hostile_officer, hostile_application, timeout=args.timeout, memory_mb=args.memory
    )
    settings.PDF_RENDER_TIMEOUT_SECONDS, settings.PDF_RENDER_MEMORY_MB = 30, 512

    officer, application = build_application()
    html = pdf.application_form_html(application)
    # Warm up font loading once so every figure below is steady-state.
    pdf.render_pdf(html)

    weasy_alone, _ = timed(
        lambda: HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.static_only_fetcher()).write_pdf(), args.runs
    )
    ours, _ = timed(lambda: pdf.render_pdf(pdf.application_form_html(application)), args.runs)

    client = Client()
    client.login(email=officer.email, password=PASSWORD)
    url = f"/onboarding/{application.pk}/form.pdf"

    def fresh_download():
        Application.objects.filter(pk=application.pk).update(version=application.version)
        ApplicationDocument.objects.filter(application=application).delete()
        response = client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)

    def cached_download():
        response = client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)

    fresh, _ = timed(fresh_download, args.runs)
    cached_download()
    cached, _ = timed(cached_download, max(args.runs, 20))
    pdf_path = ApplicationDocument.objects.filter(application=application).first().file.path
    pages = len(__import__("pypdf").PdfReader(pdf_path).pages)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"pages in the form PDF:                 {pages}")
    print(f"WeasyPrint alone (same HTML), median:  {weasy_alone * 1000:8.1f} ms  (in this process, fonts loaded)")
    print(f"our render (template + child process): {ours * 1000:8.1f} ms  (overhead {(ours - weasy_alone) * 1000:+.1f} ms)")
    print(f"download, fresh render (view):         {fresh * 1000:8.1f} ms")
    print(f"download, cached (view, from storage): {cached * 1000:8.1f} ms  ({fresh / cached:.0f}x faster)")
    print(f"peak RSS of the process:               {peak_mb:8.0f} MB  (with WeasyPrint alone run in it)")
    print(f"hostile draft ({args.timeout:g} s, {args.memory} MB limits):")
    print(f"  refused after:                       {refused_in * 1000:8.0f} ms")
    print(f"  peak RSS of the process until then:  {parent_peak:8.0f} MB")
    print(f"  peak RSS of the render child:        {child_peak:8.0f} MB")


if __name__ == "__main__":
    main()
