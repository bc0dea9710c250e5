"""Reads of an organisation's status and details, for suspending and reactivating it,
changing its details and moving it (who may is portal.permissions' question): the organisation as the
viewer may change it (404 for anyone else), who is told of a change, and the changes of its
status and of its details so far, from the audit log (the one record of who changed them,
when and why)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy

from portal.accounts.official_email import email_rules, official_suffix_of
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.details import DETAILS, DetailChange, details_fields
from portal.organisations.models import (
    Level,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    ReactivationReason,
    StatusAsIf,
    SuspensionReason,
    not_ended_q,
)
from portal.organisations.selectors import (
    LeftWithoutAdmin,
    admin_acting_again,
    admin_roles_changed,
    admin_roles_resting_on_move,
    admins_acting_above,
    left_without_acting_admin,
    organisations_left_without_admin,
    who_acts_for,
    without_acting_admin_above,
)
from portal.organisations.signals import (
    domain_removal_counts,
    organisation_domain_weighed,
    organisation_members_off_domains,
)
from portal.organisations.states import CENTRAL, State
from portal.permissions import (
    AnyUser,
    admins_who_act,
    may_change_organisation_status,
    may_see_organisation_details,
    state_admin_emails,
)

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


def domains_no_longer_its(organisation: Organisation) -> list[str]:
    """The domains removed from ``organisation``, or from an organisation above it (whose
    domains its staff used as theirs), while official there (organisation_domain_remove: its
    audit rows, the one record of them), that are official for none of its line now (its
    own, an office's below it, one's above it: OrganisationDomain.official_for), in the order
    of their names: those at which its members verified before may keep an address that no
    longer vouches for them. One query when none was removed; two otherwise."""
    targets = [str(pk) for pk in (organisation.pk, *organisation.ancestor_ids)]
    removed = set(AuditEvent.objects.filter(target_type=organisation._meta.label_lower, target_id__in=targets,
                                            action=AuditAction.DOMAIN_REMOVED, old_values__verified=True)
                  .values_list("old_values__domain", flat=True))
    removed = {domain for domain in removed if isinstance(domain, str) and domain}
    if not removed:
        return []
    official = set(OrganisationDomain.objects.official_for(organisation).filter(domain__in=removed)
                   .values_list("domain", flat=True))
    return sorted(removed - official)


def members_off_domains_count(organisation: Organisation, domains: list[str]) -> int:
    """How many of ``organisation``'s verified members keep an official address at one of
    ``domains`` (domains_no_longer_its), as the feature apps count them
    (organisation_members_off_domains), for its status page. No query for no domains."""
    if not domains:
        return 0
    return sum(int(answer or 0) for _receiver, answer in organisation_members_off_domains.send(
        sender=OrganisationDomain, organisation=organisation, domains=domains))


def organisation_for_status_change(viewer: AnyUser, pk: int) -> Organisation:
    """An organisation whose status the viewer may change (with the one above it), or 404
    (never 403: whether it exists is not said to someone who may not). One query."""
    return _organisation_if(viewer, pk, may_change_organisation_status)


class Told(NamedTuple):
    """One person told of a change of an organisation's status: one of its own admins
    (``own``), or someone who acts for it, an admin of ``above`` or (None) a superadmin;
    ``gains``: someone who acts for it only once the change is made (a move's new line)."""

    user: AnyUser
    above: Organisation | None
    own: bool
    gains: bool = False


def status_change_told(organisation: Organisation, *, as_if: StatusAsIf | None = None) -> list[Told]:
    """Who is told by mail that ``organisation`` was suspended or reactivated, by address:
    its admins whose role counts (admins_who_act, not past their end); with none, whoever
    acts for it (who_acts_for: the admins of the nearest organisation above it that has
    some, or every superadmin), as they are once its status is changed (``as_if``: asked
    before, with its status as the change makes it; an admin above whose role rests on a
    verification in it acts for it only while it is active). Not its members: there may be
    a hundred thousand. One query, or three."""
    own = admins_who_act(Membership.objects.filter(not_ended_q(), organisation=organisation, role=MembershipRole.ADMIN,
                                                   is_active=True), as_if=as_if)
    told = [Told(membership.user, None, True) for membership in own.select_related("user")]
    if not told:
        told = [Told(user, above, False) for user, above in who_acts_for([organisation], as_if=as_if)[organisation.pk]]
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
    suspended) does above it (ChangeAbove), as organisation_suspend and organisation_reactivate
    will find it: the admins acting above it now, and as they would once it has the status
    ``to`` (the same rules asked with its status as it would be, StatusAsIf: nothing is
    written, nothing locked). Asked only when an admin of an organisation above it is a member
    of it (verification keeps Membership in step: a role above rests on a verification there;
    _admin_above_is_member). A suspension: one query for an organisation with no admin acting
    above it, two for one none of whose admins above is its member. A reactivation: one query
    for one none of whose admins above is its member."""
    if not organisation.ancestor_ids:
        return ChangeAbove([], {})
    suspending = to == OrganisationStatus.SUSPENDED
    acting = admins_acting_above(organisation) if suspending else None
    if not _admin_above_is_member(organisation, acting):
        return ChangeAbove([], {})
    acting = admins_acting_above(organisation) if acting is None else acting
    as_if = StatusAsIf(organisation.pk, to)
    then = admins_acting_above(organisation, as_if=as_if)
    if suspending:
        return ChangeAbove(left_without_acting_admin(organisation, acting, after=then, as_if=as_if),
                           admin_roles_changed(acting, then))
    missing = without_acting_admin_above(organisation, acting=acting)
    return ChangeAbove(admin_acting_again(organisation, missing, after=then), admin_roles_changed(then, acting))


def _admin_above_is_member(organisation: Organisation,
                           acting: dict[int, tuple[Organisation, list[str]]] | None) -> bool:
    """Whether an admin of an organisation above ``organisation`` is a member of it: one of
    those who act now (``acting``, admins_acting_above: its suspension can only stop them),
    or with None (it is suspended: its reactivation can only make a role that counts for
    nothing now count again) one whose role is in force at an active organisation above it.
    One query; none when nobody acts above it."""
    if acting is not None:
        holders = {address for _organisation, addresses in acting.values() for address in addresses}
        return bool(holders) and Membership.objects.filter(organisation=organisation, is_active=True,
                                                            user__email__in=holders).exists()
    member_here = Membership.objects.filter(organisation=organisation, user_id=OuterRef("user_id"), is_active=True)
    return Membership.objects.filter(
        not_ended_q(), Exists(member_here), organisation_id__in=organisation.ancestor_ids,
        organisation__status=OrganisationStatus.ACTIVE, role=MembershipRole.ADMIN, is_active=True,
    ).exists()


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


def _moved(old: dict, new: dict) -> tuple[DetailChange, ...]:
    """A move's audit values as the changes it made: its state (by its label; "" for none) and
    the organisation above it (by its name then; "" for none), each that changed."""
    states = dict(State.choices)
    changes = []
    if old.get("state") != new.get("state"):
        changes.append(DetailChange("state", gettext_lazy("State / UT"), str(states.get(old.get("state"), "")),
                                    str(states.get(new.get("state"), ""))))
    if old.get("parent_id") != new.get("parent_id"):
        changes.append(DetailChange("parent", gettext_lazy("Above it"), str(old.get("parent_name") or ""),
                                    str(new.get("parent_name") or "")))
    return tuple(changes)


def details_history(organisation: Organisation, *, limit: int = DETAILS_HISTORY_LIMIT) -> list[DetailsChange]:
    """The last ``limit`` changes of the organisation's details, its moves among them (its state
    and the organisation above it), newest first. One query (the audit log's index of targets)."""
    events = (AuditEvent.objects.filter(target_type=organisation._meta.label_lower, target_id=str(organisation.pk),
                                        action__in=(AuditAction.ORGANISATION_DETAILS_CHANGED,
                                                    AuditAction.ORGANISATION_MOVED))
              .only("created_at", "action", "actor_id", "actor_email", "old_values", "new_values").order_by("-id")[:limit])
    labels = {key: field.label for key, field in details_fields().items()}
    history = []
    for event in events:
        old, new = event.old_values or {}, event.new_values or {}
        if event.action == AuditAction.ORGANISATION_MOVED:
            changes = _moved(old, new)
        else:
            changes = tuple(DetailChange(key, labels[key], str(old.get(DETAIL_AUDIT_KEYS[key]) or ""),
                                         str(new.get(DETAIL_AUDIT_KEYS[key]) or ""), organisation.state)
                            for key in DETAILS if DETAIL_AUDIT_KEYS[key] in new)
        history.append(DetailsChange(at=event.created_at, by=event.actor_email if event.actor_id else "",
                                     changes=changes, reason=str(new.get("reason") or ""),
                                     told=tuple(str(one) for one in new.get("told") or ())))
    return history


# Moving an organisation: its state and the organisation above it -------------------------------------
#
# The rule the onboarding form implies (its review flags a parent of another jurisdiction than the
# one the application is sent to): an organisation is of its parent's jurisdiction, a state's or
# UT's, or the centre's. A move keeps it so: the new parent is active, neither the organisation
# itself nor an office below it, and of the jurisdiction the organisation will have; the offices
# below that were of its old state move to the new one with it (they stay below it).


def jurisdiction_after(organisation: Organisation, state: str) -> str:
    """The jurisdiction ``organisation`` has with the state ``state`` (its level kept)."""
    return CENTRAL if organisation.level == Level.CENTRAL or not state else state


class MoveEffect(NamedTuple):
    """What moving an organisation does, as its confirmation page says it before anything is
    done and organisation_move checks it again under its lock: its jurisdiction before and
    after; the offices below it that move to the new state with it, and how many are below it;
    the state administrators who lose and gain sight of it (their addresses); the
    organisations whose admins lose and gain their powers over it (an organisation admin's
    cover the offices below it), each with the addresses of its admins who act; the admin
    roles above it that end, resting on a membership of it or of an office below it
    (admin_roles_resting_on_move); the email domains that stop counting as official for it
    and the offices below it, and those that start (domains_shared_by: each with the name of
    the organisation it is accepted for); who is told."""

    before: tuple[str, str, str]  # its state, ancestry and status as read
    old_jurisdiction: str
    new_jurisdiction: str
    offices_moving: int
    offices_below: int
    state_admins_losing: list[str]
    state_admins_gaining: list[str]
    admins_losing: list[tuple[Organisation, list[str]]]
    admins_gaining: list[tuple[Organisation, list[str]]]
    admin_roles_ending: list[Membership]
    domains_losing: list[tuple[str, str]]
    domains_gaining: list[tuple[str, str]]
    told: list[Told]


def _admins_acting_at(*lines: list[int]) -> list[list[tuple[Organisation, list[str]]]]:
    """For each of ``lines`` (organisation ids), each of its organisations (in that order) with
    the addresses of its admins who act for it (admins_who_act, their role not ended; none for
    one not active). Two queries for all the lines; none for no ids."""
    ids = [pk for line in lines for pk in line]
    if not ids:
        return [[] for _line in lines]
    organisations = Organisation.objects.in_bulk(ids)
    found: dict[int, list[str]] = {pk: [] for pk in ids}
    for organisation_id, email in admins_who_act(Membership.objects.filter(
        not_ended_q(), organisation_id__in=ids, organisation__status=OrganisationStatus.ACTIVE,
        role=MembershipRole.ADMIN, is_active=True,
    )).order_by("user__email").values_list("organisation_id", "user__email"):
        found[organisation_id].append(email)
    return [[(organisations[pk], found[pk]) for pk in line if pk in organisations] for line in lines]


def offices_moving_with(organisation: Organisation, state: str) -> QuerySet[Organisation]:
    """The offices below ``organisation`` that move to ``state`` with it: those of its old state
    (not of the centre's level), when its state changes; none otherwise."""
    if state == organisation.state or not organisation.state or organisation.level == Level.CENTRAL:
        return Organisation.objects.none()
    return Organisation.objects.filter(ancestry__startswith=organisation.subtree_prefix,
                                       state=organisation.state).exclude(level=Level.CENTRAL)


def domains_shared_by(*lines: list[int]) -> list[list[tuple[str, str]]]:
    """For each of ``lines`` (organisation ids), (domain, organisation name) of the domains
    accepted for its organisations that are not under an official suffix, in the order of the
    domains: those the offices below them count as official because they are below them
    (OrganisationDomain.objects.official_for; a domain under an official suffix is official
    everywhere). One query for all the lines, and one for the rules when a domain is found;
    none for no ids."""
    ids = [pk for line in lines for pk in line]
    rows = list(OrganisationDomain.objects.filter(organisation_id__in=ids, is_verified=True).order_by("domain")
                .values_list("organisation_id", "domain", "organisation__name")) if ids else []
    rules = email_rules() if rows else []
    shared = [(pk, domain, name) for pk, domain, name in rows if not official_suffix_of(domain, rules=rules)]
    return [[(domain, name) for pk, domain, name in shared if pk in line] for line in lines]


def move_leaves(organisation: Organisation, parent: Organisation | None) -> list[int]:
    """The ids of the organisations above ``organisation`` that are not above it once it is
    placed under ``parent`` (None: at the top), nearest last. No query."""
    new_line = _line_under(parent)
    return [pk for pk in organisation.ancestor_ids if pk not in new_line]


def _line_under(parent: Organisation | None) -> list[int]:
    """The ids of the organisations above one placed under ``parent`` (None: at the top)."""
    return [*parent.ancestor_ids, parent.pk] if parent is not None else []


def move_effect(organisation: Organisation, *, state: str, parent: Organisation | None,
                for_update: bool = False) -> MoveEffect:
    """What moving ``organisation`` to ``state`` under ``parent`` (None: at the top) does
    (MoveEffect); ``for_update``: the admin roles that end locked, under the caller's
    transaction (organisation_move ends them). A few queries, whatever the number of offices
    below it."""
    old, new = organisation.jurisdiction, jurisdiction_after(organisation, state)
    losing_sight, gaining_sight = [], []
    if old != new:
        emails = state_admin_emails({old, new})
        losing_sight = sorted(set(emails.get(old, [])) - set(emails.get(new, [])))
        gaining_sight = sorted(set(emails.get(new, [])) - set(emails.get(old, [])))
    leaving = move_leaves(organisation, parent)
    joining = [pk for pk in _line_under(parent) if pk not in organisation.ancestor_ids]
    admins_losing, admins_gaining = _admins_acting_at(leaving, joining)
    domains_losing, domains_gaining = domains_shared_by(leaving, joining)
    return MoveEffect(
        before=(organisation.state, organisation.ancestry, organisation.status), old_jurisdiction=old, new_jurisdiction=new,
        offices_moving=offices_moving_with(organisation, state).count() if old != new else 0,
        offices_below=offices_below_count(organisation),
        state_admins_losing=losing_sight, state_admins_gaining=gaining_sight,
        admins_losing=admins_losing, admins_gaining=admins_gaining,
        admin_roles_ending=admin_roles_resting_on_move(organisation, leaving, for_update=for_update),
        domains_losing=domains_losing, domains_gaining=domains_gaining,
        told=move_told(organisation, parent),
    )


def move_told(organisation: Organisation, parent: Organisation | None) -> list[Told]:
    """Who is told by mail that ``organisation`` moves under ``parent``: its admins whose
    role counts (status_change_told); with none, whoever acts for it where it is (who
    loses it) and whoever acts for it once under ``parent`` (who gains it, ``gains``: the
    admins above its new place, or every superadmin), each once. Two to four queries."""
    told = status_change_told(organisation)
    if any(one.own for one in told):
        return told
    # Only its place is asked (who_acts_for reads its id and ancestry): nothing is changed.
    placed = Organisation(pk=organisation.pk, ancestry=parent.subtree_prefix if parent is not None else "/")
    known = {one.user.pk for one in told}
    gaining = [Told(user, above, False, True) for user, above in who_acts_for([placed])[organisation.pk]
               if user.pk not in known]
    return told + sorted(gaining, key=lambda one: (one.user.email, one.user.pk))


def move_leaves_without_admin(ending: list[Membership]) -> list[LeftWithoutAdmin]:
    """Of the organisations of the admin roles a move ends (``ending``:
    admin_roles_resting_on_move), those left with no admin who acts for them once they end
    (organisations_left_without_admin, as the move finds them after ending them), in the
    order of their ids, each with the addresses of those roles' holders there and whoever
    acts for it then (who_acts_for, as it will be once they end: a role above it that ends
    too acts for nothing). None for none; else one query, three at most."""
    if not ending:
        return []
    left_ids = organisations_left_without_admin(ending)
    left = sorted({role.organisation_id: role.organisation for role in ending
                   if role.organisation_id in left_ids}.values(), key=lambda organisation: organisation.pk)
    if not left:
        return []
    acting = who_acts_for(left, leaving={(role.organisation_id, role.user_id) for role in ending})
    return [LeftWithoutAdmin(organisation, sorted({role.user.email for role in ending
                                                   if role.organisation_id == organisation.pk}), acting[organisation.pk])
            for organisation in left]


def move_shown(effect: MoveEffect) -> dict:
    """The values of ``effect`` its confirmation page shows, for its digest (portal.shown)."""
    return {"before": list(effect.before), "jurisdictions": [effect.old_jurisdiction, effect.new_jurisdiction],
            "offices": [effect.offices_moving, effect.offices_below],
            "state_admins": [effect.state_admins_losing, effect.state_admins_gaining],
            "admins": [[(organisation.pk, addresses) for organisation, addresses in effect.admins_losing],
                       [(organisation.pk, addresses) for organisation, addresses in effect.admins_gaining]],
            "domains": [[domain for domain, _name in effect.domains_losing],
                        [domain for domain, _name in effect.domains_gaining]],
            "roles_ending": [[role.organisation_id, role.user.email] for role in effect.admin_roles_ending],
            "told": [[one.user.email, one.gains] for one in effect.told]}
