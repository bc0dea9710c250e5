"""Reads of government profiles and join requests, always scoped to who is looking:
a person sees their own; an organisation's admins (of it or of an organisation
above it) and superadmins see its requests and members (portal.permissions).
Nobody else lists an organisation's members."""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from allauth.account.models import EmailAddress
from django.db import InterfaceError, OperationalError, connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat, Lower
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import prepared
from portal.accounts.mail_limits import same_mailbox
from portal.accounts.official_email import normalise_domain
from portal.among import among
from portal.ids import DB_INT_MAX
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    not_ended_q,
)
from portal.organisations.selectors import (
    addresses_at_domains,
    admin_roles_resting_on,
    first_admin_roles_outside,
    named_as_typed_first,
    organisations_left_without_admin,
)
from portal.organisations.states import State
from portal.permissions import (
    AnyUser,
    administers_some_organisation_by_right,
    is_auditor,
    is_superadmin,
)
from portal.shown import shown_digest
from portal.text import as_searched
from verification.models import (
    CAUSED_REVOCATIONS,
    HELD_STATUSES,
    EndReason,
    GovernmentProfile,
    VerificationMethod,
    VerificationSettings,
    VerificationStatus,
    not_superannuated_q,
    person_verified_in_force,
    resting_on_address_q,
    verified_in_force,
)
from verification.visibility.models import ProfileField
from verification.visibility.rules import (
    API_CLIENT,
    FETCHED,
    SEARCH_MIN,
    SOURCES,
    administered_in_force,
    administers_in_force,
    annotated_for,
    field_shown,
    found_by,
    has_searchable_word,
    name_narrowed_by_person,
    normalise_search,
    request_view_of,
    search_q,
    sort_name,
    view_of,
)

SEARCH_LIMIT = 50


# Organisations -------------------------------------------------------------------------

def _search_terms(query: str, state: str) -> tuple[str, str] | None:
    """The name or short code searched for (as names are stored: a nukta typed either way, no
    invisible character, ``as_searched``) and the state or UT ("" none); None when that is no
    search: fewer than two visible characters and no state."""
    query = as_searched(query or "").strip()[:100]
    state = state if state in State.values else ""
    return (query, state) if len(query) >= 2 or state else None


def organisation_searched(*, query: str = "", state: str = "") -> bool:
    """Whether ``organisations_to_join`` searches at all for these: a name or short code of two
    visible characters, or a state or UT (what is typed with a zero-width space is not one)."""
    return _search_terms(query, state) is not None


def organisations_to_join(*, query: str = "", state: str = "", limit: int = SEARCH_LIMIT) -> QuerySet[Organisation]:
    """Active organisations a person may ask to join, by name (in English or the local
    language), short code, and state or UT; public names only, those named or short-coded
    as typed first, then by name. Nothing unless ``organisation_searched``."""
    terms = _search_terms(query, state)
    if terms is None:
        return Organisation.objects.none()
    query, state = terms
    found = Organisation.objects.filter(status=OrganisationStatus.ACTIVE)
    order = ["name", "id"]
    if len(query) >= 2:
        found = found.filter(Q(name__icontains=query) | Q(name_local__icontains=query) | Q(short_code__iexact=query))
        order.insert(0, named_as_typed_first(query))
    if state:
        found = found.filter(state=state)
    return found.only("id", "name", "name_local", "short_code", "state", "district").order_by(*order)[:limit]


def organisation_to_join(pk: int) -> Organisation:
    try:
        return Organisation.objects.get(pk=pk, status=OrganisationStatus.ACTIVE)
    except (Organisation.DoesNotExist, ValueError):
        raise Http404 from None


def may_administer_verification(user: AnyUser) -> bool:
    """Someone who decides verifications somewhere: a superadmin, or an admin of an
    organisation (a suspended one's own admins included, organisations_administered_by)
    who is not an auditor (an auditor's account is read-only)."""
    if not user.is_authenticated:
        return False
    if is_superadmin(user):
        return True
    return not is_auditor(user) and administers_some_organisation_by_right(user)


def organisations_administered_by(viewer: AnyUser) -> QuerySet[Organisation]:
    """The organisations whose verifications the viewer decides (auditors: none): those
    they administer by an admin role in force, one resting on a verification past its
    date of superannuation ending from the next request (rules.administered_in_force)."""
    if is_auditor(viewer) and not is_superadmin(viewer):
        return Organisation.objects.none()
    return administered_in_force(viewer)


def administers(viewer: AnyUser, organisation: Organisation) -> bool:
    """Whether the viewer decides the verifications of ``organisation`` (and its other
    administrators' matters: its visibility policy, its rosters, its API clients), as
    ``organisations_administered_by`` says (auditors: never), of the roles as they are
    now (rules.administers_in_force): one query, none for a superadmin."""
    if not viewer.is_authenticated or (is_auditor(viewer) and not is_superadmin(viewer)):
        return False
    return administers_in_force(viewer, organisation)


def organisation_for_admin(viewer: AnyUser, pk: int) -> Organisation:
    """An organisation the viewer administers (it, or one above it), or 404."""
    try:
        return organisations_administered_by(viewer).get(pk=pk)
    except (Organisation.DoesNotExist, ValueError):
        raise Http404 from None


def administered_with_pending(viewer: AnyUser) -> QuerySet[Organisation]:
    """Organisations the viewer administers, each with its number of waiting requests
    (counted in the same query), by name and id (a stable order to page by); a
    superadmin's list is not made (they administer everything)."""
    if is_superadmin(viewer):
        return Organisation.objects.none()
    return (
        organisations_administered_by(viewer)
        .annotate(pending=Count("government_profiles", filter=Q(government_profiles__status=VerificationStatus.PENDING)))
        .only("id", "name", "short_code")
        .order_by("name", "id")
    )


