"""Reads of organisations (who may see which is decided in portal.permissions)."""

from collections.abc import Collection, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from allauth.account.models import EmailAddress
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast, Concat
from django.db.models.lookups import Contains, EndsWith
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.accounts.official_email import (
    PERSONAL_MAIL_BRAND_PATTERN,
    PERSONAL_MAIL_SERVICES,
    classify_email,
    email_rules,
    ends_official_powers,
    normalise_mailbox,
    official_suffix_of,
)
from portal.organisations.models import (
    CLAIMS_NOT_ACCEPTED,
    DomainClaim,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRole,
    PlatformRoleGrant,
    StatusAsIf,
    active_q,
    at_or_above,
    ended,
    in_force_q,
    in_or_below_q,
    not_ended_q,
)
from portal.organisations.signals import verifications_at_addresses
from portal.organisations.states import JURISDICTION_CHOICES
from portal.permissions import AnyUser, admins_who_act, holds_official_powers, memberships_not_lapsed, superadmins
from portal.text import as_searched, single_line

# The staff flag as official_powers_of names it among the roles: the Django admin's access.
STAFF_ACCESS = _("Staff access to the administration site")
_JURISDICTIONS = dict(JURISDICTION_CHOICES)  # lazy names, read in the language of the moment


def domain_claims_of(domains: list[str], *, organisation_id: int | None = None, claimed: set[str] | None = None,
                     rules: list[tuple[str, str]] | None = None) -> dict[str, DomainClaim]:
    """What listing each of ``domains`` for an organisation would make of it: official
    for it (under an official suffix, and not already official for another
    organisation), or a claim that only a superadmin can accept, with the reason.
    Two queries, however many domains; none when the caller read which of them are
    official for another organisation already (``claimed``) and the rules (``email_rules``)."""
    if not domains:
        return {}
    rules = email_rules() if rules is None else rules
    if claimed is None:
        elsewhere = OrganisationDomain.objects.filter(domain__in=domains, is_verified=True)
        if organisation_id:
            elsewhere = elsewhere.exclude(organisation_id=organisation_id)
        claimed = set(elsewhere.values_list("domain", flat=True))
    claims = {}
    for domain in domains:
        suffix = official_suffix_of(domain, rules=rules)
        if suffix and suffix == domain:
            claims[domain] = DomainClaim.SUFFIX_ITSELF
        elif domain in claimed:
            claims[domain] = DomainClaim.CLAIMED_ELSEWHERE
        else:
            claims[domain] = DomainClaim.OFFICIAL_SUFFIX if suffix else DomainClaim.NOT_OFFICIAL
    return claims


def domains_official_above(domains: list[str], organisation: Organisation) -> set[str]:
    """Of ``domains``, those official for an organisation above ``organisation``: an office
    shares the domains of the organisations above it (its staff use them as theirs), so
    listing one is no claim of its own, which could never be accepted while the domain is
    official there. One query; none for an organisation at the top or no domains."""
    if not domains or not organisation.ancestor_ids:
        return set()
    return set(OrganisationDomain.objects.filter(domain__in=domains, is_verified=True,
                                                 organisation_id__in=organisation.ancestor_ids)
               .values_list("domain", flat=True))


def addresses_at_domains(field: str, domains: Iterable[str]) -> Q:
    """Addresses (in ``field``) at any of ``domains`` (each normalised: lower case,
    IDNA-encoded), however their domain was stored: lower case, as the addresses are kept,
    and either encoded or in its own letters ("x@कृषि.भारत", which the rules check as its
    xn-- form). Matches nothing for no domains."""
    forms = set()
    for domain in domains:
        forms.add(domain)
        with suppress(UnicodeError):
            forms.add(domain.encode("ascii").decode("idna").lower())
    condition = Q(pk__in=[])
    for form in sorted(forms):
        condition |= Q(**{f"{field}__iendswith": f"@{form}"})
    return condition


def short_code_holder(code: str, *, exclude_id: int | None = None) -> Organisation | None:
    """The organisation other than ``exclude_id`` that has the short code ``code``
    (letters compared in any case), an active one first; None when it is free. A short
    code names one organisation: to the verification API's clients, to the operators'
    commands (api_client_create --organisation CODE)."""
    code = (code or "").strip()
    if not code:
        return None
    return short_code_holders(code, exclude_id=exclude_id).first()


