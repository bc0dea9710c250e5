"""Whose figures a viewer monitors, from the one permission module: a superadmin
(or a platform role of every jurisdiction) everything; a state administrator or
auditor their jurisdictions; an organisation admin their organisations and the
offices below them. Every monitoring read starts from a ``Scope``."""

from dataclasses import dataclass

from django.db import connections
from django.db.models import CharField, F, Lookup, Q, QuerySet
from django.db.models.functions import Cast
from django.db.models.lookups import IContains, IExact, StartsWith

from onboarding.models import Application, ApprovalStep
from portal import permissions
from portal.organisations.models import Organisation, in_jurisdictions_q, subtree_top
from portal.permissions import AnyUser
from verification.models import GovernmentProfile

# What shapes a compiled query of a scope (Scope.shape).
ScopeShape = tuple[tuple[str, ...], int] | None


@dataclass(frozen=True)
class Scope:
    everything: bool
    jurisdictions: frozenset[str]
    # The organisations the viewer administers and the offices below them (a lazy
    # queryset of the permission module: a prefix match on their ancestry, which the
    # index answers, no query of its own), or None.
    administered: QuerySet[Organisation] | None
    # The same organisations administered as the subtree prefixes they are read with
    # ("/3/17/": 17 and every office below it), for the queries built once per process
    # (``shape`` and ``values``).
    subtrees: tuple[str, ...] = ()
    # Whether the viewer reads drafts too (a superadmin: permissions.visible), their events
    # included; everyone else reads submitted applications only (APPLICATION_SCOPE.official).
    reads_drafts: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.jurisdictions and self.administered is None

    def organisations(self) -> QuerySet[Organisation]:
        if self.everything:
            return Organisation.objects.all()
        query = Q(pk__in=[])
        if self.jurisdictions:
            query |= in_jurisdictions_q(self.jurisdictions)
        organisations = Organisation.objects.filter(query)
        if self.administered is not None:
            organisations |= self.administered  # one WHERE: either condition
        return organisations

    def applications(self) -> QuerySet[Application]:
        if self.everything:
            return Application.objects.all()
        query = Q(pk__in=[])
        if self.jurisdictions:
            query |= Q(jurisdiction__in=self.jurisdictions)
        if self.administered is not None:
            query |= Q(organisation_id__in=self.administered.values("pk"))
        return Application.objects.filter(query)

    def steps(self) -> QuerySet[ApprovalStep]:
        if self.everything:
            return ApprovalStep.objects.all()
        return ApprovalStep.objects.filter(application_id__in=self.applications().values("pk"))

    def profiles(self) -> QuerySet[GovernmentProfile]:
        if self.everything:
            return GovernmentProfile.objects.all()
        return GovernmentProfile.objects.filter(organisation_id__in=self.organisations().values("pk"))


    # A query built once per process (portal.compiled) of this scope: its ``shape`` is the
    # query's constants, its ``values`` the values in the markers' places.

    @property
    def shape(self) -> ScopeShape:
        """What shapes a compiled query of the scope: None for everything, else its sorted
        jurisdictions and how many subtrees it administers (not which: an organisation
        admin's query is built once per number of subtrees, not once per admin)."""
        if self.everything:
            return None
        if self.is_empty or (self.administered is not None and not self.subtrees):
            raise ValueError("a compiled query of a scope that sees nothing, or without its subtrees")
        return tuple(sorted(self.jurisdictions)), len(self.subtrees) if self.administered is not None else 0

    def values(self) -> dict[str, int | str]:
        """Each administered subtree as its top's id (``top0``..) and the ``LIKE`` pattern of
        the offices below it (``below0``..), as the ORM writes ``ancestry__startswith``."""
        if self.everything or self.administered is None:
            return {}
        ops = connections[Organisation.objects.db].ops
        found: dict[str, int | str] = {}
        for index, (prefix, top) in enumerate(zip(self.subtrees, self.tops, strict=True)):
            found[f"top{index}"] = top
            found[f"below{index}"] = f"{ops.prep_for_like_query(prefix)}%"
        return found

    @property
    def tops(self) -> list[int]:
        """The ids of the organisations administered (the top of each subtree: "/3/17/" is 17)."""
        return [subtree_top(prefix) for prefix in self.subtrees]

    @property
    def tops_and_above(self) -> set[int]:
        """The ids of the organisations administered and of the offices above them, read
        off their subtree prefixes ("/3/17/": 3 and 17)."""
        return {int(part) for prefix in self.subtrees for part in prefix.strip("/").split("/")}