def auto_verification_of(organisation: Organisation) -> bool:
    return VerificationSettings.objects.filter(organisation=organisation, auto_verify_official_domain=True).exists()


# Addresses ------------------------------------------------------------------------------

def _domain_of(address: str) -> str:
    try:
        return normalise_domain(address.rpartition("@")[2])
    except ValueError:
        return ""


def has_confirmed_address(user: AnyUser, address: str) -> bool:
    """Whether ``address`` is one of the user's addresses that they confirmed (the link
    sent to it was opened): only such an address may stand on their profile as their
    official one, which the verification API answers for."""
    return EmailAddress.objects.filter(user_id=user.pk, email__iexact=address, verified=True).exists()


def on_official_domain(user: AnyUser, address: str, organisation: Organisation) -> bool:
    """Whether ``address`` (the official address a request gives, which its profile and
    so the verification API vouch for) is one the user confirmed, on one of the
    organisation's verified domains (compared normalised: lower case, IDNA). Not the
    account's primary address: that may be another one."""
    domain = _domain_of(address)
    if not domain:
        return False
    return has_confirmed_address(user, address) and OrganisationDomain.objects.filter(
        organisation=organisation, is_verified=True, domain=domain).exists()


def mark_official_domain(profiles: Iterable[GovernmentProfile]) -> list[GovernmentProfile]:
    """Set ``on_official_domain`` on each profile (as on_official_domain says of its
    official address), with two queries however many there are."""
    profiles = list(profiles)
    if not profiles:
        return profiles
    verified = {
        (user_id, email.lower())
        for user_id, email in EmailAddress.objects.filter(
            user_id__in={p.user_id for p in profiles}, verified=True
        ).values_list("user_id", "email")
    }
    domains = set(
        OrganisationDomain.objects.filter(organisation_id__in={p.organisation_id for p in profiles}, is_verified=True)
        .values_list("organisation_id", "domain")
    )
    for profile in profiles:
        email = profile.official_email.lower()
        profile.on_official_domain = (profile.user_id, email) in verified and (
            (profile.organisation_id, _domain_of(email)) in domains
        )
    return profiles


# Profiles --------------------------------------------------------------------------------

def _with_badges(queryset: QuerySet[GovernmentProfile]) -> QuerySet[GovernmentProfile]:
    """Whether the person is a verified government user (anywhere: a verification in
    force, as the visibility rules and the API count it, not past the date of
    superannuation nor in a suspended organisation, whether or not the hourly job has
    written it down), and whether they hold a verification in an organisation other than
    this profile's (one past superannuation is over; one in a suspended organisation is
    still held, and verifying them here ends it): subqueries, no query per row."""
    today = timezone.localdate()
    verified = GovernmentProfile.objects.filter(verified_in_force(today), user_id=OuterRef("user_id"))
    elsewhere = GovernmentProfile.objects.filter(
        not_superannuated_q(today), user_id=OuterRef("user_id"), status__in=HELD_STATUSES,
    ).exclude(organisation_id=OuterRef("organisation_id"))
    suspended = elsewhere.filter(status=VerificationStatus.SUSPENDED).values("reason_code")[:1]
    # Someone else verified with the same mobile number (the API answers nobody for a
    # number two verified people hold and show): the deciding admin checks it with the
    # person. Only a holder the API counts: a number kept narrower is not told.
    mobile_taken = mobile_holders(OuterRef("mobile"), today=today).exclude(user_id=OuterRef("user_id"))
    return queryset.annotate(person_verified=Exists(verified), held_elsewhere=Exists(elsewhere),
                             suspended_elsewhere=Subquery(suspended), mobile_taken=Exists(mobile_taken))


def mark_seen(profiles: Iterable[GovernmentProfile]) -> list[GovernmentProfile]:
    """Set ``seen`` on each profile: what the administrators' pages show of it (no query).
    A waiting request: every detail given, for the admins deciding it. Any other (a
    verified or suspended person, an ended request): each detail only as the visibility
    rules let the viewer see it (the profiles were annotated by ``annotated_for``), as on
    every other page; a detail set to "nobody but the person" is left out, and so is what
    it would tell (``on_official_domain``, mark_official_domain: said of an address not seen)."""
    profiles = list(profiles)
    for profile in profiles:
        profile.seen = request_view_of(profile) if profile.is_pending else view_of(profile)
        if getattr(profile, "on_official_domain", False) and profile.seen.values.get("official_email") is None:
            profile.on_official_domain = False
    return profiles


def decisions_to_undo(organisation: Organisation) -> QuerySet[GovernmentProfile]:
    """The verifications whose decision verifying their person in ``organisation`` would
    undo, which an administrator makes on the person's request, never the system or a
    roster: one in another organisation suspended, or one here revoked, for a reason of the
    person's (misuse, retirement, left service), or a request here an administrator
    rejected (unless one here verified them since). (A suspension during a transfer, or by
    the system for an address, is no such reason.)"""
    caused = (
        Q(status=VerificationStatus.SUSPENDED) & ~Q(organisation=organisation)
        | Q(organisation=organisation, status=VerificationStatus.REVOKED)
    ) & Q(reason_code__in=CAUSED_REVOCATIONS)
    # A refusal an administrator here undid already, verifying the person here since, is over.
    verified_since = GovernmentProfile.objects.filter(user_id=OuterRef("user_id"), organisation=organisation,
                                                      verified_at__gt=OuterRef("decided_at"))
    rejected = Q(organisation=organisation, status=VerificationStatus.REJECTED) & ~Exists(verified_since)
    return GovernmentProfile.objects.filter(caused | rejected)