def short_code_holders(code: str, *, exclude_id: int | None = None) -> QuerySet[Organisation]:
    """The organisations other than ``exclude_id`` that have the short code ``code`` (in any
    case), an active one first (``short_code_holder`` takes the first)."""
    return _by_short_code(code).exclude(pk=exclude_id).only("pk", "name", "status")


def organisation_by_short_code(code: str) -> Organisation | None:
    """The organisation whose short code is ``code`` (letters in any case), an active one
    first, read whole (a move's form places an organisation under it); None for none. One
    query; none for a blank code."""
    code = (code or "").strip()
    return _by_short_code(code).first() if code else None


def _by_short_code(code: str) -> QuerySet[Organisation]:
    """The organisations that have the short code ``code`` (in any case), an active one first."""
    found = Organisation.objects.filter(short_code__iexact=code)
    return found.order_by(Case(When(status=OrganisationStatus.ACTIVE, then=0), default=1), "pk")


def _personal_mail_q() -> Q:
    """Domains (``OrganisationDomain.domain``) of a personal mail service or under one
    (``personal_mail_service``: the known ones, those of a brand in any country, and the
    consumer-mail rules, asked in the same query)."""
    query = Q(domain__in=PERSONAL_MAIL_SERVICES) | Q(domain__regex=PERSONAL_MAIL_BRAND_PATTERN)
    for service in PERSONAL_MAIL_SERVICES:
        query |= Q(domain__endswith=f".{service}")
    # A rule's suffix whole or after a dot; a label ending's ("-webmail.co.in") after the rest of
    # its label ("shop-webmail.co.in"), as suffix_matches reads them.
    rules = EmailSuffixRule.objects.filter(kind=SuffixKind.CONSUMER).filter(
        Q(suffix=OuterRef("domain")) | EndsWith(OuterRef("domain"), Concat(Value("."), F("suffix")))
        | (Q(suffix__startswith="-") & EndsWith(OuterRef("domain"), F("suffix"))))
    return query | Exists(rules)


def pending_domain_claims() -> QuerySet[OrganisationDomain]:
    """Domains organisations listed that are not official for them yet, oldest first; not
    those of a personal mail service, never official (organisation_domain_accept refuses them),
    nor those official for an organisation above the one that listed them, which it shares
    (domains_official_above: no claim). Each with the name of the other organisation its
    domain is official for, if one is (``official_for``; at most one: verified domains are unique)."""
    official = OrganisationDomain.objects.filter(domain=OuterRef("domain"), is_verified=True)
    official_elsewhere = official.exclude(organisation_id=OuterRef("organisation_id")).values("organisation__name")[:1]
    official_above = official.filter(Contains(OuterRef("organisation__ancestry"), Concat(
        Value("/"), Cast("organisation_id", CharField()), Value("/"))))
    return (
        OrganisationDomain.objects.filter(is_verified=False, organisation__status=OrganisationStatus.ACTIVE)
        .exclude(_personal_mail_q()).exclude(Exists(official_above))
        .select_related("organisation")
        .annotate(official_for=Subquery(official_elsewhere))
        .order_by("id")
    )


def claims_as_they_stand(claims: Iterable[OrganisationDomain]) -> list[OrganisationDomain]:
    """``claims`` (read by pending_domain_claims), each with what its domain is for its
    organisation now (``standing``, as organisation_domain_accept decides it; the claim
    stored says what it was when listed) and whether a superadmin can accept it
    (``acceptable``: not while it is official for another organisation, nor an official
    suffix itself). One query, the official-email rules (none for no claims)."""
    claims = list(claims)
    rules = email_rules() if claims else []
    for claim in claims:
        claimed = {claim.domain} if claim.official_for else set()
        claim.standing = DomainClaim(domain_claims_of([claim.domain], claimed=claimed, rules=rules)[claim.domain])
        claim.acceptable = claim.standing not in CLAIMS_NOT_ACCEPTED
    return claims


def named_as_typed_first(query: str) -> Case:
    """To order organisations found by ``query`` with those named exactly so (any case, in
    English or the local language) or whose short code it is first: a name typed whole is
    contained in many others' (each "District Health Department, ..." holds "Health
    Department"), which sort before it by name and would fill a search's list without it."""
    exact = Q(name__iexact=query) | Q(name_local__iexact=query) | Q(short_code__iexact=query)
    return Case(When(exact, then=Value(0)), default=Value(1))


