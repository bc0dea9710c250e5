"""Checks on uploaded letters: by content (magic bytes), size and page count."""

import hashlib
import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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


def _pdf_pages(content):
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ValidationError(_("The PDF is password-protected. Upload a copy without a password."), code="encrypted")
        return len(reader.pages)
    except ValidationError:
        raise
    except Exception:  # pypdf raises many kinds on a damaged file
        raise ValidationError(_("The PDF could not be read. It may be damaged; scan or save it again."), code="corrupt") from None


def _image_ok(content):
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
    except Exception:  # Pillow raises many kinds on a damaged file
        raise ValidationError(_("The image could not be read. It may be damaged; scan it again."), code="corrupt") from None


def inspect_letter(uploaded):
    """Validate an uploaded letter; return (content, content_type, sha256, pages)."""
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
    pages = 1
    if content_type == PDF:
        pages = _pdf_pages(content)
        if pages > settings.ONBOARDING_UPLOAD_MAX_PAGES:
            raise ValidationError(
                _("The PDF has %(pages)s pages; upload the letter alone (at most %(max)s pages).")
                % {"pages": pages, "max": settings.ONBOARDING_UPLOAD_MAX_PAGES},
                code="pages",
            )
    else:
        _image_ok(content)
    return content, content_type, hashlib.sha256(content).hexdigest(), pages