def automatic_verification_withheld(user: AnyUser, organisation: Organisation) -> bool:
    """Whether a request of ``user`` to ``organisation`` waits for an administrator even
    where the organisation verifies addresses on its domains automatically, and a roster's
    row or an invitation does not verify them (rosters): verifying them would undo a
    decision about them (``decisions_to_undo``), a decision for a person, not for the system."""
    return decisions_to_undo(organisation).filter(user_id=user.pk).exists()


def verifies_automatically(user: AnyUser, organisation: Organisation) -> bool:
    """Whether ``organisation`` verifies a request of ``user``'s at once when its official
    address is on one of its domains (``verified_at_once``): it verifies automatically, and
    nothing withholds it for this person (automatic_verification_withheld)."""
    return auto_verification_of(organisation) and not automatic_verification_withheld(user, organisation)


def verified_at_once(user: AnyUser, organisation: Organisation, *, on_domain: bool) -> bool:
    """Whether a request of ``user``'s to ``organisation`` is verified as it is made
    (services.join_request_create), and so waits in no queue: its official address is one
    they confirmed on one of its verified domains (``on_domain``: on_official_domain, which
    the caller reads once and uses again), and the organisation verifies them
    automatically. (The automatic verification may yet be refused as it is done: the
    person is the last admin of an organisation they leave.)"""
    return on_domain and verifies_automatically(user, organisation)


def held_elsewhere(user: AnyUser, organisation: Organisation) -> list[GovernmentProfile]:
    """The verifications ``user`` holds in organisations other than ``organisation``
    (verified or suspended; one past its date of superannuation is over), which being
    verified there ends for good (services._end_elsewhere: revoked, as a transfer), as the
    admins deciding see it (``held_elsewhere`` of _with_badges); each with the admin roles
    that end with it (``ending_roles``, as admin_roles_ending_with says, each marked
    ``left_without_admin``). What the join page tells the person before they ask."""
    return _elsewhere(user, organisation, waiting=False)[0] if user.is_authenticated else []


def _elsewhere(user: AnyUser, organisation: Organisation, *,
               waiting: bool) -> tuple[list[GovernmentProfile], list[GovernmentProfile]]:
    """The verifications ``user`` holds elsewhere (held_elsewhere, with their ``ending_roles``)
    and, with ``waiting``, their requests waiting elsewhere, which being verified in
    ``organisation`` withdraws (services._end_elsewhere: cancelled): read in one query."""
    statuses = Q(not_superannuated_q(timezone.localdate()), status__in=HELD_STATUSES)
    if waiting:
        statuses |= Q(status=VerificationStatus.PENDING)
    profiles = list(GovernmentProfile.objects.filter(statuses, user_id=user.pk).exclude(organisation_id=organisation.pk)
                    .select_related("organisation").order_by("id"))
    held = [profile for profile in profiles if profile.status in HELD_STATUSES]
    for profile in held:
        profile.ending_roles = admin_roles_ending_with(profile, verified_in=organisation)
    return held, [profile for profile in profiles if profile.status == VerificationStatus.PENDING]


def first_admin_roles_ending(user: AnyUser, organisation: Organisation,
                             held: list[GovernmentProfile] | None = None) -> list[Membership]:
    """The admin roles of ``user`` that being verified in ``organisation`` ends besides those
    resting on a verification held elsewhere (``held``: held_elsewhere, whose ``ending_roles``
    they are): their first admin roles (their organisation's first admin, on its approved
    application) outside its line (first_admin_memberships_outside), and the roles above
    that rested on those, each marked ``left_without_admin``. What the join page tells the
    person before they ask."""
    if not user.is_authenticated:
        return []
    held = held_elsewhere(user, organisation) if held is None else held
    listed = {role.pk for profile in held for role in profile.ending_roles}
    return [role for role in admin_roles_verifying_ends(user, organisation) if role.pk not in listed]


@dataclass
class EndsElsewhere:
    """What being verified in an organisation at once ends in other organisations, as the
    join page and an invitation's page name it: the verifications the person holds there
    (``ending``, each with the admin roles resting on it, ``ending_roles``), their first admin
    roles outside its line (``roles_ending``), and their requests waiting there (``waiting``,
    withdrawn)."""

    ending: list[GovernmentProfile] = field(default_factory=list)
    roles_ending: list[Membership] = field(default_factory=list)
    waiting: list[GovernmentProfile] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ending or self.roles_ending or self.waiting)

    def values(self) -> dict:
        """What a page says of it, as its digest (portal.shown) is taken of it: the page sends
        that back, and the service refuses it when being verified would end something else by
        then. A role's organisation left without an admin is part of it (the page then says the
        person cannot be verified until they hand the role over)."""
        roles = [*(role for profile in self.ending for role in profile.ending_roles), *self.roles_ending]
        return {"held": sorted(profile.pk for profile in self.ending),
                "roles": sorted([role.pk, role.left_without_admin] for role in roles),
                "waiting": sorted(profile.pk for profile in self.waiting)}

    def shown(self) -> str:
        return shown_digest(self.values())