def first_found(found: QuerySet[Organisation] | list[Organisation], limit: int) -> tuple[list[Organisation], bool]:
    """The first ``limit`` of the organisations ``found`` (one more read), and whether more
    were found than that: a search that lists only some says so, and how to narrow it."""
    rows = list(found[:limit + 1])
    return rows[:limit], len(rows) > limit


# How many organisations the parent picker lists.
PICKER_LIMIT = 20


PICKER_QUERY_MIN = 2


def picker_query(query: str) -> str:
    """The words of a parent picker's search as it searches them: no control characters
    (PostgreSQL refuses NUL in text), nor invisible ones pasted with them; "" when fewer
    than PICKER_QUERY_MIN characters are left (too short to search)."""
    query = as_searched(single_line(query or "")).strip()
    return query if len(query) >= PICKER_QUERY_MIN else ""


def organisation_search(*, query: str, limit: int = PICKER_LIMIT) -> QuerySet[Organisation]:
    """Active organisations matching a query, for the parent picker (public names only):
    those named or short-coded as typed first, then by name. Names are not unique: each
    with its short code and the organisation it is placed under (``parent``, in the same
    query; its name is public only while it is active: ``parent_shown``), which tell two
    of one name apart."""
    query = picker_query(query)
    if not query:
        return Organisation.objects.none()
    return (
        Organisation.objects.filter(status=OrganisationStatus.ACTIVE)
        .filter(Q(name__icontains=query) | Q(short_code__iexact=query) | Q(name_local__icontains=query))
        .select_related("parent")
        .only("id", "name", "name_local", "state", "short_code", "parent__name", "parent__status")
        .annotate(parent_shown=Q(parent__status=OrganisationStatus.ACTIVE))
        .order_by(named_as_typed_first(query), "name", "id")[:limit]
    )


def grounds_for_admin(organisation: Organisation, *, now: datetime | None = None) -> QuerySet[Membership]:
    """The memberships on which the admin role of ``organisation`` may be given
    (organisation_admin_grant, and the role pages' search for someone to give it to):
    active, of it or of an active office below it (a suspended one vouches for nobody: a
    role resting on it counts for nothing while it is, ``role_lapsed``), a member's (verified
    there: verification keeps Membership in step) or an admin role in force, and not lapsed
    (portal.permissions.memberships_not_lapsed: a verification past its date of
    superannuation proves nothing from the next request, before the hourly job ends it)."""
    in_subtree = Q(organisation=organisation) | Q(organisation__ancestry__startswith=organisation.subtree_prefix,
                                                  organisation__status=OrganisationStatus.ACTIVE)
    in_force = Q(role=MembershipRole.MEMBER) | not_ended_q(now=now or timezone.now())
    return memberships_not_lapsed(Membership.objects.filter(in_subtree, in_force, is_active=True), now)


# Admin roles resting on a membership -----------------------------------------------------------

def admin_roles_resting_on(pairs: list[tuple[int, int]], *, now: datetime | None = None,
                           for_update: bool = False, member_of: Organisation | None = None) -> list[Membership]:
    """The admin roles that end when the memberships ``pairs`` (organisation id, user id)
    end (a verification suspended, revoked, lapsed; an account closed), in the order
    organisation_admins_lapse ends them, with their organisation and holder: each pair's
    own admin role, then the roles the person was granted in an organisation above one
    (as a member of an office below it, organisation_admin_grant) that nothing else
    would rest on any more: no other membership, and no admin role in force, in an
    office below it, besides those ending. ``member_of``: the organisation the person
    is a member of instead (verified there: the memberships end because of it), which
    holds up their roles of it and of the organisations above it (the ground
    organisation_admin_grant asks for), and leaves a first admin's role of an office below
    it resting on its approved application (first_admin_roles_outside: it ends only on a
    move outside the organisation's line): none of those ends. The same answer before the
    change (the confirmation pages say what it will end) and during it (``for_update``:
    the roles locked, under the caller's transaction)."""
    direct, above = Q(), Q()
    for organisation_id, user_id in pairs:
        direct |= Q(organisation_id=organisation_id, user_id=user_id)
        # Granted (not an organisation's first admin, whose role rests on its approved
        # application), in an organisation whose id is in this one's ancestry.
        above |= Q(user_id=user_id, granted_at__isnull=False) & Exists(Organisation.objects.filter(
            pk=organisation_id,
            ancestry__contains=Concat(Value("/"), Cast(OuterRef("organisation_id"), CharField()), Value("/")),
        ))
    if not direct:
        return []
    now = now or timezone.now()
    roles = Membership.objects.select_related("user", "organisation").filter(
        direct | above, role=MembershipRole.ADMIN, is_active=True).order_by("pk")
    if for_update:
        roles = roles.select_for_update(of=("self",))
    pair_set = set(pairs)
    # The organisations' own roles first, then those above, the nearest first: a role
    # above may have rested on one just ended.
    candidates = sorted(roles, key=lambda m: ((m.organisation_id, m.user_id) not in pair_set,
                                              -len(m.organisation.ancestry), m.pk))
    ending: list[Membership] = []
    for membership in candidates:
        if member_of is not None and _admin_held_up_by(membership, member_of):
            continue
        if (membership.organisation_id, membership.user_id) in pair_set or not _admin_has_ground_below(
                membership, now, leaving=pairs, ending=ending):
            ending.append(membership)
    return ending


