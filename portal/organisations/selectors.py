"""Reads of organisations (who may see which is decided in portal.permissions)."""

from django.db.models import Q, QuerySet

from portal.organisations.models import Organisation, OrganisationStatus


def organisation_search(*, query: str, limit: int = 20) -> QuerySet[Organisation]:
    """Active organisations matching a query, for the parent picker (public names only)."""
    query = (query or "").strip()
    if len(query) < 2:
        return Organisation.objects.none()
    return (
        Organisation.objects.filter(status=OrganisationStatus.ACTIVE)
        .filter(Q(name__icontains=query) | Q(short_code__iexact=query) | Q(name_local__icontains=query))
        .only("id", "name", "name_local", "state", "short_code")
        .order_by("name")[:limit]
    )
