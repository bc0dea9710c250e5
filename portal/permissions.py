"""The one place that answers "may this user do this to this object" and "which
objects of this kind may this user see".

Two sources of rights, both re-read at each request (nothing is cached beyond the
request's user object), so a revoked role or a withdrawn object permission ends
access at the next request:

- **Platform roles** (``PlatformRoleGrant``): superadmin; state administrator and
  auditor, each of one jurisdiction (a state/UT code, or ``CENTRAL``) or of all of
  them (blank jurisdiction).
- **Object roles** (django-guardian, direct foreign-key tables): administering an
  organisation, which covers every office below it, while that organisation is active
  (a suspended one's admins act for nothing, the active offices below it included);
  being the nodal officer of an application.

A role may carry an end date (``ends_at`` on the grant or on the admin membership):
past it, every question here treats it as gone, in the query itself; the beat job
``role_expiries_record`` only writes down afterwards that it ended (audit log). An
admin role resting on a fact that has lapsed (a condition a feature app registers,
``admin_role_lapse_register``) counts for nothing in the same way before a job ends it.
An account that is not active holds none of these rights: every question answers for
it as for an outsider (``_holds_rights``, asked where the rights are read).

Feature apps describe their objects with an ``ObjectScope`` (which fields hold the
owner, the jurisdiction and the organisation) and ask ``visible``/``can_view``;
they never write their own role filters. The names of the view rules (``@rule``)
are the keys of ``RULES``.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connections
from django.db.models import CharField, DateTimeField, Exists, Model, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user
from guardian.utils import get_user_obj_perms_model

from portal import compiled
from portal.accounts.models import User
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationStatus,
    OrganisationUserObjectPermission,
    PlatformRole,
    PlatformRoleGrant,
    StatusAsIf,
    in_force_q,
    in_jurisdictions_q,
    subtree_top,
)

AnyUser = AbstractBaseUser | AnonymousUser

ADMINISTER_ORGANISATION = "organisations.administer_organisation"
VIEW_ORGANISATION_DASHBOARD = "organisations.view_organisation_dashboard"
EVERYWHERE = ""  # the jurisdiction of a grant that covers every state and the centre


# Platform roles -------------------------------------------------------------------

_ADMIN_MARK = "~organisation_admin"  # not a platform role: marks "administers an organisation" in _roles_of
_TOTP_MARK = "~totp"  # not a platform role: marks "has an authenticator app (TOTP)" in _roles_of
# Not a platform role: marks, in _roles_of, an organisation not active the user was made admin of (its id).
_INACTIVE_ADMIN_MARK = "~organisation_admin_inactive"
_MARKS = (_ADMIN_MARK, _TOTP_MARK, _INACTIVE_ADMIN_MARK)


def _holds_rights(user: AnyUser) -> bool:
    """Whether any role or object permission of the user counts: a signed-in, active
    account. A deactivated one holds none, wherever it acts from (a session opened
    before, a task or a command acting as it): every answer here is then an outsider's.
    Asked where the rights are read (``_roles_of``, the superuser flag, the guardian and
    membership rows), so that no answer built on them can miss it."""
    return user.is_authenticated and user.is_active


def _roles_of(user: AnyUser) -> set[tuple[str, str]]:
    """The user's platform role grants in force, as (role, jurisdiction) pairs, plus
    (_ADMIN_MARK, subtree prefix) for each organisation they administer (the
    ``ancestry`` prefix of the offices below it, "/3/17/" for 17 under 3),
    (_INACTIVE_ADMIN_MARK, its id) for each organisation not active they were made admin
    of, and (_TOTP_MARK, "") if they have an authenticator app: one query, once per request
    (the navigation asks both on every page, the organisations administered are then a
    prefix match that needs no query of its own, and whoever holds a role is asked for
    a second factor), or none when the user was read with them (``signed_in_user``).
    None at all, and no query, for an account that holds no right (``_holds_rights``)."""
    if not _holds_rights(user):
        return set()
    cached = getattr(user, "_platform_roles_cache", None)
    if cached is None:
        # Its SQL is built once per process (portal.compiled): building it took ten times as long as running it.
        cached = set(compiled.rows(_roles_query, user_id=user.pk, now=timezone.now()))
        user._platform_roles_cache = cached
    return cached


def _roles_query(*, user_id: int, now) -> QuerySet:
    """The query of ``_roles_of``: (role, jurisdiction) of the grants in force, (_ADMIN_MARK,
    subtree prefix) of the organisations administered, (_INACTIVE_ADMIN_MARK, id) of those not
    active made admin of, (_TOTP_MARK, "") for an authenticator app."""
    grants = PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user_id).values_list("role", "jurisdiction")
    subtree = Concat("content_object__ancestry", Cast("content_object_id", CharField()), Value("/"),
                     output_field=CharField())
    admin = (
        _admin_permission_rows(User(pk=user_id), now)
        .annotate(mark=Value(_ADMIN_MARK, output_field=CharField()), subtree=subtree)
        .values_list("mark", "subtree")
    )
    inactive = (
        _admin_permission_rows(User(pk=user_id), now, inactive_too=True)
        .exclude(content_object__status=OrganisationStatus.ACTIVE)
        .annotate(mark=Value(_INACTIVE_ADMIN_MARK, output_field=CharField()),
                  organisation_pk=Cast("content_object_id", CharField()))
        .values_list("mark", "organisation_pk")
    )
    totp = (
        Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP)
        .annotate(mark=Value(_TOTP_MARK, output_field=CharField()), blank=Value("", output_field=CharField()))
        .values_list("mark", "blank")
    )
    return grants.union(admin, inactive, totp)


# The separators of the roles read with the user (control characters no role, jurisdiction or prefix holds).
_PAIR, _BETWEEN = "\x1e", "\x1f"


def signed_in_user(user_id: int) -> User | None:
    """The user ``user_id`` (any, active or not), read for the authentication backends on
    every signed-in request with its roles (``_roles_of``) in the same query: one round
    trip instead of two, its SQL built once per process."""
    vendor = connections[User.objects.db].vendor
    user = compiled.first(_user_with_roles_query, (vendor,), pk=user_id, now=timezone.now())
    if user is not None:
        joined = user.__dict__.pop("portal_roles_read")
        user._platform_roles_cache = {tuple(pair.split(_BETWEEN, 1)) for pair in joined.split(_PAIR)} if joined else set()
    return user


def _user_with_roles_query(vendor: str, *, pk: int, now) -> QuerySet[User]:
    roles = compiled.subquery(_roles_query, user_id=pk, now=now)
    # The pairs joined with the separators (_PAIR, _BETWEEN) into one text, or NULL for none.
    join, char = ("string_agg", "chr") if vendor == "postgresql" else ("group_concat", "char")
    joined = RawSQL(f"SELECT {join}(r.role || {char}(31) || COALESCE(r.jurisdiction, ''), {char}(30)) FROM ({roles.sql}) r",
                    roles.params, output_field=TextField())
    return User.objects.filter(pk=pk).annotate(portal_roles_read=joined)


def roles_asked_again(user: AnyUser) -> None:
    """Forget the request's memo of ``user``'s roles (``_roles_of``), so that a right checked
    after it, under a lock, is asked of the database again: a role ended meanwhile (another
    request revoked it, or made them an auditor) is found ended."""
    if hasattr(user, "_platform_roles_cache"):
        del user._platform_roles_cache


def platform_roles_of(user: AnyUser) -> set[tuple[str, str]]:
    """Platform role grants of a user in force (not revoked, not past their end date)
    as (role, jurisdiction) pairs, read once per request."""
    return {pair for pair in _roles_of(user) if pair[0] not in _MARKS}


def administers_some_organisation(user: AnyUser) -> bool:
    """Whether the user is an admin (in force) of at least one organisation; read with the platform roles."""
    return any(role == _ADMIN_MARK for role, _p in _roles_of(user))


def administers_some_organisation_by_right(user: AnyUser) -> bool:
    """Whether the user administers at least one organisation by right: an admin in force
    (``administers_some_organisation``), or the admin of an organisation not active, whose
    own admins still act on its own verifications and requests, never for the offices below
    it (``verification.visibility.rules.administered_in_force``, which scopes their pages);
    read with the platform roles."""
    return any(role in (_ADMIN_MARK, _INACTIVE_ADMIN_MARK) for role, _p in _roles_of(user))


def holds_official_powers(user: AnyUser) -> bool:
    """Whether the user holds a role in force that needs an official primary address: a
    platform role (the superuser flag makes a superadmin), the staff flag (the Django admin's
    access), or an organisation's admin role (of one active or not); read with the platform
    roles (no query)."""
    return _holds_rights(user) and (user.is_superuser or user.is_staff or bool(platform_roles_of(user))
                                    or administers_some_organisation_by_right(user))


def is_superadmin(user: AnyUser) -> bool:
    return _holds_rights(user) and (
        user.is_superuser or any(role == PlatformRole.SUPERADMIN for role, _j in platform_roles_of(user))
    )


def _jurisdictions(user: AnyUser, role: str) -> set[str] | None:
    """The jurisdictions of a platform role: None for all of them, else a set (maybe empty)."""
    found = {j for r, j in platform_roles_of(user) if r == role}
    return None if EVERYWHERE in found else found


def state_admin_jurisdictions(user: AnyUser) -> set[str]:
    """The jurisdictions the user is a state administrator of, as granted ("" for all)."""
    return {j for r, j in platform_roles_of(user) if r == PlatformRole.STATE_ADMIN}


def decided_jurisdictions(user: AnyUser) -> set[str] | None:
    """The jurisdictions whose state steps the user decides (and whose adoption lists
    they edit, whose organisations they suspend and reactivate): None for all of them
    (superadmins, a state administrator of everything), else a set, maybe empty: none
    for an auditor, whatever other role the account holds (``auditor_reads_only``)."""
    if is_superadmin(user):
        return None
    if auditor_reads_only(user):
        return set()
    return _jurisdictions(user, PlatformRole.STATE_ADMIN)


def is_state_admin(user: AnyUser) -> bool:
    return bool(state_admin_jurisdictions(user))


def is_auditor(user: AnyUser) -> bool:
    return any(role == PlatformRole.AUDITOR for role, _j in platform_roles_of(user))


def auditor_reads_only(user: AnyUser) -> bool:
    """Whether the account's auditor role makes it read-only: an auditor changes nothing,
    even one who also holds a state administrator's role or administers an organisation;
    a superadmin who is also an auditor still acts as a superadmin."""
    return is_auditor(user) and not is_superadmin(user)


def watched_jurisdictions(user: AnyUser) -> set[str] | None:
    """The jurisdictions whose submitted records the user may read through a platform
    role (superadmin, state administrator, auditor): None for all, else a set."""
    if is_superadmin(user):
        return None
    found: set[str] = set()
    for role in (PlatformRole.STATE_ADMIN, PlatformRole.AUDITOR):
        jurisdictions = _jurisdictions(user, role)
        if jurisdictions is None:
            return None
        found |= jurisdictions
    return found


def has_second_factor(user: AnyUser) -> bool:
    """Whether the user has set up an authenticator app (TOTP); read with the platform roles."""
    return any(role == _TOTP_MARK for role, _j in _roles_of(user))


def gave_second_factor(request) -> bool:
    """Whether this session gave a second factor: allauth records each way a session
    proved who it is (``get_authentication_records``), "mfa" for a code of the
    authenticator app or a recovery code, at sign-in or asked again since
    (``mfa_reauthenticate``), and the portal adds one when the app is set up in the
    session with a code of it (accounts.signals). An authenticator set up elsewhere
    does not count for a session signed in with the password alone."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


