"""Authentication of the verification API: ``Authorization: Bearer <token>`` of a
client that is not revoked, of an active organisation; then the client's rate limit
(portal settings ``API_RATE_PER_MINUTE``) and when it was last used. A request whose
token is refused is counted against its client address (``API_REFUSED_PER_MINUTE``):
past it, 429 instead of 401, and a token not already cached is no longer looked up.

With Redis as the cache (production), a call whose client is cached costs one round
trip to Redis for all three (a small script: the client, its counter, the last-use
marker); otherwise (the client not cached, or the database cache of the embedded
default) each goes through the cache on its own."""

import time
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from redis import Redis

from api.models import ApiClient
from api.ratelimit import rate_key, rate_limit_wait, rate_wait, refused_count_wait, refused_wait
from api.selectors import REVOKED, client_by_token, client_cache_key
from api.services import LAST_USED_RESOLUTION, api_client_last_use_record, api_client_used, used_key
from api.tokens import looks_like_token, token_hash
from portal.client import client_digest, client_network
from portal.limits import MINUTE_COUNTER_SECONDS, minute_window
from portal.rediscache import cache_redis

# KEYS: the client's cache entry, its counter of this minute, its last-use marker;
# ARGV: the counter's lifetime, the marker's, the requests a minute, the entry of a
# revoked client as stored. Nothing is counted for a client that is not cached (the
# caller looks it up, then counts it) or revoked (the caller refuses it); the marker is
# set (as cache.add would) only for a request within the limit.
CHECK_SCRIPT = """
local client = redis.call('GET', KEYS[1])
if not client or client == ARGV[4] then return false end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
local first = 0
if count <= tonumber(ARGV[3]) and redis.call('SET', KEYS[3], 1, 'NX', 'EX', ARGV[2]) then first = 1 end
return {client, count, first}
"""


class RateLimited(Exception):
    def __init__(self, wait: int) -> None:
        self.wait = wait
        super().__init__(f"rate limited for {wait} s")


class RefusedTooOften(RateLimited):
    """API_REFUSED_PER_MINUTE tokens refused this minute from the request's client address."""


def _address(request: HttpRequest) -> str:
    """The request's client as its refusals are counted (its address, or its IPv6 network):
    keyed digest (no address in the cache)."""
    return client_digest(client_network(request)) or "unknown"


def refused(request: HttpRequest, now: float) -> None:
    """A request whose token is refused: counted against its client address; None (401)
    within API_REFUSED_PER_MINUTE this minute, else RefusedTooOften (429)."""
    wait = refused_count_wait(_address(request), now=now)
    if wait:
        raise RefusedTooOften(wait)


def refused_before_lookup(request: HttpRequest, now: float) -> None:
    """Before a token is looked up in the database: RefusedTooOften if the request's
    client address has had API_REFUSED_PER_MINUTE tokens refused this minute."""
    wait = refused_wait(_address(request), now=now)
    if wait:
        raise RefusedTooOften(wait)


@lru_cache(maxsize=4)
def _check_script(client: Redis):
    """CHECK_SCRIPT registered on the cache's client (portal.rediscache), once per client."""
    return client.register_script(CHECK_SCRIPT)


def checked_in_redis(digest: str, now: float) -> tuple[ApiClient, int, bool] | None:
    """With Redis as the cache, in one round trip: the cached client of a token (its
    hash), counted (its count this minute), and whether this request set its last-use
    marker. None when the cache is not Redis or the client is not cached (nothing counted)."""
    backend = cache_redis()
    if backend is None:
        return None
    client = backend.client()
    keys = [backend.make_and_validate_key(key)
            for key in (client_cache_key(digest), rate_key(digest, minute_window(now)), used_key(digest))]
    script = _check_script(client)
    found = script(keys=keys, args=[MINUTE_COUNTER_SECONDS, int(LAST_USED_RESOLUTION.total_seconds()),
                                    settings.API_RATE_PER_MINUTE, REVOKED])
    if not found:
        return None
    raw, count, first = found
    # The entry as client_by_token cached it (cache.add): read as the cache would.
    return backend.loads(raw), int(count), bool(first)


class ClientToken(HttpBearer):
    """The bearer token of an API client. Never logs what it was sent (ninja's own
    bearer class logs a malformed header in debug mode: it may hold a token)."""

    def __call__(self, request: HttpRequest) -> ApiClient | None:
        scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return refused(request, time.time())
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        if not looks_like_token(token):
            return refused(request, time.time())
        digest, now = token_hash(token), time.time()
        checked = checked_in_redis(digest, now)
        if checked is not None:
            client, count, first_use = checked
            wait = rate_wait(count, now)
            if wait:
                raise RateLimited(wait)
            if first_use:
                api_client_last_use_record(client=client)
            return client
        client = client_by_token(token, before_lookup=lambda: refused_before_lookup(request, now))
        if client is None:
            return refused(request, now)
        wait = rate_limit_wait(digest, now=now)
        if wait:
            raise RateLimited(wait)
        api_client_used(client=client)
        return client


client_token = ClientToken()
