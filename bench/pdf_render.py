"""PDF figures: our render against WeasyPrint alone, and a cached download against a fresh one.

Run: .venv/bin/python bench/pdf_render.py [--runs N]
"""

import argparse
import resource
import time

from _setup import django_setup, median


def build_application():
    """The filled form of the tests (every section through the services, and the letter)."""
    from tests.factories import UserFactory
    from tests.onboarding.approval_helpers import filled_application

    officer = UserFactory(email="bench.officer@mahaagri.gov.in", full_name="Bench Officer")
    application = filled_application(officer)
    application.refresh_from_db()
    return officer, application


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples), samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    django_setup()
    from django.test import Client
    from weasyprint import HTML

    from onboarding.application import pdf
    from onboarding.models import Application, ApplicationDocument
    from tests.factories import PASSWORD

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
    print(f"WeasyPrint alone (same HTML), median:  {weasy_alone * 1000:8.1f} ms")
    print(f"our render (template + WeasyPrint):    {ours * 1000:8.1f} ms  (overhead {(ours - weasy_alone) * 1000:+.1f} ms)")
    print(f"download, fresh render (view):         {fresh * 1000:8.1f} ms")
    print(f"download, cached (view, from storage): {cached * 1000:8.1f} ms  ({fresh / cached:.0f}x faster)")
    print(f"peak RSS of the process:               {peak_mb:8.0f} MB")


if __name__ == "__main__":
    main()