def ends_elsewhere(user: AnyUser, organisation: Organisation) -> EndsElsewhere:
    """What being verified in ``organisation`` ends elsewhere for ``user``, read as it is now."""
    if not user.is_authenticated:
        return EndsElsewhere()
    ending, waiting = _elsewhere(user, organisation, waiting=True)
    return EndsElsewhere(ending=ending, roles_ending=first_admin_roles_ending(user, organisation, held=ending),
                         waiting=waiting)


def admin_roles_verifying_ends(user: AnyUser, organisation: Organisation) -> list[Membership]:
    """Every admin role of ``user`` that being verified in ``organisation`` ends for good, as
    services._verify works them out, in one call: those resting on the verifications they
    hold elsewhere, their first admin roles outside its line, and the roles above resting on
    either; each with its organisation, marked ``left_without_admin``."""
    # Every verification held elsewhere, as services._end_elsewhere ends them: one past its date
    # of superannuation too (the hourly job may not have written it down yet).
    pairs = sorted(set(GovernmentProfile.objects.filter(user_id=user.pk, status__in=HELD_STATUSES)
                       .exclude(organisation_id=organisation.pk).values_list("organisation_id", "user_id")))
    pairs += [pair for pair in first_admin_roles_outside(user.pk, organisation) if pair not in pairs]
    return _marked_left_without_admin(admin_roles_resting_on(pairs, member_of=organisation))


def _marked_left_without_admin(roles: list[Membership]) -> list[Membership]:
    """``roles`` (ending), each marked ``left_without_admin`` when its organisation would keep
    no admin whose role does not end. One query."""
    orphaned = organisations_left_without_admin(roles)
    for role in roles:
        role.left_without_admin = role.organisation_id in orphaned
    return roles


def waiting_requests_count(user: AnyUser) -> int:
    """How many of the person's requests wait for a decision (at most VERIFICATION_WAITING_MAX
    at once): those of every account of ``user``'s mailbox (same_mailbox), since accounts are
    kept one per address, "+tag" and all."""
    return GovernmentProfile.objects.filter(same_mailbox("user__email", user.email),
                                            status=VerificationStatus.PENDING).count()


def profiles_of(viewer: AnyUser) -> QuerySet[GovernmentProfile]:
    """The viewer's own profiles and requests: the verification they hold first, then the newest."""
    if not viewer.is_authenticated:
        return GovernmentProfile.objects.none()
    held_first = Case(When(status__in=HELD_STATUSES, then=Value(0)), default=Value(1))
    return (
        GovernmentProfile.objects.filter(user=viewer)
        .select_related("organisation")
        .order_by(held_first, "-requested_at", "-id")
    )


def own_profile(viewer: AnyUser, pk: int) -> GovernmentProfile:
    try:
        return profiles_of(viewer).get(pk=pk)
    except (GovernmentProfile.DoesNotExist, ValueError):
        raise Http404 from None


def profiles_administered_by(viewer: AnyUser) -> QuerySet[GovernmentProfile]:
    """Profiles in the organisations the viewer administers (and the offices below them)."""
    if not viewer.is_authenticated:
        return GovernmentProfile.objects.none()
    if is_superadmin(viewer):
        return GovernmentProfile.objects.all()
    return GovernmentProfile.objects.filter(organisation__in=organisations_administered_by(viewer).values("pk"))


def join_queue(
    viewer: AnyUser, *, status: str = VerificationStatus.PENDING, organisation_id: int | None = None
) -> QuerySet[GovernmentProfile]:
    """Requests and profiles the viewer decides on, in one status, oldest request first.
    Other than waiting requests, annotated for ``mark_seen`` (the viewer's one query for
    the visibility rules)."""
    queryset = profiles_administered_by(viewer).filter(status=status)
    if organisation_id is not None:
        queryset = queryset.filter(organisation_id=organisation_id)
    if status != VerificationStatus.PENDING:
        queryset = annotated_for(viewer, queryset)
    return _with_badges(queryset.select_related("user", "organisation")).order_by("requested_at", "id")


def profile_for_admin(viewer: AnyUser, pk: int) -> GovernmentProfile:
    """A profile in an organisation the viewer administers, or 404 (never 403: do not
    confirm it exists), with what the viewer may see of it (``mark_seen``)."""
    queryset = annotated_for(viewer, profiles_administered_by(viewer).select_related("user", "organisation", "decided_by"))
    # An administrator here rejected an earlier request of the person's (why the system did
    # not verify this one: automatic_verification_withheld): said on this page only.
    rejected_here = GovernmentProfile.objects.filter(
        user_id=OuterRef("user_id"), organisation_id=OuterRef("organisation_id"), status=VerificationStatus.REJECTED,
    ).exclude(pk=OuterRef("pk"))
    try:
        profile = _with_badges(queryset).annotate(rejected_here=Exists(rejected_here)).get(pk=pk)
    except (GovernmentProfile.DoesNotExist, ValueError):
        raise Http404 from None
    return mark_seen(mark_official_domain([profile]))[0]


def admin_roles_ending_with(profile: GovernmentProfile, *, verified_in: Organisation | None = None) -> list[Membership]:
    """The admin roles of ``profile``'s person that end if its verification is suspended
    or revoked (they rest on it, and do not come back when it is reinstated), or ends as
    they are verified in ``verified_in`` (which holds up their roles of it and above it),
    each marked ``left_without_admin`` when its organisation would keep no admin whose
    role does not end. What the confirmation pages say; the services end the same roles."""
    return _marked_left_without_admin(
        admin_roles_resting_on([(profile.organisation_id, profile.user_id)], member_of=verified_in))