def admin_roles_resting_on_move(organisation: Organisation, leaving: list[int], *, now: datetime | None = None,
                                for_update: bool = False) -> list[Membership]:
    """The admin roles that end when ``organisation`` moves out from under the organisations
    ``leaving`` (those above it now that are not above its new place): a role granted in one
    of them (organisation_admin_grant: as a member, or an admin in force, of an office below
    it; not to one of its own members) to someone whose ground below it was in ``organisation`` or an office below it, and
    who has no other ground left there (no membership, nor an admin role in force, in an
    office below it outside the one moving, besides the roles ending). The nearest first, as
    admin_roles_resting_on orders them: a role above may have rested on one just ended. The
    same answer before the move (its confirmation page) and during it (``for_update``: the
    roles locked, under the caller's transaction). One query, and one per role found."""
    if not leaving:
        return []
    now = now or timezone.now()
    in_force = Q(role=MembershipRole.MEMBER) | not_ended_q(now=now)
    member_there = Membership.objects.filter(in_or_below_q(organisation), in_force, user_id=OuterRef("user_id"), is_active=True)
    roles = Membership.objects.select_related("user", "organisation").filter(
        Exists(member_there), organisation_id__in=leaving, role=MembershipRole.ADMIN, is_active=True,
        granted_at__isnull=False, member_before_admin=False).order_by("pk")  # a member there rests on that
    if for_update:
        roles = roles.select_for_update(of=("self",))
    ending: list[Membership] = []
    for membership in sorted(roles, key=lambda m: (-len(m.organisation.ancestry), m.pk)):
        other_ground = Membership.objects.filter(
            in_force, user_id=membership.user_id, is_active=True,
            organisation__ancestry__startswith=membership.organisation.subtree_prefix,
        ).exclude(in_or_below_q(organisation)).exclude(pk__in=[role.pk for role in ending])
        if not other_ground.exists():
            ending.append(membership)
    return ending


def _admin_held_up_by(membership: Membership, organisation: Organisation) -> bool:
    """Whether the admin ``membership`` stands while its holder is a member of
    ``organisation``: the role is of it or of an organisation above it, or it is a first
    admin's role (granted by nobody) of an office below it, still in its line. No query."""
    if at_or_above(membership.organisation_id, organisation.pk, organisation.ancestry):
        return True
    return membership.granted_at is None and membership.organisation.ancestry.startswith(organisation.subtree_prefix)


def _admin_has_ground_below(membership: Membership, now: datetime, *, leaving: list[tuple[int, int]],
                            ending: list[Membership]) -> bool:
    """Whether the person still is a member, or an admin in force, of an office below
    the organisation of their admin ``membership`` (what organisation_admin_grant asked),
    not counting the memberships ``leaving`` nor the roles ``ending``."""
    in_force = Q(role=MembershipRole.MEMBER) | not_ended_q(now=now)
    gone = Q(pk__in=[role.pk for role in ending])
    for organisation_id, user_id in leaving:
        gone |= Q(organisation_id=organisation_id, user_id=user_id)
    return Membership.objects.filter(
        in_force, user_id=membership.user_id, is_active=True,
        organisation__ancestry__startswith=membership.organisation.subtree_prefix,
    ).exclude(gone).exists()


