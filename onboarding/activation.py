"""Final approval: the organisation becomes active (DESIGN §4)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from onboarding.letters import approval_letter_queue
from onboarding.models import Section
from onboarding.validators import clean_staff_domains
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


def _staff_domains(raw):
    try:
        domains, _warnings = clean_staff_domains(raw)
    except ValidationError:
        domains = []
    return domains


def _parent_of(application):
    hierarchy = application.section_data(Section.HIERARCHY)
    if hierarchy.get("parent_choice") != "existing" or not hierarchy.get("parent"):
        return None
    try:
        return Organisation.objects.filter(pk=int(hierarchy["parent"])).first()
    except (TypeError, ValueError):
        return None


def application_approve(*, application, actor, request=None):
    """Final approval, inside the deciding transaction: the organisation becomes
    active with its email domains, the nodal officer becomes its first admin
    (guardian object permissions), audit events are written, and the approval
    letter is queued for when the transaction commits."""
    now = timezone.now()
    data = application.section_data(Section.ORGANISATION)
    if application.organisation_id:
        organisation = Organisation.objects.select_for_update().get(pk=application.organisation_id)
        organisation.status, organisation.activated_at = OrganisationStatus.ACTIVE, now
        organisation.save(update_fields=["status", "activated_at"])
    else:
        level = data.get("level") or Level.STATE
        organisation = Organisation.objects.create(
            name=(data.get("name") or application.organisation_name)[:200], name_local=(data.get("name_local") or "")[:200],
            short_code=(data.get("short_code") or "")[:20], org_type=data.get("org_type") or "other", level=level,
            state="" if level == Level.CENTRAL else (data.get("state") or "")[:2], district=(data.get("district") or "")[:100],
            parent=_parent_of(application), status=OrganisationStatus.ACTIVE, activated_at=now,
        )
    domains = _staff_domains(data.get("email_domains"))
    for domain in domains:
        row, created = OrganisationDomain.objects.get_or_create(organisation=organisation, domain=domain,
                                                                 defaults={"is_verified": True})
        if not created and not row.is_verified:
            row.is_verified = True
            row.save(update_fields=["is_verified"])
    officer = application.nodal_officer
    Membership.objects.update_or_create(organisation=organisation, user=officer,
                                        defaults={"role": MembershipRole.ADMIN, "is_active": True})
    assign_perm("organisations.administer_organisation", officer, organisation)
    assign_perm("organisations.view_organisation_dashboard", officer, organisation)
    application.organisation = organisation
    application.save(update_fields=["organisation"])
    audit_record(actor=actor, action=AuditAction.ORGANISATION_ACTIVATED, target=organisation, request=request,
                 old={"status": OrganisationStatus.PENDING},
                 new={"status": OrganisationStatus.ACTIVE, "application": application.reference, "domains": domains})
    audit_record(actor=actor, action=AuditAction.MEMBERSHIP_GRANTED, target=organisation, request=request,
                 new={"user": officer.email, "role": MembershipRole.ADMIN, "application": application.reference})
    transaction.on_commit(lambda: approval_letter_queue(application.pk))
    return organisation