def gave_code_lately(request) -> bool:
    """Whether this session proved, in the last ``ACCOUNT_REAUTHENTICATION_TIMEOUT``, that it
    holds the account's second factor: a code of the authenticator app (or a recovery code)
    asked again (``mfa_reauthenticate``), or the app set up in the session with a code of it.
    A password typed again is not that, nor a sign-in: what reads or changes the second
    factor asks it (the MFA middleware)."""
    now = time.time()
    return any(
        record.get("method") == "mfa" and (record.get("reauthenticated") or record.get("activated"))
        and now - record.get("at", 0) < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
        for record in get_authentication_records(request, request.user)
    )


def needs_second_factor(user: AnyUser) -> bool:
    """Who must sign in with a second factor: every platform role (superadmins, state
    administrators, auditors) and staff (who can reach the Django admin)."""
    return user.is_authenticated and (user.is_staff or user.is_superuser or bool(platform_roles_of(user)))


# Organisations (guardian object roles) ---------------------------------------------

# Conditions under which an admin role no longer counts although nothing has ended it yet,
# registered by the apps that know them (``admin_role_lapse_register``).
_admin_role_lapses: list[Callable[..., Q]] = []


def admin_role_lapse_register(condition: Callable[..., Q]) -> None:
    """Register ``condition(user_id=, top=, prefix=, now=, today=, as_if=)``: a Q under which the user's
    admin role of organisation ``top`` (the offices below it: subtree ``prefix``) counts
    for nothing any more, before a job ends it (verification: the verification it rests
    on is past its date of superannuation). ``top`` and ``prefix`` are references to the
    row asked about (a guardian row, or a membership: ``memberships_not_lapsed``), for
    the condition's subqueries (``OuterRef`` one level down), and so may be ``user_id``
    (else the user's id); ``now`` is the moment asked about and ``today`` its day (India time), an
    expression (the query is compiled with a marker in ``now``'s place). Every question
    here then leaves such a role out, from the next request. ``as_if`` (a StatusAsIf, or
    None) is one organisation's status as a change would make it, which the condition asks
    instead of the status stored wherever it asks whether an organisation is active
    (``active_q``): what the change would do, asked before it is made. Call it from an
    ``AppConfig.ready``: the roles' query is compiled once per process, at its first use."""
    _admin_role_lapses.append(condition)