def first_admin_memberships_outside(user_id: int, organisation: Organisation) -> QuerySet[Membership]:
    """The first admin roles of ``user_id`` (an organisation's first admin: the role rests on
    its approved application, granted by nobody, and no membership below holds it up:
    admin_roles_resting_on leaves it out) in organisations outside the line of
    ``organisation``: neither it, nor one above it, nor an office below it, in the order of
    the organisations' ids. Nothing ends such a role but this: the person now works in
    ``organisation``."""
    line = (Q(organisation_id__in=[organisation.pk, *organisation.ancestor_ids])
            | Q(organisation__ancestry__startswith=organisation.subtree_prefix))
    return (Membership.objects.filter(user_id=user_id, role=MembershipRole.ADMIN, is_active=True,
                                      granted_at__isnull=True)
            .exclude(line).order_by("organisation_id"))


def first_admin_roles_outside(user_id: int, organisation: Organisation) -> list[tuple[int, int]]:
    """``first_admin_memberships_outside`` as (organisation id, user id) pairs, for
    organisation_admins_lapse. One query."""
    return list(first_admin_memberships_outside(user_id, organisation).values_list("organisation_id", "user_id"))


def first_admin_roles_left_by(user: AnyUser, new_primary: str, *, old: str | None = None) -> list[Membership]:
    """The first admin roles in force of ``user`` (first_admin_roles_outside says what they
    rest on) that ``new_primary``, an official address, ends when it takes the place of
    ``old`` (None: the primary address they have) as their primary address: those of the
    organisations none of whose line (it, one above it, an office below it) has the domain
    of ``new_primary`` verified, when that domain is not the old address's either (an
    organisation that lists no domain keeps an admin who changes mailbox at the same one).
    With their organisation, by its name. Two queries; none when the domain stays."""
    old = user.email if old is None else old
    new_domain = normalise_mailbox(new_primary).rpartition("@")[2]
    if not new_domain or new_domain == normalise_mailbox(old).rpartition("@")[2]:
        return []
    roles = list(Membership.objects.select_related("organisation").filter(
        not_ended_q(), user_id=user.pk, role=MembershipRole.ADMIN, is_active=True, granted_at__isnull=True,
    ).order_by("organisation__name", "pk"))
    owner = (OrganisationDomain.objects.filter(domain=new_domain, is_verified=True)
             .values_list("organisation_id", "organisation__ancestry").first()) if roles else None
    if owner is None:
        return roles
    owner_id, owner_ancestry = owner
    return [role for role in roles if not (at_or_above(role.organisation_id, owner_id, owner_ancestry)
                                           or at_or_above(owner_id, role.organisation_id, role.organisation.ancestry))]


def organisations_left_without_admin(roles: list[Membership]) -> set[int]:
    """Of the organisations of ``roles`` (admin roles about to end), the ids of those
    where nobody else would hold the admin role without an end date (one query), a role
    that gives no right to act not counted (portal.permissions.admins_who_act: an inactive
    account's, an auditor's, a lapsed one)."""
    return organisations_without_admin({role.organisation_id for role in roles},
                                       leaving={(role.organisation_id, role.user_id) for role in roles})


def organisations_without_admin(organisation_ids: set[int], *,
                                leaving: set[tuple[int, int]] = frozenset()) -> set[int]:
    """Of ``organisation_ids``, those where nobody (but the roles ``leaving``: (organisation
    id, user id) pairs of roles about to end) holds the admin role without an end date with
    a right to act (admins_who_act). One query; none for none."""
    if not organisation_ids:
        return set()
    kept = admins_who_act(Membership.objects.filter(
        organisation_id__in=organisation_ids, role=MembershipRole.ADMIN, is_active=True, ends_at__isnull=True,
    ), for_good=True).values_list("organisation_id", "user_id")
    return set(organisation_ids) - {pk for pk, user_id in kept if (pk, user_id) not in leaving}


def admins_acting_above(organisation: Organisation, *,
                        as_if: StatusAsIf | None = None) -> dict[int, tuple[Organisation, list[str]]]:
    """{id: (organisation, the addresses of its admins who act)} of the active organisations
    above ``organisation`` that have an admin who acts for them now (admins_who_act, their
    role not ended), in the order of their ids: asked before and after a change below them
    (an office suspended), which may leave one with nobody acting for it; ``as_if``: as they
    would be once it is made (StatusAsIf), asked before. One query; none for an organisation
    with none above it."""
    if not organisation.ancestor_ids:
        return {}
    found: dict[int, tuple[Organisation, list[str]]] = {}
    for membership in admins_who_act(Membership.objects.filter(
        not_ended_q(), active_q("organisation__", as_if), organisation_id__in=organisation.ancestor_ids,
        role=MembershipRole.ADMIN, is_active=True,
    ), as_if=as_if).select_related("user", "organisation").order_by("organisation_id", "user__email"):
        found.setdefault(membership.organisation_id, (membership.organisation, []))[1].append(membership.user.email)
    return found


