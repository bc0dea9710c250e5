"""The approval letter: a PDF (WeasyPrint) issued once per approved application in
English and in the application's second language (Hindi, or Marathi for
Maharashtra: pdf.document_languages), stored as ApplicationDocuments and emailed,
both attached, to the nodal officer and the competent authority.

Final approval queues it when its transaction commits; a beat job
(approval_letters_issue) issues any that were not (a broker down at that moment), so no letter is lost,
and issuing is idempotent, so none is sent twice. A letter that could not be rendered (over the
render limits) or not stored or mailed (the file store, the database) is logged as an error and
marked (Application.approval_letter_failed_at): the beat job tries it again after the letters never
tried, so that it keeps no later approval's letter waiting.
"""

import hashlib
import logging
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import F
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from onboarding import notifications
from onboarding.application.pdf import (
    BUSY,
    PdfNotRendered,
    document_languages,
    render_counted,
    render_lock,
    render_pdf,
)
from onboarding.approval.selectors import authority_steps_refused
from onboarding.models import Application, ApplicationDocument, ApplicationStatus, ApprovalStep, Decision, DocumentKind, Stage
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.permissions import AnyUser
from portal.stored_files import FileNotStored, FilesWritten, files_kept_if_committed

logger = logging.getLogger(__name__)


class LetterNotStored(Exception):
    """A letter rendered at a download that the storage could not take (a full disk, an
    object store out of reach): nothing was recorded; the download is tried again later."""


def _approving_authority(application: Application) -> ApprovalStep | None:
    """The competent authority the letter is copied to: the one named when the application
    was last sent for a decision (the latest decided authority step, whatever it decided:
    after a rejection overturned on appeal, still the current one), not an earlier
    authority the officer has since replaced."""
    return (
        ApprovalStep.objects.filter(application=application, stage=Stage.AUTHORITY)
        .exclude(decision__in=["", Decision.CANCELLED]).order_by("-opened_at", "-id").first()
    )


def approval_letter_html(application: Application, *, issued_at: datetime, authority: ApprovalStep | None,
                         language: str = "en") -> str:
    organisation = application.organisation
    steps = list(application.steps.exclude(decision__in=["", Decision.CANCELLED]).order_by("decided_at", "id"))
    # The organisation's own domains are those accepted (official for it); the others it
    # listed (official for another organisation, waiting for a superadmin) are named as such.
    domains = list(organisation.domains.order_by("domain").values_list("domain", "is_verified")) if organisation else []
    with translation.override(language):
        return render_to_string(
            "onboarding/pdf/approval_letter.html",
            {
                "language": language, "application": application, "organisation": organisation,
                "domains": [domain for domain, accepted in domains if accepted],
                "domains_not_accepted": [domain for domain, accepted in domains if not accepted],
                "steps": steps, "authority": authority, "issued_at": issued_at,
                "site_url": settings.SITE_URL,
            },
        )


def approval_letter_filename(application: Application, language: str = "en") -> str:
    """``<reference>-approval-letter.pdf`` in English, ``...-hi.pdf`` / ``...-mr.pdf`` in the second language."""
    return f"{application.reference}-approval-letter{'' if language == 'en' else '-' + language}.pdf"


def _letters(application: Application) -> dict[str, ApplicationDocument]:
    return {document.language: document for document in
            ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER)}


def _render_letter(application: Application, language: str, *, issued_at: datetime,
                   authority: ApprovalStep | None) -> bytes:
    """The letter in ``language``; raises PdfNotRendered (logged) when it could not be rendered now."""
    try:
        return render_pdf(approval_letter_html(application, issued_at=issued_at, authority=authority, language=language))
    except PdfNotRendered as exc:
        logger.error("The approval letter of application %s (%s, %s) was not rendered: %s",
                     application.pk, application.reference, language, exc.reason)
        raise


def _render_letters(application: Application, languages: list[str], *, issued_at: datetime,
                    authority: ApprovalStep | None) -> dict[str, bytes] | None:
    """The letter in each of ``languages``, or None when one could not be rendered now (logged)."""
    try:
        return {language: _render_letter(application, language, issued_at=issued_at, authority=authority)
                for language in languages}
    except PdfNotRendered:
        return None


def approval_letter_issue(*, application_id: int) -> ApplicationDocument | None:
    """Render, store and email the approval letter once, in English and the second
    language; returns the English document, or None if the application is not approved
    or the letters could not be issued now (another worker is rendering them, a render
    went over its limits, or anything else failed, the store or the database: logged and
    marked, the beat job tries again after the letters never tried)."""
    application = Application.objects.select_related("nodal_officer", "organisation").get(pk=application_id)
    if application.status != ApplicationStatus.APPROVED:
        return None
    existing = _letters(application)
    if existing:
        return existing.get("en") or next(iter(existing.values()))
    try:
        return _approval_letter_issue(application)
    except SoftTimeLimitExceeded:  # the task's time is up, not this letter's fault
        raise
    except Exception:  # one letter's failure keeps no other waiting (approval_letters_pending)
        logger.exception("The approval letter of application %s (%s) was not issued",
                         application.pk, application.reference)
        _approval_letter_failed(application)
        return None


def _approval_letter_failed(application: Application) -> None:
    """Tried again by the beat job after the letters never tried (approval_letters_pending)."""
    Application.objects.filter(pk=application.pk).update(approval_letter_failed_at=timezone.now())


