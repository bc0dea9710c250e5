"""The filled onboarding form as a PDF (WeasyPrint), rendered once per version."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from onboarding.declarations import NOTICE_SECTIONS, UNDERTAKINGS
from onboarding.models import ApplicationDocument, DocumentKind
from onboarding.summary import application_summary
from portal.audit.models import AuditAction
from portal.audit.services import audit_record

STATIC_PREFIX = "pdf-static:/"


def static_only_fetcher(url, *args, **kwargs):
    """WeasyPrint URL fetcher that serves our own static files and nothing else
    (no file:// paths, no network)."""
    from weasyprint.urls import URLFetchingError

    if not url.startswith(STATIC_PREFIX):
        raise URLFetchingError(f"refused to fetch {url!r}: only the portal's static files are allowed")
    relative = url[len(STATIC_PREFIX):].lstrip("/")
    path = finders.find(relative)
    if not path or ".." in Path(relative).parts:
        raise URLFetchingError(f"no static file {relative!r}")
    data = Path(path).read_bytes()
    mime = "font/ttf" if relative.endswith(".ttf") else "text/css" if relative.endswith(".css") else "application/octet-stream"
    return {"string": data, "mime_type": mime, "redirected_url": url, "filename": Path(relative).name}


def render_pdf(html):
    from weasyprint import HTML

    return HTML(string=html, base_url=STATIC_PREFIX, url_fetcher=static_only_fetcher).write_pdf()


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
        document = ApplicationDocument.objects.get(application=application, kind=DocumentKind.FORM_PDF, version=application.version)
    return document