class LeftWithoutAdmin(NamedTuple):
    """An organisation above one suspended that is left with no admin who acts for it: the
    addresses of its admins whose roles rested on verifications in the suspended one
    (``holders``), and whoever acts for it now (``acting``, as who_acts_for answers)."""

    organisation: Organisation
    holders: list[str]
    acting: list[tuple[AnyUser, Organisation | None]]


def left_without_acting_admin(suspended: Organisation, before: dict[int, tuple[Organisation, list[str]]], *,
                              after: dict[int, tuple[Organisation, list[str]]] | None = None,
                              as_if: StatusAsIf | None = None) -> list[LeftWithoutAdmin]:
    """Of the organisations above ``suspended`` that had an admin who acted for them
    (``before``: admins_acting_above, read before it was suspended), those that have none
    now that it is (their admin roles rested on verifications in it, which vouch for
    nothing while it is suspended), in the order of their ids, each with whoever acts for
    it now. Asked of the rules themselves, in the caller's transaction, once the status is
    written (``after``: admins_acting_above read then by the caller), or before it is written
    with ``as_if`` (StatusAsIf: its status suspended), as they will be once it is. One query
    when none is left without (none with ``after``); three at most."""
    after = admins_acting_above(suspended, as_if=as_if) if after is None else after
    left = [organisation for pk, (organisation, _holders) in sorted(before.items()) if pk not in after]
    if not left:
        return []
    acting = who_acts_for(left, as_if=as_if)
    return [LeftWithoutAdmin(organisation, before[organisation.pk][1], acting[organisation.pk]) for organisation in left]


def admin_roles_changed(before: dict[int, tuple[Organisation, list[str]]],
                        after: dict[int, tuple[Organisation, list[str]]]) -> dict[str, list[str]]:
    """{address: [the names of the organisations]} of the admin roles that counted ``before``
    (admins_acting_above) and do not ``after``, in the order of the addresses: those an
    office's suspension stops counting (read before and after it), or its reactivation
    makes count again (read after and before it), whose holders are told. No query."""
    changed: dict[str, list[str]] = {}
    for pk, (organisation, addresses) in sorted(before.items()):
        for address in set(addresses) - set(after.get(pk, (organisation, []))[1]):
            changed.setdefault(address, []).append(organisation.name)
    return dict(sorted(changed.items()))


def without_acting_admin_above(suspended: Organisation, *,
                               acting: dict[int, tuple[Organisation, list[str]]] | None = None
                               ) -> list[LeftWithoutAdmin]:
    """Of the active organisations above the suspended ``suspended``, those with no admin
    who acts for them now, one of whose admins (their role in force) is a member of it
    (verification keeps Membership in step: the role may rest on a verification there,
    which counts again once it is reactivated), in the order of their ids, each with whoever
    acts for it now (who_acts_for; ``holders`` empty: not yet known). Asked before it is
    reactivated, for admin_acting_again (``acting``: admins_acting_above, when the caller
    read it). One query for an organisation with an admin acting at each organisation above
    it (or none above it; none with ``acting``), four at most."""
    if not suspended.ancestor_ids:
        return []
    acting = admins_acting_above(suspended) if acting is None else acting
    missing = [pk for pk in suspended.ancestor_ids if pk not in acting]
    if not missing:
        return []
    member_here = Membership.objects.filter(organisation=suspended, user_id=OuterRef("user_id"), is_active=True)
    organisations = {membership.organisation_id: membership.organisation for membership in Membership.objects.filter(
        not_ended_q(), Exists(member_here), organisation_id__in=missing, organisation__status=OrganisationStatus.ACTIVE,
        role=MembershipRole.ADMIN, is_active=True,
    ).select_related("organisation")}
    if not organisations:
        return []
    found = [organisations[pk] for pk in sorted(organisations)]
    acting_for = who_acts_for(found)
    return [LeftWithoutAdmin(organisation, [], acting_for[organisation.pk]) for organisation in found]


