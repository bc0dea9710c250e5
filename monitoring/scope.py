"""Whose figures a viewer monitors, from the one permission module: a superadmin
(or a platform role of every jurisdiction) everything; a state administrator or
auditor their jurisdictions; an organisation admin their organisations and the
offices below them. Every monitoring read starts from a ``Scope``."""

from dataclasses import dataclass

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from onboarding.models import Application, ApprovalStep
from portal import permissions
from portal.organisations.models import Organisation
from portal.organisations.states import CENTRAL
from portal.permissions import AnyUser
from verification.models import GovernmentProfile


@dataclass(frozen=True)
class Scope:
    everything: bool
    jurisdictions: frozenset[str]
    # The organisations the viewer administers and the offices below them (a lazy
    # queryset of the permission module: a prefix match on their ancestry, which the
    # index answers, no query of its own), or None.
    administered: QuerySet[Organisation] | None

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.jurisdictions and self.administered is None

    def organisations(self) -> QuerySet[Organisation]:
        if self.everything:
            return Organisation.objects.all()
        query = Q(pk__in=[])
        if self.jurisdictions:
            query |= Q(state__in=self.jurisdictions - {CENTRAL})
            if CENTRAL in self.jurisdictions:
                query |= Q(level="central")
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


def _administered_or_none(viewer: AnyUser) -> QuerySet[Organisation] | None:
    """The organisations the viewer administers (read with the platform roles: no query), or None."""
    if not permissions.administers_some_organisation(viewer):
        return None
    return permissions.administered_organisations(viewer)


def dashboard_scope(viewer: AnyUser) -> Scope:
    """The dashboard's scope: platform roles' jurisdictions and administered organisations."""
    jurisdictions = permissions.watched_jurisdictions(viewer)
    if jurisdictions is None:
        return Scope(everything=True, jurisdictions=frozenset(), administered=None)
    return Scope(everything=False, jurisdictions=frozenset(jurisdictions), administered=_administered_or_none(viewer))


def audit_scope(viewer: AnyUser) -> Scope:
    """The audit log viewer's scope: superadmins and auditors of everything all of it;
    an auditor of some jurisdictions theirs; an organisation admin their organisations
    (a state administrator's role gives no access to the log)."""
    if permissions.is_superadmin(viewer):
        return Scope(everything=True, jurisdictions=frozenset(), administered=None)
    audited = {j for role, j in permissions.platform_roles_of(viewer) if role == "auditor"}
    if permissions.EVERYWHERE in audited:
        return Scope(everything=True, jurisdictions=frozenset(), administered=None)
    return Scope(everything=False, jurisdictions=frozenset(audited), administered=_administered_or_none(viewer))


def tracker_jurisdictions(viewer: AnyUser) -> set[str] | None:
    """Jurisdictions whose expected offices the viewer sees (None: all): platform roles only."""
    return permissions.watched_jurisdictions(viewer)


def tracker_editable_jurisdictions(viewer: AnyUser) -> set[str] | None:
    """Jurisdictions whose list the viewer edits (None: all): superadmins and state
    administrators (an auditor reads only)."""
    return permissions.decided_jurisdictions(viewer)


def ids_as_text(queryset: QuerySet) -> QuerySet:
    """The primary keys of ``queryset`` as text, to compare with audit rows' target ids."""
    return queryset.annotate(pk_text=Cast("pk", CharField())).values("pk_text")
