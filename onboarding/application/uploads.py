"""Checks on uploaded letters: by content (magic bytes), size, page count, and (a PDF)
no script, action or embedded file a reader would run or open."""

import hashlib
import io
import threading
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from onboarding.application import pdf_worker
from onboarding.application.pdf import PdfNotRendered, letter_verdict
from portal.limits import hourly_slot_take, shown

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg"}


def letter_filename(application, content_type):
    """The name a letter is stored and served under: the application's reference (or
    its draft number) and the extension of its checked content, never the uploaded
    name (which is kept only as a record)."""
    reference = application.reference or f"draft-{application.pk}"
    return f"{reference}-letter.{EXTENSIONS[content_type]}"


def sniff(head):
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
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


# Pillow fills a cut-off image in silently while ImageFile.LOAD_TRUNCATED_IMAGES, one
# switch for the whole process, is on: WeasyPrint turns it on when it is imported (in the
# render server's children, and in any process that imports it). The check turns it off
# while it decodes, one check at a time.
_strict_decoding = threading.Lock()


def _load_whole(image):
    from PIL import ImageFile

    with _strict_decoding:
        was = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = was


def _image_ok(content):
    """Refuse an image that does not decode whole (a PNG or JPEG cut short, whose chunks
    Pillow's verify() alone passes) or has more than ONBOARDING_UPLOAD_MAX_PIXELS pixels.

    The size is read from the file's header before any pixel is decoded; decoding then
    takes at most that many pixels of 4 bytes (about 150 MB for a CMYK JPEG at the limit,
    a second or less) in the request, once per upload, and a file of at most
    ONBOARDING_UPLOAD_MAX_BYTES. Pillow's own warning of a decompression bomb (past 89
    million pixels, which it only warns of below 179 million) is a refusal too."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                if image.width * image.height > settings.ONBOARDING_UPLOAD_MAX_PIXELS:
                    raise _image_too_large()
                image.verify()
            with Image.open(io.BytesIO(content)) as image:  # verify() leaves the image unusable
                _load_whole(image)
    except ValidationError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _image_too_large() from None
    except Exception:  # Pillow raises many kinds on a damaged file
        raise ValidationError(_("The image could not be read. It may be damaged; scan it again."), code="corrupt") from None


def _check_counted(actor):
    """Count one check of a letter's content for ``actor`` before it is made (a PDF read
    in a child process of up to LETTER_CHECK_SECONDS, an image decoded): refused letters,
    the costly ones, count too. Past LETTER_CHECKS_PER_HOUR in the last hour, refused at
    the upload field, naming when the next is possible."""
    if actor is None or not actor.is_authenticated:
        return
    until = hourly_slot_take("letter-checks", actor.pk, settings.LETTER_CHECKS_PER_HOUR)
    if until is not None:
        raise ValidationError(
            _("You have reached the most letters the portal checks for one person in an hour (%(n)s): each one is "
              "read in full. You can upload another from %(when)s.")
            % {"n": settings.LETTER_CHECKS_PER_HOUR, "when": shown(until)},
            code="too_many",
        )


def inspect_letter(uploaded, *, actor=None):
    """Validate an uploaded letter; return (content, content_type, sha256, pages). The
    check of its content counts against ``actor``'s LETTER_CHECKS_PER_HOUR."""
    max_bytes = settings.ONBOARDING_UPLOAD_MAX_BYTES
    if uploaded.size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s MB; the largest allowed is %(max)s MB. Scan at a lower resolution or as a PDF.")
            % {"size": f"{uploaded.size / (1024 * 1024):.1f}", "max": max_bytes // (1024 * 1024)},
            code="too_large",
        )
    if uploaded.size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    content = uploaded.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ValidationError(
            _("The file is larger than %(max)s MB.") % {"max": max_bytes // (1024 * 1024)}, code="too_large"
        )
    content_type = sniff(content[:16])
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