def _admin_permission_rows(user: AnyUser, now=None, *, inactive_too: bool = False) -> QuerySet:
    """The user's guardian "administer" rows whose admin role has not ended, of active
    organisations: an admin role counts only while the organisation it was granted on is
    active (a suspended one's admins act neither for it nor for the offices below it;
    ``inactive_too``: those of organisations not active as well). An admin membership
    past its end date takes its organisation's row out (before the beat job removes the
    row itself), and so does a role that a registered condition says has lapsed
    (``admin_role_lapse_register``)."""
    now = now or timezone.now()
    ended = Membership.objects.filter(
        user_id=user.pk, organisation_id=OuterRef("content_object_id"), role=MembershipRole.ADMIN, ends_at__lte=now,
    )
    rows = OrganisationUserObjectPermission.objects.filter(
        user_id=user.pk, permission__codename="administer_organisation",
        permission__content_type__app_label="organisations",
    ).exclude(Exists(ended))
    if not inactive_too:
        rows = rows.filter(content_object__status=OrganisationStatus.ACTIVE)
    return _without_lapsed(rows, user_id=user.pk, top=OuterRef("content_object_id"),
                           ancestry=OuterRef("content_object__ancestry"), now=now)


def _without_lapsed(rows: QuerySet, *, user_id, top, ancestry, now, as_if: StatusAsIf | None = None) -> QuerySet:
    """``rows`` less those whose admin role a registered condition says has lapsed
    (``admin_role_lapse_register``): the role of the person ``user_id`` (an id, or a
    reference to the row's) in organisation ``top`` (a reference), whose ``ancestry``
    (a reference) gives its offices' prefix; ``as_if``: one organisation's status as a
    change would make it."""
    if not _admin_role_lapses:
        return rows
    prefix = Concat(ancestry, Cast(top, CharField()), Value("/"), output_field=CharField())
    today = TruncDate(Value(now, output_field=DateTimeField()), tzinfo=timezone.get_default_timezone())
    for condition in _admin_role_lapses:
        rows = rows.exclude(condition(user_id=user_id, top=top, prefix=prefix, now=now, today=today, as_if=as_if))
    return rows


