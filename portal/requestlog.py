"""One log line a request, and a request id an operator can follow.

``RequestLogMiddleware`` (first in MIDDLEWARE) gives every request an id: the one
the trusted reverse proxy sent in ``X-Request-ID`` when it looks like an id and the
portal is configured to trust a proxy (PORTAL_TRUSTED_PROXY_COUNT), else a new one.
The id is sent back in ``X-Request-ID``, set on every log record written during the
request (portal.logformat), handed to the Celery tasks the request queues, and
written with the request's line on the ``portal.requests`` logger:

    {"message": "request", "method": "GET", "path": "/onboarding/", "status": 200,
     "ms": 12.3, "user": 42, "client": "5f0c...", "request_id": "..."}

``client`` is a keyed digest of the client's address (read through the trusted proxies
as the audit rows read it: portal/client.py), not the address: the breach report
(portal/privacy/breach_reads.py), given an address, finds its lines.

The path is written without its query string (where a search or a ``next`` may be)
and with the secret of every registered secret path replaced (portal/redaction.py).
No header, cookie, form field or session key is ever written.
"""

import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from portal.client import client_digest, client_ip
from portal.logformat import request_id_var
from portal.redaction import redact_secret_paths

logger = logging.getLogger("portal.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# What an id from the proxy may look like (nginx's $request_id is 32 hex digits).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")
PATH_MAX = 400


def incoming_request_id(request: HttpRequest) -> str | None:
    """The proxy's id for this request, if a trusted proxy is configured and it sent a sane one."""
    if not getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0):
        return None
    value = request.META.get("HTTP_X_REQUEST_ID", "")
    return value if REQUEST_ID_RE.fullmatch(value) else None


def logged_path(request: HttpRequest) -> str:
    """The path as the log shows it: no query string, secrets redacted, bounded."""
    return redact_secret_paths(request.path)[:PATH_MAX]


def user_id_of(request: HttpRequest) -> int | None:
    """The signed-in user's id, if the request already knows it: read from the user
    the request loaded, or from the session it loaded, never at the cost of a query."""
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is not None and wrapped is not empty:
        return wrapped.pk if getattr(wrapped, "is_authenticated", False) else None
    session = getattr(request, "session", None)
    cache = getattr(session, "_session_cache", None)
    if isinstance(cache, dict):
        value = cache.get("_auth_user_id")
        return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None
    return None


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_request_id(request) or uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            logger.info("request", extra={"fields": {
                "method": request.method[:16],
                "path": logged_path(request),
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user_id_of(request),
                "client": client_digest(client_ip(request)),
            }})
            return response
        finally:
            request_id_var.reset(token)
