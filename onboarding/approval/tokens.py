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
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from onboarding.approval.timings import approval_timings
from onboarding.models import ApprovalStep, ApprovalTimings, AuthorityToken, Decision
from portal import compiled
from portal.accounts.mail_limits import mailbox_key
from portal.client import client_network
from portal.limits import minute_window, minutes_counted

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything else is not one of ours.
TOKEN_CHARS = r"[A-Za-z0-9_-]{43}"
TOKEN_RE = re.compile(rf"\A{TOKEN_CHARS}\Z")
DIGEST_RE = re.compile(r"\A[0-9a-f]{64}\Z")
# Where a token stands in a path (/onboarding/review/<token>/): registered with the
# core (portal/redaction.py) so that log lines and sent emails lose it.
LINK_PATH_PREFIX = r"/review/"
# Requests a minute to the pages of one link, from anywhere (the limit per client
# address is ONBOARDING_TOKEN_RATE_PER_MINUTE).
LINK_RATE_PER_MINUTE = 20


class LinkState(enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    SUPERSEDED = "superseded"
    DECIDED = "decided"  # the step was decided with another of its links: a decision was recorded
    CLOSED = "closed"  # the step was closed without a decision (withdrawn), or is no longer for this address


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def token_build(*, step: ApprovalStep, email: str, now: datetime | None = None,
                reminder: bool = False, timings: ApprovalTimings | None = None) -> tuple[str, AuthorityToken]:
    """A new (unsaved) token row for ``step`` and the raw token that goes in the email. It
    expires ``token_ttl_days`` from ``now`` (the approval timings as they stood when the step
    opened: ``timings``, or read), and not before the step is due: the mail asks for a
    decision by the step's due date, the whole of which the link works.
    ``reminder``: the deadline sweep's, not counted against the mailbox's day."""
    now = now or timezone.now()
    ttl_days = (timings or approval_timings().in_force_at(step.timed_since)).token_ttl_days
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    row = AuthorityToken(
        step=step, token_hash=token_hash(raw), email=email.lower(), mailbox=mailbox_key(email), reminder=reminder,
        created_at=now, expires_at=max(now + timedelta(days=ttl_days), step.due_at),
    )
    return raw, row


def authority_link_topic(application_id: int) -> str:
    """The outbox topic of every mail carrying a competent authority's link for the
    application (portal.mail.services.outbox_drop: dropped while still waiting to be sent
    when its links are replaced, or its authority's step decided or closed)."""
    return f"authority_link:{application_id}"


def review_url(raw: str) -> str:
    return f"{settings.SITE_URL}{reverse('onboarding:review_link', kwargs={'token': raw})}"


def link_state(token: AuthorityToken | None, now: datetime | None = None) -> LinkState:
    if token is None:
        return LinkState.UNKNOWN
    if token.used_at:
        return LinkState.USED
    if token.step.decision and token.step.decision != Decision.CANCELLED:
        # Whichever of the step's links decided it (the reminder's, one sent again), the
        # others, replaced or not, say that a decision was recorded.
        return LinkState.DECIDED
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
    return token_lookup_digest(token_hash(raw), for_update=for_update)


def token_lookup_digest(digest: str | None, *, for_update: bool = False) -> AuthorityToken | None:
    """The token row whose SHA-256 is ``digest`` (kept in the authority's session,
    never taken from a request), or None."""
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        return None
    return compiled.first(_token_query, (for_update,), digest=digest)


def _token_query(for_update: bool, *, digest: str) -> QuerySet[AuthorityToken]:
    queryset = AuthorityToken.objects.select_related("step", "step__application", "step__application__nodal_officer")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.filter(token_hash=digest)[:1]


def rate_limited(request: HttpRequest, *, digest: str | None = None, scope: str = "authority-link") -> bool:
    """Count a request against its client address (behind trusted proxies, the real
    client's; an IPv6 client's network: portal.client.client_network) and against its link
    (``digest``: the hash of a link the portal keeps, in the session; never a value taken
    from the request); True once either is over its limit for the current minute.
    Authorities behind one proxy are counted apart, and one link cannot be hammered from
    many addresses. The counters are portal.limits' counters a minute, in the shared cache
    (database or Redis; one round trip to Redis for both), and hold no token, only part of
    its hash. A link named in the path is counted once it is found (``link_rate_limited``):
    a token that names none would leave a counter of its own, one for every value sent."""
    window = minute_window(timezone.now().timestamp())
    ip = client_network(request) or "unknown"
    keys = [f"ratelimit:{scope}:ip:{ip}:{window}"]
    if digest:
        keys.append(_link_key(scope, digest, window))
    counts = minutes_counted(keys)
    return counts[0] > settings.ONBOARDING_TOKEN_RATE_PER_MINUTE or (len(counts) > 1 and counts[1] > LINK_RATE_PER_MINUTE)


def link_rate_limited(digest: str, *, scope: str = "authority-link") -> bool:
    """Count a request against the link whose hash is ``digest`` (a token row's, once the
    token in the path is found: its client address was counted before, ``rate_limited``);
    True once it is over LINK_RATE_PER_MINUTE for the current minute."""
    return minutes_counted([_link_key(scope, digest, minute_window(timezone.now().timestamp()))])[0] > \
        LINK_RATE_PER_MINUTE


def _link_key(scope: str, digest: str, window: int) -> str:
    return f"ratelimit:{scope}:link:{digest[:32]}:{window}"