def memberships_not_lapsed(memberships: QuerySet[Membership], now=None, *,
                           as_if: StatusAsIf | None = None) -> QuerySet[Membership]:
    """``memberships`` less those that count for nothing by a registered lapse condition
    (``admin_role_lapse_register``), each asked of its own person and organisation: an
    admin role resting on a verification past its date of superannuation (which every
    question here leaves out), and a member's membership resting on it, before the job
    ends them. The rules that count who else holds an organisation's admin role, or who
    it may be given to, ask this: a role that gives no right does not keep an
    organisation administered, nor does a membership that proves nothing ground one.
    ``as_if``: asked with one organisation's status as a change would make it (StatusAsIf)."""
    return _without_lapsed(memberships, user_id=OuterRef("user_id"), top=OuterRef("organisation_id"),
                           ancestry=OuterRef("organisation__ancestry"), now=now or timezone.now(), as_if=as_if)


def admins_who_act(memberships: QuerySet[Membership], now=None, *,
                   as_if: StatusAsIf | None = None, for_good: bool = False) -> QuerySet[Membership]:
    """``memberships`` (admin roles) less those that give their holder no right to act for
    the organisation: of an account not active (``_holds_rights``), lapsed
    (``memberships_not_lapsed``), or of an auditor who is no superadmin (an auditor changes
    nothing, even one who administers an organisation: ``may_grant_admin``, and the
    verification services' deciders). The last-admin rule counts these, and only these, as
    the admins who keep an organisation administered, ``for_good``: an auditor's only while
    their superadmin role does not end by itself either (none with a last day: past it, the
    admin role would give them no right to act). ``as_if``: asked with one organisation's
    status as a change would make it (StatusAsIf), before it is made."""
    now = now or timezone.now()
    grants = PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=OuterRef("user_id"))
    superadmin = grants.filter(role=PlatformRole.SUPERADMIN)
    if for_good:
        superadmin = superadmin.filter(ends_at__isnull=True)
    acting = (Q(user__is_superuser=True) | Exists(superadmin)
              | ~Exists(grants.filter(role=PlatformRole.AUDITOR)))
    return memberships_not_lapsed(memberships.filter(acting, user__is_active=True), now, as_if=as_if)


