"""Writes to organisations: activating one and making its first admin; suspending and
reactivating one; changing its details; moving one to another state or under another
organisation; granting, revoking and expiring roles (platform
roles, an organisation's admins)."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, TextChoices
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from portal.accounts.mail_limits import one_mailbox
from portal.accounts.official_email import classify_email, email_rules, normalise_host_name, personal_mail_service
from portal.advisory import advisory_lock
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record, audit_record_many
from portal.limits import hourly_audited, refuse_over
from portal.organisations.details import DETAILS, details_changes, details_clean
from portal.organisations.models import (
    CLAIMS_NOT_ACCEPTED,
    DomainClaim,
    Level,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRole,
    PlatformRoleGrant,
    ReactivationReason,
    SuspensionReason,
    at_or_above,
    ended,
    in_force_q,
    last_day_of,
    not_ended_q,
)
from portal.organisations.notifications import people_languages, send_role_mail
from portal.organisations.selectors import (
    LeftWithoutAdmin,
    admin_acting_again,
    admin_roles_changed,
    admin_roles_resting_on,
    admins_acting_above,
    domain_claims_of,
    domains_official_above,
    first_admin_roles_left_by,
    grounds_for_admin,
    left_without_acting_admin,
    organisations_left_without_admin,
    organisations_without_admin,
    primary_change_ends_powers,
    who_acts_for,
    without_acting_admin_above,
)
from portal.organisations.signals import (
    domain_removal_counts,
    organisation_domain_removed,
    organisation_status_changed,
    platform_role_ending,
)
from portal.organisations.states import CENTRAL, JURISDICTION_CHOICES, State
from portal.organisations.status_selectors import (
    DETAIL_AUDIT_KEYS,
    domain_removal_weighed,
    jurisdiction_after,
    move_effect,
    move_shown,
    offices_moving_with,
    status_change_told,
)
from portal.permissions import (
    ADMINISTER_ORGANISATION,
    VIEW_ORGANISATION_DASHBOARD,
    AnyUser,
    admins_who_act,
    directly_administered_ids,
    is_superadmin,
    may_change_organisation_details,
    may_change_organisation_status,
    may_grant_admin,
    may_grant_platform_roles,
    roles_asked_again,
)
from portal.shown import ChangedMeanwhile, check_shown, shown_digest
from portal.text import before_full_stop, has_visible_characters, multi_line

REASON_MAX_LENGTH = 500

ORGANISATION_FIELDS = ("name", "name_local", "short_code", "org_type", "level", "state", "district")


# The first of PostgreSQL's two advisory-lock keys: one domain being given to an organisation ("DOMN").
DOMAIN_LOCK_NAMESPACE = 0x444F4D4E


def domains_lock(domains: Iterable[str]) -> None:
    """Until the transaction ends, whoever else is about to make one of ``domains`` official
    for an organisation waits here: a superadmin adding it or accepting a claim to it, a
    final approval making an organisation with it. Each takes this lock before it reads
    whether the domain is official elsewhere, so two at once cannot both find it free (the
    second met the unique index of verified domains: a server error). In one order, so
    that two taking several never wait for each other."""
    for domain in sorted({domain.lower() for domain in domains if domain}):
        advisory_lock(DOMAIN_LOCK_NAMESPACE, domain)


def _domain_record(*, organisation: Organisation, domain: str, claim: DomainClaim) -> OrganisationDomain:
    """Record a domain the organisation's staff use: official for it when it is under
    an official suffix and not official elsewhere; otherwise a claim, which never
    makes an address official until a superadmin accepts it (the row left unverified)."""
    row, _created = OrganisationDomain.objects.get_or_create(organisation=organisation, domain=domain,
                                                             defaults={"claim": claim})
    if not row.is_verified:
        row.claim = claim
        row.is_verified = claim == DomainClaim.OFFICIAL_SUFFIX
        row.save(update_fields=["claim", "is_verified"])
    return row


def organisation_domain_accept(*, domain_id: int, actor: AnyUser, request: HttpRequest | None = None) -> OrganisationDomain:
    """A superadmin accepts an organisation's claim to a domain: its addresses become
    official. Refused (ValidationError) while the domain is official for another
    organisation or is an official suffix itself, and for a personal mail service (or a
    domain under one), whose mail is never official (DESIGN §3). Only a superadmin's
    (PermissionDenied)."""
    if not is_superadmin(actor):
        raise PermissionDenied
    with transaction.atomic():
        domain = OrganisationDomain.objects.filter(pk=domain_id).values_list("domain", flat=True).get()
        # A final approval or a superadmin's add giving the domain to another organisation at
        # this moment: one waits for the other, then finds the domain official there.
        domains_lock([domain])
        # Every claim to the domain, in one order: two superadmins accepting two
        # organisations' claims at once wait for each other, and the second is refused
        # below (it met the unique index of verified domains, a 500).
        claims = {claim.pk: claim for claim in OrganisationDomain.objects.select_for_update(of=("self",))
                  .select_related("organisation").filter(domain=domain).order_by("pk")}
        row = claims.get(domain_id)
        if row is None:  # removed by another superadmin meanwhile
            raise OrganisationDomain.DoesNotExist
        if row.is_verified:
            return row
        rules = email_rules()
        if personal_mail_service(row.domain, rules=rules):
            raise ValidationError(_("%(domain)s is a personal mail service and is never accepted as official email.")
                                  % {"domain": row.domain}, code="consumer_domain")
        claim = domain_claims_of([row.domain], organisation_id=row.organisation_id, rules=rules)[row.domain]
        if claim in CLAIMS_NOT_ACCEPTED:
            raise ValidationError(DomainClaim(claim).label, code=claim)
        row.is_verified, row.accepted_by, row.accepted_at = True, actor, timezone.now()
        row.save(update_fields=["is_verified", "accepted_by", "accepted_at"])
        audit_record(actor=actor, action=AuditAction.DOMAIN_ACCEPTED, target=row.organisation, request=request,
                     old={"domain": row.domain, "claim": row.claim}, new={"domain": row.domain, "verified": True})
    return row


def organisation_domain_add(*, organisation_id: int, domain: str, reason: str, actor: AnyUser,
                            request: HttpRequest | None = None) -> OrganisationDomain:
    """A superadmin adds an email domain to an organisation (a domain its staff moved to, a
    PSU's own), giving the reason: official for it at once, under an official suffix or off
    them (the superadmin decides, as accepting a claim does: a waiting claim of the
    organisation's to it is accepted). Refused at the domain (ValidationError) for what is
    no host name, a personal mail service (or a domain under one), an official suffix
    itself, a domain official for another organisation, or one already official for it.
    Audited (DOMAIN_ACCEPTED, with the reason). Only a superadmin's (PermissionDenied)."""
    if not is_superadmin(actor):
        raise PermissionDenied
    try:
        domain = normalise_host_name(domain or "")
    except ValueError:
        raise ValidationError({"domain": ValidationError(
            _("Enter a domain such as dept.gov.in: letters, digits, hyphens and dots only, with no @, scheme or path."),
            code="invalid")}) from None
    note = _note_clean(reason, missing=_("Give the reason the domain is added."))
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        # Two superadmins adding the domain to two organisations at once (or one adding it as
        # a final approval makes an organisation with it): the second waits, then finds it
        # official for the first (no row to lock yet, and the unique index of verified
        # domains would answer it with a 500).
        domains_lock([domain])
        # Every row of the domain, in one order, as organisation_domain_accept locks them.
        rows = list(OrganisationDomain.objects.select_for_update().filter(domain=domain).order_by("pk"))
        own = next((row for row in rows if row.organisation_id == organisation.pk), None)
        if own is not None and own.is_verified:
            raise ValidationError({"domain": ValidationError(
                _("%(domain)s is already official for %(organisation)s.")
                % {"domain": domain, "organisation": before_full_stop(organisation.name)}, code="already_official")})
        rules = email_rules()
        if personal_mail_service(domain, rules=rules):
            raise ValidationError({"domain": ValidationError(
                _("%(domain)s is a personal mail service and is never accepted as official email.")
                % {"domain": domain}, code="consumer_domain")})
        claim = domain_claims_of([domain], organisation_id=organisation.pk, rules=rules)[domain]
        if claim in CLAIMS_NOT_ACCEPTED:
            raise ValidationError({"domain": ValidationError(DomainClaim(claim).label, code=claim)})
        now = timezone.now()
        old = {"domain": domain, "claim": own.claim} if own is not None else {}
        if own is None:
            own = OrganisationDomain(organisation=organisation, domain=domain)
        own.claim, own.is_verified, own.accepted_by, own.accepted_at = claim, True, actor, now
        own.save()
        audit_record(actor=actor, action=AuditAction.DOMAIN_ACCEPTED, target=organisation, request=request,
                     old=old, new={"domain": domain, "verified": True, "reason": note})
    return own


def organisation_domain_remove(*, domain_id: int, reason: str, actor: AnyUser,
                               request: HttpRequest | None = None, shown: str | None = None) -> OrganisationDomain:
    """A superadmin takes an email domain off an organisation (accepted by mistake, a
    lookalike, a domain the department gave up), giving the reason (ValidationError
    without one). Its addresses stop counting as the organisation's at once: rosters and
    requests read the domains from the table, so the organisation's automatic verification
    no longer applies there. What rests on the domain alone ends in the same transaction,
    by the listeners of organisation_domain_removed (verification: the waiting invitations
    to addresses there are withdrawn, the verifications made automatically at it
    suspended, the person told; those an administrator decided stand). A domain under an
    official suffix stays official mail everywhere, as the rules have it. The organisation's
    admins (or whoever acts for it) are told by mail what it ended and how many members
    verified by an administrator keep an address there, to check them. Audited
    (DOMAIN_REMOVED, with who was told). Only a superadmin's (PermissionDenied), as accepting one is;
    OrganisationDomain.DoesNotExist for a domain removed meanwhile, as accepting one gives.
    ``shown``: the digest of what its confirmation page said it ends and who it tells
    (domain_removal_shown); ChangedMeanwhile, nothing done, when that has changed since."""
    if not is_superadmin(actor):
        raise PermissionDenied
    note = _note_clean(reason, missing=_("Give the reason the domain is removed."))
    with transaction.atomic():
        organisation_id = OrganisationDomain.objects.filter(pk=domain_id).values_list("organisation_id", flat=True).get()
        # The organisation first, as the services that change it lock it.
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        row = OrganisationDomain.objects.select_for_update().filter(pk=domain_id).first()
        if row is None:  # removed by another superadmin (or this form sent twice) meanwhile
            raise OrganisationDomain.DoesNotExist
        old = {"domain": row.domain, "verified": row.is_verified, "claim": row.claim}
        row.organisation = organisation
        # Not what its page said it ends, or whom it tells (changed since it was opened): nothing done.
        if shown is not None:
            check_shown(shown, _domain_removal_values(row, actor, domain_removal_weighed(row)))
        row.delete()
        # Its admins (or whoever acts for it) are told what it ended and who stays verified at an
        # address there; a claim nobody accepted made nothing rest on it. The one who removed it
        # knows (its confirmation page said).
        told = [one for one in status_change_told(organisation) if one.user.pk != actor.pk] if old["verified"] else []
        audit_record(actor=actor, action=AuditAction.DOMAIN_REMOVED, target=organisation, request=request,
                     old=old, new=_with({"reason": note}, told=[one.user.email for one in told]))
        if old["verified"]:
            now = timezone.now()
            counts = domain_removal_counts(organisation_domain_removed.send(
                sender=OrganisationDomain, organisation=organisation, domain=old["domain"], at=now))
            languages = people_languages(one.user.pk for one in told)
            for one in told:
                send_role_mail(user=one.user, template="organisation_domain_removed", language=languages[one.user.pk],
                               context={"organisation": organisation, "own": one.own, "above": one.above,
                                        "domain": old["domain"], "reason": note, "decider": actor.email, "at": now,
                                        **counts})
    return row


def domain_removal_shown(row: OrganisationDomain, actor: AnyUser, weighed: dict[str, int]) -> str:
    """The digest (portal.shown) of what removing ``row`` ends (``weighed``, as
    domain_removal_weighed counts it: the page has it) and whom it tells, less ``actor``, as
    its confirmation page says them."""
    return shown_digest(_domain_removal_values(row, actor, weighed))


def _domain_removal_values(row: OrganisationDomain, actor: AnyUser, weighed: dict[str, int]) -> dict:
    told = [one.user.email for one in status_change_told(row.organisation) if one.user.pk != actor.pk] \
        if row.is_verified else []
    return {"weighed": weighed, "told": sorted(told)}


# The first of PostgreSQL's two advisory-lock keys: one short code, in any case ("SHRT").
SHORT_CODE_LOCK_NAMESPACE = 0x53485254


def short_code_lock(code: str) -> None:
    """Until the transaction ends, whoever else is about to give an organisation the short
    code ``code`` (letters in any case) waits here: a final approval takes it before it
    checks the code free, so two at once cannot both find it free and both make an active
    organisation with it (SQLite, for development, has one writer at a time)."""
    code = (code or "").strip()
    if code:
        advisory_lock(SHORT_CODE_LOCK_NAMESPACE, code.upper())


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
    proposed_parent: dict | None = None,
) -> Organisation:
    """Make an organisation active (an existing pending one, or a new one from
    ``attributes``), with its staff email domains, and ``first_admin`` its first
    administrator (membership and guardian object permissions). Runs in the
    caller's transaction (``source`` names what approved it, for the audit log).
    ``proposed_parent``: the parent not yet on Sandes that its application named
    ({"name", "org_type"}), kept with the activation's audit row, so that it can be
    found and placed when that parent joins."""
    now = timezone.now()
    with transaction.atomic():
        if organisation_id:
            organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
            organisation.status, organisation.activated_at = OrganisationStatus.ACTIVE, now
            organisation.save(update_fields=["status", "activated_at"])
        else:
            if parent is not None:
                # Placed where the parent is now: read before a move of it (or of one above it)
                # committed, it would put the office under its old place. A move under way is
                # waited for (the moves' lock), then the parent read again.
                advisory_lock(MOVE_LOCK_NAMESPACE)
                parent = Organisation.objects.get(pk=parent.pk)
            # As the form checked them (its text fields strip the answer): a draft keeps what was
            # typed, spaces around it included, and those are no part of the name.
            values = {key: str(attributes.get(key) or "").strip() for key in ORGANISATION_FIELDS}
            level = values["level"] or Level.STATE
            organisation = Organisation.objects.create(
                name=values["name"][:200], name_local=values["name_local"][:200],
                short_code=values["short_code"].upper()[:20],
                org_type=values["org_type"] or "other", level=level,
                state="" if level == Level.CENTRAL else values["state"][:2], district=values["district"][:100],
                parent=parent, status=OrganisationStatus.ACTIVE, activated_at=now,
            )
        # A superadmin adding or accepting one of the domains for another organisation at this
        # moment: one waits for the other, and a domain found official there is recorded as
        # a claim already official elsewhere, as it would have been a moment later.
        domains_lock(domains)
        # A domain official for an organisation above it is the office's too: no claim.
        shared = domains_official_above(domains, organisation)
        rows = [_domain_record(organisation=organisation, domain=domain, claim=claim)
                for domain, claim in domain_claims_of([domain for domain in domains if domain not in shared],
                                                      organisation_id=organisation.pk).items()]
        claims = {row.domain: row.claim for row in rows}
        Membership.objects.update_or_create(organisation=organisation, user=first_admin,
                                            defaults={"role": MembershipRole.ADMIN, "is_active": True})
        assign_perm(ADMINISTER_ORGANISATION, first_admin, organisation)
        assign_perm(VIEW_ORGANISATION_DASHBOARD, first_admin, organisation)
        audit_record(actor=actor, action=AuditAction.ORGANISATION_ACTIVATED, target=organisation, request=request,
                     old={"status": OrganisationStatus.PENDING},
                     new={"status": OrganisationStatus.ACTIVE, "application": source, "domains": domains,
                          "claims": {domain: claim for domain, claim in claims.items() if claim != DomainClaim.OFFICIAL_SUFFIX},
                          **({"inherited": sorted(shared)} if shared else {}),
                          **({"proposed_parent": proposed_parent} if proposed_parent else {})})
        audit_record(actor=actor, action=AuditAction.MEMBERSHIP_GRANTED, target=organisation, request=request,
                     new={"user": first_admin.email, "role": MembershipRole.ADMIN, "application": source})
        # Each domain left waiting for a superadmin (the domain claims page) is claimed now, as
        # its acceptance is recorded (organisation_domain_accept): none, no query.
        audit_record_many([
            {"action": AuditAction.DOMAIN_CLAIMED, "target": organisation,
             "new": {"domain": row.domain, "claim": row.claim, "application": source}}
            for row in rows if not row.is_verified
        ], actor=actor, request=request)
    return organisation


# Suspending and reactivating an organisation ----------------------------------------------------
#
# Who may is portal.permissions' question (may_change_organisation_status), asked again here
# under the organisation's lock. What a suspension means is read everywhere from the status
# itself (an admin role counts only while its organisation is active, a suspended one vouches
# for nobody, the verification API answers for none of its people): nothing else is written
# here but the status, its audit row and the mail; the feature apps that must act at once
# listen to organisation_status_changed.

STATUS_NOTE_MAX_LENGTH = 1000


class OrganisationStatusUnchanged(ValidationError):
    """Refused: the organisation is not in the status the change goes from (suspended
    already, active already, or not yet active: its application is still being decided)."""


@dataclass(frozen=True)
class _StatusChange:
    """One of the two changes of an organisation's status: from what, its audit action, the
    reasons it may be made for, the template of the mail telling its admins."""

    before: str
    action: AuditAction
    reasons: type[TextChoices]
    template: str


_STATUS_CHANGES = {
    OrganisationStatus.SUSPENDED: _StatusChange(OrganisationStatus.ACTIVE, AuditAction.ORGANISATION_SUSPENDED,
                                                SuspensionReason, "organisation_suspended"),
    OrganisationStatus.ACTIVE: _StatusChange(OrganisationStatus.SUSPENDED, AuditAction.ORGANISATION_REACTIVATED,
                                             ReactivationReason, "organisation_reactivated"),
}


def organisation_suspend(*, organisation_id: int, reason_code: str, reason: str, actor: AnyUser,
                         request: HttpRequest | None = None, shown: str | None = None) -> Organisation:
    """Suspend an active organisation, by a superadmin or an administrator of its state
    (``may_change_organisation_status``), for one of SuspensionReason (``reason_code``) with
    a note (``reason``, required, at most STATUS_NOTE_MAX_LENGTH characters). From then on it
    counts for nothing until reactivated: its admins act neither for it nor for the offices
    below it (which stay active), it vouches for nobody, nobody is verified in it, the
    verification API answers for none of its people. Audited; its admins whose role counts
    are told by mail, one each, in their language (with none, whoever acts for it:
    ``who_acts_for``), not its members. Refused (OrganisationStatusUnchanged) unless it is
    active, (PermissionDenied) for anyone else, (ValidationError at the field) for a reason
    or a note that will not do, (portal.shown.ChangedMeanwhile) when ``shown``, the digest
    of what its confirmation page said it does above it (``status_change_shown``), is not
    that of what it does now; nothing is changed then."""
    return _organisation_status_change(organisation_id=organisation_id, to=OrganisationStatus.SUSPENDED,
                                       reason_code=reason_code, reason=reason, actor=actor, request=request,
                                       shown=shown)


def organisation_reactivate(*, organisation_id: int, reason_code: str, reason: str, actor: AnyUser,
                            request: HttpRequest | None = None, shown: str | None = None) -> Organisation:
    """Make a suspended organisation active again, for one of ReactivationReason with a
    note, as organisation_suspend suspends it: everything that rests on it counts again
    (what ended while it was suspended stays ended), and the grace periods its people had
    to confirm their official address are given back the time they did not count
    (verification, on organisation_status_changed)."""
    return _organisation_status_change(organisation_id=organisation_id, to=OrganisationStatus.ACTIVE,
                                       reason_code=reason_code, reason=reason, actor=actor, request=request,
                                       shown=shown)


def _status_reason_clean(change: _StatusChange, reason_code: str, reason: str) -> str:
    """The note as stored (its lines kept, no control character), or ValidationError at the
    field of the reason or of the note that will not do."""
    errors = {}
    if reason_code not in change.reasons.values:
        errors["reason_code"] = ValidationError(_("Choose the reason."), code="required")
    note = ""
    try:
        note = _note_clean(reason, missing=_("Write a note: what happened, for the record."))
    except ValidationError as refused:
        errors["reason"] = refused
    if errors:
        raise ValidationError(errors)
    return note


def status_change_refusal(organisation: Organisation, to: str) -> OrganisationStatusUnchanged | None:
    """Why the organisation (as read) cannot be given the status ``to`` now, or None: the
    refusal organisation_suspend and organisation_reactivate raise (OrganisationStatusUnchanged),
    which the pages say before offering the change."""
    if organisation.status == _STATUS_CHANGES[to].before:
        return None
    name = before_full_stop(organisation.name)
    if organisation.status == OrganisationStatus.PENDING:
        return OrganisationStatusUnchanged(
            _("%(organisation)s is not active yet: its application is still being decided. Only an active organisation "
              "is suspended, and only a suspended one reactivated.") % {"organisation": name}, code="pending")
    if to == OrganisationStatus.SUSPENDED:
        return OrganisationStatusUnchanged(_("%(organisation)s is already suspended: nothing was changed.")
                                           % {"organisation": name}, code="suspended")
    return OrganisationStatusUnchanged(_("%(organisation)s is already active: nothing was changed.")
                                       % {"organisation": name}, code="active")


def status_change_shown(departments: Iterable[LeftWithoutAdmin], held: Mapping[str, list[str]],
                        told: Iterable[str]) -> str:
    """The digest (portal.shown) of what a confirmation page says a change of an
    organisation's status does above it: the departments it leaves with nobody acting for
    them, or gives their admin back, and the admins above it whose role stops counting, or
    counts again, each told (status_change_above); and the addresses of those it tells of
    the change (``told``: status_change_told, less the one changing it)."""
    return shown_digest(_status_change_above_values(departments, held, told))


def _status_change_above_values(departments: Iterable[LeftWithoutAdmin], held: Mapping[str, list[str]],
                                told: Iterable[str]) -> dict:
    return {"departments": sorted(entry.organisation.pk for entry in departments),
            "held": {address: sorted(names) for address, names in sorted(held.items())}, "told": sorted(told)}


def _organisation_status_change(*, organisation_id: int, to: str, reason_code: str, reason: str, actor: AnyUser,
                                request: HttpRequest | None, shown: str | None) -> Organisation:
    change = _STATUS_CHANGES[to]
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        roles_asked_again(actor)
        if not may_change_organisation_status(actor, organisation):
            raise PermissionDenied(_("Only a superadmin, or an administrator of its state or UT, suspends or "
                                     "reactivates an organisation."))
        refusal = status_change_refusal(organisation, to)
        if refusal is not None:
            raise refusal
        note = _status_reason_clean(change, reason_code, reason)
        now = timezone.now()
        # An admin role above it resting on a verification in it counts for nothing while it is suspended.
        acting_above = admins_acting_above(organisation)
        # And counts again once it is reactivated: a department left with nobody acting for it has its admin back.
        missing_above = without_acting_admin_above(organisation) if to == OrganisationStatus.ACTIVE else []
        old, organisation.status = organisation.status, to
        organisation.save(update_fields=["status"])
        # The one who changed it knows (the page tells them).
        told = [one for one in status_change_told(organisation) if one.user.pk != actor.pk]
        # The departments above it its suspension leaves with nobody acting for them, and who acts for each now.
        acting_now = admins_acting_above(organisation) if organisation.ancestor_ids else {}
        left = (left_without_acting_admin(organisation, acting_above, after=acting_now)
                if acting_above and to == OrganisationStatus.SUSPENDED else [])
        # Those who acted meanwhile for a department whose admin acts for it again once it is reactivated.
        again = admin_acting_again(organisation, missing_above)
        # The admins above it whose role stops counting, or counts again, by the change: each is told.
        held = (admin_roles_changed(acting_above, acting_now) if to == OrganisationStatus.SUSPENDED
                else admin_roles_changed(acting_now, acting_above))
        # Not what its page said it does (changed since it was opened): undone, the page says it again.
        check_shown(shown, _status_change_above_values(left + again, held, [one.user.email for one in told]))
        told_above = [(entry, user, above) for entry in left + again for user, above in entry.acting
                      if user.pk != actor.pk]
        holders = [user for user in get_user_model().objects.filter(email__in=held).order_by("email")
                   if user.pk != actor.pk] if held else []
        addresses = ([one.user.email for one in told] + [user.email for _entry, user, _above in told_above]
                     + [user.email for user in holders])
        audit_record(actor=actor, action=change.action, target=organisation, request=request, old={"status": old},
                     new={"status": to, "reason_code": reason_code, "reason": note, "told": list(dict.fromkeys(addresses)),
                          **({"left_without_admin": [entry.organisation.name for entry in left]} if left else {}),
                          **({"admin_acting_again": [entry.organisation.name for entry in again]} if again else {})})
        organisation_status_changed.send(sender=Organisation, organisation=organisation, old=old, new=to, at=now)
        # Who decided, as each is told in their own language: a superadmin, or an administrator of its state.
        jurisdiction = None if is_superadmin(actor) else dict(JURISDICTION_CHOICES)[organisation.jurisdiction]
        languages = people_languages([*(one.user.pk for one in told), *(user.pk for _entry, user, _above in told_above),
                                      *(user.pk for user in holders)])
        for one in told:
            send_role_mail(user=one.user, template=change.template, language=languages[one.user.pk], context={
                "organisation": organisation, "own": one.own, "above": one.above,
                "reason_code": change.reasons(reason_code),
                "reason": note, "decider": actor.email, "jurisdiction": jurisdiction, "at": now})
        # Whoever acts now for a department left with nobody acting for it (who_acts_for: the admins
        # above it, or the superadmins), or acted for it meanwhile, once its admin acts again: one mail
        # per department, in their language; not the one who changed it, whom its confirmation page
        # told (status_change_above).
        template = ("organisation_without_admin_acting" if to == OrganisationStatus.SUSPENDED
                    else "organisation_admin_acting_again")
        for entry, user, above in told_above:
            send_role_mail(user=user, template=template, language=languages[user.pk], context={
                "organisation": entry.organisation, "above": above, "holders": entry.holders,
                "suspended": organisation})
        for user in holders:
            send_role_mail(user=user, template="admin_role_resting_on_office", language=languages[user.pk], context={
                "office": organisation, "organisations": held[user.email],
                "suspended": to == OrganisationStatus.SUSPENDED})
    return organisation


# Changing an organisation's details -------------------------------------------------------------
#
# Its name in English and in the local language, its short code and its district, as the
# onboarding form asked them (portal.organisations.details: the same fields and refusals).
# Who may is portal.permissions' question (may_change_organisation_details), asked again under
# the organisation's lock. Everything that shows an organisation reads its row (the directory,
# the dashboards, the verified badges, the mail): nothing else is written here but the row,
# its audit row and the mail. What an application was submitted under stays as submitted.

class OrganisationNotActive(ValidationError):
    """Refused: the organisation's application is still being decided (its details are its
    application's until it is approved)."""


class ToldChanged(ChangedMeanwhile):
    """Whom a change tells is not whom its confirmation page named: nothing is done."""


def details_told_shown(told: Iterable) -> str:
    """The digest (portal.shown) of whom a details change tells (status_change_told, less the
    one changing them), as its confirmation page names them."""
    return shown_digest(sorted(one.user.email for one in told))


def details_digest(organisation: Organisation) -> str:
    """The digest (portal.shown) of the details a page shows of ``organisation``."""
    return shown_digest({key: getattr(organisation, key) for key in DETAILS})


def _note_clean(reason: str, *, missing: str) -> str:
    """A note as stored (its lines kept, no control character), or ValidationError saying
    ``missing`` when it shows nothing, or that it is over STATUS_NOTE_MAX_LENGTH."""
    note = multi_line(reason or "").strip()
    if not has_visible_characters(note):
        raise ValidationError(missing, code="required")
    if len(note) > STATUS_NOTE_MAX_LENGTH:
        raise ValidationError(
            _("The note is too long: write at most %(limit)s characters (it has %(length)s).")
            % {"limit": STATUS_NOTE_MAX_LENGTH, "length": len(note)}, code="max_length")
    return note


def organisation_details_change(*, organisation: Organisation, name: str, name_local: str, short_code: str,
                                district: str, reason: str, actor: AnyUser, request: HttpRequest | None = None,
                                shown: str | None = None, told_shown: str | None = None) -> dict[str, tuple[str, str]]:
    """Change an active (or suspended) organisation's name, name in the local language,
    short code and district, by a superadmin or an administrator of its state
    (``may_change_organisation_details``), giving why (``reason``, required, at most
    STATUS_NOTE_MAX_LENGTH characters). Each is checked as the onboarding form checks it
    (``details_clean``: its limit, the short code's form, free on Sandes under the code's
    lock as final approval takes it, the district of a district office). Returns
    {field: (old, new)} of what changed: nothing changes, nothing is written ({}), when the
    details are already those. Audited with the old and new values; its admins whose role
    counts are told by mail, one each, in their language (with none, whoever acts for it),
    not the one who changed them. Refused (PermissionDenied) for anyone else,
    (OrganisationNotActive) while its application is being decided, (ValidationError by
    field) for an answer that will not do, (portal.shown.ChangedMeanwhile) when ``shown``,
    the digest of the details the page showed, is not that of those stored now (changed
    since the page was opened), or (ToldChanged) when ``told_shown`` is not the digest of
    whom it tells now (details_told_shown: an admin made since); nothing is changed then."""
    with transaction.atomic():
        short_code_lock(short_code if isinstance(short_code, str) else "")
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        roles_asked_again(actor)
        if not may_change_organisation_details(actor, locked):
            raise PermissionDenied(_("Only a superadmin, or an administrator of its state or UT, changes an "
                                     "organisation's details."))
        if locked.status == OrganisationStatus.PENDING:
            raise OrganisationNotActive(
                _("%(organisation)s is not active yet: its details are those of its application, which is still being "
                  "decided.") % {"organisation": before_full_stop(locked.name)}, code="pending")
        errors, cleaned, note = {}, {}, ""
        try:
            cleaned = details_clean({"name": name, "name_local": name_local, "short_code": short_code,
                                     "district": district}, organisation=locked)
        except ValidationError as refused:
            errors.update(refused.error_dict)
        try:
            note = _note_clean(reason, missing=_("Write why the details change, for the record."))
        except ValidationError as refused:
            errors["reason"] = [refused]
        if errors:
            raise ValidationError(errors)
        stored = {key: getattr(locked, key) for key in DETAILS}
        changed = {key: (stored[key], cleaned[key]) for key in DETAILS if cleaned[key] != stored[key]}
        if not changed:
            return {}
        check_shown(shown, stored)
        told = [one for one in status_change_told(locked) if one.user.pk != actor.pk]  # the one who changed them knows
        # Not whom its confirmation page said it tells (an admin made since): nothing saved.
        if told_shown is not None and told_shown != details_told_shown(told):
            raise ToldChanged
        for key, (_old, new) in changed.items():
            setattr(locked, key, new)
        locked.save(update_fields=list(changed))
        audit_record(actor=actor, action=AuditAction.ORGANISATION_DETAILS_CHANGED, target=locked, request=request,
                     old={DETAIL_AUDIT_KEYS[key]: old for key, (old, _new) in changed.items()},
                     new={**{DETAIL_AUDIT_KEYS[key]: new for key, (_old, new) in changed.items()},
                          "reason": note, "told": [one.user.email for one in told]})
        jurisdiction = None if is_superadmin(actor) else dict(JURISDICTION_CHOICES)[locked.jurisdiction]
        now = timezone.now()
        languages = people_languages(one.user.pk for one in told)
        for one in told:
            send_role_mail(user=one.user, template="organisation_details_changed", language=languages[one.user.pk],
                           context={"organisation": locked, "own": one.own, "above": one.above,
                                    "changes": details_changes(changed), "reason": note, "decider": actor.email,
                                    "jurisdiction": jurisdiction, "at": now})
    return changed


# Moving an organisation: its state and the organisation above it --------------------------------
#
# By a superadmin alone: who sees an organisation and who acts for it follow from its state and
# its place (portal.permissions reads both at each request: a state's administrators see the
# organisations of their state, an organisation's admins act for the offices below it), so a
# move gives and takes powers that no state administrator or organisation admin may give. The
# rule it keeps is status_selectors' (an organisation is of its parent's jurisdiction).

# The first of PostgreSQL's two advisory-lock keys: moving organisations ("MOVE"). One move at a
# time: two moves at once, each checked against the tree as it was, could make a loop.
MOVE_LOCK_NAMESPACE = 0x4D4F5645


def move_clean(organisation: Organisation, *, state: str, parent: Organisation | None) -> str:
    """The state ``organisation`` is given (its own for one of the centre's level, which has
    none), or ValidationError at the field that will not do: a state or UT to choose; a parent
    that is itself or an office below it, not active, or of another jurisdiction than the one
    the organisation will have. No query."""
    errors = {}
    if organisation.level == Level.CENTRAL:
        state = organisation.state
    elif state not in State.values:
        errors["state"] = ValidationError(_("Choose the state or UT."), code="required")
    names = {"organisation": before_full_stop(organisation.name)}
    if parent is not None:
        names["parent"] = parent.name
        if parent.pk == organisation.pk:
            errors["parent"] = ValidationError(_("An organisation cannot be placed under itself."), code="itself")
        elif at_or_above(organisation.pk, parent.pk, parent.ancestry):
            errors["parent"] = ValidationError(
                _("%(parent)s is below %(organisation)s: an organisation cannot be placed under one of its own "
                  "offices.") % names, code="below")
        elif parent.status != OrganisationStatus.ACTIVE:
            errors["parent"] = ValidationError(
                _("%(parent)s is not active: an organisation is placed only under an active one.") % names,
                code="not_active")
        elif organisation.level == Level.CENTRAL and parent.jurisdiction != CENTRAL:
            errors["parent"] = ValidationError(
                _("%(parent)s belongs to %(theirs)s: an organisation of the centre's level is placed only under "
                  "another of the centre.") % {**names, "theirs": dict(JURISDICTION_CHOICES)[parent.jurisdiction]},
                code="other_jurisdiction")
        elif "state" not in errors and parent.jurisdiction != jurisdiction_after(organisation, state):
            labels = dict(JURISDICTION_CHOICES)
            errors["parent"] = ValidationError(
                _("%(parent)s belongs to %(theirs)s, not to %(ours)s: an organisation is placed under one of its "
                  "own state or UT. Change its state too, or choose another.")
                % {**names, "theirs": labels[parent.jurisdiction],
                   "ours": labels[jurisdiction_after(organisation, state)]}, code="other_jurisdiction")
    if errors:
        raise ValidationError(errors)
    return state


def organisation_move(*, organisation_id: int, state: str, parent_id: int | None, reason: str, actor: AnyUser,
                      request: HttpRequest | None = None, shown: str | None = None) -> bool:
    """Move an active (or suspended) organisation to the state ``state`` and under the
    organisation ``parent_id`` (None: at the top), by a superadmin, giving why (``reason``,
    required, at most STATUS_NOTE_MAX_LENGTH characters). The offices below it stay below it
    (their place follows), and those of its old state move to the new one with it. From the
    next request the state administrators of its old state no longer see it, those of the new
    one do, and the admins of the organisations it leaves no longer act for it, those above
    its new place do (portal.permissions reads both). Returns whether anything moved: nothing
    is written when it is there already. Audited; its admins whose role counts are told by
    mail, one each, in their language (with none, whoever acts for it where it was and
    whoever acts for it where it goes: move_told), not the one who moved it; so is each whose
    admin role of an organisation it leaves ended with it (admin_roles_resting_on_move). Refused
    (PermissionDenied) for anyone else, (OrganisationNotActive) while its
    application is being decided, (ValidationError by field) for a state, a parent (move_clean)
    or a reason that will not do, (portal.shown.ChangedMeanwhile) when ``shown``, the digest of
    what its confirmation page said the move does (move_effect), is not that of what it does
    now; nothing is changed then."""
    if not is_superadmin(actor):
        raise PermissionDenied(_("Only a superadmin moves an organisation to another state or under another "
                                 "organisation."))
    with transaction.atomic():
        advisory_lock(MOVE_LOCK_NAMESPACE)
        ids = sorted({organisation_id, *([parent_id] if parent_id else [])})
        locked = {row.pk: row for row in Organisation.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        if organisation_id not in locked:
            raise Organisation.DoesNotExist
        organisation = locked[organisation_id]
        roles_asked_again(actor)
        if not is_superadmin(actor):
            raise PermissionDenied(_("Only a superadmin moves an organisation to another state or under another "
                                     "organisation."))
        if organisation.status == OrganisationStatus.PENDING:
            raise OrganisationNotActive(
                _("%(organisation)s is not active yet: its application, which is still being decided, says where it "
                  "belongs.") % {"organisation": before_full_stop(organisation.name)}, code="pending")
        parent = locked.get(parent_id) if parent_id else None
        errors, note = {}, ""
        if parent_id and parent is None:
            errors["parent"] = [ValidationError(_("That organisation is no longer on Sandes."), code="unknown")]
        try:
            state = move_clean(organisation, state=state, parent=parent)
        except ValidationError as refused:
            errors = {**refused.error_dict, **errors}
        try:
            note = _note_clean(reason, missing=_("Write why it moves, for the record."))
        except ValidationError as refused:
            errors["reason"] = [refused]
        if errors:
            raise ValidationError(errors)
        if state == organisation.state and (parent.pk if parent else None) == organisation.parent_id:
            return False
        effect = move_effect(organisation, state=state, parent=parent, for_update=True)
        check_shown(shown, move_shown(effect))
        old_parent = Organisation.objects.filter(pk=organisation.parent_id).first() if organisation.parent_id else None
        old_state = organisation.state
        offices_moved = offices_moving_with(organisation, state).update(state=state) if state != old_state else 0
        organisation.state, organisation.parent = state, parent
        organisation.save(update_fields=["state", "parent"])
        # Admin roles above it resting on a membership of it, or of an office below it, lose their
        # ground with the move: they end as a lapse ends them (organisation_admins_lapse).
        roles_ended = _admin_roles_end_with_move(effect.admin_roles_ending, actor)
        told = [one for one in effect.told if one.user.pk != actor.pk]  # the one who moved it knows
        audit_record(actor=actor, action=AuditAction.ORGANISATION_MOVED, target=organisation, request=request,
                     old={"state": old_state, "parent_id": old_parent.pk if old_parent else None,
                          "parent_name": old_parent.name if old_parent else ""},
                     new={"state": state, "parent_id": parent.pk if parent else None,
                          "parent_name": parent.name if parent else "", "offices_moved": offices_moved,
                          "reason": note, "told": [one.user.email for one in told],
                          **({"admin_roles_ended": [[role.organisation.name, role.user.email] for role in roles_ended]}
                             if roles_ended else {})})
        now = timezone.now()
        languages = people_languages([*(one.user.pk for one in told), *(role.user_id for role in roles_ended)])
        for one in told:
            send_role_mail(user=one.user, template="organisation_moved", language=languages[one.user.pk], context={
                "organisation": organisation, "own": one.own, "above": one.above, "gains": one.gains,
                # Labels translated as each mail is rendered, in its reader's language.
                "old_jurisdiction": dict(JURISDICTION_CHOICES)[effect.old_jurisdiction],
                "new_jurisdiction": dict(JURISDICTION_CHOICES)[effect.new_jurisdiction],
                "old_parent": old_parent, "new_parent": parent, "offices_moved": offices_moved,
                "domains_lost": [domain for domain, _name in effect.domains_losing],
                "domains_gained": [domain for domain, _name in effect.domains_gaining],
                "reason": note, "decider": actor.email, "at": now})
        _admin_roles_ended_by_move_tell(roles_ended, moved=organisation, reason=note, actor=actor, at=now,
                                        languages=languages)
    return True


# Why an admin role above an organisation ended when it moved (its ground was a membership of
# it, or of an office below it): the audit row's reason (stable).
ORGANISATION_MOVED_REASON = "organisation_moved"


def _admin_roles_end_with_move(resting: list[Membership], actor: AnyUser) -> list[Membership]:
    """End the admin roles ``resting`` (admin_roles_resting_on_move, locked) as a lapse ends
    them: by the system, with an audit row each, not held back by the last-admin rule (whoever
    acts for an organisation left without an admin is told, but ``actor``, who moved it:
    _left_without_admin_tell); one past its end date is recorded as expired. Returns those
    that ended now."""
    now = timezone.now()
    ending = []
    for membership in resting:
        if ended(membership.ends_at, now):
            _admin_expire(membership)
            continue
        _admin_end(membership)
        audit_record(actor=None, action=AuditAction.MEMBERSHIP_REVOKED, target=membership.organisation,
                     old={"user": membership.user.email, "user_id": membership.user_id, "role": MembershipRole.ADMIN},
                     new={"member": membership.is_active, "reason": ORGANISATION_MOVED_REASON})
        ending.append(membership)
    if ending:
        _left_without_admin_tell(ending, actor=actor)
    return ending


def _admin_roles_ended_by_move_tell(roles: list[Membership], *, moved: Organisation, reason: str, actor: AnyUser,
                                    at: datetime, languages: dict[int, str]) -> None:
    """Tell each whose admin role ``roles`` ended with the move of ``moved`` why, in their
    language (``languages``: people_languages; not the one who moved it: they know)."""
    for role in roles:
        if role.user_id != actor.pk:
            send_role_mail(user=role.user, template="admin_role_ended_by_move", language=languages[role.user_id],
                           context={"organisation": role.organisation, "moved": moved, "member": role.is_active,
                                    "reason": reason, "decider": actor.email, "at": at})


def official_powers_end(*, user: AnyUser, reason: str, request: HttpRequest | None = None,
                        address: str = "") -> list[int]:
    """The user's address no longer earns official powers (for example they made a
    personal address their primary one): they stop administering every organisation
    (guardian object roles and admin memberships) and lose their platform roles (a
    Django superuser's flag too: it makes a superadmin) and the staff flag (the Django
    admin's access), with
    audit rows saying why: one about the user, and one about each organisation whose
    admin they were (as organisation_admins_lapse writes), which its other admins read,
    naming them by ``address``: the official one the roles were held under, when the
    caller knows it (not the personal address they have moved to).
    Refused (OfficialPowersHeld), changing nothing, while that would leave the platform
    without a superadmin, or an organisation without an admin, whose role does not end
    (the rules platform_role_revoke and organisation_admin_revoke keep, under their locks):
    the person hands the role over first. A role already past its end date is recorded
    as having ended by itself then (as role_expiries_record records it), not as revoked:
    the audit rows of the ending name only the roles in force. Returns the ids of the
    organisations whose admin role in force ended."""
    with transaction.atomic():
        _lock_and_check_official_powers_end(user)
        administered = list(
            # Their own guardian rows only: a Django superuser is answered "every organisation"
            # otherwise, and would be recorded as removed from the admin role of each.
            get_objects_for_user(user, ADMINISTER_ORGANISATION, klass=Organisation, accept_global_perms=False,
                                 with_superuser=False)
            .values_list("pk", flat=True)
        )
        # Each admin role ends as a revocation ends it (_admin_end): a verified member made
        # admin stays a member, someone made admin from an office below is none here. A role
        # already past its end (not yet recorded by role_expiries_record) ended by itself then:
        # recorded once as expired, not revoked now.
        now = timezone.now()
        admin_roles = {membership.organisation_id: membership for membership in Membership.objects
                       .select_for_update(of=("self",)).select_related("user", "organisation")
                       .filter(user=user, role=MembershipRole.ADMIN, is_active=True).order_by("organisation_id")}
        for organisation_id, membership in list(admin_roles.items()):
            if ended(membership.ends_at, now):
                _admin_expire(admin_roles.pop(organisation_id))
                administered = [pk for pk in administered if pk != organisation_id]
        organisations = list(Organisation.objects.filter(pk__in=set(administered) | set(admin_roles)).order_by("pk"))
        for organisation in organisations:
            if organisation.pk in admin_roles:
                _admin_end(admin_roles[organisation.pk])
            else:
                remove_perm(ADMINISTER_ORGANISATION, user, organisation)
                remove_perm(VIEW_ORGANISATION_DASHBOARD, user, organisation)
        # Platform roles are official powers too (a grant needs an official address).
        grants, endings = [], []
        for grant in (PlatformRoleGrant.objects.select_for_update(of=("self",)).select_related("user")
                      .filter(user=user, revoked_at__isnull=True).order_by("pk")):
            if ended(grant.ends_at, now):
                endings.append(_grant_expiry(grant))
                continue
            endings.append((grant, partial(_grant_revoked_at, grant, now), None))
            grants.append(grant)
        _platform_roles_end(endings)
        # The superuser flag makes a superadmin (portal.permissions.is_superadmin), a
        # platform role, which needs an official primary address as a grant does.
        superuser = bool(user.is_superuser) and get_user_model().objects.filter(
            pk=user.pk, is_superuser=True).update(is_superuser=False) == 1
        if superuser:
            user.is_superuser = False
        # The staff flag opens the Django admin (with the account's groups and permissions):
        # access given to an official, which ends with the official address as the roles do.
        staff = bool(user.is_staff) and get_user_model().objects.filter(
            pk=user.pk, is_staff=True).update(is_staff=False) == 1
        if staff:
            user.is_staff = False
        audit_record(actor=user, action=AuditAction.OFFICIAL_POWERS_ENDED, target=user, request=request,
                     new={"reason": reason, "organisations": administered,
                          **({"platform_roles": [[g.role, g.jurisdiction] for g in grants]} if grants else {}),
                          **({"superuser": True} if superuser else {}),
                          **({"staff": True} if staff else {})})
        for grant in grants:
            audit_record(actor=None, action=AuditAction.PLATFORM_ROLE_REVOKED, target=user, actor_role="system",
                         old={"grant": grant.pk, "role": grant.role, "jurisdiction": grant.jurisdiction},
                         new={"revoked_at": grant.revoked_at, "reason": reason})
        audit_record_many([
            {"action": AuditAction.MEMBERSHIP_REVOKED, "target": organisation,
             "old": {"user": address or user.email, "user_id": user.pk, "role": MembershipRole.ADMIN},
             "new": {"member": organisation.pk in admin_roles and admin_roles[organisation.pk].is_active,
                     "reason": reason}}
            for organisation in organisations
        ])
    return administered


def official_powers_end_check(*, user: AnyUser, new_primary: str) -> None:
    """Refuse (OfficialPowersHeld), changing nothing, ``new_primary`` as the user's primary
    address when it would end official powers that official_powers_end refuses to end, or,
    official, a first admin role that first_admin_roles_leave refuses to end.
    Asked at the form, and again inside the transaction that changes the address: the
    locks it takes last until that commits, so the answer still holds when the powers end."""
    if not primary_change_ends_powers(user, new_primary):
        leaving = first_admin_roles_left_by(user, new_primary)
        if leaving:
            with transaction.atomic():
                _lock_granter_and_holder(None, user.pk)
                _lock_organisations(sorted({role.organisation_id for role in leaving}))
                held = organisations_left_without_admin(leaving)
                if held:
                    raise OfficialPowersHeld([_first_admin_role_held(role.organisation, new_primary)
                                              for role in leaving if role.organisation_id in held])
        return
    with transaction.atomic():
        _lock_and_check_official_powers_end(user)


# Why an organisation's first admin role (resting on its approved application) ends when its
# holder's primary address becomes one of another organisation's: the audit row's reason (stable).
PRIMARY_EMAIL_OUTSIDE_ORGANISATION = "primary_email_outside_organisation"


def _first_admin_role_held(organisation: Organisation, address: str) -> ValidationError:
    return ValidationError(
        _("You are the last admin of %(organisation)s whose role does not end, and %(email)s is not an address of it: "
          "hand the role over first by granting the admin role there to someone else (without an end date).")
        % {"organisation": organisation.name, "email": address}, code="last_admin")


def first_admin_roles_leave(*, user: AnyUser, old: str, new: str) -> list[Membership]:
    """``new``, an official address, took the place of ``old`` as the primary address of
    ``user``: their first admin roles of the organisations it is no address of
    (first_admin_roles_left_by: the role rests on the approved application that named the
    person at their old mailbox, and on nothing that ends with it) end by the system, as
    organisation_admins_lapse ends a role, audited (PRIMARY_EMAIL_OUTSIDE_ORGANISATION), with
    a role above that rested on them alone; the person is told of each by mail. Refused
    (OfficialPowersHeld), in the caller's transaction, while nobody else would hold one of
    them without an end date (official_powers_end_check says so first, at the form). Returns
    the roles that ended."""
    leaving = first_admin_roles_left_by(user, new, old=old)
    if not leaving:
        return []

    def check(membership: Membership) -> None:
        if not ended(membership.ends_at) and membership.organisation_id in organisations_left_without_admin([membership]):
            raise OfficialPowersHeld([_first_admin_role_held(membership.organisation, new)])

    ending = organisation_admins_lapse(pairs=[(role.organisation_id, user.pk) for role in leaving],
                                       reason=PRIMARY_EMAIL_OUTSIDE_ORGANISATION, check=check)
    for membership in ending:
        send_role_mail(user=user, template="admin_address_left", context={
            "organisation": membership.organisation, "email": new})
    return ending


# Set while a person removes something an admin role of theirs rests on (an official
# address of their account): organisation_admins_lapse then holds them to the last-admin rule.
_holder_acting: ContextVar[int | None] = ContextVar("holder_acting", default=None)


@contextmanager
def holder_ends_own_grounds(*, user: AnyUser) -> Iterator[None]:
    """Inside the caller's transaction: what ``user`` does inside this block themself (or an
    administrator does to their account: an address deleted in the Django admin) may
    end an admin role of theirs by taking away what it rests on (an official address
    leaving their account ends the verification there, and organisation_admins_lapse the
    role), and such a role is then held to the rule a revocation is held to: an admin
    role nobody else holds without an end date is not ended, the lapse raises
    OfficialPowersHeld and the caller's transaction undoes the rest. The person's account
    and the organisations they administer are locked first, in the order the role services
    lock them, so that the answer still holds when the caller commits."""
    _lock_granter_and_holder(None, user.pk)
    _lock_organisations(Membership.objects.filter(user_id=user.pk, role=MembershipRole.ADMIN, is_active=True)
                        .values("organisation_id"))
    token = _holder_acting.set(user.pk)
    try:
        yield
    finally:
        _holder_acting.reset(token)


def _check_holder_keeps_an_admin(membership: Membership) -> None:
    """In holder_ends_own_grounds: refuse ending the holder's own admin ``membership``
    when nobody else would hold the role there without an end date."""
    if _holder_acting.get() != membership.user_id or ended(membership.ends_at):
        return
    try:
        _check_keeps_an_admin(membership.organisation, leaving_user_id=membership.user_id)
    except LastAdmin:
        raise OfficialPowersHeld([own_grounds_last_admin(membership.organisation)]) from None


def own_grounds_last_admin(organisation: Organisation) -> ValidationError:
    """The refusal of a change of the person's own that would end their admin role of
    ``organisation``, resting on their verification at an address leaving their account,
    while nobody else holds the role there without an end date (holder_ends_own_grounds;
    the email page asks it before a code is sent)."""
    return ValidationError(
        _("You are the last admin of %(organisation)s whose role does not end, and the role rests on your "
          "verification with the official address that would leave your account: hand it over first by granting "
          "the admin role there to someone else (without an end date).") % {"organisation": organisation.name},
        code="last_admin")


# Roles -------------------------------------------------------------------------------------
#
# Who may grant what is portal.permissions' question (may_grant_platform_roles,
# may_grant_admin); the services ask it again under their locks, and add what holds
# for everyone: nobody changes their own roles, an end date is in the future, and an
# organisation keeps at least one admin, the platform at least one superadmin, whose
# role does not end by itself.

class LastAdmin(ValidationError):
    """Refused: the organisation would have no admin left whose role does not end."""


class LastSuperadmin(ValidationError):
    """Refused: the platform would have no superadmin left whose role does not end."""


def _check_role_granter(actor: AnyUser | None) -> None:
    """Platform roles are granted and revoked by a superadmin, or by the system
    (``actor`` None: management commands such as seed_demo)."""
    if actor is not None and not may_grant_platform_roles(actor):
        raise PermissionDenied(_("Only a superadmin grants or revokes platform roles."))


def _lock_granter_and_holder(actor: AnyUser | None, user_id: int) -> None:
    """Lock the holder's account and the actor's (in the order of their ids), then ask
    the actor's right again under the lock, from the database: two superadmins revoking
    each other at once both passed the check made before (a cached answer) and left no
    superadmin; now the second finds that its own role has just ended."""
    ids = sorted({user_id} | ({actor.pk} if actor is not None and actor.is_authenticated else set()))
    list(get_user_model().objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    if actor is not None:
        roles_asked_again(actor)
        _check_role_granter(actor)


def _check_not_own(actor: AnyUser | None, user_id: int, email: str | None = None) -> None:
    """Refuse ``actor`` a change of a role of the account ``user_id`` (its address ``email``,
    read when not given): their own, or another account of their mailbox ("+tag" forms:
    one person's, as verification.services.is_own has it)."""
    if actor is None:
        return
    if actor.pk == user_id:
        raise PermissionDenied(_("Nobody grants, changes or revokes a role of their own: another administrator does."))
    if email is None:
        email = get_user_model().objects.filter(pk=user_id).values_list("email", flat=True).first() or ""
    if email and one_mailbox(actor.email, email):
        raise PermissionDenied(_("This is another account of your own mailbox: nobody grants, changes or revokes a "
                                 "role of their own, another administrator does."))


def _check_end(ends_at: datetime | None, now: datetime) -> None:
    if ends_at is not None and ends_at <= now:
        raise ValidationError(_("The end date must be in the future."), code="ends_in_past")


class OutlastsGranter(ValidationError):
    """Refused: the role given would last longer than the granter's own role by which
    they give it (no end date counts as the latest)."""


def _superadmin_role_end(actor: AnyUser, now: datetime) -> tuple[bool, datetime | None]:
    """(whether ``actor`` is a superadmin, the end of that role: None when one of their
    superadmin grants in force has no end date, or they are a Django superuser)."""
    if actor.is_superuser:
        return True, None
    ends = list(PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=actor.pk, role=PlatformRole.SUPERADMIN)
                .values_list("ends_at", flat=True))
    return bool(ends), (None if None in ends else max(ends, default=None))


def _admin_granting_end(actor: AnyUser, organisation: Organisation, now: datetime) -> datetime | None:
    """The end of the role by which ``actor`` may grant the admin role of ``organisation``
    (portal.permissions.may_grant_admin: the admin role of it or of an organisation above
    it, or the superadmin role), the latest when there are several: None when one of them
    has no end date."""
    superadmin, superadmin_end = _superadmin_role_end(actor, now) if is_superadmin(actor) else (False, None)
    if superadmin and superadmin_end is None:
        return None
    ids = [organisation.pk, *organisation.ancestor_ids]
    administered = set(directly_administered_ids(actor, now).filter(content_object_id__in=ids)
                       .values_list("content_object_id", flat=True))
    ends = dict(Membership.objects.filter(user_id=actor.pk, organisation_id__in=administered, role=MembershipRole.ADMIN,
                                          is_active=True).values_list("organisation_id", "ends_at"))
    in_force = [ends.get(organisation_id) for organisation_id in administered]  # not ended (the rows say so)
    if None in in_force:
        return None
    return max([*in_force, *([superadmin_end] if superadmin else [])], default=None)


def _check_within_granter(ends_at: datetime | None, granter_end: datetime | None) -> None:
    """Refuse (OutlastsGranter) a role that would end after ``granter_end`` (None: the
    granter's role does not end, nothing is refused), saying the latest last day allowed."""
    if granter_end is not None and (ends_at is None or ends_at > granter_end):
        raise OutlastsGranter(
            _("Your own role, by which you give this one, ends after %(day)s: the role you give cannot last longer. "
              "Give a last day no later than %(day)s.") % {"day": date_format(last_day_of(granter_end), "j M Y")},
            code="outlasts_granter",
        )


def _granting_role_end(actor: AnyUser | None, now: datetime, *,
                       organisation: Organisation | None = None) -> datetime | None:
    """The end of the role by which ``actor`` gives a platform role (``organisation`` None),
    or the admin role of ``organisation``, which the role given may not outlast (None:
    nothing bounds it). Every platform role (only superadmins grant them) is bounded by the
    granter's own superadmin role, the admin role by _admin_granting_end; what the system
    gives (``actor`` None) is not bounded."""
    if actor is None:
        return None
    if organisation is not None:
        return _admin_granting_end(actor, organisation, now)
    return _superadmin_role_end(actor, now)[1]


def role_grant_end_check(*, actor: AnyUser, ends_at: datetime | None, organisation: Organisation | None = None) -> None:
    """Refuse (OutlastsGranter), changing nothing, a role given by ``actor`` until ``ends_at``
    (a platform role, or the admin role of ``organisation``) that would outlast the
    granter's own role, saying the latest last day allowed. Asked by the grant pages
    before they show what will happen; platform_role_grant and organisation_admin_grant ask
    it again under their locks."""
    _check_within_granter(ends_at, _granting_role_end(actor, timezone.now(), organisation=organisation))


# The changes of a person's roles made by people (grants, new end dates, removals), each
# mailed to the person with the note the granter typed: counted against
# ROLE_CHANGES_PER_DAY from their audit rows, the admin roles (in every organisation)
# and the platform roles apart. The system's own (actor None: seed data, an end date
# passing, a verification or an address that a role rested on ending) are not counted.
ADMIN_ROLE_CHANGES = (AuditAction.MEMBERSHIP_GRANTED, AuditAction.MEMBERSHIP_REVOKED)
PLATFORM_ROLE_CHANGES = (AuditAction.PLATFORM_ROLE_GRANTED, AuditAction.PLATFORM_ROLE_REVOKED)


def _role_changes_within_limit(actor: AnyUser | None, changes: QuerySet, message: str) -> None:
    """Refuse (ValidationError "too_many", ``message`` naming when the next is possible)
    a grant or a new end date by ``actor`` when ROLE_CHANGES_PER_DAY of ``changes`` (the
    audit rows of the person's roles of one kind) were made by people in the last 24
    hours: a grant-revoke cycle repeated would flood the person's mailbox with the notes
    of whoever repeats it. Asked under the lock of the person's account, so that two at
    once cannot both pass. The system is not held back; nor is a removal, which is never
    asked: taking a role away (given by mistake, misused) must stay possible at once, and
    each follows a grant, so the mail stays bounded."""
    if actor is None:
        return
    refuse_over(changes.filter(actor_id__isnull=False), "created_at", settings.ROLE_CHANGES_PER_DAY, timezone.now(),
                message)


def _admin_role_changes_within_limit(actor: AnyUser | None, user: AbstractBaseUser) -> None:
    """_role_changes_within_limit for the admin roles of ``user``, in every organisation
    (their audit rows are the organisation's, naming the person by address)."""
    _role_changes_within_limit(actor, AuditEvent.objects.filter(
        Q(old_values__user=user.email) | Q(new_values__user=user.email), action__in=ADMIN_ROLE_CHANGES,
    ), ngettext_lazy(
        "This person's admin roles were granted, changed or removed %(n)s time in the last 24 hours, the most the "
        "portal allows (each time they are told by email). A role can be granted or changed again from %(when)s; "
        "removing one is possible at any time.",
        "This person's admin roles were granted, changed or removed %(n)s times in the last 24 hours, the most the "
        "portal allows (each time they are told by email). A role can be granted or changed again from %(when)s; "
        "removing one is possible at any time.", "n"))


def _platform_role_changes_within_limit(actor: AnyUser | None, user: AbstractBaseUser) -> None:
    """_role_changes_within_limit for the platform roles of ``user``."""
    _role_changes_within_limit(actor, AuditEvent.objects.filter(
        target_type=user._meta.label_lower, target_id=str(user.pk), action__in=PLATFORM_ROLE_CHANGES,
    ), ngettext_lazy(
        "This person's platform roles were granted, changed or revoked %(n)s time in the last 24 hours, the most "
        "the portal allows (each time they are told by email). A role can be granted or changed again from "
        "%(when)s; revoking one is possible at any time.",
        "This person's platform roles were granted, changed or revoked %(n)s times in the last 24 hours, the most "
        "the portal allows (each time they are told by email). A role can be granted or changed again from "
        "%(when)s; revoking one is possible at any time.", "n"))


def _bounded_reason(reason: str) -> str:
    return " ".join((reason or "").split())[:REASON_MAX_LENGTH]


def _with(values: dict, **optional: object) -> dict:
    """``values`` with each optional entry that is set (audit rows name an end date or
    a reason only when there is one)."""
    return {**values, **{key: value for key, value in optional.items() if value}}


def _lock_superadmin_grants() -> list[tuple[int, datetime | None, bool]]:
    """Lock the superadmin grants not revoked, in the order of their ids, and return
    (holder id, end, holder active) of each. Every change that could leave the platform
    without a superadmin takes this lock after the accounts' (_lock_granter_and_holder):
    two such changes to different people's roles at once would otherwise each count the
    other's grant as the one that stays."""
    return list(PlatformRoleGrant.objects.select_for_update(of=("self",))
                .filter(role=PlatformRole.SUPERADMIN, revoked_at__isnull=True).order_by("pk")
                .values_list("user_id", "ends_at", "user__is_active"))


def _check_keeps_a_superadmin(grants: list[tuple[int, datetime | None, bool]], *, leaving_user_id: int) -> None:
    """Refuse when, among the locked superadmin ``grants``, none without an end date and
    of an active account would remain besides ``leaving_user_id``'s (being revoked, or
    given an end date), nor an active Django superuser other than them (a superadmin whose
    role does not end, portal.permissions.is_superadmin: the first one, deploy/README.md,
    grants the others): once the others' dates passed, nobody could grant a role. The
    superusers are asked only when the grants leave nobody."""
    if any(user_id != leaving_user_id and ends_at is None and active for user_id, ends_at, active in grants):
        return
    if not (get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(pk=leaving_user_id)
            .exists()):
        raise LastSuperadmin(
            _("The platform would have no superadmin left whose role does not end: grant the superadmin role to "
              "someone else first (without an end date)."),
            code="last_superadmin",
        )


class OfficialPowersHeld(ValidationError):
    """Refused: ending a person's official powers would leave the platform without a
    superadmin, or an organisation without an admin, whose role does not end. One
    message for each such role, saying to hand it over first."""


def _superadmin_leaving(user_id: int, now: datetime, *, account_ends: bool) -> bool:
    """Whether ``user_id`` is a superadmin whom the change takes away: one holding a
    superadmin grant in force and, when the account itself ends (made inactive, deleted,
    erased), an active Django superuser too (portal.permissions.is_superadmin: the first
    superadmin, deploy/README.md, who grants the others). A superuser's flag rests on no
    address: ending their official powers (a personal primary address) leaves it. One query."""
    grant = PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user_id, role=PlatformRole.SUPERADMIN)
    if not account_ends:
        return grant.exists()
    return get_user_model().objects.filter(Q(is_superuser=True, is_active=True) | Q(Exists(grant)), pk=user_id).exists()


def _lock_and_find_roles_held_alone(user_id: int, *, account_ends: bool = False
                                    ) -> list[tuple[Organisation | None, ValidationError]]:
    """Lock what the roles of ``user_id`` ending at once depends on, in the order the role
    services lock it (the person's account, the superadmin grants, then each organisation
    they administer), and return each role in force of theirs that nobody else would hold
    without an end date, with the refusal that says so (_check_keeps_a_superadmin,
    _check_keeps_an_admin): (None, LastSuperadmin) for the platform's superadmin role
    (``account_ends``: the account's superuser flag counts as one, _superadmin_leaving),
    then (organisation, LastAdmin) for each organisation's admin role, in the order of
    their ids. Ending the person's official powers, or making their account inactive,
    is refused while there is one: either would end every such role."""
    now = timezone.now()
    _lock_granter_and_holder(None, user_id)
    held: list[tuple[Organisation | None, ValidationError]] = []
    if _superadmin_leaving(user_id, now, account_ends=account_ends):
        try:
            _check_keeps_a_superadmin(_lock_superadmin_grants(), leaving_user_id=user_id)
        except LastSuperadmin as refused:
            held.append((None, refused))
    administered = (Membership.objects.filter(user_id=user_id, role=MembershipRole.ADMIN, is_active=True)
                    .filter(not_ended_q(now=now)).values("organisation_id"))
    for organisation in Organisation.objects.select_for_update().filter(pk__in=administered).order_by("pk"):
        try:
            _check_keeps_an_admin(organisation, leaving_user_id=user_id)
        except LastAdmin as refused:
            held.append((organisation, refused))
    return held


def _superuser_flag_held_alone(user: AnyUser) -> bool:
    """Whether ``user`` is an active Django superuser holding no superadmin grant in force
    (_lock_and_find_roles_held_alone asks about a grant) and, with the flag ended, nobody
    else would be a superadmin whose role does not end (_check_keeps_a_superadmin). No
    query for an account that is no superuser; for one, locks the account, then the
    superadmin grants: the order _lock_and_find_roles_held_alone, asked after it, locks in."""
    if not user.is_superuser:
        return False
    _lock_granter_and_holder(None, user.pk)
    grant = PlatformRoleGrant.objects.filter(in_force_q(), user_id=OuterRef("pk"), role=PlatformRole.SUPERADMIN)
    if not get_user_model().objects.filter(~Exists(grant), pk=user.pk, is_superuser=True, is_active=True).exists():
        return False
    try:
        _check_keeps_a_superadmin(_lock_superadmin_grants(), leaving_user_id=user.pk)
    except LastSuperadmin:
        return True
    return False


def _lock_and_check_official_powers_end(user: AnyUser) -> None:
    """Lock what ending the official powers of ``user`` depends on, and refuse
    (OfficialPowersHeld) when they hold a superadmin role (a grant, or the superuser flag,
    which ends with them too: _superuser_flag_held_alone), or an admin role of an
    organisation, that nobody else would hold without an end date
    (_lock_and_find_roles_held_alone), saying to the person that the role needs an
    official primary address."""
    refusals = []
    held = [(None, None)] if _superuser_flag_held_alone(user) else []
    for organisation, _refused in held + _lock_and_find_roles_held_alone(user.pk):
        if organisation is None:
            refusals.append(ValidationError(
                _("You are the platform's last superadmin whose role does not end, and the role needs an official "
                  "primary address: hand it over first by granting the superadmin role to someone else (without an "
                  "end date)."),
                code="last_superadmin"))
        else:
            refusals.append(ValidationError(
                _("You are the last admin of %(organisation)s whose role does not end, and the role needs an "
                  "official primary address: hand it over first by granting the admin role there to someone else "
                  "(without an end date).") % {"organisation": organisation.name},
                code="last_admin"))
    if refusals:
        raise OfficialPowersHeld(refusals)


class RolesHeldAlone(ValidationError):
    """Refused: the account would stop holding the platform's superadmin role, or an
    organisation's admin role, that nobody else holds without an end date. One message
    for each such role (LastSuperadmin, LastAdmin)."""


def account_deactivation_check(*, user_id: int) -> None:
    """Refuse (RolesHeldAlone, one message a role), changing nothing, making the account of
    ``user_id`` inactive (unticking "Active" in the Django admin), or deleting it
    (account_roles_end), while it holds the platform's superadmin role (a grant, or the
    superuser flag of the active account: _superadmin_leaving), or an organisation's admin
    role, that nobody else would hold without an end date: an inactive account holds none
    (_check_keeps_a_superadmin and _check_keeps_an_admin count active accounts only), nor
    does a deleted one, and revoking the role is refused. Locks what the answer depends on
    (_lock_and_find_roles_held_alone), in the caller's transaction (the one that saves the
    account): it still holds at the commit."""
    # A savepoint: the form that asks shows the refusal, in the admin's transaction, after it.
    with transaction.atomic():
        refusals = [refused for _organisation, refused in _lock_and_find_roles_held_alone(user_id, account_ends=True)]
        if refusals:
            raise RolesHeldAlone(refusals)


def superadmin_account_end_check(*, user_id: int) -> None:
    """Refuse (LastSuperadmin), changing nothing, closing the account of ``user_id`` (an
    erasure granted) while it is the platform's last superadmin whose role does not end:
    by a grant in force or, as account_deactivation_check counts it, by the superuser flag
    of the active account (_superadmin_leaving). Asked before the account changes; locks
    what the answer depends on (the account, then the superadmin grants, as the role
    services lock them) in the caller's transaction, until it commits."""
    with transaction.atomic(savepoint=False):
        _lock_granter_and_holder(None, user_id)
        if _superadmin_leaving(user_id, timezone.now(), account_ends=True):
            _check_keeps_a_superadmin(_lock_superadmin_grants(), leaving_user_id=user_id)


def account_roles_end(*, user_id: int, reason: str) -> None:
    """Every role of ``user_id`` ends at once, by the system, with audit rows saying why
    (``reason``): its account is about to be deleted (the Django admin), and its grants and
    admin memberships would otherwise go with it unrecorded. Its admin roles end as
    organisation_admins_lapse ends them (a row for each organisation, which its other
    admins read, and the roles above that rested on them), then its platform roles as
    platform_roles_lapse does. Refused first (RolesHeldAlone, account_deactivation_check),
    changing nothing, for a role nobody else would hold without an end date: it is handed
    over first. In the caller's transaction, whose locks last until the deletion commits."""
    with transaction.atomic(savepoint=False):
        account_deactivation_check(user_id=user_id)
        admin_of = list(Membership.objects.filter(user_id=user_id, role=MembershipRole.ADMIN, is_active=True)
                        .order_by("organisation_id").values_list("organisation_id", "user_id"))
        organisation_admins_lapse(pairs=admin_of, reason=reason)
        platform_roles_lapse(user_id=user_id, reason=reason)


def _platform_role_end(grant: PlatformRoleGrant, change: Callable[[], None], *,
                       counted_until: datetime | None = None) -> None:
    """Make ``change``, which ends ``grant`` (locked), as ``_platform_roles_end`` makes one."""
    _platform_roles_end([(grant, change, counted_until)])


def _platform_roles_end(endings: list[tuple[PlatformRoleGrant, Callable[[], None], datetime | None]]) -> None:
    """Make each change of ``endings``, which ends its grant (locked; with its
    ``counted_until``: its end date, for one recorded as ended then), with the feature apps
    told before them all and after them all (``platform_role_ending``), in the caller's
    transaction: roles ending together are told of as one change (the superadmins a
    state's steps pass to are told once, not once per administrator whose role ended)."""
    if not endings:
        return
    afters = [response for _receiver, response in
              platform_role_ending.send(sender=PlatformRoleGrant,
                                        endings=[(grant, counted_until) for grant, _change, counted_until in endings])
              if callable(response)]
    for _grant, change, _counted_until in endings:
        change()
    for after in afters:
        after()


def _grant_expire(grant: PlatformRoleGrant) -> None:
    """Record, once, that a grant (locked, past its end date) ended by itself."""
    _platform_roles_end([_grant_expiry(grant)])


def _grant_expiry(grant: PlatformRoleGrant) -> tuple[PlatformRoleGrant, Callable[[], None], datetime | None]:
    """The ending (``_platform_roles_end``) that records a grant (locked, past its end
    date) as ended by itself then."""
    return grant, partial(_grant_expiry_record, grant), grant.ends_at


def _grant_expiry_record(grant: PlatformRoleGrant) -> None:
    grant.revoked_at = grant.ends_at
    grant.save(update_fields=["revoked_at"])
    audit_record(actor=None, action=AuditAction.PLATFORM_ROLE_EXPIRED, target=grant.user,
                 old={"grant": grant.pk, "role": grant.role, "jurisdiction": grant.jurisdiction},
                 new={"ended_at": grant.ends_at})


def platform_roles_shown(grants: Iterable[PlatformRoleGrant]) -> str:
    """The digest of what the grant page shows of a person's platform roles in force
    (portal.shown): each role, where, and until when."""
    return shown_digest({"held": sorted([grant.role, grant.jurisdiction, str(grant.ends_at or "revoked")]
                                        for grant in grants)})


def platform_role_grant(
    *, user: AbstractBaseUser, role: str, jurisdiction: str, actor: AnyUser | None, ends_at: datetime | None = None,
    reason: str = "", request: HttpRequest | None = None, shown_values: str | None = None,
) -> PlatformRoleGrant:
    """Give ``user`` a platform role over ``jurisdiction`` (a state administrator: a
    state/UT code or CENTRAL; an auditor: one of those or "" for everything; a
    superadmin: always ""), until ``ends_at`` (None: until revoked), with an audit row.
    Returns the grant in force; granting a role the user already holds changes nothing
    but its end date (refused when that would leave the platform without a superadmin
    whose role does not end). ``shown_values``: ``platform_roles_shown`` of the roles the
    confirmation showed: roles granted, changed or ended since raise ChangedMeanwhile,
    nothing changed; None: not checked."""
    _check_role_granter(actor)
    _check_not_own(actor, user.pk, user.email)
    if role not in PlatformRole.values:
        raise ValueError(f"unknown platform role {role!r}")
    if jurisdiction and (role == PlatformRole.SUPERADMIN or jurisdiction not in dict(JURISDICTION_CHOICES)):
        raise ValueError(f"jurisdiction {jurisdiction!r} is not one a {role} role can have")
    if role == PlatformRole.STATE_ADMIN and not jurisdiction:
        raise ValueError("a state administrator's jurisdiction is one state/UT or CENTRAL")
    platform_role_holder_check(user)
    now = timezone.now()
    _check_end(ends_at, now)
    reason = _bounded_reason(reason)
    with transaction.atomic():
        # The user's row serialises grants and revocations of their roles.
        _lock_granter_and_holder(actor, user.pk)
        if shown_values is not None:
            held = list(PlatformRoleGrant.objects.filter(in_force_q(now=now), user=user))
            # The role as asked standing already (a confirmation sent twice) changes nothing, below.
            if (role, jurisdiction, ends_at) not in {(grant.role, grant.jurisdiction, grant.ends_at) for grant in held}:
                if shown_values != platform_roles_shown(held):
                    raise ChangedMeanwhile
        superadmins = (_lock_superadmin_grants() if role == PlatformRole.SUPERADMIN and ends_at is not None
                       else None)
        if role == PlatformRole.AUDITOR:
            _check_auditor_leaves_admins(user, now, auditor_granted=True)
        grant = PlatformRoleGrant.objects.select_for_update().filter(
            user=user, role=role, jurisdiction=jurisdiction, revoked_at__isnull=True).first()
        if grant is not None and ended(grant.ends_at, now):
            _grant_expire(grant)
            grant = None
        granter_end = _granting_role_end(actor, now)
        if grant is not None:
            if grant.ends_at == ends_at:
                return grant
            if superadmins is not None and grant.ends_at is None:
                _check_keeps_a_superadmin(superadmins, leaving_user_id=user.pk)
                # An auditor's superadmin role given a last day: past it, their admin roles act for nobody.
                _check_auditor_leaves_admins(user, now, superadmin_ending=grant.pk)
            _check_within_granter(ends_at, granter_end)
            _platform_role_changes_within_limit(actor, user)
            old_end, grant.ends_at = grant.ends_at, ends_at
            grant.save(update_fields=["ends_at"])
            audit_record(actor=actor, action=AuditAction.PLATFORM_ROLE_GRANTED, target=user, request=request,
                         old={"grant": grant.pk, "ends_at": old_end},
                         new=_with({"grant": grant.pk, "role": role, "jurisdiction": jurisdiction, "ends_at": ends_at},
                                   reason=reason))
            send_role_mail(user=user, template="platform_role_granted",
                           context={"grant": grant, "reason": reason, "changed": True})
            return grant
        _check_within_granter(ends_at, granter_end)
        _platform_role_changes_within_limit(actor, user)
        grant = PlatformRoleGrant.objects.create(
            user=user, role=role, jurisdiction=jurisdiction, ends_at=ends_at,
            granted_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit_record(actor=actor, action=AuditAction.PLATFORM_ROLE_GRANTED, target=user, request=request,
                     new=_with({"grant": grant.pk, "role": role, "jurisdiction": jurisdiction}, ends_at=ends_at,
                               reason=reason))
        send_role_mail(user=user, template="platform_role_granted",
                       context={"grant": grant, "reason": reason, "changed": False})
    return grant


def _check_auditor_leaves_admins(user: AbstractBaseUser, now: datetime, *, auditor_granted: bool = False,
                                 superadmin_ending: int | None = None, superuser_ending: bool = False) -> None:
    """Refuse a change of the platform roles of ``user`` (their account locked) that would
    make them an auditor who is no superadmin (the auditor role granted: ``auditor_granted``;
    the superadmin grant ``superadmin_ending`` revoked; the superuser flag ended:
    ``superuser_ending``) while they are the last admin of an organisation who may act for
    it: an auditor changes nothing, and their admin role counts for nobody who stays
    (portal.permissions.admins_who_act). Nothing to ask when they act for no organisation
    now (an auditor already, no superadmin), or would still act after it (a superadmin
    whatever else they hold, or no auditor). Their organisations are locked first, in the
    order the role services lock them."""
    held = list(PlatformRoleGrant.objects.filter(
        in_force_q(now=now), user=user, role__in=[PlatformRole.SUPERADMIN, PlatformRole.AUDITOR],
    ).values_list("pk", "role", "ends_at"))
    auditor = any(role == PlatformRole.AUDITOR for _pk, role, _ends in held)
    superadmin = user.is_superuser or any(role == PlatformRole.SUPERADMIN for _pk, role, _ends in held)
    # A superadmin role with a last day (or given one now: ``superadmin_ending``) is no stay:
    # past it, the auditor's admin role gives no right to act.
    stays_superadmin = (user.is_superuser and not superuser_ending) or any(
        role == PlatformRole.SUPERADMIN and pk != superadmin_ending and ends is None for pk, role, ends in held)
    if stays_superadmin or not (auditor or auditor_granted) or (auditor and not superadmin):
        return
    roles = list(admins_who_act(Membership.objects.filter(
        user=user, role=MembershipRole.ADMIN, is_active=True, ends_at__isnull=True), now).select_related("organisation"))
    if not roles:
        return
    _lock_organisations({role.organisation_id for role in roles})
    alone = organisations_left_without_admin(roles)
    refusals = [ValidationError(
        _("%(email)s is the last admin of %(organisation)s who may act as one (an auditor changes nothing): grant the "
          "admin role there to someone else first (without an end date).")
        % {"email": user.email, "organisation": role.organisation.name}, code="last_admin")
        for role in sorted(roles, key=lambda role: role.organisation_id) if role.organisation_id in alone]
    if refusals:
        raise ValidationError(refusals)


def superuser_flag_end_check(*, user_id: int) -> None:
    """Refuse (ValidationError, one message an organisation), changing nothing, ending the
    superuser flag of ``user_id`` (unticking "Superuser status" in the Django admin) while
    they are also an auditor and the last admin of an organisation who may act for it, as
    revoking a superadmin grant is refused (_check_auditor_leaves_admins). Locks the account
    and those organisations in the caller's transaction (the one that saves the account):
    the answer still holds at the commit."""
    # A savepoint: the form that asks shows the refusal, in the admin's transaction, after it.
    with transaction.atomic():
        _lock_granter_and_holder(None, user_id)
        user = get_user_model().objects.get(pk=user_id)
        if user.is_superuser:
            _check_auditor_leaves_admins(user, timezone.now(), superuser_ending=True)


def platform_role_holder_check(user: AbstractBaseUser, *, active: bool | None = None) -> None:
    """Refuse (ValidationError) ``user`` a platform role: it is an official power, whose
    holder has an active account (``active``: as it will be, when that changes with the
    role) whose primary address is an official one they confirmed (as an organisation's
    admin has). Asked by platform_role_grant, and of the Django admin's "Superuser
    status", which makes a superadmin (portal.permissions.is_superadmin)."""
    if not _holds_official_grounds(user, active=active):
        raise ValidationError(
            _("%(email)s cannot hold a platform role: it needs an active account whose primary address is an "
              "official one (gov.in, nic.in and the like), confirmed.") % {"email": user.email},
            code="not_official")


def staff_access_holder_check(user: AbstractBaseUser, *, active: bool | None = None) -> None:
    """Refuse (ValidationError) ``user`` the staff flag (the Django admin's "Staff status",
    which opens the administration site with the account's groups and permissions): access
    given to an official, which ends with their official address as the roles do
    (official_powers_end), so it is given only to an active account (``active``: as it will
    be, when that changes with it) whose primary address is an official one they confirmed."""
    if not _holds_official_grounds(user, active=active):
        raise ValidationError(
            _("%(email)s cannot be given staff status (access to this administration site): it needs an active "
              "account whose primary address is an official one (gov.in, nic.in and the like), confirmed.")
            % {"email": user.email}, code="not_official")


def _holds_official_grounds(user: AbstractBaseUser, *, active: bool | None) -> bool:
    """Whether ``user``'s account is active (``active``: as it will be) and its primary
    address an official one, eligible to act for an organisation, that they confirmed."""
    return bool((user.is_active if active is None else active) and classify_email(user.email).eligible_as_officer
                and EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists())


def platform_role_revoke(
    *, grant_id: int, actor: AnyUser | None, reason: str = "", request: HttpRequest | None = None,
) -> PlatformRoleGrant:
    """End a platform role grant (its rights end at the holder's next request), with an
    audit row. Revoking one already revoked changes nothing; one past its end date is
    recorded as having ended by itself. Refused (LastSuperadmin) when no other
    superadmin whose role does not end would remain; and (_check_auditor_leaves_admins)
    when a superadmin role's end would leave its holder an auditor only, who was the last
    admin of an organisation who may act for it."""
    _check_role_granter(actor)
    reason = _bounded_reason(reason)
    with transaction.atomic():
        holder, role = PlatformRoleGrant.objects.filter(pk=grant_id).values_list("user_id", "role").get()
        _lock_granter_and_holder(actor, holder)
        superadmins = _lock_superadmin_grants() if role == PlatformRole.SUPERADMIN else None
        grant = PlatformRoleGrant.objects.select_for_update().select_related("user").get(pk=grant_id)
        _check_not_own(actor, grant.user_id, grant.user.email)
        if grant.revoked_at is not None:
            return grant
        if ended(grant.ends_at):
            _grant_expire(grant)
            return grant
        if superadmins is not None:
            _check_keeps_a_superadmin(superadmins, leaving_user_id=grant.user_id)
            _check_auditor_leaves_admins(grant.user, timezone.now(), superadmin_ending=grant.pk)
        _platform_role_end(grant, partial(_grant_revoke, grant, actor=actor, reason=reason, request=request))
    return grant


def _grant_revoke(grant: PlatformRoleGrant, *, actor: AnyUser | None, reason: str, request: HttpRequest | None) -> None:
    """Revoke ``grant`` (locked) now, by ``actor``: the audit row, and its holder told."""
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action=AuditAction.PLATFORM_ROLE_REVOKED, target=grant.user, request=request,
                 old={"grant": grant.pk, "role": grant.role, "jurisdiction": grant.jurisdiction},
                 new=_with({"revoked_at": grant.revoked_at}, reason=reason))
    send_role_mail(user=grant.user, template="platform_role_revoked", context={"grant": grant, "reason": reason})


def platform_roles_lapse(*, user_id: int, reason: str) -> int:
    """Every platform role of ``user_id`` ends at once, by the system, with an audit row
    each saying why (``reason``): the account it rested on was closed (an erasure
    granted), and a closed account holds no official power. One past its end date is
    recorded as having ended by itself. Refused (LastSuperadmin), in the caller's
    transaction, when no other superadmin whose role does not end would remain (as
    platform_role_revoke refuses it): the role is handed over first. Returns how many ended."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        _lock_granter_and_holder(None, user_id)
        if PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user_id, role=PlatformRole.SUPERADMIN).exists():
            _check_keeps_a_superadmin(_lock_superadmin_grants(), leaving_user_id=user_id)
        grants = list(PlatformRoleGrant.objects.select_for_update(of=("self",)).select_related("user")
                      .filter(user_id=user_id, revoked_at__isnull=True).order_by("pk"))
        _platform_roles_end([_grant_expiry(grant) if ended(grant.ends_at, now)
                             else (grant, partial(_grant_lapse, grant, now, reason), None) for grant in grants])
    return len(grants)


def _grant_revoked_at(grant: PlatformRoleGrant, now: datetime) -> None:
    grant.revoked_at = now
    grant.save(update_fields=["revoked_at"])


def _grant_lapse(grant: PlatformRoleGrant, now: datetime, reason: str) -> None:
    _grant_revoked_at(grant, now)
    audit_record(actor=None, action=AuditAction.PLATFORM_ROLE_REVOKED, target=grant.user, actor_role="system",
                 old={"grant": grant.pk, "role": grant.role, "jurisdiction": grant.jurisdiction},
                 new={"revoked_at": grant.revoked_at, "reason": reason})


def _locked_organisation(organisation_id: int, actor: AnyUser | None, user_id: int) -> Organisation:
    """The organisation, locked (it serialises every change of its admins, so two
    revocations racing cannot both pass the last-admin check), once the actor may
    grant its admin role and is not acting on themself."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
    if actor is not None:
        roles_asked_again(actor)  # an admin role of theirs ended meanwhile, or they were made an auditor: refused
    if actor is not None and not may_grant_admin(actor, organisation):
        raise PermissionDenied(_("You may grant and revoke the admin role only in the organisations you administer."))
    _check_not_own(actor, user_id)
    return organisation


def _check_keeps_an_admin(organisation: Organisation, *, leaving_user_id: int) -> None:
    """Refuse when no admin of the organisation in force and without an end date would
    remain besides ``leaving_user_id`` (who is being removed, or given an end date): not
    counting a role that gives no right to act (portal.permissions.admins_who_act: an
    inactive account's, an auditor's, or one resting on a verification past its date of
    superannuation)."""
    others = admins_who_act(Membership.objects.filter(
        organisation=organisation, role=MembershipRole.ADMIN, is_active=True, ends_at__isnull=True,
    ).exclude(user_id=leaving_user_id), for_good=True)
    if not others.exists():
        raise LastAdmin(
            _("%(organisation)s would have no admin left whose role does not end: grant the admin role to someone "
              "else first (without an end date).") % {"organisation": organisation.name},
            code="last_admin",
        )


def _lock_organisations(organisation_ids: Iterable[int] | QuerySet) -> None:
    """Lock the organisations (in the order of their ids): each serialises the changes of
    its admins. ``organisation_ids`` may be a subquery (one statement); none, no query."""
    list(Organisation.objects.select_for_update().filter(pk__in=organisation_ids).order_by("pk")
         .values_list("pk", flat=True))


def _eligible_for_admin(organisation: Organisation, user: AbstractBaseUser, now: datetime) -> bool:
    """An active member of the organisation or of an office below it (verified there:
    verification keeps Membership in step), or an admin there, whose membership has not
    lapsed (grounds_for_admin), with an address that may hold official powers."""
    if not user.is_active or not classify_email(user.email).eligible_as_officer:
        return False
    return grounds_for_admin(organisation, now=now).filter(user=user).exists()


def _admin_expire(membership: Membership) -> None:
    """Record, once, that an admin role (locked, past its end date) ended by itself:
    the guardian object permissions go, and the person is left as they were before."""
    ended_at = membership.ends_at
    _admin_end(membership)
    audit_record(actor=None, action=AuditAction.MEMBERSHIP_EXPIRED, target=membership.organisation,
                 old={"user": membership.user.email, "user_id": membership.user_id, "role": MembershipRole.ADMIN},
                 new={"ended_at": ended_at, "member": membership.is_active})


def _admin_end(membership: Membership) -> None:
    """The admin role ends: object permissions removed, the person a member again if they were one."""
    remove_perm(ADMINISTER_ORGANISATION, membership.user, membership.organisation)
    remove_perm(VIEW_ORGANISATION_DASHBOARD, membership.user, membership.organisation)
    membership.role, membership.is_active = MembershipRole.MEMBER, membership.member_before_admin
    membership.member_before_admin, membership.ends_at = False, None
    membership.save(update_fields=["role", "is_active", "member_before_admin", "ends_at"])


def _admin_until(membership: Membership | None, now: datetime) -> datetime | str | None:
    """A person's admin role in an organisation as the grant pages show it: None (none),
    "revoked" (until revoked) or its end."""
    in_force = (membership is not None and membership.is_active and membership.role == MembershipRole.ADMIN
                and not ended(membership.ends_at, now))
    return (membership.ends_at or "revoked") if in_force else None


def admin_role_shown(membership: Membership | None, now: datetime | None = None) -> str:
    """The digest of what the grant pages show of a person's admin role (portal.shown)."""
    return shown_digest({"admin_until": _admin_until(membership, now or timezone.now())})


def organisation_admin_grant(
    *, organisation_id: int, user_id: int, actor: AnyUser | None, ends_at: datetime | None = None, reason: str = "",
    request: HttpRequest | None = None, shown_values: str | None = None,
) -> Membership:
    """Make a person an admin of the organisation (membership and guardian object
    permissions), until ``ends_at`` (None: until revoked), with an audit row. The
    person must be an active member of it or of an office below it, and it must be
    active (ValidationError ``organisation_not_active``). Granting it to a current admin
    changes nothing but the end date (refused when that would leave the organisation
    without an admin whose role does not end). ``shown_values``: ``admin_role_shown`` of the
    role as the confirmation showed it: one granted, changed or ended since raises
    ChangedMeanwhile, nothing changed (a role granted until revoked meanwhile would be given
    the last day asked for a new one); None: not checked."""
    now = timezone.now()
    _check_end(ends_at, now)
    reason = _bounded_reason(reason)
    with transaction.atomic():
        # The person's account first (the order every change of their roles locks in): it
        # serialises the changes counted against ROLE_CHANGES_PER_DAY, in every organisation.
        _lock_granter_and_holder(None, user_id)
        organisation = _locked_organisation(organisation_id, actor, user_id)
        granter_end = _granting_role_end(actor, now, organisation=organisation)
        user = get_user_model().objects.get(pk=user_id)
        membership = Membership.objects.select_for_update().filter(organisation=organisation, user=user).first()
        # The role as asked standing already (a confirmation sent twice) changes nothing, below.
        standing = _admin_until(membership, now)
        if shown_values is not None and standing != (ends_at or "revoked"):
            check_shown(shown_values, {"admin_until": standing})
        if membership is not None and membership.is_active and membership.role == MembershipRole.ADMIN:
            if ended(membership.ends_at, now):
                membership.organisation, membership.user = organisation, user
                _admin_expire(membership)
            else:
                if membership.ends_at == ends_at:
                    return membership
                if ends_at is not None and membership.ends_at is None:
                    _check_keeps_an_admin(organisation, leaving_user_id=user.pk)
                _check_within_granter(ends_at, granter_end)
                _admin_role_changes_within_limit(actor, user)
                old_end, membership.ends_at = membership.ends_at, ends_at
                membership.save(update_fields=["ends_at"])
                audit_record(actor=actor, action=AuditAction.MEMBERSHIP_GRANTED, target=organisation, request=request,
                             old={"user": user.email, "role": MembershipRole.ADMIN, "ends_at": old_end},
                             new=_with({"user": user.email, "role": MembershipRole.ADMIN, "ends_at": ends_at},
                                       reason=reason))
                _admin_granted_mail(membership, organisation=organisation, user=user, reason=reason, changed=True)
                return membership
        # A new admin (a last day given to one in force is not): none while it is not active,
        # when it vouches for none of its members (a role resting on one counts for nothing).
        if organisation.status != OrganisationStatus.ACTIVE:
            raise ValidationError(
                _("Nobody can be made an admin of %(organisation)s while it is not active (its status: %(status)s).")
                % {"organisation": organisation.name, "status": organisation.get_status_display()},
                code="organisation_not_active",
            )
        _check_within_granter(ends_at, granter_end)
        if not _eligible_for_admin(organisation, user, now):
            raise ValidationError(
                _("%(email)s is not a verified member of %(organisation)s or of an office below it, or their address "
                  "cannot hold official powers.") % {"email": user.email, "organisation": organisation.name},
                code="not_eligible",
            )
        _admin_role_changes_within_limit(actor, user)
        if membership is None:
            membership = Membership(organisation=organisation, user=user)
        membership.member_before_admin = membership.pk is not None and membership.is_active
        membership.role, membership.is_active, membership.ends_at = MembershipRole.ADMIN, True, ends_at
        membership.granted_by = actor if actor is not None and actor.is_authenticated else None
        membership.granted_at = now
        membership.save()
        assign_perm(ADMINISTER_ORGANISATION, user, organisation)
        assign_perm(VIEW_ORGANISATION_DASHBOARD, user, organisation)
        audit_record(actor=actor, action=AuditAction.MEMBERSHIP_GRANTED, target=organisation, request=request,
                     new=_with({"user": user.email, "role": MembershipRole.ADMIN}, ends_at=ends_at, reason=reason))
        _admin_granted_mail(membership, organisation=organisation, user=user, reason=reason, changed=False)
    return membership


def _admin_granted_mail(membership: Membership, *, organisation: Organisation, user: AbstractBaseUser, reason: str,
                        changed: bool) -> None:
    """Tell the person they hold the admin role (or its new end date), what for and until when."""
    send_role_mail(user=user, template="admin_granted", context={
        "organisation": organisation, "ends_at": membership.ends_at, "last_day": membership.last_day,
        "reason": reason, "changed": changed})


def organisation_admin_revoke(
    *, organisation_id: int, user_id: int, actor: AnyUser | None, reason: str = "", request: HttpRequest | None = None,
) -> Membership | None:
    """Take the admin role of the organisation away from a person (guardian object
    permissions too), with an audit row: they stay a member if they were one before.
    Refused (LastAdmin) when no other admin whose role does not end would remain.
    Revoking from someone who is not an admin changes nothing (returns None)."""
    reason = _bounded_reason(reason)
    with transaction.atomic():
        _lock_granter_and_holder(None, user_id)  # as organisation_admin_grant: the person's account first
        organisation = _locked_organisation(organisation_id, actor, user_id)
        membership = (Membership.objects.select_for_update().select_related("user")
                      .filter(organisation=organisation, user_id=user_id, role=MembershipRole.ADMIN, is_active=True)
                      .first())
        if membership is None:
            return None
        membership.organisation = organisation
        if ended(membership.ends_at):
            _admin_expire(membership)
            return membership
        _check_keeps_an_admin(organisation, leaving_user_id=user_id)
        old_end = membership.ends_at
        _admin_end(membership)
        audit_record(actor=actor, action=AuditAction.MEMBERSHIP_REVOKED, target=organisation, request=request,
                     old=_with({"user": membership.user.email, "user_id": membership.user_id,
                                "role": MembershipRole.ADMIN}, ends_at=old_end),
                     new=_with({"member": membership.is_active}, reason=reason))
        send_role_mail(user=membership.user, template="admin_revoked", context={
            "organisation": organisation, "reason": reason, "member": membership.is_active})
    return membership


def organisation_admins_lapse(*, pairs: list[tuple[int, int]], reason: str,
                              check: Callable[[Membership], None] | None = None,
                              reasons: Mapping[tuple[int, int], str] | None = None,
                              member_of: Organisation | None = None) -> list[Membership]:
    """Admin roles whose ground is gone: the person's verification in that organisation
    ended (revoked, suspended, moved to another organisation, lapsed), and the caller has
    made them no member there. Each (organisation id, user id) pair that holds the admin
    role loses it at once, by the system, with an audit row, and is no longer a member
    either. So does an admin role the person was granted in an organisation above that
    one (as a member of an office below it, organisation_admin_grant) when nothing it
    could rest on is left: no membership, and no admin role in force, in an office below
    it (which roles: admin_roles_resting_on, what the confirmation pages read too).
    Unlike a revocation by an administrator, the last-admin rule does not hold them
    back: the fact the role rested on is gone, and the admins of the organisations above
    and the superadmins act for the organisation (told when it is left with no admin whose
    role does not end: _left_without_admin_tell). A role ended this way does not come
    back when the verification does: it is granted again. ``check``, when given, is
    called with each role before any ends and may raise to refuse the whole change (which
    the caller's transaction undoes): an administrator who ends the verification may not
    thereby end a role they could not revoke, nor one the last-admin rule keeps (a person's
    decision, unlike the system's endings: organisations_left_without_admin). The organisations of
    the roles are then locked first, as organisation_admin_revoke locks them, so that the
    answer about who else holds the role there still holds at the commit. ``reasons``:
    the reason the audit row of a pair's own role carries instead of ``reason``, when
    that pair's role ends for another cause than the others (ended in one call, whose locks
    are all taken before its first audit row). ``member_of``: the organisation the person
    is a member of instead, when that is why the memberships end (verified there): the
    roles it holds up do not end (admin_roles_resting_on).
    Returns the roles that ended."""
    if not pairs:
        return []
    # No savepoint: the callers end the verification in their own transaction, and one
    # query (none found) is all it costs them when the person is no admin.
    with transaction.atomic(savepoint=False):
        if check is not None:
            resting = admin_roles_resting_on(pairs, member_of=member_of)
            if not resting:
                return []
            _lock_organisations({role.organisation_id for role in resting})
        now = timezone.now()
        ending = []
        for membership in admin_roles_resting_on(pairs, for_update=True, member_of=member_of):
            if ended(membership.ends_at, now):
                # Past its end before the beat job recorded it: it ended by itself then,
                # recorded once as expired, not as taken away now.
                membership.member_before_admin = False
                _admin_expire(membership)
                continue
            _check_holder_keeps_an_admin(membership)
            if check is not None:
                check(membership)
            ending.append(membership)
        for membership in ending:
            membership.member_before_admin = False
            _admin_end(membership)
            audit_record(actor=None, action=AuditAction.MEMBERSHIP_REVOKED, target=membership.organisation,
                         old={"user": membership.user.email, "user_id": membership.user_id,
                              "role": MembershipRole.ADMIN},
                         new={"member": False,
                              "reason": (reasons or {}).get((membership.organisation_id, membership.user_id), reason)})
        if check is None and ending:
            _left_without_admin_tell(ending)
    return ending


# Organisations one mail lists of those a batch left without an admin: the rest are
# counted, with the link to the roles page.
ORGANISATIONS_LISTED = 50


def _left_without_admin_tell(ending: list[Membership], *, actor: AnyUser | None = None) -> None:
    """Of the organisations of the admin roles the system just ended (``ending``), those
    left with no admin whose role does not end: whoever acts for each now is told (but
    ``actor``, whose change ended them), in their
    language (who_acts_for: the admins above it, or the superadmins), written to the outbox
    in the caller's transaction and so sent once it commits. One mail to each person: of
    its one organisation (organisation_without_admin), or listing those it acts for
    (organisations_without_admin: at most ORGANISATIONS_LISTED, the rest counted), not one
    per organisation (a lapse run that ends a hundred offices' admins would mail every
    superadmin a hundred times). One query when none is left without."""
    left = organisations_without_admin({membership.organisation_id for membership in ending})
    if not left:
        return
    organisations = {m.organisation_id: m.organisation for m in ending if m.organisation_id in left}
    acting = who_acts_for(sorted(organisations.values(), key=lambda organisation: organisation.pk))
    told: dict[int, tuple[AnyUser, list[dict]]] = {}
    for organisation_id, organisation in sorted(organisations.items()):
        holders = sorted({m.user.email for m in ending if m.organisation_id == organisation_id})
        for user, above in acting[organisation_id]:
            if actor is not None and user.pk == actor.pk:
                continue
            told.setdefault(user.pk, (user, []))[1].append(
                {"organisation": organisation, "above": above, "holders": holders})
    languages = people_languages(told)
    for user, acts_for in told.values():
        if len(acts_for) == 1:
            send_role_mail(user=user, template="organisation_without_admin", language=languages[user.pk],
                           context=acts_for[0])
        else:
            send_role_mail(user=user, template="organisations_without_admin", language=languages[user.pk], context={
                "count": len(acts_for), "listed": acts_for[:ORGANISATIONS_LISTED],
                "more": max(len(acts_for) - ORGANISATIONS_LISTED, 0)})


def role_expiries_record(*, limit: int = 500) -> dict[str, int]:
    """Record in the audit log, once each, the roles whose end date has passed (they
    already count for nothing: portal.permissions reads the end dates): platform role
    grants get their revoked_at; admin memberships lose their object permissions.
    At most ``limit`` of each kind per run (the beat job runs again). The platform roles
    of a run end together (``_platform_roles_end``): several administrators whose roles
    ended at the same time, or were found so together, hand each step they decided on once."""
    now = timezone.now()
    done = {"platform_roles": 0, "admins": 0}
    with transaction.atomic():
        grants = list(PlatformRoleGrant.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("user").filter(revoked_at__isnull=True, ends_at__lte=now)
                      .order_by("ends_at", "pk")[:limit])
        _platform_roles_end([_grant_expiry(grant) for grant in grants])
        done["platform_roles"] = len(grants)
        admins = (Membership.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("user", "organisation")
                  .filter(role=MembershipRole.ADMIN, is_active=True, ends_at__lte=now).order_by("ends_at", "pk")[:limit])
        for membership in admins:
            _admin_expire(membership)
            done["admins"] += 1
    return done


# A lock per account for the report's downloads ("ROLR"): two asked at the same moment
# are counted one after the other.
REPORT_EXPORT_LOCK_NAMESPACE = 0x524F4C52


def role_report_export_record(*, actor: AbstractBaseUser, platform_roles: bool, limit: int,
                              request: HttpRequest | None = None) -> datetime | None:
    """The audit row of a download of the report of roles (whether it holds the platform
    roles). Each download reads every role of the viewer's scope again: when the account
    made ``limit`` in the last hour, nothing is written and the moment the next is possible
    is returned (None once written), counted from those rows under the account's lock,
    as monitoring's exports are (``hourly_audited``)."""
    return hourly_audited(actor=actor, action=AuditAction.ROLE_REPORT_EXPORTED, limit=limit,
                          lock=lambda: advisory_lock(REPORT_EXPORT_LOCK_NAMESPACE, actor.pk), request=request,
                          new={"platform_roles": platform_roles, "format": "csv"})
