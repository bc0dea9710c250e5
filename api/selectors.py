"""Reads of API clients: a token's client (for the API), and an organisation's
clients for its admins (scoped through portal.permissions by way of the
verification selectors: another organisation's clients are 404)."""

from collections.abc import Callable

from django.core.cache import cache
from django.db.models import F, QuerySet
from django.http import Http404

from api.models import ApiClient
from api.tokens import looks_like_token, token_hash
from portal.organisations.models import Organisation, OrganisationStatus
from portal.permissions import AnyUser
from verification.selectors import organisations_administered_by

CLIENT_CACHE_SECONDS = 60
# What a revoked client's cache entry holds once its revocation committed (an int:
# Redis keeps it as its digits, which api.auth's script recognises), for long enough
# to outlast any request that read the client before that: such a request adds its
# client to the cache only where nothing is (cache.add), so it cannot put it back.
REVOKED = 0
REVOKED_SECONDS = 24 * 3600


def client_cache_key(digest: str) -> str:
    return f"api-client:{digest}"


def client_by_token(token: str, *, before_lookup: Callable[[], None] | None = None) -> ApiClient | None:
    """The client of a token, if the token is one of ours, not revoked, and its
    organisation is active; with its organisation. Kept in the cache (shared by every
    worker) for a minute, so that most requests read no database row for it: revoking a
    client marks its entry REVOKED when the revocation commits (api_client_revoke), and a
    request that read the client before that only adds it where no entry is, so a
    revoked token is refused from the next request on, whenever the revocation
    committed; an organisation suspended has its clients' entries marked so too
    (api.receivers), and one that stops being active otherwise has its tokens refused
    within the minute. On a miss, one query (by the hash, indexed), after ``before_lookup`` (which
    may raise: api.auth refuses there an address that had too many tokens refused)."""
    if not looks_like_token(token):
        return None
    key = client_cache_key(token_hash(token))
    client = cache.get(key)
    if client == REVOKED:
        return None
    if client is not None:
        return client
    if before_lookup is not None:
        before_lookup()
    try:
        client = ApiClient.objects.select_related("organisation").get(
            token_hash=token_hash(token), revoked_at__isnull=True, organisation__status=OrganisationStatus.ACTIVE
        )
    except ApiClient.DoesNotExist:
        return None
    cache.add(key, client, CLIENT_CACHE_SECONDS)
    return client


def clients_of(organisation: Organisation) -> QuerySet[ApiClient]:
    """An organisation's clients, those in use first, then by name; with who registered
    and revoked them. Only for its admins: the view fetches the organisation through
    organisation_for_admin first."""
    return (
        ApiClient.objects.filter(organisation=organisation)
        .select_related("created_by", "revoked_by")
        # NULL (in use) first on every database: PostgreSQL sorts it last by default.
        .order_by(F("revoked_at").asc(nulls_first=True), "name", "id")
    )


def client_for_admin(viewer: AnyUser, pk: int) -> ApiClient:
    """A client of an organisation the viewer administers (it, or one above it), or 404."""
    try:
        return ApiClient.objects.select_related("organisation").get(
            pk=pk, organisation__in=organisations_administered_by(viewer).values("pk")
        )
    except (ApiClient.DoesNotExist, ValueError):
        raise Http404 from None
