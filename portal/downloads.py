"""Serving a stored file (an uploaded letter, a generated PDF) from a view that has
checked permission. A file its row names but storage no longer holds, or does not give
(an object store out of reach), is a 404 for the person and an error in the log for the
administrators, never a 500. No download
of a document or of people's details may stay in a browser's or a proxy's cache."""

import logging

from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from portal.stored_files import STORAGE_ERRORS

logger = logging.getLogger(__name__)


def kept_out_of_caches(response: HttpResponseBase) -> HttpResponseBase:
    """``response`` marked ``Cache-Control: no-store, private``: a signed letter, a filled
    form or a list of people downloaded on a shared computer, or through a proxy, leaves no
    copy there for the next person."""
    patch_cache_control(response, no_store=True, private=True)
    return response


def stored_file_response(stored: FieldFile, *, owner: Model, content_type: str, filename: str) -> FileResponse:
    """``stored`` as a download named ``filename``; Http404 (and an error logged naming
    the file and ``owner``) when storage does not have it or does not give it."""
    try:
        handle = stored.open("rb")
    except (*STORAGE_ERRORS, ValueError):  # missing or unreadable (an OSError, the object store's); ValueError: no file
        logger.error("Stored file missing: %r of %s %s", stored.name, owner._meta.label, owner.pk)
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type, as_attachment=True, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    return kept_out_of_caches(response)


def content_response(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    """``content`` made for this request and stored nowhere (a PDF rendered for a reader,
    or one the storage could not keep) as a download named ``filename``, kept out of
    caches as a stored file is."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return kept_out_of_caches(response)
