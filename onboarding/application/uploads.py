"""Checks on uploaded letters: by content (magic bytes), size, page count, and (a PDF)
no script, action or embedded file a reader would run or open."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from onboarding.application import pdf_worker
from onboarding.application.pdf import PdfNotRendered, image_verdict, letter_verdict
from onboarding.application.validators import letter_too_large
from portal.accounts.mail_limits import person_key
from portal.limits import hourly_slot_give_back, hourly_slot_take, shown_from

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg"}


def letter_filename(application, content_type):
    """The name a letter is stored and served under: the application's reference (or
    its draft number) and the extension of its checked content, never the uploaded
    name (which is kept only as a record)."""
    reference = application.reference or f"draft-{application.pk}"
    return f"{reference}-letter.{EXTENSIONS[content_type]}"


def sniff(head):
    """The type of a file by its first bytes: a PNG or a JPEG by its signature at the start,
    a PDF by "%PDF-" within its first pdf_worker.PDF_HEADER_WITHIN bytes (as readers take it)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if pdf_worker.pdf_header_at(head) >= 0:
        return PDF
    return None


def _pdf_refused(code):
    if code == pdf_worker.ACTIVE:
        return ValidationError(
            _("The PDF contains scripts, actions or attached files, which the portal does not accept in a letter. "
              "Print it to a new PDF, or scan the signed letter, and upload that."), code="active")
    if code == pdf_worker.ENCRYPTED:
        return ValidationError(_("The PDF is password-protected. Upload a copy without a password."), code="encrypted")
    if code == pdf_worker.CORRUPT:
        return ValidationError(_("The PDF could not be read. It may be damaged; scan or save it again."), code="corrupt")
    return ValidationError(
        _("The PDF is too complex to be checked. Print it to a new PDF, or scan the signed letter, and upload that."),
        code="complex")


def _pdf_pages(content):
    """The PDF's page count, once it is known to be readable, without a password and
    (when it has no more than ONBOARDING_UPLOAD_MAX_PAGES pages) without active content:
    read in a child process under limits (``pdf.letter_verdict``)."""
    try:
        verdict = letter_verdict(content, max_pages=settings.ONBOARDING_UPLOAD_MAX_PAGES)
    except PdfNotRendered:
        raise _pdf_refused(pdf_worker.COMPLEX) from None
    if verdict.startswith("pages "):
        return int(verdict.removeprefix("pages "))
    raise _pdf_refused(verdict)


def _image_too_large():
    return ValidationError(
        _("The image has more than %(max)s million pixels, more than an A4 page scanned at 600 dpi. Scan at a lower "
          "resolution (300 dpi is enough) or as a PDF.") % {"max": settings.ONBOARDING_UPLOAD_MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
    )


def _image_ok(content):
    """Refuse an image that does not decode whole (a PNG or JPEG cut short, whose chunks
    Pillow's verify() alone passes), has more than ONBOARDING_UPLOAD_MAX_PIXELS pixels
    (read from its header before any pixel is decoded), or cannot be decoded within the
    letter check's limits (``pdf.image_verdict``: in a child process, as a PDF is read;
    a progressive JPEG whose scans repeat decodes for as long as its maker wants)."""
    try:
        verdict = image_verdict(content, max_pixels=settings.ONBOARDING_UPLOAD_MAX_PIXELS)
    except PdfNotRendered:
        verdict = pdf_worker.COMPLEX
    if verdict == pdf_worker.IMAGE_OK:
        return
    if verdict == pdf_worker.TOO_MANY_PIXELS:
        raise _image_too_large()
    if verdict == pdf_worker.COMPLEX:
        raise ValidationError(
            _("The image is too complex to be checked. Save it again as a PNG or an ordinary JPEG, or scan the "
              "signed letter as a PDF, and upload that."),
            code="complex",
        )
    raise ValidationError(_("The image could not be read. It may be damaged; scan it again."), code="corrupt")


def _check_counted(actor):
    """Count one check of a letter's content for ``actor`` before it is made (a PDF read
    or decoded in a child process of up to LETTER_CHECK_SECONDS): refused letters,
    the costly ones, count too. Past LETTER_CHECKS_PER_HOUR in the last hour, refused at
    the upload field, naming when the next is possible."""
    if actor is None or not actor.is_authenticated:
        return
    until = hourly_slot_take("letter-checks", person_key(actor.email), settings.LETTER_CHECKS_PER_HOUR)
    if until is not None:
        raise ValidationError(
            _("You have reached the most letters the portal checks for one person in an hour (%(n)s): each one is "
              "read in full. You can upload another from %(when)s.")
            % {"n": settings.LETTER_CHECKS_PER_HOUR, "when": shown_from(until)},
            code="too_many",
        )


def letter_check_given_back(actor):
    """The check of a letter the portal then could not store is not counted against
    ``actor``'s LETTER_CHECKS_PER_HOUR: trying again later is what they are told to do."""
    if actor is not None and actor.is_authenticated:
        hourly_slot_give_back("letter-checks", person_key(actor.email), settings.LETTER_CHECKS_PER_HOUR)


def inspect_letter(uploaded, *, actor=None):
    """Validate an uploaded letter; return (content, content_type, sha256, pages): a PDF's
    content from its header on. The check of its content counts against ``actor``'s
    LETTER_CHECKS_PER_HOUR."""
    max_bytes = settings.ONBOARDING_UPLOAD_MAX_BYTES
    if uploaded.size > max_bytes:
        raise ValidationError(letter_too_large(f"{uploaded.size / (1024 * 1024):.1f}"), code="too_large")
    if uploaded.size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    content = uploaded.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ValidationError(
            _("The file is larger than %(max)s MB.") % {"max": max_bytes // (1024 * 1024)}, code="too_large"
        )
    content_type = sniff(content[:pdf_worker.PDF_HEADER_WITHIN])
    if content_type is None:
        raise ValidationError(
            _(
                "This file is not a PDF, PNG or JPEG (its content was checked, not its name). "
                "Upload the letter as a PDF, PNG or JPEG."
            ),
            code="type",
        )
    _check_counted(actor)
    pages = 1
    if content_type == PDF:
        # The letter is the PDF from its header on: what readers skip before it (a line break
        # a mail gateway left, or a web page with a script) is neither checked nor stored.
        content = content[pdf_worker.pdf_header_at(content):]
        pages = _pdf_pages(content)
        if pages == 0:  # a well-formed PDF with nothing in it for the competent authority to read
            raise ValidationError(_("The PDF has no pages. Upload the signed letter itself."), code="no_pages")
        if pages > settings.ONBOARDING_UPLOAD_MAX_PAGES:
            raise ValidationError(
                _("The PDF has %(pages)s pages; upload the letter alone (at most %(max)s pages).")
                % {"pages": pages, "max": settings.ONBOARDING_UPLOAD_MAX_PAGES},
                code="pages",
            )
    else:
        _image_ok(content)
    return content, content_type, hashlib.sha256(content).hexdigest(), pages
