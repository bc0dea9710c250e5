"""The approval letter: a PDF (WeasyPrint) issued once per approved application,
stored as an ApplicationDocument and emailed to the nodal officer and the
competent authority.

Final approval queues it when its transaction commits; a beat job
(approval_letters_issue) issues any that were not (a broker down at that moment), so no letter is lost,
and issuing is idempotent, so none is sent twice.
"""

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from onboarding import notifications
from onboarding.application.pdf import PdfNotRendered, render_lock, render_pdf
from onboarding.models import Application, ApplicationDocument, ApplicationStatus, ApprovalStep, Decision, DocumentKind, Stage
from portal.audit.models import AuditAction
from portal.audit.services import audit_record

logger = logging.getLogger(__name__)


def _approving_authority(application: Application) -> ApprovalStep | None:
    return (
        ApprovalStep.objects.filter(application=application, stage=Stage.AUTHORITY, decision=Decision.APPROVE)
        .order_by("-decided_at").first()
    )


def approval_letter_html(application: Application, *, issued_at: datetime, authority: ApprovalStep | None) -> str:
    organisation = application.organisation
    steps = list(application.steps.exclude(decision__in=["", Decision.CANCELLED]).order_by("decided_at", "id"))
    with translation.override("en"):
        return render_to_string(
            "onboarding/pdf/approval_letter.html",
            {
                "application": application, "organisation": organisation,
                "domains": list(organisation.domains.order_by("domain").values_list("domain", flat=True)) if organisation else [],
                "steps": steps, "authority": authority, "issued_at": issued_at,
                "site_url": settings.SITE_URL,
            },
        )


def approval_letter_issue(*, application_id: int) -> ApplicationDocument | None:
    """Render, store and email the approval letter once; returns the document, or None
    if the application is not approved or the letter could not be rendered now (another
    worker is rendering it, or the render went over its limits: the beat job tries again)."""
    application = Application.objects.select_related("nodal_officer", "organisation").get(pk=application_id)
    if application.status != ApplicationStatus.APPROVED:
        return None
    existing = ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).first()
    if existing:
        return existing
    issued_at = timezone.now()
    authority = _approving_authority(application)
    # Slow: outside the transaction, in the bounded renderer, one worker at a time.
    with render_lock(f"{DocumentKind.APPROVAL_LETTER}:{application.pk}") as held:
        if not held:  # another worker is issuing it
            return None
        try:
            content = render_pdf(approval_letter_html(application, issued_at=issued_at, authority=authority))
        except PdfNotRendered as exc:
            # The beat job (approval_letters_issue) tries again at its next run.
            logger.error("The approval letter of application %s (%s) was not rendered: %s",
                         application.pk, application.reference, exc.reason)
            return None
        return _approval_letter_store(application, content=content, authority=authority)


def _approval_letter_store(application: Application, *, content: bytes, authority: ApprovalStep | None) -> ApplicationDocument:
    with transaction.atomic():
        Application.objects.select_for_update().filter(pk=application.pk).first()
        existing = ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).first()
        if existing:  # issued meanwhile by another worker
            return existing
        sha256 = hashlib.sha256(content).hexdigest()
        document = ApplicationDocument(
            application=application, kind=DocumentKind.APPROVAL_LETTER, version=application.version,
            sha256=sha256, size=len(content),
        )
        filename = f"{application.reference}-approval-letter.pdf"
        document.file.save(filename, ContentFile(content), save=False)
        document.save()
        audit_record(actor=None, action=AuditAction.APPLICATION_PDF_RENDERED, target=application,
                     new={"kind": DocumentKind.APPROVAL_LETTER, "sha256": sha256, "version": application.version})
        recipients = [application.nodal_officer.email]
        if authority and authority.assignee_email and authority.assignee_email not in recipients:
            recipients.append(authority.assignee_email)
        notifications.send_bilingual(
            to=recipients, template="approval_letter",
            context={"application": application, "organisation": application.organisation},
            attachments=[(filename, content, "application/pdf")],
        )
    return document


def approval_letters_pending(*, limit: int = 50) -> list[int]:
    """Approved applications without a letter yet (one query)."""
    return list(
        Application.objects.filter(status=ApplicationStatus.APPROVED)
        .exclude(documents__kind=DocumentKind.APPROVAL_LETTER)
        .order_by("closed_at", "id")
        .values_list("id", flat=True)[:limit]
    )
