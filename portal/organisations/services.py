"""Writes to organisations: activating one and making its first admin."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.organisations.models import (
    Level,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRole,
    PlatformRoleGrant,
)
from portal.organisations.states import JURISDICTION_CHOICES
from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD, AnyUser, is_superadmin

ORGANISATION_FIELDS = ("name", "name_local", "short_code", "org_type", "level", "state", "district")


def organisation_activate(
    *,
    organisation_id: int | None,
    attributes: dict,
    parent: Organisation | None,
    domains: list[str],
    first_admin: AbstractBaseUser,
    actor: AbstractBaseUser | None,
    source: str,
    request: HttpRequest | None = None,
) -> Organisation:
    """Make an organisation active (an existing pending one, or a new one from
    ``attributes``), with its staff email domains, and ``first_admin`` its first
    administrator (membership and guardian object permissions). Runs in the
    caller's transaction (``source`` names what approved it, for the audit log)."""
    now = timezone.now()
    with transaction.atomic():
        if organisation_id:
            organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
            organisation.status, organisation.activated_at = OrganisationStatus.ACTIVE, now
            organisation.save(update_fields=["status", "activated_at"])
        else:
            values = {key: (attributes.get(key) or "") for key in ORGANISATION_FIELDS}
            level = values["level"] or Level.STATE
            organisation = Organisation.objects.create(
                name=values["name"][:200], name_local=values["name_local"][:200], short_code=values["short_code"][:20],
                org_type=values["org_type"] or "other", level=level,
                state="" if level == Level.CENTRAL else values["state"][:2], district=values["district"][:100],
                parent=parent, status=OrganisationStatus.ACTIVE, activated_at=now,
            )
        for domain in domains:
            row, created = OrganisationDomain.objects.get_or_create(organisation=organisation, domain=domain,
                                                                     defaults={"is_verified": True})
            if not created and not row.is_verified:
                row.is_verified = True
                row.save(update_fields=["is_verified"])
        Membership.objects.update_or_create(organisation=organisation, user=first_admin,
                                            defaults={"role": MembershipRole.ADMIN, "is_active": True})
        assign_perm(ADMINISTER_ORGANISATION, first_admin, organisation)
        assign_perm(VIEW_ORGANISATION_DASHBOARD, first_admin, organisation)
        audit_record(actor=actor, action=AuditAction.ORGANISATION_ACTIVATED, target=organisation, request=request,
                     old={"status": OrganisationStatus.PENDING},
                     new={"status": OrganisationStatus.ACTIVE, "application": source, "domains": domains})
        audit_record(actor=actor, action=AuditAction.MEMBERSHIP_GRANTED, target=organisation, request=request,
                     new={"user": first_admin.email, "role": MembershipRole.ADMIN, "application": source})
    return organisation

def _check_role_granter(actor: AnyUser | None) -> None:
    """Platform roles are granted and revoked by a superadmin, or by the system
    (``actor`` None: management commands such as seed_demo)."""
    if actor is not None and not is_superadmin(actor):
        raise PermissionDenied


def platform_role_grant(
    *, user: AbstractBaseUser, role: str, jurisdiction: str, actor: AnyUser | None, request: HttpRequest | None = None
) -> PlatformRoleGrant:
    """Give ``user`` a platform role over ``jurisdiction`` (a state/UT code, CENTRAL,
    or "" for everything; a superadmin's is always ""), with an audit row. Returns the
    active grant; granting a role the user already holds changes nothing."""
    _check_role_granter(actor)
    if role not in PlatformRole.values:
        raise ValueError(f"unknown platform role {role!r}")
    if jurisdiction and (role == PlatformRole.SUPERADMIN or jurisdiction not in dict(JURISDICTION_CHOICES)):
        raise ValueError(f"jurisdiction {jurisdiction!r} is not one a {role} role can have")
    with transaction.atomic():
        # The user's row serialises grants and revocations of their roles.
        get_user_model().objects.select_for_update().filter(pk=user.pk).get()
        grant = PlatformRoleGrant.objects.filter(user=user, role=role, jurisdiction=jurisdiction,
                                                 revoked_at__isnull=True).first()
        if grant is not None:
            return grant
        grant = PlatformRoleGrant.objects.create(
            user=user, role=role, jurisdiction=jurisdiction,
            granted_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit_record(actor=actor, action=AuditAction.PLATFORM_ROLE_GRANTED, target=user, request=request,
                     new={"grant": grant.pk, "role": role, "jurisdiction": jurisdiction})
    return grant


def platform_role_revoke(*, grant_id: int, actor: AnyUser | None, request: HttpRequest | None = None) -> PlatformRoleGrant:
    """End a platform role grant (its rights end at the holder's next request), with an
    audit row. Revoking one already revoked changes nothing."""
    _check_role_granter(actor)
    with transaction.atomic():
        grant = PlatformRoleGrant.objects.select_for_update().select_related("user").get(pk=grant_id)
        if grant.revoked_at is not None:
            return grant
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action=AuditAction.PLATFORM_ROLE_REVOKED, target=grant.user, request=request,
                     old={"grant": grant.pk, "role": grant.role, "jurisdiction": grant.jurisdiction},
                     new={"revoked_at": grant.revoked_at})
    return grant
