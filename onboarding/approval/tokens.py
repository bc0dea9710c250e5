"""The competent authority's single-use links.

A link carries 256 random bits (``secrets.token_urlsafe(32)``); only their
SHA-256 is stored. A token is bound to one approval step and one address,
expires, is superseded when a newer link is sent or the application moves on,
and decides once.
"""

import enum
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from onboarding.models import ApprovalStep, AuthorityToken
from portal.client import client_ip

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything else is not one of ours.
TOKEN_RE = re.compile(r"\A[A-Za-z0-9_-]{43}\Z")


class LinkState(enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    SUPERSEDED = "superseded"
    CLOSED = "closed"  # the step was decided or closed without this link


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def token_build(*, step: ApprovalStep, email: str, now: datetime | None = None) -> tuple[str, AuthorityToken]:
    """A new (unsaved) token row for ``step`` and the raw token that goes in the email."""
    now = now or timezone.now()
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    row = AuthorityToken(
        step=step, token_hash=token_hash(raw), email=email.lower(), created_at=now,
        expires_at=now + timedelta(days=settings.ONBOARDING_TOKEN_TTL_DAYS),
    )
    return raw, row


def review_url(raw: str) -> str:
    return f"{settings.SITE_URL}{reverse('onboarding:review', kwargs={'token': raw})}"


def link_state(token: AuthorityToken | None, now: datetime | None = None) -> LinkState:
    if token is None:
        return LinkState.UNKNOWN
    if token.used_at:
        return LinkState.USED
    if token.superseded_at:
        return LinkState.SUPERSEDED
    if token.expires_at <= (now or timezone.now()):
        return LinkState.EXPIRED
    if token.step.decision or token.email != token.step.assignee_email.lower():
        return LinkState.CLOSED
    return LinkState.VALID


def token_lookup(raw: str | None, *, for_update: bool = False) -> AuthorityToken | None:
    """The token row for a raw token string from a URL (with its step and
    application), or None. Strings that cannot be ours are not looked up."""
    if not isinstance(raw, str) or not TOKEN_RE.match(raw):
        return None
    queryset = AuthorityToken.objects.select_related("step", "step__application", "step__application__nodal_officer")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.filter(token_hash=token_hash(raw)).first()


def rate_limited(request: HttpRequest, *, scope: str = "authority-link") -> bool:
    """Count a request from this client address (behind trusted proxies, the real
    client's: portal.client); True once it is over the limit for the current
    minute. The counter lives in the shared cache (database or Redis)."""
    limit = settings.ONBOARDING_TOKEN_RATE_PER_MINUTE
    ip = client_ip(request) or "unknown"
    window = int(timezone.now().timestamp() // 60)
    key = f"ratelimit:{scope}:{ip}:{window}"
    if cache.add(key, 1, timeout=120):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=120)
            count = 1
    return count > limit
