"""The filled onboarding form as a PDF (WeasyPrint), rendered once per version."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from onboarding.application.declarations import NOTICE_SECTIONS, UNDERTAKINGS
from onboarding.application.summary import application_summary
from onboarding.models import ApplicationDocument, DocumentKind
from portal.audit.models import AuditAction
from portal.audit.services import audit_record

STATIC_ROOTS = [Path(p).resolve() for p in settings.STATICFILES_DIRS]
BASE_URL = STATIC_ROOTS[0].as_uri() + "/"


def _allowed_path(url):
    """The local path of a file:// URL inside our own static folders, or None."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    for root in STATIC_ROOTS:
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Fetches the portal's own static files (fonts) and nothing else: no other
        local path, no network, no data: URLs."""

        def fetch(self, url, headers=None):
            path = _allowed_path(url)
            if path is None:
                raise ValueError(f"refused to fetch {url[:200]!r}: only the portal's static files are allowed")
            mime = {".ttf": "font/ttf", ".css": "text/css", ".png": "image/png"}.get(path.suffix, "application/octet-stream")
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    return StaticOnlyFetcher


def static_only_fetcher():
    return _fetcher_class()()


def render_pdf(html):
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=static_only_fetcher()).write_pdf()


def application_form_html(application):
    with translation.override("en"):
        return render_to_string(
            "onboarding/pdf/application_form.html",
            {
                "application": application,
                "summary": application_summary(application),
                "letter": application.attachments.filter(is_current=True).first(),
                "notice_sections": NOTICE_SECTIONS,
                "undertakings": UNDERTAKINGS,
                "generated_at": timezone.now(),
                "site_url": settings.SITE_URL,
            },
        )


def application_form_pdf(*, application, actor=None):
    """Return the stored PDF of the application's current version, rendering it only once."""
    existing = ApplicationDocument.objects.filter(
        application=application, kind=DocumentKind.FORM_PDF, version=application.version
    ).first()
    if existing:
        return existing
    content = render_pdf(application_form_html(application))
    try:
        with transaction.atomic():
            document = ApplicationDocument(
                application=application, kind=DocumentKind.FORM_PDF, version=application.version,
                sha256=hashlib.sha256(content).hexdigest(), size=len(content),
            )
            document.file.save(f"{application.reference or 'draft-' + str(application.pk)}-v{application.version}.pdf",
                               ContentFile(content), save=False)
            document.save()
            audit_record(actor=actor, action=AuditAction.APPLICATION_PDF_RENDERED, target=application,
                         new={"version": application.version, "sha256": document.sha256})
    except IntegrityError:  # rendered at the same moment by another request
        document = ApplicationDocument.objects.get(
            application=application, kind=DocumentKind.FORM_PDF, version=application.version
        )
    return document
