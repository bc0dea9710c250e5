"""Who is on the other end of a request: the client's address and browser.

Behind reverse proxies ``REMOTE_ADDR`` is the nearest proxy's address. The client's
address is read the way allauth reads it for its own rate limits (its adapter's
``get_client_ip``), trusting as many ``X-Forwarded-For`` hops as
``ALLAUTH_TRUSTED_PROXY_COUNT`` says (from ``PORTAL_TRUSTED_PROXY_COUNT``, 0 by
default: no proxy is trusted and ``REMOTE_ADDR`` is used), so that audit rows,
the portal's own rate limits and allauth's agree on who the client is.
"""

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

USER_AGENT_MAX = 400


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    try:
        return get_adapter(request).get_client_ip(request) or None
    except (PermissionDenied, ImproperlyConfigured):
        # No usable address, or fewer X-Forwarded-For hops than trusted proxies (a
        # request that did not come through them): the peer's own address.
        return request.META.get("REMOTE_ADDR") or None


def request_meta(request: HttpRequest | None) -> tuple[str | None, str]:
    """(client address, user agent) of a request, for audit rows and decisions."""
    if request is None:
        return None, ""
    return client_ip(request), (request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX]