def directly_administered_ids(user: AnyUser, now=None, *, inactive_too: bool = False) -> QuerySet:
    """The ids (``content_object_id``) of the active organisations the user was made admin
    of, their admin role not ended (not those below them); ``inactive_too``: of those not
    active as well (whose admins act for nothing here)."""
    return _admin_permission_rows(user, now, inactive_too=inactive_too).values("content_object_id")


def inactive_administered_ids(user: AnyUser) -> list[int]:
    """The ids of the organisations not active the user was made admin of, their admin
    role not ended (``directly_administered_ids(inactive_too=True)`` less the active
    ones), read with the platform roles (no query): a list of values, so that a query
    asking about them holds no subquery of its own (SQLite's parser has a depth limit)."""
    return sorted(int(pk) for role, pk in _roles_of(user) if role == _INACTIVE_ADMIN_MARK)


def organisations_administered_by_right(user: AnyUser) -> list[tuple[int, str]]:
    """(id, name) of each organisation the user administers by right
    (``administers_some_organisation_by_right``: made admin of it, in force, whether it is
    active or not; not the offices below it), in the order of their ids: what the audit log
    names beside the role they act in. Their ids are read with the platform roles; their
    names with one query, once per request (kept with the user, as the roles are); none, and
    no query, for a user who administers none."""
    ids = sorted({subtree_top(prefix) for prefix in admin_role_subtrees(user)} | set(inactive_administered_ids(user)))
    if not ids:
        return []
    cached = getattr(user, "_administered_names_cache", None)
    if cached is None or [pk for pk, _name in cached] != ids:
        cached = list(Organisation.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "name"))
        user._administered_names_cache = cached
    return cached


def admin_role_subtrees(user: AnyUser) -> list[str]:
    """The subtree prefixes ("/3/17/") of every organisation the user was made admin of,
    read with the platform roles (no query), one inside another included: each role's own,
    for a question about the role (the visibility rules ask what it rests on)."""
    return sorted(p for role, p in _roles_of(user) if role == _ADMIN_MARK)


def administered_subtrees(user: AnyUser) -> list[str]:
    """The subtree prefixes ("/3/17/") of the organisations the user administers, read
    with the platform roles; one inside another is left out (the outer covers it)."""
    kept: list[str] = []
    for prefix in admin_role_subtrees(user):
        # Sorted, the prefixes that start with a kept one come right after it.
        if not kept or not prefix.startswith(kept[-1]):
            kept.append(prefix)
    return kept


def _subtree_q(prefixes: Iterable[str]) -> Q:
    """Organisations that are one of these subtrees' tops or below one: the top's id, or
    an ``ancestry`` prefix match that the ancestry's pattern index answers with one range
    scan. No prefix, no organisation."""
    query = Q(pk__in=[])
    for prefix in prefixes:
        query |= Q(pk=subtree_top(prefix)) | Q(ancestry__startswith=prefix)
    return query


def administered_organisations(user: AnyUser) -> QuerySet[Organisation]:
    """Organisations the user administers: those they were made admin of (guardian)
    and every office below them. A lazy queryset (a subquery when used inside
    another): the organisations administered are read with the platform roles (once a
    request), so this is an indexed prefix match per one of them, no correlated
    subquery; one query when evaluated."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    if is_superadmin(user):
        return Organisation.objects.all()
    subtrees = administered_subtrees(user)
    if not subtrees:
        return Organisation.objects.none()
    return Organisation.objects.filter(_subtree_q(subtrees))


def may_administer(user: AnyUser, organisation: Organisation) -> bool:
    """Admin of this organisation or of one above it (one query), or a superadmin; by a
    role of an active organisation (``_admin_permission_rows``)."""
    if not _holds_rights(user):
        return False
    if is_superadmin(user):
        return True
    ids = [organisation.pk, *organisation.ancestor_ids]
    return directly_administered_ids(user).filter(content_object_id__in=ids).exists()


def member_organisations(user: AnyUser) -> QuerySet[Organisation]:
    """Organisations the user is an active member (or admin) of."""
    if not _holds_rights(user):
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user, memberships__is_active=True)


def is_member(user: AnyUser, organisation: Organisation) -> bool:
    return _holds_rights(user) and Membership.objects.filter(
        user=user, organisation=organisation, is_active=True
    ).exists()


def organisations_in_scope(user: AnyUser) -> QuerySet[Organisation]:
    """Organisations whose records the user oversees: all (superadmin, unscoped
    roles), a state's (state administrators and auditors), an organisation and its
    sub-offices (organisation admins)."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    jurisdictions = watched_jurisdictions(user)
    if jurisdictions is None:
        return Organisation.objects.all()
    query = Q(pk__in=administered_organisations(user).values("pk"))
    if jurisdictions:
        query |= in_jurisdictions_q(jurisdictions)
    return Organisation.objects.filter(query)