def admin_acting_again(reactivated: Organisation, before: list[LeftWithoutAdmin], *,
                       after: dict[int, tuple[Organisation, list[str]]] | None = None) -> list[LeftWithoutAdmin]:
    """Of ``before`` (without_acting_admin_above, read before ``reactivated`` was made
    active again), those that have an admin who acts for them now that it is, each with
    the addresses of those admins (``holders``) and whoever acted for it meanwhile
    (``acting``, as read before). Asked in the caller's transaction once the status is
    written (``after``: admins_acting_above read then by the caller). One query; none for
    none, or with ``after``."""
    if not before:
        return []
    after = admins_acting_above(reactivated) if after is None else after
    return [entry._replace(holders=after[entry.organisation.pk][1]) for entry in before if entry.organisation.pk in after]


def who_acts_for(organisations: list[Organisation], *, its_own: bool = False, as_if: StatusAsIf | None = None,
                 leaving: Collection[tuple[int, int]] = frozenset()
                 ) -> dict[int, list[tuple[AnyUser, Organisation | None]]]:
    """For each of ``organisations`` (by id), who acts for it when it has no admin of its
    own: the admins of the active organisations above it who may act (admins_who_act, their
    role in force; a suspended one's admins act for nothing below it: portal.permissions),
    each once, with the nearest organisation above it they administer; or, with none above,
    every superadmin (with None). ``its_own``: its own admins count too (when it is active),
    with it as theirs: everyone who acts for it (an office is placed under it, say).
    ``as_if``: as it will be once a change of one organisation's status (StatusAsIf) is made,
    asked before; ``leaving``: as it will be once the admin roles of these (organisation id,
    user id) pairs end (a move's, asked before it ends them). Two queries at most."""
    def line(organisation: Organisation) -> list[int]:
        return [*organisation.ancestor_ids, *([organisation.pk] if its_own else [])]

    above_ids = {pk for organisation in organisations for pk in line(organisation)}
    above = sorted(admins_who_act(Membership.objects.filter(
        not_ended_q(), active_q("organisation__", as_if), organisation_id__in=above_ids,
        role=MembershipRole.ADMIN, is_active=True,
    ), as_if=as_if).select_related("user", "organisation"),
        key=lambda m: (-len(m.organisation.ancestry), m.pk)) if above_ids else []
    above = [membership for membership in above if (membership.organisation_id, membership.user_id) not in leaving]
    superadmin_list: list[AnyUser] | None = None
    found = {}
    for organisation in organisations:
        nearest: dict[int, tuple[AnyUser, Organisation | None]] = {}
        for membership in above:
            if membership.organisation_id in line(organisation):
                nearest.setdefault(membership.user_id, (membership.user, membership.organisation))
        if not nearest:
            if superadmin_list is None:
                superadmin_list = list(superadmins().order_by("pk"))
            nearest = {user.pk: (user, None) for user in superadmin_list}
        found[organisation.pk] = list(nearest.values())
    return found


def official_powers_of(user: AnyUser) -> list[str]:
    """The roles ``user`` holds in force that need an official primary address (those
    official_powers_end ends), named as the person reads them: each platform role with
    where it holds ("State administrator (Maharashtra)"; the superuser flag is a superadmin
    role), the staff flag (access to the Django admin), then each organisation they
    administer. Two queries."""
    return [str(name) for name in official_powers_named(user)]


def official_powers_named(user: AnyUser) -> list[Promise]:
    """official_powers_of's names, each said in the language active when it is read (lazy):
    a page shows them in its language, and its digest (portal.shown) takes them in one that
    does not change with the person's choice. Two queries."""
    now = timezone.now()
    grants = list(PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user.pk).order_by("role", "jurisdiction"))
    names = [format_lazy("{} ({})", PlatformRole(grant.role).label, _JURISDICTIONS.get(grant.jurisdiction, grant.jurisdiction))
             if grant.jurisdiction else PlatformRole(grant.role).label for grant in grants]
    if user.is_superuser and not any(grant.role == PlatformRole.SUPERADMIN for grant in grants):
        names.append(PlatformRole.SUPERADMIN.label)
    if user.is_staff:
        names.append(STAFF_ACCESS)
    organisations = (Membership.objects.filter(not_ended_q(now=now), user_id=user.pk, role=MembershipRole.ADMIN,
                                               is_active=True)
                     .order_by("organisation__name").values_list("organisation__name", flat=True))
    names += [format_lazy("{} ({})", MembershipRole.ADMIN.label, single_line(name)) for name in organisations]
    return names


