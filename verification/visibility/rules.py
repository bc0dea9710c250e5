"""The one place that decides what a viewer sees of a person (DESIGN §5).

Every page, export, PDF and API answer that shows a government user goes through
``visible_profiles`` (a list) or ``visible_profile`` (one person): both annotate the
profiles, in the query that fetches them, with the viewer's *level* for each row and
each field's *audience*, and a field is shown when its audience reaches the level.
The verification API, whose one query per call also reads the audiences' columns
(``FETCHED``), has the same decision made on those values by ``visible_fetched``; that
query finds a person by an address or a number only where ``found_by`` lets it.

Levels (the narrowest audience a viewer still belongs to, for one person):

- the person themself: everything, whatever the audiences (``SELF``);
- an administrator of the person's organisation (or of one above it), a superadmin:
  fields for ``admins`` and wider (only of an active organisation, by a role granted on
  an active one: one suspended vouches for nobody, its administrators included, also of
  the active offices below it; and only while the role rests on a
  fact in force: a role granted to a verified member ends with the verification, its
  lapse at superannuation counting at once);
- a verified member of the same organisation: ``organisation`` and wider;
- any other verified government user (a verified profile in force anywhere, or an
  administrator of some active organisation whose role still rests on a fact in force:
  ``_vouching_roles``): ``verified`` and wider;
- a signed-in public user, and someone not signed in: ``public`` only.

A field's audience is the narrower of its organisation's policy (the defaults when it
has none) and the person's own choice (none: the organisation's). Searching combines
each field's match with its audience condition in the same query, so a search by a
field the viewer may not see finds nothing through that field.
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, StringAgg, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Greatest, Least, Lower
from django.db.models.lookups import Regex
from django.utils import timezone

from portal.accounts.models import User
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationStatus,
    StatusAsIf,
    active_q,
    not_ended_q,
    subtree_top,
)
from portal.permissions import (
    AnyUser,
    admin_role_subtrees,
    administered_organisations,
    auditor_reads_only,
    directly_administered_ids,
    inactive_administered_ids,
    is_superadmin,
    may_administer,
)
from portal.phone_numbers import WHOLE_MOBILE
from portal.text import as_searched
from verification.models import HELD_STATUSES, GovernmentProfile, VerificationStatus, verified_in_force
from verification.visibility.models import DEFAULT_AUDIENCES, Audience, PersonalVisibility, ProfileField, column_of

SELF = -1  # below every audience, NOBODY (0) included
ADMIN, MEMBER, VERIFIED, EVERYONE = Audience.ADMINS, Audience.ORGANISATION, Audience.VERIFIED, Audience.PUBLIC

FIELDS = tuple(ProfileField)
# Where each field's value is read (and searched), of the held profiles these rules list,
# find and sort (``listed``, ``found_by``, the administrators' lists of members). The
# name is the one the organisation vouched for (GovernmentProfile.verified_name), not the
# account's, which the person changes themselves and nobody vouched for; a waiting
# request shows the account's (``_value``: what the administrators decide on).
SOURCES = {
    ProfileField.NAME: "verified_name",
    ProfileField.DESIGNATION: "designation",
    ProfileField.ORGANISATION: "organisation__name",
    ProfileField.OFFICE: "office",
    ProfileField.OFFICIAL_EMAIL: "official_email",
    ProfileField.MOBILE: "mobile",
    ProfileField.EMPLOYEE_CODE: "employee_code",
}
SEARCH_MIN, SEARCH_MAX = 3, 100
CANDIDATES_PER_FIELD = 2000


@dataclass(frozen=True)
class Viewer:
    """Who is looking, read once per request (one query): enough to compute their
    level for any person in SQL."""

    user: AnyUser
    superadmin: bool = False
    client: bool = False  # a client of the verification API: sees what any verified government user sees
    # The active organisations the viewer was made admin of by a role that still vouches
    # (``_vouching_roles``), their ids: they administer them and the active offices below.
    vouching_tops: tuple[int, ...] = ()
    verified_organisation_id: int | None = None  # where they hold a verified profile
    # An auditor who is no superadmin (portal.permissions.auditor_reads_only): their admin
    # roles make them a verified government user, not their organisations' administrator
    # viewer (an auditor decides nothing, and its members pages are not theirs either).
    reads_only: bool = False

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user.is_authenticated else None

    @property
    def administers(self) -> bool:
        """An administrator of an active organisation, by a role that still vouches."""
        return bool(self.vouching_tops)

    @property
    def verified(self) -> bool:
        """A verified government user: verified somewhere, an administrator, or a superadmin."""
        return self.superadmin or self.client or self.administers or self.verified_organisation_id is not None


# A client of the verification API (an eGov application, no person): it sees of a person
# what any verified government user sees, and nothing an organisation keeps to itself.
API_CLIENT = Viewer(user=AnonymousUser(), client=True)


def _lapsed_verifications(user_id: int, today) -> QuerySet[GovernmentProfile]:
    """The person's verification past its date of superannuation that the hourly job has
    not yet ended (it then ends the admin roles resting on it: verification.lifecycle)."""
    return GovernmentProfile.objects.filter(user_id=user_id, status=VerificationStatus.VERIFIED,
                                            superannuation_date__lt=today)


def _vouching_roles(user: AnyUser, today) -> QuerySet[Membership]:
    """The user's admin roles (memberships) that still vouch: of the active organisations
    they administer by the platform roles (``admin_role_subtrees``), each resting on a
    fact in force. Its first admin's (not granted: the nodal officer's) rests on the
    approved application, unless they were verified there since and that verification
    has lapsed (ending it ends the role). A role granted rests on the person's membership
    of it or of an office below it (organisation_admin_grant, admin_roles_resting_on): a
    verification in force there (of an active organisation, not past superannuation), or
    a first admin's role below that still vouches. Suspended and revoked verifications
    end the roles at once; a lapse only when the hourly job runs, and this reads the date
    (as verified_in_force does). Each role is asked about by reference to its own row
    (its organisation, and the ``subtree`` prefix of the offices below it), so that the
    query is the same size however many roles it asks about."""
    lapsed_there = _lapsed_verifications(user.pk, today).filter(organisation_id=OuterRef("organisation_id"))
    verified_below = GovernmentProfile.objects.filter(
        verified_in_force(today),
        Q(organisation_id=OuterRef("organisation_id")) | Q(organisation__ancestry__startswith=OuterRef("subtree")),
        user_id=user.pk)
    first_admin_below = Membership.objects.filter(
        not_ended_q(), user_id=user.pk, role=MembershipRole.ADMIN, is_active=True, granted_at__isnull=True,
        organisation__ancestry__startswith=OuterRef("subtree"), organisation__status=OrganisationStatus.ACTIVE,
    ).exclude(Exists(lapsed_there))
    grounds = (Q(granted_at__isnull=True) & ~Q(Exists(lapsed_there))) | (
        Q(granted_at__isnull=False) & (Q(Exists(verified_below)) | Q(Exists(first_admin_below))))
    subtree = Concat("organisation__ancestry", Cast("organisation_id", CharField()), Value("/"),
                     output_field=CharField())
    return Membership.objects.filter(
        user_id=user.pk, organisation_id__in=sorted({subtree_top(prefix) for prefix in admin_role_subtrees(user)}),
        role=MembershipRole.ADMIN, is_active=True, organisation__status=OrganisationStatus.ACTIVE,
    ).annotate(subtree=subtree).filter(grounds)


def role_lapsed(*, user_id, top, prefix, now, today, as_if: StatusAsIf | None = None) -> Q:
    """Whether the user's admin role of organisation ``top`` (its offices: ``prefix``)
    ends with a verification of theirs past its date of superannuation, before the
    hourly job ends it (it then ends the roles ``admin_roles_resting_on`` names): the
    role of the organisation where that verification is (a first admin's too), and a
    role granted above it that nothing else below rests on any more (no other
    membership in force below: not the one ending, nor a role granted above it). A role
    granted above an office that is suspended, resting on the verification there, counts
    for nothing the same way while the office is (nothing ends: it counts again once the
    office is active).
    ``top`` and ``prefix`` are references to the row asked about (the guardian row of
    the role, or a membership, ``portal.permissions.admin_role_lapse_register``, where the
    verification app registers this), ``user_id`` the person's id or a reference to it
    there, ``now`` the moment asked about, ``today`` an expression of its day, ``as_if``
    one organisation's status as a change would make it (asked before it is made): no
    query of its own."""
    lapsed = _lapsed_verifications(user_id, today)
    # Below the role's organisation, a verification of an organisation not active (suspended)
    # is no ground either while it is not: it vouches for nobody (verified_in_force).
    gone = GovernmentProfile.objects.filter(user_id=user_id, status=VerificationStatus.VERIFIED).filter(
        Q(superannuation_date__lt=today) | ~active_q("organisation__", as_if))
    gone_below_it = gone.filter(organisation__ancestry__contains=Concat(
        Value("/"), Cast(OuterRef("organisation_id"), CharField()), Value("/")))
    other_ground = Membership.objects.filter(
        Q(role=MembershipRole.MEMBER) | not_ended_q(now=now), active_q("organisation__", as_if), user_id=user_id,
        is_active=True, organisation__ancestry__startswith=prefix,
    ).exclude(organisation_id__in=gone.values("organisation_id")).exclude(
        Q(role=MembershipRole.ADMIN, granted_at__isnull=False) & Q(Exists(gone_below_it)))
    granted_here = Membership.objects.filter(user_id=user_id, organisation_id=top, role=MembershipRole.ADMIN,
                                             is_active=True, granted_at__isnull=False)
    return Q(Exists(lapsed.filter(organisation_id=top))) | (
        Q(Exists(granted_here)) & Q(Exists(gone.filter(organisation__ancestry__startswith=prefix)))
        & ~Q(Exists(other_ground)))


def administered_in_force(user: AnyUser) -> QuerySet[Organisation]:
    """The organisations the user administers by right, active or not (every one for a
    superadmin): those of ``portal.permissions.administered_organisations`` (made admin
    of an active organisation, and every office below it), and an organisation not active
    they were made admin of, itself only (its admins still suspend and revoke its
    verifications; they act for nothing below it), but for a role that ends with a
    verification past its date of superannuation (``role_lapsed``, which every question
    of ``portal.permissions`` leaves out from the next request, before the hourly job
    ends it). The one rule of the administrators' pages and decisions
    (verification.selectors.organisations_administered_by, administers) and of their
    sight there (``level_expression(by_right=True)``). A lazy queryset: no query of its
    own until evaluated, and a flat one: the organisations administered are read with
    the platform roles (a prefix match each, and the ids of those not active), so a query
    asking about them nests no subquery of theirs (SQLite's parser has a depth limit,
    which the name shown on the role pages, ``name_shown``, went past)."""
    administered = administered_organisations(user)
    if not (user.is_authenticated and user.is_active) or is_superadmin(user):
        return administered
    return administered | Organisation.objects.filter(pk__in=inactive_administered_ids(user))


def administers_in_force(user: AnyUser, organisation: Organisation) -> bool:
    """Whether ``user`` administers ``organisation`` as ``administered_in_force`` says,
    asked of the admin roles as they are now (as ``may_administer`` asks, one query, none
    for a superadmin; no right for an account that is not active), the organisation's own
    admin role counting while it is not active."""
    if organisation.status == OrganisationStatus.ACTIVE or not (user.is_authenticated and user.is_active):
        return may_administer(user, organisation)
    if is_superadmin(user):
        return True
    reached = Q(content_object_id=organisation.pk) | Q(content_object_id__in=organisation.ancestor_ids,
                                                       content_object__status=OrganisationStatus.ACTIVE)
    return directly_administered_ids(user, inactive_too=True).filter(reached).exists()


def _in_subtrees(tops: Iterable[int]) -> Q:
    """Profiles whose organisation is one of ``tops`` or an office below one, tested on
    the row's own organisation: its subtree prefix ("/3/17/" for 17 under 3) holds one of
    their ids between slashes. One pattern of the ids, a few characters each, wherever
    the condition is written (the level is written again at each place a field's
    visibility is tested); no subquery. Nothing for no tops."""
    tops = sorted(set(tops))
    if not tops:
        return Q(pk__in=[])
    subtree = Concat("organisation__ancestry", Cast("organisation_id", CharField()), Value("/"),
                     output_field=CharField())
    return Q(Regex(subtree, f"/({'|'.join(str(top) for top in tops)})/"))


def viewer_of(user: AnyUser) -> Viewer:
    """The viewer, cached on the request's user object (one query, none when signed out):
    where they are verified, and the organisations whose admin roles of theirs still vouch
    (``_vouching_roles``, once per request: what they see as an administrator is then
    decided on each row by those organisations' ids, ``level_expression``)."""
    if not user.is_authenticated:
        return Viewer(user=user)
    cached = getattr(user, "_visibility_viewer", None)
    if cached is None:
        if is_superadmin(user):
            cached = Viewer(user=user, superadmin=True)
        else:
            today = timezone.localdate()
            verified = GovernmentProfile.objects.filter(verified_in_force(today), user_id=OuterRef("pk"))
            vouching = (_vouching_roles(user, today).values("user_id")
                        .annotate(tops=StringAgg(Cast("organisation_id", CharField()), Value(",")))
                        .values("tops"))
            row = (
                User.objects.filter(pk=user.pk)
                .annotate(verified_in=Subquery(verified.values("organisation_id")[:1]),
                          vouching=Subquery(vouching) if admin_role_subtrees(user) else Value(None, CharField()))
                .values("verified_in", "vouching").first()
            ) or {"verified_in": None, "vouching": None}
            tops = tuple(sorted({int(top) for top in (row["vouching"] or "").split(",") if top}))
            cached = Viewer(user=user, vouching_tops=tops, verified_organisation_id=row["verified_in"],
                            reads_only=auditor_reads_only(user))
        user._visibility_viewer = cached
    return cached


def level_expression(viewer: Viewer, *, by_right: bool = False):
    """The viewer's level for each profile row, as an SQL expression. ``by_right``: on the
    pages an administrator reaches by their right over an organisation
    (``administered_in_force``), they see its people as administrators whether or not it
    is active (a suspended organisation vouches for nobody: elsewhere only active ones
    count). An auditor (``reads_only``) sees nobody as their administrator."""
    if viewer.user_id is None:
        return Value(VERIFIED if viewer.client else EVERYONE)
    whens = [When(user_id=viewer.user_id, then=Value(SELF))]
    if viewer.superadmin:
        return Case(*whens, default=Value(ADMIN))
    if viewer.reads_only:  # an auditor: no administrator's sight (Viewer.reads_only)
        pass
    elif by_right:
        whens.append(When(organisation_id__in=administered_in_force(viewer.user).values("pk"), then=Value(ADMIN)))
    elif viewer.administers:
        # The active organisations administered through a role that still vouches: a
        # suspended organisation (or one not yet approved) vouches for nobody, its
        # administrators included (also of the active offices below it), and neither does a
        # role whose verification has ended or lapsed, or whose organisation below, where
        # the person was verified, is suspended.
        vouched = _in_subtrees(viewer.vouching_tops) & Q(organisation__status=OrganisationStatus.ACTIVE)
        whens.append(When(vouched, then=Value(ADMIN)))
    if viewer.verified_organisation_id is not None:
        whens.append(When(organisation_id=viewer.verified_organisation_id, then=Value(MEMBER)))
    return Case(*whens, default=Value(VERIFIED if viewer.verified else EVERYONE))


def audience_expression(name: str):
    """A field's audience for each profile row: the narrower of the organisation's
    policy (its default when there is none) and the person's own choice."""
    column = column_of(name)
    policy = Coalesce(F(f"organisation__visibility_policy__{column}"), Value(int(DEFAULT_AUDIENCES[name])))
    own = Coalesce(F(f"user__personal_visibility__{column}"), Value(EVERYONE))
    return Least(policy, own)


def _annotated(viewer: Viewer, queryset: QuerySet[GovernmentProfile], *,
               by_right: bool = False) -> QuerySet[GovernmentProfile]:
    return queryset.annotate(
        vis_level=level_expression(viewer, by_right=by_right),
        **{f"vis_{name}": audience_expression(name) for name in FIELDS},
    )


def _shown(name: str) -> Q:
    return Q(**{f"vis_{name}__gte": F("vis_level")})


def field_shown(name: str) -> Q:
    """Where the viewer sees field ``name`` of the rows (annotated by ``listed`` or
    ``annotated_for``), as ``view_of`` shows it."""
    return _shown(name)


def name_narrowed_by_person() -> QuerySet[PersonalVisibility]:
    """The accounts whose person keeps their name from some audience (a choice narrower
    than everyone): the only people whose name a viewer may not see while seeing the names
    of the others of their organisation who did not (a level and an organisation's policy
    are the same for all of these). Few; read whole (no index of the choice)."""
    return PersonalVisibility.objects.filter(name__lt=EVERYONE).values("user_id")


def found_by(viewer: Viewer, name: str, queryset: QuerySet[GovernmentProfile]) -> QuerySet[GovernmentProfile]:
    """``queryset``, a lookup by the value of field ``name`` (the verification API's, by
    an official address or a mobile number), kept to the profiles whose ``name`` the
    viewer may see, in the query that finds them: a lookup by a field the viewer may
    not see finds nothing, as a search (``search_q``) by it does not."""
    return queryset.annotate(vis_level=level_expression(viewer), **{f"vis_{name}": audience_expression(name)}
                             ).filter(_shown(name))


def listed(viewer: Viewer, queryset: QuerySet[GovernmentProfile] | None = None) -> QuerySet[GovernmentProfile]:
    """The profiles the viewer may find, annotated for ``visible_profiles``: verified
    ones (suspended ones too for their administrators and the person), of which at
    least one field is visible to the viewer."""
    queryset = GovernmentProfile.objects.all() if queryset is None else queryset
    queryset = _annotated(viewer, queryset).annotate(vis_widest=Greatest(*(F(f"vis_{name}") for name in FIELDS)))
    return queryset.filter(
        verified_in_force(timezone.localdate()) | Q(status=VerificationStatus.SUSPENDED, vis_level__lte=ADMIN),
        vis_widest__gte=F("vis_level"),
    )


def normalise_search(query: str) -> str:
    """The words searched: their spaces as one, composed as every name is stored, without
    the invisible format characters pasted with them (portal.text.as_searched: a nukta typed
    either way finds the other, a zero-width space finds nobody no more), at most SEARCH_MAX."""
    return " ".join(as_searched(query or "").split())[:SEARCH_MAX]


# Combining marks that pg_trgm (the C library's alphanumerics, in the database's locale) does
# not take as part of a word: diacritics, accents and tone marks added to a letter, and the
# signs that join or change letters (virama, nukta), by their Unicode names. The marks a script
# writes its letters with (vowel signs, anusvara, candrabindu, visarga, length marks) it does.
_MARKS_NO_WORD_PART = ("COMBINING", "VIRAMA", "NUKTA", "AL-LAKUNA", "ACCENT", "STRESS", "TONE", "POINT",
                       "SANDHI", "OVERLINE", "VARIATION SELECTOR")


def _word_character(char: str) -> bool:
    """Whether pg_trgm takes ``char`` as a word character: a letter, a decimal digit, a
    letter number (Ⅻ), or a mark that is part of a letter (a Devanagari vowel sign). Not
    other numbers (superscripts, fractions), nor accents alone."""
    category = unicodedata.category(char)
    if category[0] == "L" or category in ("Nd", "Nl"):
        return True
    return category in ("Mn", "Mc") and not any(part in unicodedata.name(char, "") for part in _MARKS_NO_WORD_PART)


def has_searchable_word(query: str) -> bool:
    """Whether ``query`` holds SEARCH_MIN word characters in a row as pg_trgm counts them
    (_word_character: letters, digits, and the vowel signs of Devanagari): what the trigram
    indexes of search_candidates can look up. A search of punctuation ("%%%", "..."), of
    superscripts or accents alone ("²³¹"), or of short words only ("a.b", "x y") gives them
    nothing to use, and every row of every column would be read."""
    run = 0
    for char in normalise_search(query):
        run = run + 1 if _word_character(char) else 0
        if run >= SEARCH_MIN:
            return True
    return False




def mobile_searched(query: str) -> str:
    """``query`` (normalise_search's) as mobile numbers are matched: without its spaces and
    hyphens, and a whole mobile number in the form numbers are stored in (+91 and its ten
    digits), however it was written ("098123 45670", "0091 98123 45670"). Part of a number
    stays as typed, to be found within the numbers stored."""
    digits = query.replace(" ", "").replace("-", "")
    whole = WHOLE_MOBILE.fullmatch(digits)  # as the forms read it (portal.phone_numbers)
    return f"+91{whole[1]}" if whole else digits


def search_q(query: str, fields: tuple[str, ...] = FIELDS) -> Q:
    """Profiles whose visible ``fields`` match ``query`` (a substring, any case): each
    field's match only counts where the field is visible to the viewer (on a queryset
    from ``listed`` or ``annotated_for``). A mobile number is also matched without its
    spaces, and a whole number however it was written (``mobile_searched``)."""
    query = normalise_search(query)
    condition = Q(pk__in=[])
    for name in fields:
        match = Q(**{f"{SOURCES[name]}__icontains": query})
        if name == ProfileField.MOBILE:
            digits = mobile_searched(query)
            if digits and digits != query:
                match |= Q(mobile__icontains=digits)
        condition |= match & _shown(name)
    return condition


def search_candidates(query: str) -> QuerySet[GovernmentProfile]:
    """Ids of the profiles that may be listed (verified or suspended: ``listed`` lists no
    other) matching ``query`` in any field, visible or not, for ``search_q`` to filter by
    visibility: one indexed scan per field (the trigram indexes of those profiles), so
    that the audience conditions are evaluated on these rows only. Never shown as such.

    Where the database allows it (PostgreSQL), each field's scan stops after
    CANDIDATES_PER_FIELD matches: a search matching more people than that in one field
    (a designation shared by tens of thousands) shows people from among those, and
    costs the same as one matching that many; the help text asks for more words. The
    requests never listed (waiting for a decision, rejected, revoked, cancelled: tens of
    thousands of them in a state) are not among the matches, so that they never take the
    places of the people who are."""
    query = normalise_search(query)
    digits = mobile_searched(query)
    listable = GovernmentProfile.objects.filter(status__in=HELD_STATUSES)
    scans = [
        listable.filter(**{f"{SOURCES[name]}__icontains": query}).values("pk")
        for name in (ProfileField.DESIGNATION, ProfileField.OFFICE, ProfileField.OFFICIAL_EMAIL,
                     ProfileField.EMPLOYEE_CODE)
    ]
    scans.append(listable.filter(mobile__icontains=digits or query).values("pk"))
    scans.append(listable.filter(verified_name__icontains=query).values("pk"))
    scans.append(listable.filter(
        organisation_id__in=Organisation.objects.filter(name__icontains=query).values("pk")).values("pk"))
    if connection.features.supports_slicing_ordering_in_compound:
        scans = [scan[:CANDIDATES_PER_FIELD] for scan in scans]
    first, *others = scans
    return first.union(*others, all=True)


def sort_name():
    """Sort by the name where it is visible, whatever its case ("ANIL KUMAR" from a roster
    in capitals among "Abhay Singh" and "anand rao", not before them: the database's
    collation may compare by code point, capitals first, as C does, Debian's default);
    people whose name is hidden come after, in the order they asked (their name's place
    in the alphabet is not told). No index gives this order: the page is the first rows
    of the candidates (``search_candidates``) sorted by it."""
    return Case(When(_shown(ProfileField.NAME), then=Lower(F(SOURCES[ProfileField.NAME]))), default=Value(None))


# Values -------------------------------------------------------------------------------------

@dataclass
class PersonView:
    """What a viewer sees of one person: each field's value, or None when hidden."""

    pk: int
    status: str
    status_label: str
    is_self: bool
    values: dict = field(default_factory=dict)

    def __getattr__(self, name):
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def shown(self) -> list[tuple[str, str, object]]:
        """(field, label, value) of the visible fields, in the fields' order."""
        return [(name, name.label, self.values[name]) for name in FIELDS if self.values.get(name) is not None]


def _value(profile: GovernmentProfile, name: str):
    if name == ProfileField.NAME:
        # A held profile: the name its organisation vouched for. Any other (a waiting
        # request, an ended one): the account's, which nothing verified presents as vouched for.
        return (profile.verified_name if profile.is_held else profile.user.full_name) or ""
    if name == ProfileField.ORGANISATION:
        return profile.organisation.name
    return getattr(profile, name)


def view_of(profile: GovernmentProfile) -> PersonView:
    """Mask one annotated profile (from ``listed``/``visible_profiles``)."""
    level = profile.vis_level
    values = {
        name: (_value(profile, name) if getattr(profile, f"vis_{name}") >= level else None) for name in FIELDS
    }
    return PersonView(pk=profile.pk, status=profile.status, status_label=profile.get_status_display(),
                      is_self=level == SELF, values=values)


def annotated_for(user: AnyUser, queryset: QuerySet[GovernmentProfile]) -> QuerySet[GovernmentProfile]:
    """``queryset`` annotated for ``view_of`` as ``user`` sees each person, in the query
    that fetches it, not filtered: for the pages that reach people by another right (an
    organisation's administrators' pages), which still show each detail only as these
    rules decide (an administrator sees its people as administrators, the organisation
    active or not). The rows must come with their user and organisation (select_related)."""
    return _annotated(viewer_of(user), queryset, by_right=True)


def name_shown(user: AnyUser, person: str) -> Q:
    """Where ``user`` may see the name of the person whose account is at lookup ``person``
    of the rows queried ("" when the rows are accounts): a condition for the core's pages
    that show people (portal.organisations.names, the role pages), in the query that
    lists them. Decided as on the administrators' pages (``annotated_for``), by the
    person's held profile (verified or suspended: one at most). A person with none (a
    nodal officer never verified, a holder of a platform role) is in no organisation:
    their own choice is then the name's only audience (none: everyone), a viewer's
    level is what it is without an organisation (a superadmin's, a verified government
    user's, or the public's), and the person themself sees it."""
    viewer = viewer_of(user)
    account = f"{person}_id" if person else "pk"
    held = GovernmentProfile.objects.filter(user_id=OuterRef(account), status__in=HELD_STATUSES)
    seen = held.annotate(vis_level=level_expression(viewer, by_right=True),
                         **{f"vis_{ProfileField.NAME}": audience_expression(ProfileField.NAME)})
    level = ADMIN if viewer.superadmin else VERIFIED if viewer.verified else EVERYONE
    narrowed = PersonalVisibility.objects.filter(user_id=OuterRef(account), name__lt=level)
    condition = Q(Exists(seen.filter(_shown(ProfileField.NAME)))) | (~Q(Exists(held)) & ~Q(Exists(narrowed)))
    if viewer.user_id is not None:
        condition |= Q(**{account: viewer.user_id})
    return condition


def request_view_of(profile: GovernmentProfile) -> PersonView:
    """Every detail of a waiting request (no query), for the administrators deciding on
    it: what the person gave them to decide on. Not a view of a verified person, which
    ``view_of`` gives."""
    return PersonView(pk=profile.pk, status=profile.status, status_label=profile.get_status_display(),
                      is_self=False, values={name: _value(profile, name) for name in FIELDS})


def visible_profiles(user: AnyUser | Viewer, queryset: QuerySet[GovernmentProfile] | None = None
                     ) -> QuerySet[GovernmentProfile]:
    """The profiles of ``queryset`` (all by default) that the viewer (a user, or a
    Viewer such as API_CLIENT) may find, with everything needed to mask them in the
    same query: map ``view_of`` over the rows."""
    viewer = user if isinstance(user, Viewer) else viewer_of(user)
    return listed(viewer, queryset).select_related("user", "organisation")


# One person, fetched with the audiences' columns (for a viewer who is no person) -------------

# What to fetch of a profile (``.values(*FETCHED)``, lookups from GovernmentProfile) for
# ``visible_fetched`` to decide on, in the query that finds it: each field's value, and
# the columns its audience comes from (a left join each: a row may be absent).
POLICY_OF = {name: f"organisation__visibility_policy__{column_of(name)}" for name in FIELDS}
OWN_OF = {name: f"user__personal_visibility__{column_of(name)}" for name in FIELDS}
FETCHED = ("pk", "status", *SOURCES.values(), *POLICY_OF.values(), *OWN_OF.values())


def audience_of(name: str, policy: int | None, own: int | None) -> int:
    """A field's audience from the columns ``audience_expression`` reads: the narrower
    of the organisation's policy (its default when it has none: None) and the person's
    own choice (None: the organisation's)."""
    return min(int(DEFAULT_AUDIENCES[name]) if policy is None else policy, EVERYONE if own is None else own)


def visible_fetched(viewer: Viewer, row: dict) -> PersonView | None:
    """What a viewer who is no person (API_CLIENT, someone signed out) sees of one
    profile whose ``FETCHED`` columns the caller's own query read (``row``: lookup to
    value), or None when they may not find them at all. No query. The same decision as
    ``visible_profile``, made on fetched values instead of in SQL: the constant level of
    ``level_expression``, ``audience_expression`` as ``audience_of``, and ``listed``'s
    conditions (tests/verification/visibility/test_rules.py checks they agree)."""
    if viewer.user_id is not None:
        raise ValueError("visible_fetched is for a viewer who is no person: use visible_profile")
    level = VERIFIED if viewer.client else EVERYONE
    audiences = {name: audience_of(name, row[POLICY_OF[name]], row[OWN_OF[name]]) for name in FIELDS}
    if row["status"] != VerificationStatus.VERIFIED or max(audiences.values()) < level:
        return None  # listed(): a suspended profile only for its admins and the person; some field visible
    values = {name: (row[SOURCES[name]] if audiences[name] >= level else None) for name in FIELDS}
    return PersonView(pk=row["pk"], status=row["status"], status_label=VerificationStatus(row["status"]).label,
                      is_self=False, values=values)


def visible_profile(user: AnyUser | Viewer, profile: GovernmentProfile | int) -> PersonView | None:
    """What ``user`` (or a Viewer) sees of one person (a profile or its id), or None
    when they may not find them at all. One query (and the viewer's, once per request)."""
    pk = profile.pk if isinstance(profile, GovernmentProfile) else profile
    found = visible_profiles(user, GovernmentProfile.objects.filter(pk=pk)).first()
    return view_of(found) if found is not None else None
