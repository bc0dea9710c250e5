"""Reads for the role pages, scoped to who is looking (portal.permissions decides
the scope): who holds which role where, the people a role may be given to, and the
organisations whose admins the viewer manages. Every list is bounded. The people come
with ``seen_name``: their name where the viewer may see it (the visibility rules,
through portal.organisations.names), else None, when the page shows their address."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.audit.models import AuditAction, AuditEvent
from portal.ids import row_id
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    PlatformRoleGrant,
    in_force_q,
)
from portal.organisations.names import seen_name
from portal.organisations.selectors import grounds_for_admin, named_as_typed_first
from portal.permissions import (
    AnyUser,
    may_grant_admin,
    memberships_not_lapsed,
    organisations_for_role_admin,
    organisations_in_scope,
    watched_jurisdictions,
)
from portal.text import as_searched, single_line

SEARCH_MIN_LENGTH = 3
SEARCH_MAX_LENGTH = 254
SEARCH_LIMIT = 20


def _email_prefix(query: str) -> str:
    """The search text as an address prefix (addresses are stored lower-cased), or ""
    when too short to search by."""
    query = (query or "").strip().lower()[:SEARCH_MAX_LENGTH]
    return query if len(query) >= SEARCH_MIN_LENGTH else ""


def admin_in_force_q(prefix: str = "", now=None) -> Q:
    """Admin memberships in force: active, admin, not past their end date."""
    now = now or timezone.now()
    return Q(**{f"{prefix}role": MembershipRole.ADMIN, f"{prefix}is_active": True}) & (
        Q(**{f"{prefix}ends_at__isnull": True}) | Q(**{f"{prefix}ends_at__gt": now})
    )


def admins_held(now=None) -> QuerySet[Membership]:
    """Admin memberships in force that count: of active accounts (an inactive one holds no
    role: portal.permissions), and not those resting on a verification past its date of
    superannuation before the hourly job ends them (portal.permissions.memberships_not_lapsed);
    as the last-admin rule counts them. Still there to revoke (``admin_of``)."""
    return memberships_not_lapsed(Membership.objects.filter(admin_in_force_q(now=now), user__is_active=True), now)


def _named(queryset: QuerySet, viewer: AnyUser | None, user: str = "user") -> QuerySet:
    """``queryset`` with ``seen_name``, the name of each row's person as ``viewer`` may see
    it (None when they may not); as it is when no viewer is given (nothing shown)."""
    return queryset if viewer is None else queryset.annotate(seen_name=seen_name(viewer, user))


# Platform roles (superadmins) ------------------------------------------------------------

def people_by_email(query: str, *, viewer: AnyUser, limit: int = SEARCH_LIMIT) -> QuerySet:
    """Active accounts whose address starts with ``query`` (at least three characters),
    at most ``limit``, by address: an indexed prefix match."""
    prefix = _email_prefix(query)
    if not prefix:
        return get_user_model().objects.none()
    return _named(get_user_model().objects.filter(is_active=True, email__startswith=prefix)
                  .only("id", "email", "full_name"), viewer, "").order_by("email")[:limit]


def person(pk: object, *, viewer: AnyUser | None = None) -> AbstractBaseUser:
    try:
        return _named(get_user_model().objects.all(), viewer, "").get(pk=int(pk), is_active=True)
    except (ValueError, TypeError, get_user_model().DoesNotExist):
        raise Http404 from None


def _grants_in_force(viewer: AnyUser | None) -> QuerySet[PlatformRoleGrant]:
    return _named(PlatformRoleGrant.objects.filter(in_force_q()).select_related("user", "granted_by"), viewer)


def platform_grants_in_force(viewer: AnyUser | None = None) -> QuerySet[PlatformRoleGrant]:
    """Every platform role grant in force of an active account (an inactive one holds no
    role: portal.permissions), by person (superadmins' page, the report)."""
    return _grants_in_force(viewer).filter(user__is_active=True).order_by("user__email", "role", "jurisdiction", "pk")


def superusers(viewer: AnyUser) -> list[AbstractBaseUser]:
    """The active accounts that are superadmins by their superuser flag (``manage.py
    createsuperuser``: the installation's first superadmin; portal.permissions counts them
    as superadmins, with or without a grant), by address, for a viewer who sees every
    platform role (watched_jurisdictions None); none for the others. They are no grant:
    the flag is changed on the command line or in the Django admin, not on the roles pages."""
    if watched_jurisdictions(viewer) is not None:
        return []
    return list(_named(get_user_model().objects.filter(is_active=True, is_superuser=True), viewer, "")
                .only("id", "email", "full_name").order_by("email"))


def platform_grant_in_force(pk: int, *, viewer: AnyUser | None = None) -> PlatformRoleGrant:
    """A grant in force, or 404: an inactive account's too (not listed as held, but still
    there to revoke)."""
    try:
        return _grants_in_force(viewer).get(pk=pk)
    except PlatformRoleGrant.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class EndedRole:
    """A role that was held and has ended: whose it was, when it ended, and who ended it
    (their address; None when it ended by itself, its end date passed, or nobody did)."""

    holder_email: str
    ended_at: datetime
    ended_by: str | None


def _ending_of(actions: list[str], target: Model, *conditions: Q, **old: object) -> AuditEvent | None:
    """The last audit row of ``actions`` on ``target`` meeting ``conditions`` whose old values hold ``old``."""
    return (AuditEvent.objects.filter(*conditions, action__in=actions, target_type=target._meta.label_lower,
                                      target_id=str(target.pk),
                                      **{f"old_values__{key}": value for key, value in old.items()})
            .only("created_at", "action", "actor_id", "actor_email", "new_values").order_by("-id").first())


def _ended_as_recorded(holder_email: str, event: AuditEvent, expired: str) -> EndedRole:
    """How a role ended, from its audit row: by whom (none when it expired), and when."""
    if event.action == expired:
        ended_at = parse_datetime(str(event.new_values.get("ended_at") or "")) or event.created_at
        return EndedRole(holder_email, ended_at, None)
    return EndedRole(holder_email, event.created_at, (event.actor_email or None) if event.actor_id else None)


def platform_grant_ended(pk: int) -> tuple[PlatformRoleGrant, EndedRole] | None:
    """A platform role grant that existed and is no longer in force (revoked, or past its
    end date), with how it ended; None when there is no such grant (or it is in force)."""
    grant = PlatformRoleGrant.objects.exclude(in_force_q()).select_related("user").filter(pk=pk).first()
    if grant is None:
        return None
    if grant.revoked_at is None:  # past its end date, not yet recorded as ended
        return grant, EndedRole(grant.user.email, grant.ends_at, None)
    event = _ending_of([AuditAction.PLATFORM_ROLE_REVOKED, AuditAction.PLATFORM_ROLE_EXPIRED], grant.user, grant=grant.pk)
    if event is None:
        return grant, EndedRole(grant.user.email, grant.revoked_at, None)
    ended = _ended_as_recorded(grant.user.email, event, AuditAction.PLATFORM_ROLE_EXPIRED)
    return grant, EndedRole(ended.holder_email, grant.revoked_at, ended.ended_by)


# Organisation admins ------------------------------------------------------------------------

def organisations_managed(viewer: AnyUser, *, query: str = "") -> QuerySet[Organisation]:
    """Organisations whose admins the viewer grants and revokes, by name, each with its
    number of admins in force (``admins_held``); narrowed by name (in English or the local
    language, as the join search and the parent picker search) or short code when ``query``
    is given, those named or short-coded as typed first (a superadmin manages every
    organisation: theirs is a search of two characters or more)."""
    found = organisations_for_role_admin(viewer)
    # No control characters (PostgreSQL refuses NUL in text), nor invisible ones pasted with the words.
    query = as_searched(single_line(query or "")).strip()[:100]
    order = ["name", "id"]
    if query:
        found = found.filter(Q(name__icontains=query) | Q(name_local__icontains=query) | Q(short_code__iexact=query))
        order.insert(0, named_as_typed_first(query))
    admins = (admins_held().filter(organisation=OuterRef("pk")).order_by().values("organisation")
              .annotate(n=Count("pk")).values("n"))
    return (found.annotate(admins=Coalesce(Subquery(admins), 0))
            .only("id", "name", "short_code", "state", "level").order_by(*order))


def organisation_for_role_admin(viewer: AnyUser, pk: int) -> Organisation:
    """An organisation whose admins the viewer manages, or 404 (never 403: whether it exists is not said)."""
    try:
        organisation = Organisation.objects.get(pk=pk)
    except (Organisation.DoesNotExist, ValueError):
        raise Http404 from None
    if not may_grant_admin(viewer, organisation):
        raise Http404
    return organisation


def _admin_rows(memberships: QuerySet[Membership], viewer: AnyUser | None) -> QuerySet[Membership]:
    """Admin memberships as the role pages show them: the person (named as ``viewer`` may
    see them) and who granted the role."""
    return _named(memberships.select_related("user", "granted_by"), viewer)


def admins_of(organisation: Organisation, *, viewer: AnyUser | None = None) -> QuerySet[Membership]:
    """The organisation's admins in force (``admins_held``), by address."""
    return _admin_rows(admins_held().filter(organisation=organisation), viewer).order_by("user__email", "pk")


def admin_of(organisation: Organisation, user_id: object, *, viewer: AnyUser | None = None) -> Membership:
    """One of the organisation's admins in force, by the user's id, or 404: a role resting
    on a lapsed verification too (not listed as held, but still there to revoke until the
    hourly job ends it)."""
    number = row_id(user_id)
    if number is None:
        raise Http404
    try:
        return _admin_rows(Membership.objects.filter(admin_in_force_q(), organisation=organisation),
                           viewer).get(user_id=number)
    except Membership.DoesNotExist:
        raise Http404 from None


def admin_role_ended(organisation: Organisation, user_id: object) -> EndedRole | None:
    """How the admin role of the organisation held by the person ``user_id`` ended, when
    they held it and it is no longer in force (removed, or past its end date); None when
    they never held it (as far as the membership and the audit log tell) or hold it now.
    The caller checked that the viewer manages the organisation's admins."""
    number = row_id(user_id)
    if number is None:
        return None
    membership = Membership.objects.filter(organisation=organisation, user_id=number).select_related("user").first()
    if membership is None or membership.admin_in_force:
        return None
    if membership.is_active and membership.role == MembershipRole.ADMIN:  # past its end date, not yet recorded
        return EndedRole(membership.user.email, membership.ends_at, None)
    # By the person's id: the row names the address they had then (official_powers_end: the
    # official one they no longer have); by the address only for rows that carry no id
    # (written before rows had it, so older than any that has: the newest is the one).
    holder = Q(old_values__user_id=membership.user_id) | (
        Q(old_values__user=membership.user.email) & ~Q(old_values__has_key="user_id"))
    event = _ending_of([AuditAction.MEMBERSHIP_REVOKED, AuditAction.MEMBERSHIP_EXPIRED], organisation, holder,
                       role=MembershipRole.ADMIN)
    return _ended_as_recorded(membership.user.email, event, AuditAction.MEMBERSHIP_EXPIRED) if event else None


def candidates_for_admin(organisation: Organisation, query: str, *, viewer: AnyUser,
                         limit: int = SEARCH_LIMIT) -> QuerySet:
    """Active members of the organisation or of an office below it (those the admin role
    may be given on: grounds_for_admin) whose address starts with ``query``, who are not
    already its admins: at most ``limit``."""
    prefix = _email_prefix(query)
    if not prefix:
        return get_user_model().objects.none()
    members = grounds_for_admin(organisation).values("user_id")
    admins = Membership.objects.filter(admin_in_force_q(), organisation=organisation).values("user_id")
    return _named(get_user_model().objects.filter(is_active=True, email__startswith=prefix, pk__in=members)
                  .exclude(pk__in=admins).only("id", "email", "full_name"), viewer, "").order_by("email")[:limit]


def candidate_for_admin(organisation: Organisation, pk: object, *, viewer: AnyUser | None = None) -> AbstractBaseUser:
    """A person the organisation's admin role may be offered to (an active member of
    it or below it: grounds_for_admin), or 404. The service checks again under its lock."""
    found = person(pk, viewer=viewer)
    if not grounds_for_admin(organisation).filter(user=found).exists():
        raise Http404
    return found


# The report ----------------------------------------------------------------------------------

def report_platform_grants(viewer: AnyUser) -> QuerySet[PlatformRoleGrant]:
    """Platform role grants in force the viewer may see: all of them for superadmins
    and unscoped roles; those of their jurisdictions for a state administrator or an
    auditor of some; none for an organisation admin."""
    jurisdictions = watched_jurisdictions(viewer)
    grants = platform_grants_in_force(viewer)
    if jurisdictions is None:
        return grants
    return grants.filter(jurisdiction__in=jurisdictions) if jurisdictions else grants.none()


def report_admins(viewer: AnyUser) -> QuerySet[Membership]:
    """Admins in force (``admins_held``) of the organisations the viewer oversees (their
    jurisdictions, or the organisations they administer and the offices below), by organisation."""
    return _named(admins_held().filter(organisation__in=organisations_in_scope(viewer))
                  .select_related("user", "organisation", "granted_by"), viewer,
                  ).order_by("organisation__name", "organisation_id", "user__email")
