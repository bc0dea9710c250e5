"""Writes to organisations: activating one and making its first admin."""

from django.contrib.auth.models import AbstractBaseUser
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
)
from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD

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
