"""Reads of an organisation's status and details, for suspending and reactivating it and
changing its details (who may is portal.permissions' question): the organisation as the
viewer may change it (404 for anyone else), who is told of a change, and the changes of its
status and of its details so far, from the audit log (the one record of who changed them,
when and why)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.details import DETAILS, DetailChange, details_fields
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    ReactivationReason,
    SuspensionReason,
    not_ended_q,
)
from portal.organisations.selectors import (
    LeftWithoutAdmin,
    admin_acting_again,
    admin_roles_changed,
    admins_acting_above,
    left_without_acting_admin,
    who_acts_for,
    without_acting_admin_above,
)
from portal.organisations.signals import domain_removal_counts, organisation_domain_weighed
from portal.permissions import AnyUser, admins_who_act, may_change_organisation_status, may_see_organisation_details

# The changes of its status an organisation's page lists, newest first.
STATUS_HISTORY_LIMIT = 20
STATUS_ACTIONS = (AuditAction.ORGANISATION_ACTIVATED, AuditAction.ORGANISATION_SUSPENDED,
                  AuditAction.ORGANISATION_REACTIVATED)
_STATUS_OF = {AuditAction.ORGANISATION_ACTIVATED: OrganisationStatus.ACTIVE,
              AuditAction.ORGANISATION_SUSPENDED: OrganisationStatus.SUSPENDED,
              AuditAction.ORGANISATION_REACTIVATED: OrganisationStatus.ACTIVE}
_REASONS_OF = {AuditAction.ORGANISATION_SUSPENDED: SuspensionReason,
               AuditAction.ORGANISATION_REACTIVATED: ReactivationReason}


def domains_of(organisation: Organisation) -> list[OrganisationDomain]:
    """The organisation's email domains (official for it, or claimed and waiting for a
    superadmin), in the order of their names. One query."""
    return list(OrganisationDomain.objects.filter(organisation=organisation).order_by("domain"))


def domain_removal_weighed(row: OrganisationDomain) -> dict[str, int]:
    """What removing ``row`` (one of an organisation's domains) would end and what would stand,
    as the feature apps count it (organisation_domain_weighed: DOMAIN_REMOVAL_COUNTS), for its
    confirmation page; nothing for a claim nobody accepted, on which nothing rests."""
    if not row.is_verified:
        return domain_removal_counts([])
    return domain_removal_counts(organisation_domain_weighed.send(
        sender=OrganisationDomain, organisation=row.organisation, domain=row.domain))


def organisation_for_status_change(viewer: AnyUser, pk: int) -> Organisation:
    """An organisation whose status the viewer may change (with the one above it), or 404
    (never 403: whether it exists is not said to someone who may not). One query."""
    return _organisation_if(viewer, pk, may_change_organisation_status)


class Told(NamedTuple):
    """One person told of a change of an organisation's status: one of its own admins
    (``own``), or someone who acts for it, an admin of ``above`` or (None) a superadmin."""

    user: AnyUser
    above: Organisation | None
    own: bool


def status_change_told(organisation: Organisation) -> list[Told]:
    """Who is told by mail that ``organisation`` was suspended or reactivated, by address:
    its admins whose role counts (admins_who_act, not past their end); with none, whoever
    acts for it (who_acts_for: the admins of the nearest organisation above it that has
    some, or every superadmin). Not its members: there may be a hundred thousand. One
    query, or three."""
    own = admins_who_act(Membership.objects.filter(not_ended_q(), organisation=organisation, role=MembershipRole.ADMIN,
                                                   is_active=True))
    told = [Told(membership.user, None, True) for membership in own.select_related("user")]
    if not told:
        told = [Told(user, above, False) for user, above in who_acts_for([organisation])[organisation.pk]]
    return sorted(told, key=lambda one: (one.user.email, one.user.pk))


class ChangeAbove(NamedTuple):
    """What suspending or reactivating an organisation does above it, as its confirmation
    page says it before anything is done: the departments it leaves with no admin who acts
    for them, or gives their admin back (``departments``), and the admins whose role there
    stops counting, or counts again (``held``: {address: [the names of the organisations]}),
    each told by mail, as organisation_suspend and organisation_reactivate find and tell them."""

    departments: list[LeftWithoutAdmin]
    held: dict[str, list[str]]


def status_change_above(organisation: Organisation, to: str) -> ChangeAbove:
    """What giving ``organisation`` the status ``to`` (suspended: it is active; active: it is
    suspended) does above it (ChangeAbove). Asked of the rules themselves: the status is
    written in a savepoint that is rolled back (nothing stays written), and only when an
    admin of an organisation above it is a member of it (verification keeps Membership in
    step: a role above rests on a verification there). A suspension: one query for an
    organisation with no admin acting above it, two for one none of whose admins above is
    its member. A reactivation: one query for one none of whose admins above is its member."""
    if not organisation.ancestor_ids:
        return ChangeAbove([], {})
    if to == OrganisationStatus.SUSPENDED:
        before = admins_acting_above(organisation)
        holders = {address for _organisation, addresses in before.values() for address in addresses}
        if not holders or not Membership.objects.filter(organisation=organisation, is_active=True,
                                                        user__email__in=holders).exists():
            return ChangeAbove([], {})
        with transaction.atomic():
            Organisation.objects.filter(pk=organisation.pk, status=OrganisationStatus.ACTIVE).update(
                status=OrganisationStatus.SUSPENDED)
            after = admins_acting_above(organisation)
            left = left_without_acting_admin(organisation, before, after=after)
            transaction.set_rollback(True)
        return ChangeAbove(left, admin_roles_changed(before, after))
    member_here = Membership.objects.filter(organisation=organisation, user_id=OuterRef("user_id"), is_active=True)
    if not Membership.objects.filter(
        not_ended_q(), Exists(member_here), organisation_id__in=organisation.ancestor_ids,
        organisation__status=OrganisationStatus.ACTIVE, role=MembershipRole.ADMIN, is_active=True,
    ).exists():
        return ChangeAbove([], {})
    before = admins_acting_above(organisation)
    missing = without_acting_admin_above(organisation, acting=before)
    with transaction.atomic():
        Organisation.objects.filter(pk=organisation.pk, status=OrganisationStatus.SUSPENDED).update(
            status=OrganisationStatus.ACTIVE)
        after = admins_acting_above(organisation)
        again = admin_acting_again(organisation, missing, after=after)
        transaction.set_rollback(True)
    return ChangeAbove(again, admin_roles_changed(after, before))


def offices_below_count(organisation: Organisation) -> int:
    """How many offices are below the organisation, at any depth (they stay active when it is
    suspended). One query (the ancestry's prefix index)."""
    return Organisation.objects.filter(ancestry__startswith=organisation.subtree_prefix).count()


def members_count(organisation: Organisation) -> int:
    """How many verified members the organisation has (verification keeps Membership in
    step: an active member, or an admin who was one), whom a change of its status does not
    mail one by one. One query."""
    return Membership.objects.filter(Q(role=MembershipRole.MEMBER) | Q(member_before_admin=True),
                                     organisation=organisation, is_active=True).count()


@dataclass(frozen=True)
class StatusChange:
    """A change of an organisation's status as its audit row recorded it: when, to which
    status, by whom (their address then: "" for the system, or once erased), for which
    reason (a label; "" for none) with which note, who was told by mail, and for an
    activation the application approved."""

    at: datetime
    action: str
    status: str
    by: str
    reason: str
    note: str
    told: tuple[str, ...]
    application: str

    @property
    def status_label(self) -> str:
        return OrganisationStatus(self.status).label


def _change_of(event: AuditEvent) -> StatusChange:
    values = event.new_values or {}
    reasons = _REASONS_OF.get(event.action)
    code = str(values.get("reason_code") or "")
    reason = str(reasons(code).label) if reasons is not None and code in reasons.values else code
    return StatusChange(at=event.created_at, action=event.action, status=_STATUS_OF[event.action],
                        by=event.actor_email if event.actor_id else "", reason=reason,
                        note=str(values.get("reason") or ""), told=tuple(str(one) for one in values.get("told") or ()),
                        application=str(values.get("application") or ""))


def status_history(organisation: Organisation, *, limit: int = STATUS_HISTORY_LIMIT) -> list[StatusChange]:
    """The last ``limit`` changes of the organisation's status (its activation, each
    suspension and reactivation), newest first. One query (the audit log's index of targets)."""
    events = (AuditEvent.objects.filter(target_type=organisation._meta.label_lower, target_id=str(organisation.pk),
                                        action__in=STATUS_ACTIONS)
              .only("created_at", "action", "actor_id", "actor_email", "new_values").order_by("-id")[:limit])
    return [_change_of(event) for event in events]


def current_status(organisation: Organisation, history: list[StatusChange]) -> StatusChange | None:
    """The change that gave the organisation its status now (the newest of ``history``, when
    it is of that status), or None when the log has none (an organisation made active before
    the log recorded it, by seed data)."""
    latest = history[0] if history else None
    return latest if latest is not None and latest.status == organisation.status else None


def organisation_for_details(viewer: AnyUser, pk: int) -> Organisation:
    """An organisation whose details page the viewer may read (one who changes them, or one of
    its admins or of those above it), or 404 (never 403: whether it exists is not said to
    someone who may not). One query, or two for one who does not change them."""
    return _organisation_if(viewer, pk, may_see_organisation_details)


def _organisation_if(viewer: AnyUser, pk: int, may: Callable[[AnyUser, Organisation], bool]) -> Organisation:
    """The organisation ``pk`` (with the one above it) when ``may(viewer, it)``, else 404."""
    try:
        organisation = Organisation.objects.select_related("parent").get(pk=pk)
    except (Organisation.DoesNotExist, ValueError):
        raise Http404 from None
    if not may(viewer, organisation):
        raise Http404
    return organisation


# The changes of its details an organisation's pages list, newest first.
DETAILS_HISTORY_LIMIT = 10
# The keys of each detail in its audit row's old and new values: "name" is a person's in the
# audit log (portal.audit.personal: erased with them), an organisation's name is not.
DETAIL_AUDIT_KEYS = {"name": "organisation_name", "name_local": "name_local", "short_code": "short_code",
                "district": "district"}


@dataclass(frozen=True)
class DetailsChange:
    """A change of an organisation's details as its audit row recorded it: when, by whom
    (their address then: "" for the system, or once erased), each detail from what to what,
    why, and who was told by mail."""

    at: datetime
    by: str
    changes: tuple[DetailChange, ...]
    reason: str
    told: tuple[str, ...]


def details_history(organisation: Organisation, *, limit: int = DETAILS_HISTORY_LIMIT) -> list[DetailsChange]:
    """The last ``limit`` changes of the organisation's details, newest first. One query (the
    audit log's index of targets)."""
    events = (AuditEvent.objects.filter(target_type=organisation._meta.label_lower, target_id=str(organisation.pk),
                                        action=AuditAction.ORGANISATION_DETAILS_CHANGED)
              .only("created_at", "actor_id", "actor_email", "old_values", "new_values").order_by("-id")[:limit])
    labels = {key: field.label for key, field in details_fields().items()}
    history = []
    for event in events:
        old, new = event.old_values or {}, event.new_values or {}
        changes = tuple(DetailChange(key, labels[key], str(old.get(DETAIL_AUDIT_KEYS[key]) or ""),
                                     str(new.get(DETAIL_AUDIT_KEYS[key]) or ""))
                        for key in DETAILS if DETAIL_AUDIT_KEYS[key] in new)
        history.append(DetailsChange(at=event.created_at, by=event.actor_email if event.actor_id else "",
                                     changes=changes, reason=str(new.get("reason") or ""),
                                     told=tuple(str(one) for one in new.get("told") or ())))
    return history
