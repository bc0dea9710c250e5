"""Reads of API clients: a token's client (for the API), and an organisation's
clients for its admins (scoped through portal.permissions by way of the
verification selectors: another organisation's clients are 404)."""

from django.db.models import QuerySet
from django.http import Http404

from api.models import ApiClient
from api.tokens import looks_like_token, token_hash
from portal.organisations.models import Organisation, OrganisationStatus
from portal.permissions import AnyUser
from verification.selectors import organisations_administered_by


def client_by_token(token: str) -> ApiClient | None:
    """The client of a token, if the token is one of ours, not revoked, and its
    organisation is active; with its organisation. One query (by the hash, indexed)."""
    if not looks_like_token(token):
        return None
    try:
        return ApiClient.objects.select_related("organisation").get(
            token_hash=token_hash(token), revoked_at__isnull=True, organisation__status=OrganisationStatus.ACTIVE
        )
    except ApiClient.DoesNotExist:
        return None


def clients_of(organisation: Organisation) -> QuerySet[ApiClient]:
    """An organisation's clients, those in use first, then by name; with who registered
    and revoked them. Only for its admins: the view fetches the organisation through
    organisation_for_admin first."""
    return (
        ApiClient.objects.filter(organisation=organisation)
        .select_related("created_by", "revoked_by")
        .order_by("revoked_at", "name", "id")
    )


def client_for_admin(viewer: AnyUser, pk: int) -> ApiClient:
    """A client of an organisation the viewer administers (it, or one above it), or 404."""
    try:
        return ApiClient.objects.select_related("organisation").get(
            pk=pk, organisation__in=organisations_administered_by(viewer).values("pk")
        )
    except (ApiClient.DoesNotExist, ValueError):
        raise Http404 from None