def _approval_letter_issue(application: Application) -> ApplicationDocument | None:
    issued_at = timezone.now()
    authority = _approving_authority(application)
    # Slow: outside the transaction, in the bounded renderer, one worker at a time.
    with render_lock(f"{DocumentKind.APPROVAL_LETTER}:{application.pk}") as held:
        if not held:  # another worker is issuing it
            return None
        contents = _render_letters(application, list(document_languages(application)), issued_at=issued_at,
                                   authority=authority)
        if contents is None:
            _approval_letter_failed(application)
            return None
        return _approval_letter_store(application, contents=contents, authority=authority)


def _store(application: Application, language: str, content: bytes, files: FilesWritten, *,
           actor: AnyUser | None = None, request: HttpRequest | None = None) -> ApplicationDocument:
    """The letter's file and row, and its audit event (the caller's transaction, whose
    rollback deletes the file: ``files``): the system's when issued, else that of the
    ``actor`` whose download rendered it, with ``request``'s address and browser."""
    sha256 = hashlib.sha256(content).hexdigest()
    document = ApplicationDocument(
        application=application, kind=DocumentKind.APPROVAL_LETTER, version=application.version, language=language,
        sha256=sha256, size=len(content),
    )
    files.save(document.file, approval_letter_filename(application, language), ContentFile(content))
    document.save()
    audit_record(actor=actor, action=AuditAction.APPLICATION_PDF_RENDERED, target=application, request=request,
                 new={"kind": DocumentKind.APPROVAL_LETTER, "language": language, "sha256": sha256,
                      "version": application.version})
    return document


def _approval_letter_store(application: Application, *, contents: dict[str, bytes],
                           authority: ApprovalStep | None) -> ApplicationDocument:
    """The letters stored and mailed in one transaction; if it fails (the outbox's insert, the
    audit's, the commit), their files are deleted too, and the letter stays pending."""
    with files_kept_if_committed() as files:
        Application.objects.select_for_update().filter(pk=application.pk).first()
        existing = _letters(application)
        if existing:  # issued meanwhile by another worker
            return existing.get("en") or next(iter(existing.values()))
        documents = {language: _store(application, language, content, files) for language, content in contents.items()}
        recipients = [application.nodal_officer.email]
        # Copied to the competent authority who approved it, unless its address can no longer
        # act as one (authority_steps_refused: no link nor reminder goes to it either).
        if (authority and authority.assignee_email and authority.assignee_email not in recipients
                and authority.pk not in authority_steps_refused([authority])):
            recipients.append(authority.assignee_email)
        notifications.send_bilingual(
            to=recipients, template="approval_letter",
            context={"application": application, "organisation": application.organisation},
            attachments=[(approval_letter_filename(application, language), content, "application/pdf")
                         for language, content in contents.items()],
        )
    return documents["en"]


def approval_letter_document(*, application: Application, language: str, actor: AnyUser | None = None,
                             request: HttpRequest | None = None) -> ApplicationDocument | None:
    """The approval letter in ``language`` (one of the application's document languages),
    for a download by ``actor``: the stored one; for a letter issued before letters came in
    two languages, rendered now as it was issued (same date), stored (audited as ``actor``'s,
    from ``request``), and not mailed again. Such a render counts against ``actor``'s PDF_RENDERS_PER_HOUR as a form PDF's does
    (render_counted: a render that fails counts too, or downloading again would render
    without end). None when there is no letter yet. Raises PdfNotRendered: BUSY (another
    request is rendering it), TOO_MANY, or the render's OVER_LIMIT or FAILED; LetterNotStored
    (logged) when the storage could not take the letter rendered: nothing is recorded, and
    a later download renders it again."""
    existing = _letters(application)
    if language in existing or not existing:
        return existing.get(language)
    issued = existing.get("en") or next(iter(existing.values()))
    with render_lock(f"{DocumentKind.APPROVAL_LETTER}:{application.pk}:{language}") as held:
        if not held:
            raise PdfNotRendered(BUSY)
        render_counted(actor)
        content = _render_letter(application, language, issued_at=issued.created_at,
                                 authority=_approving_authority(application))
        try:
            with files_kept_if_committed() as files:
                Application.objects.select_for_update().filter(pk=application.pk).first()
                return _letters(application).get(language) or _store(application, language, content, files,
                                                                     actor=actor, request=request)
        except FileNotStored:  # rolled back: no row, no audit event
            logger.error("The approval letter of application %s (%s, %s) rendered at a download was not stored: "
                         "the storage could not take it", application.pk, application.reference, language)
            raise LetterNotStored from None


def approval_letters_pending(*, limit: int) -> list[int]:
    """Approved applications without a letter yet, at most ``limit`` (one query): those never
    tried, oldest approval first, then those whose letter could not be rendered, the one that
    failed longest ago first. A letter that fails at every try (as many as a run takes) keeps
    no other waiting: each failure sends it behind the rest."""
    return list(
        Application.objects.filter(status=ApplicationStatus.APPROVED)
        .exclude(documents__kind=DocumentKind.APPROVAL_LETTER)
        .order_by(F("approval_letter_failed_at").asc(nulls_first=True), "closed_at", "id")
        .values_list("id", flat=True)[:limit]
    )
