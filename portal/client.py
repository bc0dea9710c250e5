"""Who is on the other end of a request: the client's address and browser.

Behind reverse proxies ``REMOTE_ADDR`` is the nearest proxy's address. The client's
address is read the way allauth reads it (``DefaultAccountAdapter.get_client_ip``),
trusting as many ``X-Forwarded-For`` hops as ``ALLAUTH_TRUSTED_PROXY_COUNT`` says (from
``PORTAL_TRUSTED_PROXY_COUNT``, 0 by default: no proxy is trusted and ``REMOTE_ADDR`` is
used), and the portal's account adapter answers allauth's own rate limits with
``client_ip``, so that audit rows, the portal's rate limits and allauth's agree on who the
client is, also for a request with fewer hops than trusted proxies (allauth would raise).
"""

import hashlib
import hmac
import ipaddress
import logging
from functools import cache

from allauth import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

USER_AGENT_MAX = 400
CLIENT_DIGEST_LENGTH = 32

logger = logging.getLogger(__name__)
_forwarding_told = False  # whether this process has said it sees X-Forwarded-For that no setting believes


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    if not allauth_settings.TRUSTED_PROXY_COUNT and request.META.get("HTTP_X_FORWARDED_FOR"):
        _tell_forwarding_not_believed()
    try:
        return DefaultAccountAdapter(request).get_client_ip(request) or None
    except (PermissionDenied, ImproperlyConfigured):
        # No usable address, or fewer X-Forwarded-For hops than trusted proxies (a
        # request that did not come through them): the peer's own address.
        return request.META.get("REMOTE_ADDR") or None


def _tell_forwarding_not_believed() -> None:
    """Once a process, a warning in its log: a request carried X-Forwarded-For while no proxy
    is trusted (PORTAL_TRUSTED_PROXY_COUNT 0). Behind a reverse proxy every request does,
    and every client is then the proxy: one rate-limit count for all, the proxy's address in
    every audit row. (Without a proxy, anyone may send the header: it is not believed, and
    this is said once.) Neither the header nor an address is logged."""
    global _forwarding_told  # noqa: PLW0603 (once a process)
    if not _forwarding_told:
        _forwarding_told = True
        logger.warning("A request came with X-Forwarded-For while PORTAL_TRUSTED_PROXY_COUNT is 0: the header is not "
                       "believed. Behind a reverse proxy, set PORTAL_TRUSTED_PROXY_COUNT to the number of proxies, or "
                       "every client is counted and audited as the proxy's address.")


def ipv4_unmapped(ip: str) -> str:
    """``ip``, an IPv4 address written as an IPv6 one ("::ffff:203.0.113.9", as a
    dual-stack socket reports an IPv4 peer) as the IPv4 address it is; any other as given.
    The rate limits count such a client on its IPv4 address: as an IPv6 one, on its /64
    network ("::"), every IPv4 client would share one count."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped) if mapped else ip


def client_network(request: HttpRequest | None) -> str | None:
    """The client as the portal's own rate limits count it: its address (an IPv4 one
    however it is written: ``ipv4_unmapped``), or for an IPv6 address its network (the /64
    one client holds: ALLAUTH_RATE_LIMIT_IPV6_PREFIX, as allauth's limits count), so that
    a client cannot start a new count at each of its addresses."""
    ip = client_ip(request)
    try:
        address = ipaddress.ip_address(ipv4_unmapped(ip or ""))
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        prefix = allauth_settings.RATE_LIMIT_IPV6_PREFIX
        return str(ipaddress.IPv6Network(f"{address}/{prefix}", strict=False))
    return str(address)


def request_meta(request: HttpRequest | None) -> tuple[str | None, str]:
    """(client address, user agent) of a request, for audit rows and decisions."""
    if request is None:
        return None, ""
    return client_ip(request), (request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX]


@cache
def _digest_key(audit_key: str) -> bytes:
    return hmac.new(audit_key.encode("utf-8"), b"portal request log: client address", hashlib.sha256).digest()


def client_digest(ip: str | None) -> str | None:
    """A keyed digest of a client's address, for the request log: the log holds no address
    (nginx's own log and the audit rows do), yet the breach report, given an address,
    finds its lines. Keyed with a key derived from AUDIT_HMAC_KEY (stable, never in the
    database or its backups), so that the digests cannot be reversed by trying addresses."""
    if not ip:
        return None
    digest = hmac.new(_digest_key(settings.AUDIT_HMAC_KEY), ip.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:CLIENT_DIGEST_LENGTH]