# Objects of the feature apps --------------------------------------------------------

@dataclass(frozen=True)
class ObjectScope:
    """How a feature app's model is scoped.

    ``owner_perm``: the guardian object permission ("app_label.codename") that its
    owner holds on it (the nodal officer's on an application).
    ``jurisdiction``: the field holding its jurisdiction (a state/UT code or CENTRAL).
    ``organisation``: the field holding its organisation, for organisation admins.
    ``official``: the condition under which platform roles and organisation admins
    see it at all (for example: submitted, not a draft).
    """

    owner_perm: str
    jurisdiction: str | None = None
    organisation: str | None = None
    official: Q = field(default_factory=Q)


def owned(user: AnyUser, queryset: QuerySet, scope: ObjectScope) -> QuerySet:
    """Objects of ``queryset`` the user holds the owner's object permission on (one query when evaluated).
    With a direct permission table (an application's), its subquery is built once per
    process (portal.compiled; guardian's get_objects_for_user took 5 ms to build it,
    with the group permissions, which the portal never grants). A superuser owns only
    what they were given, as anyone: owning an application makes one its nodal officer,
    who alone edits, submits and withdraws it (a superadmin reads every one: ``visible``)."""
    if not _holds_rights(user):
        return queryset.none()
    table = get_user_obj_perms_model(queryset.model)
    if table.objects.is_generic():
        return get_objects_for_user(user, scope.owner_perm, klass=queryset, accept_global_perms=False,
                                    with_superuser=False)
    return queryset.filter(pk__in=compiled.subquery(_owner_rows_query, (table, scope.owner_perm), user_id=user.pk))


def _owner_rows_query(table, perm: str, *, user_id: int) -> QuerySet:
    """The ids of the objects whose owner's permission ``perm`` ("app_label.codename") the user holds."""
    app_label, codename = perm.split(".", 1)
    return table.objects.filter(
        user_id=user_id, permission__codename=codename, permission__content_type__app_label=app_label,
        permission__content_type__model=table._meta.get_field("content_object").related_model._meta.model_name,
    ).values("content_object_id")


# The object roles of the feature apps (the nodal officer's on an application), registered
# by the apps that give them (``object_role_register``): (model, owner permission).
_object_roles: list[tuple[type[Model], str]] = []


def object_role_register(model: type[Model], scope: ObjectScope) -> None:
    """Register the object role of ``scope`` (its ``owner_perm``, held on ``model``'s objects
    through a direct permission table, as an application's), so that ``holds_object_role``
    counts it. Call it from an ``AppConfig.ready``."""
    _object_roles.append((model, scope.owner_perm))


def holds_object_role(user: AbstractBaseUser) -> bool:
    """Whether the account holds an object role a feature app registered
    (``object_role_register``) on some object, read from its permission rows whether the
    account is active or not (its role comes back with its "Active" tick)."""
    return any(
        _owner_rows_query(get_user_obj_perms_model(model), perm, user_id=user.pk).exists()
        for model, perm in _object_roles
    )


def visible(user: AnyUser, queryset: QuerySet, scope: ObjectScope) -> QuerySet:
    """Objects of ``queryset`` the user may see: their own (object permission), those
    of their jurisdictions (platform roles) and of the organisations they
    administer, the official ones only; superadmins see all. One query when evaluated, however many."""
    if not user.is_authenticated:
        return queryset.none()
    if is_superadmin(user):
        return queryset
    own = Q(pk__in=owned(user, queryset.model.objects.all(), scope).values("pk"))
    jurisdictions = watched_jurisdictions(user)
    if jurisdictions is None:
        return queryset.filter(own | scope.official)
    others = Q(pk__in=[])
    if jurisdictions and scope.jurisdiction:
        others |= Q(**{f"{scope.jurisdiction}__in": jurisdictions})
    if scope.organisation:
        others |= Q(**{f"{scope.organisation}__in": administered_organisations(user).values("pk")})
    return queryset.filter(own | (others & scope.official))


def can_view(user: AnyUser, obj: Model, scope: ObjectScope) -> bool:
    return visible(user, type(obj).objects.filter(pk=obj.pk), scope).exists()


def is_owner(user: AnyUser, obj: Model, scope: ObjectScope) -> bool:
    return owned(user, type(obj).objects.filter(pk=obj.pk), scope).exists()