def profiles_for_admin(viewer: AnyUser, pks: Iterable[int]) -> list[GovernmentProfile]:
    """The profiles among ``pks`` the viewer administers, oldest request first (others are left
    out), each waiting one with the admin roles verifying it ends (``roles_ending``:
    with_roles_verifying_ends)."""
    pks = [pk for pk in pks if isinstance(pk, int)]
    queryset = profiles_administered_by(viewer).filter(pk__in=pks).select_related("user", "organisation")
    return with_roles_verifying_ends(mark_official_domain(_with_badges(queryset).order_by("requested_at", "id")))


def with_roles_verifying_ends(profiles: list[GovernmentProfile]) -> list[GovernmentProfile]:
    """``profiles``, each waiting one with ``roles_ending``: the admin roles verifying it in its
    organisation ends for good (admin_roles_verifying_ends; [] for the others), what the
    deciding administrator is told, and asked to confirm, before verifying. One query, which
    finds who holds an admin role at all, and then admin_roles_verifying_ends for those few."""
    waiting = [profile for profile in profiles if profile.is_pending]
    holders = set(Membership.objects.filter(
        not_ended_q(), role=MembershipRole.ADMIN, is_active=True, user_id__in={profile.user_id for profile in waiting},
    ).values_list("user_id", flat=True)) if waiting else set()
    for profile in profiles:
        profile.roles_ending = (admin_roles_verifying_ends(profile.user, profile.organisation)
                                if profile.is_pending and profile.user_id in holders else [])
    return profiles


MEMBER_QUERY_MAX = 100
# Fewer characters, or no word of this many letters or digits in a row (has_searchable_word),
# search nothing (MembersFilterForm refuses them): the trigram indexes the search reads by
# have nothing to look up in them, and every member would be read.
MEMBER_QUERY_MIN = SEARCH_MIN
# The most matches of a members search read in each field searched (the name, the official
# address, the account's address), by its trigram index, as the directory reads its own
# (visibility.rules.CANDIDATES_PER_FIELD): a search matching more lists members from among
# those, and the page says so; its cost is that of its matches, whatever the organisation's size.
MEMBER_CANDIDATES_PER_FIELD = 2000


def _member_candidates(organisation: Organisation, query: str) -> QuerySet[GovernmentProfile]:
    """Ids of the organisation's members (verified or suspended) whose name, official
    address or account's address holds ``query`` (visible or not: ``members_of`` then keeps
    those whose match the viewer may see), for the search to read these rows only: one
    indexed scan a field (the trigram indexes of the listable profiles, visibility 0004, and
    of the accounts' addresses, visibility 0005), each stopped after
    MEMBER_CANDIDATES_PER_FIELD matches where the database allows it (PostgreSQL)."""
    held = GovernmentProfile.objects.filter(organisation=organisation, status__in=HELD_STATUSES).order_by()
    scans = [
        held.filter(verified_name__icontains=query).annotate(field=Value(0)).values("pk", "field"),
        held.filter(official_email__icontains=query).annotate(field=Value(1)).values("pk", "field"),
        held.filter(user__email__icontains=query).annotate(field=Value(2)).values("pk", "field"),
    ]
    if connection.features.supports_slicing_ordering_in_compound:
        scans = [scan[:MEMBER_CANDIDATES_PER_FIELD] for scan in scans]
    first, *others = scans
    return first.union(*others, all=True).order_by()


def members_at_domains(organisation: Organisation, domains: list[str]) -> QuerySet[GovernmentProfile]:
    """The verified members of ``organisation`` whose official address is at one of
    ``domains`` (normalised), however the address's domain was stored; not one past its
    date of superannuation nor of an account closed (as the members page's "Verified only" lists them)."""
    return GovernmentProfile.objects.filter(addresses_at_domains("official_email", domains),
                                            person_verified_in_force(timezone.localdate()),
                                            organisation=organisation)


def resting_at_addresses(user_id: int, addresses: Iterable[str]) -> set[int]:
    """The organisations in which ``user_id`` has a verification resting on one of
    ``addresses`` (lower case) as their official address, which ends if those addresses
    leave their account, as lifecycle.profiles_suspend_address_removed takes them: verified,
    or suspended by the system because the address was not confirmed in time. One query."""
    return set(GovernmentProfile.objects.filter(resting_on_address_q(), user_id=user_id,
                                                official_email__in=set(addresses)).values_list("organisation_id", flat=True))