class _Prepared:
    """A lookup whose right-hand side is given as the ORM prepares it (escaped, with the
    ``%`` of a ``LIKE`` where it needs one), passed through unchanged: the same SQL and
    parameter, so that a compiled query can put a marker in the parameter's place."""

    def process_rhs(self, compiler, connection):
        return Lookup.process_rhs(self, compiler, connection)


class PreparedStartsWith(_Prepared, StartsWith):
    """``startswith``, its pattern given ready (the prefix escaped, ``%`` after it)."""


class PreparedIContains(_Prepared, IContains):
    """``icontains``, its pattern given ready (escaped, ``%`` around it)."""


class PreparedIExact(_Prepared, IExact):
    """``iexact``, its value given as the ORM prepares it (escaped where the database compares with ``LIKE``)."""


def organisations_q(shape: ScopeShape, values: dict) -> Q:
    """The condition of a compiled query of organisations for a scope of ``shape`` (not
    everything: see ``Scope.shape``; never empty), the markers in ``values``: as
    ``Scope.organisations`` writes it."""
    jurisdictions, subtrees = shape
    query = Q()
    if jurisdictions:
        query |= in_jurisdictions_q(jurisdictions)
    for index in range(subtrees):
        query |= Q(pk=values[f"top{index}"]) | Q(PreparedStartsWith(F("ancestry"), values[f"below{index}"]))
    return query


def applications_q(shape: ScopeShape, values: dict) -> Q:
    """The condition of a compiled query of applications, as ``Scope.applications`` writes it."""
    jurisdictions, subtrees = shape
    query = Q()
    if jurisdictions:
        query |= Q(jurisdiction__in=jurisdictions)
    if subtrees:
        below = Organisation.objects.filter(organisations_q(((), subtrees), values)).values("pk")
        query |= Q(organisation_id__in=below)
    return query


def _administered_or_none(viewer: AnyUser) -> tuple[QuerySet[Organisation] | None, tuple[str, ...]]:
    """The organisations the viewer administers (read with the platform roles: no query),
    or None, and their subtree prefixes (the ones ``administered_organisations`` filters by)."""
    if not permissions.administers_some_organisation(viewer):
        return None, ()
    return permissions.administered_organisations(viewer), tuple(permissions.administered_subtrees(viewer))


def dashboard_scope(viewer: AnyUser) -> Scope:
    """The dashboard's scope: platform roles' jurisdictions and administered organisations."""
    jurisdictions = permissions.watched_jurisdictions(viewer)
    if jurisdictions is None:
        return Scope(everything=True, jurisdictions=frozenset(), administered=None)
    administered, subtrees = _administered_or_none(viewer)
    return Scope(everything=False, jurisdictions=frozenset(jurisdictions), administered=administered, subtrees=subtrees)


def audit_scope(viewer: AnyUser) -> Scope:
    """The audit log viewer's scope: superadmins and auditors of everything all of it
    (a draft's events, as the draft, a superadmin's only: ``reads_drafts``);
    an auditor of some jurisdictions theirs; an organisation admin their organisations
    (a state administrator's role gives no access to the log)."""
    if permissions.is_superadmin(viewer):
        return Scope(everything=True, jurisdictions=frozenset(), administered=None, reads_drafts=True)
    audited = {j for role, j in permissions.platform_roles_of(viewer) if role == "auditor"}
    if permissions.EVERYWHERE in audited:
        return Scope(everything=True, jurisdictions=frozenset(), administered=None)
    administered, subtrees = _administered_or_none(viewer)
    return Scope(everything=False, jurisdictions=frozenset(audited), administered=administered, subtrees=subtrees)


def tracker_jurisdictions(viewer: AnyUser) -> set[str] | None:
    """Jurisdictions whose expected offices the viewer sees (None: all): platform roles only."""
    return permissions.watched_jurisdictions(viewer)


def tracker_editable_jurisdictions(viewer: AnyUser) -> set[str] | None:
    """Jurisdictions whose list the viewer edits (None: all): superadmins and state
    administrators, those who decide its state steps (an auditor reads only, even one who
    is also a state administrator)."""
    return permissions.decided_jurisdictions(viewer)


def ids_as_text(queryset: QuerySet) -> QuerySet:
    """The primary keys of ``queryset`` as text, to compare with audit rows' target ids."""
    return queryset.annotate(pk_text=Cast("pk", CharField())).values("pk_text")