# Granting roles -----------------------------------------------------------------------
#
# The roles, highest first: superadmin > state administrator > auditor > organisation
# admin > member. Nobody grants a role above their own, and nobody grants, changes or
# revokes a role of their own (not even a superadmin). Within that:
# - superadmins grant and revoke every platform role (superadmin included: someone
#   must) and the admin role of any organisation;
# - organisation admins grant and revoke the admin role of the organisations they
#   administer (theirs and the offices below it), to people who are active members
#   of it or of an office below it; never a platform role;
# - state administrators and auditors grant nothing: a state administrator approves
#   applications and does not administer organisations; an auditor changes nothing
#   (even one who also administers an organisation).
# A role past its end date grants nothing (every question above ignores it). The
# services (portal.organisations.services) ask these questions again under their locks.

def may_grant_platform_roles(user: AnyUser) -> bool:
    return is_superadmin(user)


def may_grant_admin(user: AnyUser, organisation: Organisation) -> bool:
    """Whether the user may grant and revoke the admin role of this organisation."""
    if is_superadmin(user):
        return True
    return not is_auditor(user) and may_administer(user, organisation)


def may_manage_roles(user: AnyUser) -> bool:
    """Whether the role pages are for the user at all (the navigation, the rule)."""
    return is_superadmin(user) or (administers_some_organisation(user) and not is_auditor(user))


def organisations_for_role_admin(user: AnyUser) -> QuerySet[Organisation]:
    """The organisations whose admins the user grants and revokes (lazy; a subquery)."""
    if not user.is_authenticated or (is_auditor(user) and not is_superadmin(user)):
        return Organisation.objects.none()
    return administered_organisations(user)


def may_read_role_report(user: AnyUser) -> bool:
    """Superadmins, auditors and state administrators (their jurisdictions) and
    organisation admins (their organisations) read who holds which role there."""
    return is_superadmin(user) or bool(platform_roles_of(user)) or administers_some_organisation(user)


# Suspending and reactivating organisations ----------------------------------------------
#
# An organisation is suspended (it then counts for nothing: its admins act for nothing, it
# vouches for nobody) and reactivated by a platform role over it: a superadmin, any; a state
# administrator, those of the jurisdictions whose steps they decide (decided_jurisdictions:
# their state's or UT's, the centre's for the central administrator, every one for one of
# everywhere; none for one who is also an auditor). Never by its own admins, nor by those of
# an organisation above it: the organisation they administer is not theirs to switch off or
# on. The services (portal.organisations.services) ask this again under their lock.

def organisations_status_changeable(user: AnyUser) -> QuerySet[Organisation]:
    """The organisations the user may suspend and reactivate (lazy; one query when evaluated)."""
    jurisdictions = decided_jurisdictions(user)
    if jurisdictions is None:
        return Organisation.objects.all()
    if not jurisdictions:
        return Organisation.objects.none()
    return Organisation.objects.filter(in_jurisdictions_q(jurisdictions))


def may_change_organisation_status(user: AnyUser, organisation: Organisation) -> bool:
    """Whether the user may suspend and reactivate ``organisation`` (its state and level are
    all that is read of it: no query)."""
    jurisdictions = decided_jurisdictions(user)
    return jurisdictions is None or organisation.jurisdiction in jurisdictions


def may_change_some_organisation_status(user: AnyUser) -> bool:
    """Whether the user may suspend and reactivate some organisation (the view rule)."""
    jurisdictions = decided_jurisdictions(user)
    return jurisdictions is None or bool(jurisdictions)


# Changing an organisation's details ------------------------------------------------------
#
# Its name (in English and in the local language), short code and district are changed (a
# ministry renamed, a district split) by those who change its status: a superadmin, any; a
# state administrator, those of the jurisdictions whose steps they decide (the centre's for
# the central administrator). Its own admins and those of an organisation above it may read
# the page (its details and who changed them, when and why) but change nothing: the name
# they administer under is not theirs to give. A suspended organisation's own admins, who act
# for nothing while it is suspended, still read its page (not those of the offices below it). The service asks this again
# under its lock.

def may_change_organisation_details(user: AnyUser, organisation: Organisation) -> bool:
    """Whether the user may change ``organisation``'s details (its state and level are all
    that is read of it: no query)."""
    return may_change_organisation_status(user, organisation)


def may_see_organisation_details(user: AnyUser, organisation: Organisation) -> bool:
    """Whether the user may read the page of ``organisation``'s details: one who may change
    them (no query), one of its own admins while it is suspended (their role counts for
    nothing then, but why and since when it is suspended is theirs to read; no query), or
    one who administers it or an organisation above it (one query)."""
    return (may_change_organisation_details(user, organisation)
            or (organisation.status == OrganisationStatus.SUSPENDED
                and organisation.pk in inactive_administered_ids(user))
            or may_administer(user, organisation))