def members_of(organisation: Organisation, *, viewer: AnyUser, query: str = "",
               verified_only: bool = False, off_domains: list[str] | None = None) -> "MembersInOrder":
    """The organisation's verified and suspended members (only the verified ones when
    ``verified_only``), by name as ``viewer`` sees it (sort_name), annotated for ``mark_seen`` as ``viewer`` sees them;
    ``verified_only``: not one past its date of superannuation either (the hourly job may not have
    written it down yet), nor one of an account closed (person_verified_in_force: the rows whose
    badge says "Verified government user");
    ``query`` (a word of MEMBER_QUERY_MIN letters or digits or more) finds them by name or
    address where ``viewer`` sees it (a name kept from them finds no one), or by the account's
    address, among at most MEMBER_CANDIDATES_PER_FIELD matches of each (``_member_candidates``:
    read by indexes, not every member). Only for
    its admins: the view fetches the organisation through organisation_for_admin first.
    ``off_domains`` (None: no such filter): only those whose official address is at one of
    these domains (status_selectors.domains_no_longer_its: none for none).
    Sliced and counted as a paginator does (MembersInOrder)."""
    statuses = [VerificationStatus.VERIFIED] if verified_only else list(HELD_STATUSES)
    truncated_at = 0
    listed = GovernmentProfile.objects.filter(organisation=organisation, status__in=statuses)
    if verified_only:  # not past superannuation (before the hourly job writes it down), nor closed
        listed = listed.filter(person_verified_in_force(timezone.localdate()))
    if off_domains is not None:
        listed = listed.filter(addresses_at_domains("official_email", off_domains))
    found = annotated_for(viewer, listed)
    query = normalise_search((query or "")[:MEMBER_QUERY_MAX])
    if has_searchable_word(query):
        # The candidates read first, by themselves (one query): as a subquery of the page's,
        # the planner, which cannot tell how few they are, read every member to match them.
        rows = list(_member_candidates(organisation, query))
        per_field = [sum(1 for row in rows if row["field"] == field) for field in range(3)]
        truncated_at = MEMBER_CANDIDATES_PER_FIELD if max(per_field) >= MEMBER_CANDIDATES_PER_FIELD else 0
        found = found.filter(among("id", sorted({row["pk"] for row in rows}), "bigint")).filter(
            search_q(query, fields=(ProfileField.NAME, ProfileField.OFFICIAL_EMAIL)) | Q(user__email__icontains=query))
        listed = found
    return MembersInOrder(found=found, listed=listed, organisation_id=organisation.pk, viewer=viewer,
                          searched=listed is found, truncated_at=truncated_at)


def _members_in_order(found: QuerySet[GovernmentProfile]) -> QuerySet[GovernmentProfile]:
    """``found`` by the name as the viewer sees it: a name kept from them comes after the
    others, in the order the people asked, its place in the alphabet not told by the row's
    place."""
    return found.order_by(sort_name().asc(nulls_last=True), "id")


@dataclass(frozen=True)
class MembersInOrder:
    """The members ``found`` (annotated_for ``viewer``, of the organisation
    ``organisation_id``; ``listed``: the same rows, not annotated unless a search needs it)
    in the members page's order, as its paginator slices and counts them
    (portal.paging.CountedUpTo). Sorting every member by the name they show, with the
    visibility of each detail and the badges worked out for each, to cut a page of 50 cost
    a second at 100,000 members (bench/README.md): a slice (MembersSlice) is chosen first by
    the order alone, by an index, and only its rows are then read with all the page shows."""

    found: QuerySet[GovernmentProfile]
    listed: QuerySet[GovernmentProfile]
    organisation_id: int
    viewer: AnyUser
    searched: bool = False  # ``found`` are a search's matches (at most MEMBER_CANDIDATES_PER_FIELD a field)
    # More matched in a field than the search reads (this many, MEMBER_CANDIDATES_PER_FIELD;
    # else 0): it lists members from among those read.
    truncated_at: int = 0
    ordered = True  # (by name, as the paginator asks)

    def __getitem__(self, bounds: slice) -> "MembersSlice":
        start, stop, _step = bounds.indices(DB_INT_MAX)
        return MembersSlice(self, start, max(start, stop))

    def __iter__(self) -> Iterator[GovernmentProfile]:
        return iter(self[:])


@dataclass(frozen=True)
class MembersSlice:
    """``MembersInOrder[start:stop]``: iterated, its members (one query); counted, how many
    (another, reading at most ``stop`` members, in no order)."""

    members: MembersInOrder
    start: int
    stop: int

    def count(self) -> int:
        if self.stop == self.start:
            return 0
        counted = self.members.listed.order_by().values("id")[:self.stop].count()
        return max(0, min(counted, self.stop) - self.start)

    def _ids_sql(self) -> tuple[str, list]:
        """PostgreSQL: the slice's ids, in the list's order, as SQL and its parameters.

        Whether the viewer sees a member's name is the same for every member of the
        organisation but the viewer and those who narrowed who sees their name: the level
        and the organisation's policy are the organisation's, and the person's own choice
        is then everyone. So the names kept from the viewer are those of the few who chose
        so (name_narrowed_by_person, each tested by the rules, field_shown) and, when one
        of the others tells that the rules keep their name from the viewer (asked once),
        all the others'. First the members whose name is seen, by it (the index
        verification_members_order_idx, walked down to ``stop``, the rows kept from it left
        out as they come); then, by id, those whose name is kept. Each part at most
        ``stop`` rows."""
        name, members, viewer_id = ProfileField.NAME, self.members, self.members.viewer.pk
        narrowed = name_narrowed_by_person()
        kept_by_person = members.found.filter(user_id__in=narrowed).exclude(field_shown(name))
        one_of_the_others = annotated_for(members.viewer, GovernmentProfile.objects.filter(
            organisation_id=members.organisation_id).exclude(user_id=viewer_id).exclude(user_id__in=narrowed))
        others_kept = Coalesce(Subquery(
            one_of_the_others.annotate(kept=ExpressionWrapper(~field_shown(name), BooleanField()))
            .order_by().values("kept")[:1], output_field=BooleanField()), Value(False))
        kept_by_policy = Q(others_kept) & ~Q(user_id__in=narrowed) & ~Q(user_id=viewer_id)
        listed = members.listed.order_by()
        parts = [
            listed.exclude(pk__in=kept_by_person.values("id")).exclude(kept_by_policy)
            .annotate(part=Value(0), key=self._name_key()).order_by("key", "id"),
            kept_by_person.annotate(part=Value(1), key=Value(None, output_field=CharField())).order_by("id"),
            listed.filter(kept_by_policy).annotate(part=Value(1), key=Value(None, output_field=CharField()))
            .order_by("id"),
        ]
        first, *others = (part.values_list("id", "part", "key")[:self.stop] for part in parts)
        ids = first.union(*others, all=True).order_by("part", "key", "id")[self.start:self.stop]
        sql, params = ids.query.sql_with_params()
        return f"SELECT id FROM ({sql}) AS members", list(params)

    def _name_key(self) -> Lower:
        """The name as the page orders by it: lowercased. For a search, written so that no
        index serves it (the same order): its matches, a few thousand at most, are read by
        their ids and sorted; walking the index of every member's name down to the page's
        last match, which the planner would choose, could read every member."""
        name = SOURCES[ProfileField.NAME]
        return Lower(Concat(F(name), Value(""))) if self.members.searched else Lower(name)

    def __iter__(self) -> Iterator[GovernmentProfile]:
        if self.stop == self.start:
            return iter(())
        found = self.members.found
        if connection.vendor == "postgresql":
            # The ids first, then their rows by the primary key (as the state queue's page).
            sql, params = self._ids_sql()
            column = f'"{GovernmentProfile._meta.db_table}"."{GovernmentProfile._meta.pk.column}"'
            page = found.filter(RawSQL(f"{column} = ANY(ARRAY({sql}))", params, output_field=BooleanField()))
        else:  # (no slice in a compound query: the list sorted whole, as before)
            page = found.filter(id__in=_members_in_order(found).values("id")[self.start:self.stop])
        return iter(_members_in_order(_with_badges(page).select_related("user", "organisation")))