def primary_change_ends_powers(user: AnyUser, new_primary: str, *, old: str | None = None) -> bool:
    """Whether ``new_primary`` taking the place of ``old`` (None: the primary address they
    have) as the primary address of ``user`` ends the official powers it earned: it cannot
    hold them, and ``old`` could (``ends_official_powers``), or, whatever the rules say of
    ``old`` now, the user holds such a role in force: granted while its domain was official,
    which a superadmin may have taken off the official list since, it still rests on an
    official address of theirs and ends when a personal one takes its place. No query for
    an address that can hold them, nor for a person holding no role."""
    old = user.email if old is None else old
    if ends_official_powers(old, new_primary):
        return True
    return not classify_email(new_primary).eligible_as_officer and holds_official_powers(user)


@dataclass(frozen=True)
class AddressChangeEnds:
    """What a new primary address ends besides the roles it ends itself (roles_ended_by),
    as every other address leaves the account with it (ACCOUNT_CHANGE_EMAIL): ``lapsing``,
    the admin roles in force resting on a verification at an address that leaves (as
    admin_roles_resting_on has them), and ``suspended``, the names of the organisations whose
    verification of the person, resting on such an address, is suspended, when no such role
    rests on it (said with the roles otherwise: it ends with them)."""

    lapsing: list[Membership] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)


def address_change_ends(user: AnyUser, new_primary: str) -> AddressChangeEnds:
    """What ``new_primary`` ends (AddressChangeEnds) when it becomes the primary address of
    ``user`` by being confirmed: the verifications at the addresses that leave asked of the
    feature apps once (verifications_at_addresses). No lapsing role for an address that
    cannot hold them (roles_ended_by names every role then), nor the first admin roles the
    new address ends itself."""
    if not user.is_authenticated or not new_primary:
        return AddressChangeEnds()
    organisations = _verifying_at_leaving(user, new_primary)
    if not organisations:
        return AddressChangeEnds()
    lapsing = []
    if not primary_change_ends_powers(user, new_primary):
        left = {role.pk for role in first_admin_roles_left_by(user, new_primary)}
        lapsing = [role for role in admin_roles_resting_on([(pk, user.pk) for pk in sorted(organisations)])
                   if role.pk not in left and not ended(role.ends_at)]
    return AddressChangeEnds(lapsing=lapsing, suspended=[] if lapsing else _named(organisations))


def verifications_suspended_by(user: AnyUser) -> list[str]:
    """The organisations (named) in which ``user`` has a verification resting on a confirmed
    address of theirs, suspended if that address leaves the account (a new primary address
    takes the place of every other): what the email page says before an address is typed."""
    return _named(_verifying_at_leaving(user, None)) if user.is_authenticated else []


def _named(organisations: set[int]) -> list[str]:
    """The names of ``organisations`` (ids), as the person reads them, by name."""
    return [single_line(name) for name in Organisation.objects.filter(pk__in=organisations).order_by("name")
            .values_list("name", flat=True)] if organisations else []


def _verifying_at_leaving(user: AnyUser, new_primary: str | None) -> set[int]:
    """The organisations (ids) in which ``user`` has a verification resting on a confirmed
    address of theirs other than ``new_primary`` (None: on any), which leaves the account
    when that one becomes their primary address: the feature apps say which
    (verifications_at_addresses). One query, and those of the receivers, for an account
    with a confirmed address to leave."""
    leaving = {address.lower() for address in EmailAddress.objects.filter(user_id=user.pk, verified=True)
               .values_list("email", flat=True)} - {(new_primary or "").strip().lower()}
    organisations: set[int] = set()
    for _receiver, answer in (verifications_at_addresses.send(sender=None, user_id=user.pk, addresses=leaving)
                              if leaving else []):
        organisations |= set(answer or ())
    return organisations


def admin_roles_named(roles: Iterable[Membership]) -> list[str]:
    """Admin roles (with their organisation), named as official_powers_of names them."""
    return [f"{MembershipRole.ADMIN.label} ({single_line(role.organisation.name)})" for role in roles]


def roles_ended_by(user: AnyUser, new_primary: str) -> list[str]:
    """The roles (official_powers_of) that ``new_primary`` ends when it becomes the primary
    address of ``user`` in place of the one they have: every one when it cannot hold them;
    when it can, the first admin roles of the organisations it is no address of
    (first_admin_roles_left_by), named as official_powers_of names them."""
    if not user.is_authenticated or not new_primary:
        return []
    if primary_change_ends_powers(user, new_primary):
        return official_powers_of(user)
    return admin_roles_named(first_admin_roles_left_by(user, new_primary))
