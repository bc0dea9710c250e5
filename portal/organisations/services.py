"""Writes to organisations: activating one and making its first admin."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.organisations.models import (
    DomainClaim,
    Level,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRole,
    PlatformRoleGrant,
)
from portal.organisations.selectors import domain_claims_of
from portal.organisations.states import JURISDICTION_CHOICES
from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD, AnyUser, is_superadmin

ORGANISATION_FIELDS = ("name", "name_local", "short_code", "org_type", "level", "state", "district")


def _domain_record(*, organisation: Organisation, domain: str, claim: DomainClaim) -> str:
    """Record a domain the organisation's staff use: official for it when it is under
    an official suffix and not official elsewhere; otherwise a claim, which never
    makes an address official until a superadmin accepts it."""
    row, _created = OrganisationDomain.objects.get_or_create(organisation=organisation, domain=domain,
                                                             defaults={"claim": claim})
    if not row.is_verified:
        row.claim = claim
        row.is_verified = claim == DomainClaim.OFFICIAL_SUFFIX
        row.save(update_fields=["claim", "is_verified"])
    return row.claim


def organisation_domain_accept(*, domain_id: int, actor: AnyUser, request: HttpRequest | None = None) -> OrganisationDomain:
    """A superadmin accepts an organisation's claim to a domain: its addresses become
    official. Refused (ValidationError) while the domain is official for another
    organisation or is an official suffix itself."""
    with transaction.atomic():
        row = OrganisationDomain.objects.select_for_update().select_related("organisation").get(pk=domain_id)
        if row.is_verified:
            return row
        claim = domain_claims_of([row.domain], organisation_id=row.organisation_id)[row.domain]
        if claim in (DomainClaim.CLAIMED_ELSEWHERE, DomainClaim.SUFFIX_ITSELF):
            raise ValidationError(DomainClaim(claim).label, code=claim)
        row.is_verified, row.accepted_by, row.accepted_at = True, actor, timezone.now()
        row.save(update_fields=["is_verified", "accepted_by", "accepted_at"])
        audit_record(actor=actor, action=AuditAction.DOMAIN_ACCEPTED, target=row.organisation, request=request,
                     old={"domain": row.domain, "claim": row.claim}, new={"domain": row.domain, "verified": True})
    return row


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
        claims = {
            domain: _domain_record(organisation=organisation, domain=domain, claim=claim)
            for domain, claim in domain_claims_of(domains, organisation_id=organisation.pk).items()
        }
        Membership.objects.update_or_create(organisation=organisation, user=first_admin,
                                            defaults={"role": MembershipRole.ADMIN, "is_active": True})
        assign_perm(ADMINISTER_ORGANISATION, first_admin, organisation)
        assign_perm(VIEW_ORGANISATION_DASHBOARD, first_admin, organisation)
        audit_record(actor=actor, action=AuditAction.ORGANISATION_ACTIVATED, target=organisation, request=request,
                     old={"status": OrganisationStatus.PENDING},
                     new={"status": OrganisationStatus.ACTIVE, "application": source, "domains": domains,
                          "claims": {domain: claim for domain, claim in claims.items() if claim != DomainClaim.OFFICIAL_SUFFIX}})
        audit_record(actor=actor, action=AuditAction.MEMBERSHIP_GRANTED, target=organisation, request=request,
                     new={"user": first_admin.email, "role": MembershipRole.ADMIN, "application": source})
    return organisation


def official_powers_end(*, user: AnyUser, reason: str, request: HttpRequest | None = None) -> list[int]:
    """The user's address no longer earns official powers (for example they made a
    personal address their primary one): they stop administering every organisation
    (guardian object roles and admin memberships), with an audit row saying why.
    Returns the ids of the organisations concerned."""
    with transaction.atomic():
        administered = list(
            get_objects_for_user(user, ADMINISTER_ORGANISATION, klass=Organisation, accept_global_perms=False)
            .values_list("pk", flat=True)
        )
        for organisation in Organisation.objects.filter(pk__in=administered):
            remove_perm(ADMINISTER_ORGANISATION, user, organisation)
            remove_perm(VIEW_ORGANISATION_DASHBOARD, user, organisation)
        Membership.objects.filter(user=user, role=MembershipRole.ADMIN, is_active=True).update(is_active=False)
        audit_record(actor=user, action=AuditAction.OFFICIAL_POWERS_ENDED, target=user, request=request,
                     new={"reason": reason, "organisations": administered})
    return administered


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