# The verification API ----------------------------------------------------------------------

# What the API answers of the organisation, besides FETCHED (its name is among them).
API_ORGANISATION = ("organisation__short_code", "organisation__state")


def mobile_holders(mobile: str | OuterRef, *, today: date) -> QuerySet[GovernmentProfile]:
    """The holders of ``mobile`` (a number, or an expression: ``OuterRef("mobile")``) that
    the verification API finds by it, and counts: a number two of them hold names neither.
    Verified in force (in an active organisation too); the number vouched for by an
    administrator (by hand or by the organisation's roster: a profile verified
    automatically, by its confirmed official address on the organisation's domain, is
    not found by the number, the person's word); and shown to any verified government
    user (their organisation's policy and their own narrowing, ``found_by``). Only these
    hold a number for a roster (verification.rosters.staging) and for the join requests'
    warning: a number kept narrower is told held to nobody."""
    found = GovernmentProfile.objects.filter(verified_in_force(today), mobile=mobile).exclude(
        method=VerificationMethod.OFFICIAL_EMAIL)
    return found_by(API_CLIENT, ProfileField.MOBILE, found)


def _verified_by_contact(*, emails: Iterable[str] = (), mobile: str = "",
                         today: date) -> QuerySet[GovernmentProfile]:
    # By an address only what any verified government user may see of the person (their
    # organisation's policy and their own narrowing): an address kept from them finds
    # nothing; by a number, its holders (mobile_holders).
    found = (found_by(API_CLIENT, ProfileField.OFFICIAL_EMAIL, GovernmentProfile.objects.filter(
                 verified_in_force(today), official_email__in=emails))  # in an active organisation too
             if emails else mobile_holders(mobile, today=today))
    # By number, two rows: a number two verified people give names neither (below).
    return found.order_by("-verified_at", "-id").values(*FETCHED, *API_ORGANISATION)[:1 if emails else 2]


def _placeholders(email_count: int) -> tuple[str, ...]:
    return tuple(f"<address {i}>" for i in range(email_count)) if email_count else ("<mobile>",)


TODAY = date(1, 1, 2)  # stands for today's date in the compiled statement (a parameter)


CONSTANT_RE = re.compile(r"[a-z_]+")
PARAMETER_RE = re.compile(r"\$\d+")


@cache
def _verified_by_contact_sql(email_count: int) -> tuple[str, str, tuple[str, ...], int]:
    """The SQL of ``_verified_by_contact`` for ``email_count`` addresses (0: a mobile
    number), compiled once per process: the name of its prepared statement, the
    ``PREPARE`` that makes it (the statuses written in its text, so that PostgreSQL's
    generic plan can use the partial indexes on verified profiles, and the audiences
    too; ``$1``... for the
    addresses or the number, and today's date), the names of its columns, and the
    index of today's date among its arguments."""
    placeholders = _placeholders(email_count)
    queryset = (_verified_by_contact(emails=placeholders, today=TODAY) if email_count
                else _verified_by_contact(mobile=placeholders[0], today=TODAY))
    sql, params = queryset.query.sql_with_params()
    parts = sql.split("%s")
    assert "%%" not in sql and len(parts) == len(params) + 1
    assert [param for param in params if param in placeholders] == list(placeholders)
    assert len([param for param in params if param in (TODAY, TODAY.isoformat())]) == 1  # as a date, or as text
    pieces, given, today_at = [parts[0]], 0, -1
    for param, part in zip(params, parts[1:], strict=True):
        if param in (TODAY, TODAY.isoformat()):
            today_at = given
            given += 1
            pieces.append(f"${given}")
        elif param in placeholders:
            given += 1
            pieces.append(f"${given}")
        elif isinstance(param, int):  # an audience (visibility.rules.found_by): one of our enums' stored values
            pieces.append(str(int(param)))
        else:  # a status: one of our enums' stored values
            assert isinstance(param, str) and CONSTANT_RE.fullmatch(param), param
            pieces.append(f"'{param}'")
        pieces.append(part)
    name = f"verified_by_contact_{email_count}"
    query = queryset.query
    return (name, f"PREPARE {name} AS {''.join(pieces)}",
            (*query.extra_select, *query.values_select, *query.annotation_select), today_at)


