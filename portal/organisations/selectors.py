from django.db.models import Q

from portal.organisations.models import Organisation, OrganisationStatus, PlatformRole, PlatformRoleGrant


def platform_roles_of(user):
    """Active platform role grants of a user as (role, jurisdiction) pairs."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_platform_roles_cache", None)
    if cached is None:
        cached = set(PlatformRoleGrant.objects.filter(user=user, revoked_at__isnull=True).values_list("role", "jurisdiction"))
        user._platform_roles_cache = cached
    return cached


def is_superadmin(user):
    return user.is_authenticated and (user.is_superuser or any(r == PlatformRole.SUPERADMIN for r, _ in platform_roles_of(user)))


def state_admin_jurisdictions(user):
    return {j for r, j in platform_roles_of(user) if r == PlatformRole.STATE_ADMIN}


def organisation_search(*, query, limit=20):
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