def may_see_some_organisation_details(user: AnyUser) -> bool:
    """Whether the page of some organisation's details is for the user (the view rule): a
    suspended organisation's own admins included."""
    return may_change_some_organisation_status(user) or administers_some_organisation_by_right(user)


# Rules of the views (portal.access.rule) ---------------------------------------------

# name -> a question about the signed-in user, or None when the view checks a
# token itself (or anyone may come). Object rules are answered again by the
# view's scoped selector (visible / owned), which gives 404 to anyone else.
RULES: dict[str, Callable[[AnyUser], bool] | None] = {
    "public": None,
    "token": None,
    "authenticated": lambda user: True,
    "nodal_officer_of_application": lambda user: True,
    "viewer_of_application": lambda user: True,
    "superadmin": is_superadmin,
    # The approval timings (due days, reminder, appeal period, link lifetime): superadmins.
    "approval_timings": is_superadmin,
    "state_admin": lambda user: is_state_admin(user) or is_superadmin(user),
    # Verification: an admin of some organisation, a suspended one's own admins included
    # (or a superadmin) for the queue, which the scoped selector fills as it does one
    # organisation's or one profile's pages (404).
    "organisation_admin": lambda user: is_superadmin(user) or administers_some_organisation_by_right(user),
    "administrator_of_organisation": lambda user: True,
    "person_of_profile": lambda user: True,
    # The verification API: the view checks an API client's bearer token itself (no account).
    "api_client": None,
    # Monitoring: anyone with a scope to monitor (a platform role, or administering an
    # organisation); the audit log's viewers (superadmins, auditors, organisation admins
    # for their own organisations); the adoption tracker's (platform roles).
    "monitoring": lambda user: bool(platform_roles_of(user)) or is_superadmin(user)
    or administers_some_organisation(user),
    "audit_log": lambda user: is_superadmin(user) or is_auditor(user) or administers_some_organisation(user),
    "adoption_tracker": lambda user: is_superadmin(user) or is_state_admin(user) or is_auditor(user),
    # Roles: the pages of those who grant some role (superadmins, organisation admins);
    # one organisation's admins page answers through its scoped selector (404); the
    # report for anyone with a scope of their own.
    "role_manager": may_manage_roles,
    "role_report": may_read_role_report,
    # An organisation's status page and its suspension and reactivation: superadmins and
    # state administrators; one organisation's pages answer through the scoped selector (404).
    "organisation_status": may_change_some_organisation_status,
    # An organisation's details: those who change its status change them, its admins (a
    # suspended one's included, and those above it) read them; one organisation's page answers through its scoped selector (404).
    "organisation_details": may_see_some_organisation_details,
}
SIGNED_OUT_RULES = {"public", "token", "api_client"}


# Who holds a role (for notifications) ---------------------------------------------------

def superadmins(*, now=None) -> QuerySet:
    """The active accounts that are superadmins: a Django superuser's, or one holding a
    superadmin grant in force at ``now`` (by default this moment), each once."""
    grants = PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=OuterRef("pk"), role=PlatformRole.SUPERADMIN)
    return User.objects.filter(Q(is_superuser=True) | Exists(grants), is_active=True)


def superadmin_emails(*, now=None) -> list[str]:
    """The addresses of the active superadmins (``superadmins``)."""
    return sorted(set(superadmins(now=now).values_list("email", flat=True)))


def state_admin_emails(jurisdictions: Iterable[str], *, now=None) -> dict[str, list[str]]:
    """{jurisdiction: [emails]} of the active state administrators who decide each
    jurisdiction's state steps (``decided_jurisdictions``): those granted it, and those
    granted every jurisdiction (EVERYWHERE); not one who is also an auditor, unless a
    superadmin (``auditor_reads_only``). Their grants in force at ``now`` (by default this
    moment). One query."""
    wanted = set(jurisdictions)
    found: dict[str, set[str]] = {}

    def holds(role: str) -> Exists:
        return Exists(PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=OuterRef("user_id"), role=role))

    rows = PlatformRoleGrant.objects.filter(
        in_force_q(now=now), role=PlatformRole.STATE_ADMIN, user__is_active=True, jurisdiction__in=wanted | {EVERYWHERE}
    ).exclude(
        holds(PlatformRole.AUDITOR) & Q(user__is_superuser=False) & ~holds(PlatformRole.SUPERADMIN)
    ).values_list("jurisdiction", "user__email")
    for jurisdiction, email in rows:
        for covered in (wanted if jurisdiction == EVERYWHERE else {jurisdiction}):
            found.setdefault(covered, set()).add(email)
    return {jurisdiction: sorted(emails) for jurisdiction, emails in found.items()}