def verified_person_by_contact(*, emails: Iterable[str] = (), mobile: str = "") -> dict | None:
    """The verified profile (status verified only: a suspended one is not) in an active
    organisation held with one of ``emails`` as its official address (as stored: lower
    case), the latest verified when several, or with ``mobile`` (as stored: "+91" and ten
    digits), None when two people hold that number (an answer naming one of them could
    name the wrong person: a number is each person's word, unlike a confirmed address,
    which one account holds); only where that address or number is one any verified
    government user may see (``visibility.rules.found_by``, as the API's client: the
    person's organisation's policy and the person's own narrowing), else as if nobody
    held it: its values by lookup, what the visibility rules decide on
    (``visibility.rules.FETCHED``: each field's value and audiences' columns, for
    ``visible_fetched``) and ``API_ORGANISATION``. Platform-wide on purpose (the
    verification API answers about any verified government user); what is shown of the
    person goes through the visibility rules.

    One query, called for every request of the API. Its SQL is compiled once per shape
    (one or two addresses, or a number), not by the ORM at each call; on PostgreSQL it
    is a statement prepared once per connection (``portal.prepared``: ``PREPARE``, outside
    the query log, then ``EXECUTE``; prepared again after a migration changed a column it
    reads): planning its five-table join took PostgreSQL several times as long as running it.

    The lookup is also the request's check that a kept connection still works
    (``CONN_HEALTH_CHECKS``: Django would first send ``SELECT 1``, a round trip as long
    as the lookup's): when the connection turns out broken, it is closed and the lookup,
    which only reads, runs once more on a new one. Only outside a transaction."""
    emails = [email for email in emails if email]
    if not emails and not mobile:
        return None
    name, prepare, columns, today_at = _verified_by_contact_sql(len(emails))
    params = list(emails or [mobile])
    today = timezone.localdate()
    params.insert(today_at, today if connection.vendor == "postgresql" else today.isoformat())
    unchecked = (connection.connection is not None and connection.health_check_enabled
                 and not connection.health_check_done and connection.get_autocommit())
    if unchecked:
        connection.health_check_done = True  # by the lookup itself
    try:
        rows = _lookup_rows(name, prepare, params)
    except (InterfaceError, OperationalError):
        if not unchecked or connection.is_usable():
            raise
        connection.close()
        rows = _lookup_rows(name, prepare, params)
    return dict(zip(columns, rows[0], strict=True)) if len(rows) == 1 else None


def _lookup_rows(name: str, prepare: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            prepared.execute(cursor, [(name, prepare, params)])
        else:  # SQLite (the embedded default): the same SELECT, its values given as parameters
            cursor.execute(PARAMETER_RE.sub("%s", prepare.removeprefix(f"PREPARE {name} AS ")), params)
        return cursor.fetchall()


def people_request_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: the language they last asked to be verified in} of those of ``user_ids``
    who ever asked, in one query: the one to tell each in when they are not on a page."""
    latest = GovernmentProfile.objects.filter(user_id=OuterRef("user_id")).order_by("-requested_at", "-pk")
    return dict(GovernmentProfile.objects.filter(user_id__in=set(user_ids), pk=Subquery(latest.values("pk")[:1]))
                .values_list("user_id", "request_language"))


def person_request_language(user_id: int) -> str | None:
    """The language the person last asked to be verified in (None: they never asked)."""
    return people_request_languages([user_id]).get(user_id)


# Reasons the person themselves left government service (an administrator's, or the hourly
# job's at superannuation): the person is out of service, not moved to another post.
LEFT_SERVICE_REASONS = (EndReason.RETIREMENT, EndReason.LEFT_SERVICE)


def person_service_ended(user_id: int) -> str | None:
    """Why the person is no longer in government service by their latest verification
    (the one verified last; a person verified again since, re-employed, is in service),
    or None: it is past its date of superannuation (over from the next day, before the
    hourly job revokes it as a retirement), or it was ended (revoked, or suspended) on
    retirement or on leaving government service. Asked through the core
    (portal.accounts.in_service) by onboarding, before a nodal officer's role is used up.
    One query."""
    latest = (GovernmentProfile.objects.filter(user_id=user_id, verified_at__isnull=False)
              .select_related("organisation").only("status", "reason_code", "superannuation_date", "organisation__name")
              .order_by("-verified_at", "-pk").first())
    if latest is None:
        return None
    organisation = latest.organisation.name
    if (latest.status in HELD_STATUSES and latest.superannuation_date is not None
            and latest.superannuation_date < timezone.localdate()):
        return _("The latest government verification of this account, in %(organisation)s, ended at its date of "
                 "superannuation: someone who has retired or left government service cannot act as a nodal officer. "
                 "If that date is wrong, ask the administrators of %(organisation)s to correct it.") % {
            "organisation": organisation}
    if (latest.status in (VerificationStatus.REVOKED, VerificationStatus.SUSPENDED)
            and latest.reason_code in LEFT_SERVICE_REASONS):
        return _("The latest government verification of this account, in %(organisation)s, was ended for this "
                 "reason: %(reason)s. Someone who has retired or left government service cannot act as a "
                 "nodal officer. If that is wrong, ask the administrators of %(organisation)s to correct it.") % {
            "organisation": organisation, "reason": EndReason(latest.reason_code).label}
    return None
