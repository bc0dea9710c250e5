"""The audit log as its viewers may read it: superadmins and auditors of everything
all of it; an auditor of a state the events about that state's organisations,
submitted applications, government profiles, roster imports, invitations, verification API
clients and expected offices, the exports of its figures and the changes of its
platform roles; an organisation admin those about their organisations
(and the offices below them), their exports included; each the moves of organisations out
of their scope. One query a page. Who acted
is said by the labels of the stored role codes, in the page's language."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from django.apps import apps
from django.db import connections
from django.db.models import Q, QuerySet, TextChoices
from django.db.models.fields.json import KT
from django.db.models.lookups import In
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from monitoring.models import ExpectedOffice
from monitoring.scope import Scope, ids_as_text
from monitoring.selectors import api_client_model, roster_model
from onboarding.application.selectors import APPLICATION_SCOPE
from onboarding.models import Application
from portal.accounts.models import SuffixKind
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import ORGANISATION_ADMIN
from portal.ids import DB_INT_MAX
from portal.organisations.models import Organisation, PlatformRole
from portal.organisations.role_report import jurisdiction_label
from portal.organisations.states import JURISDICTION_CHOICES
from portal.privacy.models import HoldTarget, RetentionKind
from verification.models import GovernmentProfile

# What acted, as the apps store it in actor_role (stable values) besides a person's
# platform roles: the system and its jobs, and those who act without an account.
ACTOR_LABELS = {
    "system": _("System"),
    "system:retention": _("System: data retention"),
    "system:breach_report": _("System: breach report"),
    "system:automatic_verification": _("System: automatic verification"),
    "system:transfer": _("System: verified in another organisation"),
    "system:superannuation": _("System: date of superannuation passed"),
    "system:reconfirmation": _("System: regular confirmation of the official address"),
    "system:address_removed": _("System: official address removed from the account"),
    "system:domain_removed": _("System: the organisation's email domain removed"),
    "system:roster_import": _("System: roster import"),
    "system:migration": _("System: upgrade of the portal's database"),
    "system:manage.py api_client_create": _("System: registration of an API client"),
    "system:manage.py createsuperuser": _("System: superuser created from the command line"),
    "system:manage.py changepassword": _("System: password set from the command line"),
    "django_superuser": _("Site superuser (Django)"),
    ORGANISATION_ADMIN: _("Organisation admin"),
    "user": _("Signed-in user without a platform role"),
    "competent_authority": _("Competent authority"),
    "official_address": _("The person, by the link sent to their official address"),
}


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    organisation: Organisation | None = None
    since: date | None = None
    until: date | None = None


APPLICATION = Application._meta.label_lower


def _about(organisations: QuerySet, applications: QuerySet, expected: QuerySet | None) -> dict[str, Q]:
    """Events whose target is one of these organisations, their applications, government
    profiles, roster imports, invitations or verification API clients (or expected
    offices): one condition per kind of target, by its type, each answered by the index of
    the events' targets (type, id)."""
    about = {
        "organisations.organisation": Q(target_type="organisations.organisation",
                                        target_id__in=ids_as_text(organisations)),
        APPLICATION: Q(target_type=APPLICATION, target_id__in=ids_as_text(applications)),
        "verification.governmentprofile": Q(
            target_type="verification.governmentprofile",
            target_id__in=ids_as_text(GovernmentProfile.objects.filter(organisation_id__in=organisations.values("pk")))),
    }
    if expected is not None:
        about["monitoring.expectedoffice"] = Q(target_type="monitoring.expectedoffice",
                                               target_id__in=ids_as_text(expected))
    return about | _about_rosters(organisations) | _about_api_clients(organisations)


def _about_rosters(organisations: QuerySet) -> dict[str, Q]:
    """Events whose target is a roster import of these organisations (uploaded, applied,
    failed, its invitations sent) or one of their invitations (sent again, accepted),
    when the roster app is installed."""
    rosters = roster_model()
    if rosters is None:
        return {}
    invitations = apps.get_model("rosters", "Invitation")
    of_them = {"organisation_id__in": organisations.values("pk")}
    return {model._meta.label_lower: Q(target_type=model._meta.label_lower,
                                       target_id__in=ids_as_text(model.objects.filter(**of_them)))
            for model in (rosters, invitations)}


def _about_api_clients(organisations: QuerySet) -> dict[str, Q]:
    """Events whose target is a verification API client of these organisations
    (registered, revoked), when the API app is installed."""
    clients = api_client_model()
    if clients is None:
        return {}
    return {clients._meta.label_lower: Q(
        target_type=clients._meta.label_lower,
        target_id__in=ids_as_text(clients.objects.filter(organisation_id__in=organisations.values("pk"))))}


# The fields the log's table does not show, left unread.
UNSHOWN = ("old_values", "new_values", "prev_hash")


@dataclass(frozen=True)
class BranchedEvents:
    """The events meeting any of ``branches`` (conditions, each answered by its own index:
    the targets' type and id, the action), newest first, as the log's pages slice and count
    them. The branches joined by OR in one WHERE are answered by no index (every event of
    the platform read to test them); ``id IN (SELECT id … WHERE b1 UNION ALL …)`` is, but
    PostgreSQL builds that list whole, for the count and again for the page: every event
    of a busy organisation read twice a page. So a slice ``[start:stop]`` reads each branch
    down to its ``stop`` newest events only (the newest ``stop`` of all are among them),
    and is counted from at most ``stop`` events of each branch (when one branch has that
    many, all of them together have). An event of two branches is listed and counted once.
    """

    branches: tuple[Q, ...]
    ordered = True  # (newest first, as the paginator asks)

    def __getitem__(self, bounds: slice) -> "EventsSlice":
        start, stop, _step = bounds.indices(DB_INT_MAX)
        return EventsSlice(self.branches, start, max(start, stop))


@dataclass(frozen=True)
class EventsSlice:
    """``BranchedEvents[start:stop]``: iterated, its events (one query); counted, how many
    (another)."""

    branches: tuple[Q, ...]
    start: int
    stop: int

    def _ids(self, *, newest: bool) -> QuerySet:
        """The ids of each branch's first ``stop`` events (its newest, or any), as one
        query: their union, each listed once. (A slice is a part of the union as it is
        where the database allows it, PostgreSQL; else, and alone, read in a subquery.)"""
        parts = []
        for branch in self.branches:
            part = AuditEvent.objects.filter(branch).values("id")
            part = (part.order_by("-id") if newest else part.order_by())[:self.stop]
            if len(self.branches) == 1 or not connections[part.db].features.supports_slicing_ordering_in_compound:
                part = AuditEvent.objects.filter(id__in=part).values("id").order_by()
            parts.append(part)
        return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]

    def count(self) -> int:
        if self.stop == self.start:
            return 0
        return max(0, min(self._ids(newest=False).count(), self.stop) - self.start)

    def __iter__(self) -> Iterator[AuditEvent]:
        if self.stop == self.start:
            return iter(())
        ids = self._ids(newest=True).order_by("-id")[self.start:self.stop]
        return iter(AuditEvent.objects.filter(id__in=ids).defer(*UNSHOWN).order_by("-id"))


def actor_role_label(code: str, organisations: object = None) -> str:
    """An event's actor_role as the log shows it: each role it names (portal.audit's
    snapshot joins a person's roles with commas: "superadmin", "state_admin:MH") or the
    system actor, by its label in the current language; a code it does not know, as it
    is. Each code is labelled once per process and language. The organisation admin's
    role names the organisations the event's ``organisations`` snapshot holds (its
    actor_organisations: each as it was named then, and its number), as a platform role
    names its jurisdiction; an event written before they were named, none."""
    said = _labelled(get_language(), code or "")
    named = "; ".join(f"{entry.get('name', '')}, #{entry.get('id', '')}"
                      for entry in (organisations if isinstance(organisations, list) else [])
                      if isinstance(entry, dict))
    if not named:
        return said
    return ", ".join(f"{_label_of(part)} ({named})" if part == ORGANISATION_ADMIN else _label_of(part)
                     for part in code.split(","))


@lru_cache(maxsize=1024)
def _labelled(language: str | None, code: str) -> str:
    return ", ".join(_label_of(part) for part in code.split(",")) if code else ""


def _label_of(code: str) -> str:
    if code in ACTOR_LABELS:
        return str(ACTOR_LABELS[code])
    role, _colon, jurisdiction = code.partition(":")
    if role not in PlatformRole.values or (jurisdiction and jurisdiction not in dict(JURISDICTION_CHOICES)):
        return code
    if role == PlatformRole.SUPERADMIN and not jurisdiction:
        return str(PlatformRole(role).label)
    return f"{PlatformRole(role).label} ({jurisdiction_label(jurisdiction)})"


class KindLabel:
    """The label of a snapshot that names a kind from ``choices`` (its model's ``__str__``
    says ``get_..._display()``, which the audit log stores in English): the kind said in the
    page's language, put back with the snapshot's other parts as ``form`` has it (a number,
    an email rule's suffix: as stored). None for a kind that is no choice's English label (a
    snapshot stored in another language before snapshots were English: shown as stored)."""

    def __init__(self, choices: type[TextChoices], form: str) -> None:
        self.choices, self.form = choices, form

    def __call__(self, parts: dict[str, str]) -> str | None:
        value = _english_labels(self.choices).get(parts["kind"])
        if value is None:
            return None
        return self.form.format(**{**parts, "kind": self.choices(value).label})


@lru_cache(maxsize=8)
def _english_labels(choices: type[TextChoices]) -> dict[str, str]:
    """{English label: stored value} of ``choices`` (a few TextChoices: TARGET_LABELS's)."""
    with translation.override("en"):
        return {str(label): value for value, label in choices.choices}


# The generic names the models give their rows in the audit snapshot (target_repr, their
# English __str__, kept as written), by target type: the stored form (its pattern, whole)
# and the label a page shows in its own language from the numbers (or the kind) in it. A
# snapshot that holds a name or an address (an organisation, a person, a domain, a
# reference) is shown as stored, and so is one that does not read as its type's generic form.
TARGET_LABELS = {
    "verification.governmentprofile": (r"Government profile #(?P<id>\d+)", _("Government profile #%(id)s")),
    "onboarding.application": (r"Draft #(?P<id>\d+)", _("Draft #%(id)s")),
    "rosters.rosterimport": (r"Roster import #(?P<id>\d+)", _("Roster import #%(id)s")),
    "rosters.rosterrow": (r"Roster row (?P<roster>\d+):(?P<line>\d+)", _("Roster import #%(roster)s, line %(line)s")),
    "rosters.invitation": (r"Invitation #(?P<id>\d+)", _("Invitation #%(id)s")),
    "api.apiclient": (r"API client #(?P<id>\d+) \((?P<prefix>[^()]*)…\)", _("API client #%(id)s (%(prefix)s…)")),
    "mail.outboxmessage": (r"Outbox message #(?P<id>\d+)", _("Outbox message #%(id)s")),
    "mail.unknownmailbox": (r"Unknown mailbox #(?P<id>\d+)", _("Unknown mailbox #%(id)s")),
    "verification.addressconfirmation": (r"Address confirmation #(?P<id>\d+)", _("Address confirmation #%(id)s")),
    "visibility.visibilitypolicy": (r"Visibility policy of organisation #(?P<id>\d+)",
                                    _("Visibility policy of organisation #%(id)s")),
    "visibility.personalvisibility": (r"Visibility choices of user #(?P<id>\d+)", _("Visibility choices of user #%(id)s")),
    "privacy.privacyrequest": (r"PrivacyRequest object \((?P<id>\d+)\)", _("Privacy request #%(id)s")),
    "privacy.retentionrun": (r"RetentionRun object \((?P<id>\d+)\)", _("Data retention run #%(id)s")),
    "privacy.legalhold": (r"(?P<kind>.+) (?P<id>\d+)", KindLabel(HoldTarget, "{kind} {id}")),
    "privacy.retentionpolicy": (r"(?P<kind>.+)", KindLabel(RetentionKind, "{kind}")),
    "onboarding.approvaltimings": (r"Approval timings", _("Approval timings")),
    "accounts.emailsuffixrule": (r"(?P<suffix>\S+) \((?P<kind>.+)\)", KindLabel(SuffixKind, "{suffix} ({kind})")),
}
_TARGET_PATTERNS = {kind: re.compile(pattern) for kind, (pattern, _label) in TARGET_LABELS.items()}


def target_label(target_type: str, target_repr: str) -> str:
    """What an event is about, as the log shows it: a generic snapshot ("Government profile
    #6", "Onboarding application 12") in the page's language, any other as stored."""
    pattern = _TARGET_PATTERNS.get(target_type)
    found = pattern.fullmatch(target_repr) if pattern is not None else None
    if found is None:
        return target_repr
    label = TARGET_LABELS[target_type][1]
    if isinstance(label, KindLabel):
        said = label(found.groupdict())
        return target_repr if said is None else said
    return str(label) % found.groupdict()


# The kinds of events a scope reads by their action, not their target (with the targets'
# types, the keys of its branches).
EXPORTS, LISTS, MOVES_OUT, PLATFORM_ROLES = "exports", "lists", "moves out", "platform roles"


def _about_lists(jurisdictions: frozenset[str]) -> Q:
    """Changes of the expected offices' lists of these jurisdictions whose values name
    the jurisdiction: an office added or removed (with its fields), a list uploaded (the
    upload's own event has no target), an office moved from or to one of these lists.
    They stay in the scope once the office is gone (its other events follow it out)."""
    codes = sorted(jurisdictions)
    return Q(action=AuditAction.ADOPTION_LIST_CHANGED) & (
        Q(new_values__added__jurisdiction__in=codes) | Q(old_values__removed__jurisdiction__in=codes)
        | Q(new_values__uploaded__in=codes)
        | Q(old_values__jurisdiction__in=codes) | Q(new_values__jurisdiction__in=codes)
    )


def _about_moves_out(jurisdictions: frozenset[str], organisations: QuerySet) -> Q:
    """The moves of organisations out of these jurisdictions, or from under one of these
    ``organisations``: the record of who moved it, why and which admin roles ended stays in
    the log of the scope it left (the organisation's other events follow it out, as an
    expected office's do when it leaves a list)."""
    # (An organisation of the centre keeps its state, none, when it moves: move_clean.)
    left = Q(old_values__state__in=sorted(jurisdictions)) if jurisdictions else Q(pk__in=[])
    return Q(action=AuditAction.ORGANISATION_MOVED) & (
        left | Q(In(KT("old_values__parent_id"), ids_as_text(organisations))))


# A platform role's changes target its holder; their values name the role's jurisdiction
# (a change of a grant's end, its new values only).
PLATFORM_ROLE_CHANGES = (AuditAction.PLATFORM_ROLE_GRANTED, AuditAction.PLATFORM_ROLE_REVOKED,
                         AuditAction.PLATFORM_ROLE_EXPIRED)


def _about_roles(jurisdictions: frozenset[str]) -> Q:
    """The grants, changes of end, revocations and expiries of the platform roles of
    these jurisdictions. A role of everywhere (jurisdiction "") is in none of them: the
    whole platform's viewers read it."""
    codes = sorted(jurisdictions)
    return Q(action__in=PLATFORM_ROLE_CHANGES) & (
        Q(new_values__jurisdiction__in=codes) | Q(old_values__jurisdiction__in=codes))


def _about_exports(jurisdictions: frozenset[str], organisation_ids: list[int]) -> dict[str, Q]:
    """The exports of figures that read these jurisdictions or organisations (or the
    offices below them), by the keys their events keep of the scope they read
    (monitoring.services.exported_scope). A download of the whole platform, unfiltered,
    is in none of them."""
    query = Q(pk__in=[])
    if jurisdictions:
        query |= Q(new_values__scope__jurisdictions__has_any_keys=sorted(jurisdictions))
    if organisation_ids:
        query |= Q(new_values__scope__organisations__has_any_keys=[str(pk) for pk in organisation_ids])
    return {EXPORTS: Q(action=AuditAction.MONITORING_EXPORTED) & query} if jurisdictions or organisation_ids else {}


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _narrowed(filters: AuditFilters, before: int | None, upto: int | None) -> Q:
    """The condition of the filters, and of the events ``before`` and ``upto`` when given."""
    narrowed = Q()
    if filters.actor:
        narrowed &= Q(actor_email__icontains=filters.actor)
    if filters.action:
        narrowed &= Q(action=filters.action)
    if filters.since:
        narrowed &= Q(created_at__gte=_start_of(filters.since))
    if filters.until:
        narrowed &= Q(created_at__lt=_start_of(filters.until + timedelta(days=1)))
    if before is not None:
        narrowed &= Q(pk__lt=before)
    if upto is not None:
        narrowed &= Q(pk__lte=upto)
    return narrowed


def audit_events(scope: Scope, filters: AuditFilters, *, before: int | None = None,
                 upto: int | None = None) -> QuerySet[AuditEvent] | BranchedEvents:
    """The events the scope covers, filtered (and older than the event ``before``, and up to
    the event ``upto``, when given), newest first. Of the scope's applications, the submitted ones only (all of
    them for a superadmin, ``Scope.reads_drafts``; not for an auditor of everything), as their
    pages draw the line (``APPLICATION_SCOPE.official``): a draft is its nodal officer's
    alone, its events included, until it is submitted; then its whole history is read with
    it, the drafting included.

    The events of the whole platform are a queryset; those of a scope or of an
    organisation, the branches of what they are about (``BranchedEvents``), each narrowed
    by the filters. An organisation chosen within a scope (among its organisations) has
    its events there about itself, its profiles, rosters, invitations and API clients, all
    of them the scope's; and about those of its applications and exports that the scope
    reads. (No other event of the scope is the organisation's: the scope's other kinds of
    event, the changes of a list or of a platform role, are about an office, a person or
    nothing.)"""
    narrowed = _narrowed(filters, before, upto)
    branches = None
    applications = Application.objects.all() if scope.reads_drafts else Application.objects.filter(
        APPLICATION_SCOPE.official)
    if not scope.everything:
        expected = ExpectedOffice.objects.filter(jurisdiction__in=scope.jurisdictions) if scope.jurisdictions else None
        applications = scope.applications().filter(APPLICATION_SCOPE.official)
        branches = (_about(scope.organisations(), applications, expected) | _about_exports(scope.jurisdictions, scope.tops)
                    | {MOVES_OUT: _about_moves_out(scope.jurisdictions, scope.organisations())})
        if scope.jurisdictions:
            branches |= {LISTS: _about_lists(scope.jurisdictions), PLATFORM_ROLES: _about_roles(scope.jurisdictions)}
    if filters.organisation is not None:
        pk = filters.organisation.pk
        exports = _about_exports(frozenset(), [pk])
        if branches is not None:
            exports = {EXPORTS: exports[EXPORTS] & branches[EXPORTS]} if EXPORTS in branches else {}
        branches = (_about(Organisation.objects.filter(pk=pk), applications.filter(organisation_id=pk), None)
                    | exports)
    if branches is None:
        events = AuditEvent.objects.filter(narrowed)
        if not scope.reads_drafts:  # an auditor of everything: every event but those of the drafts
            events = events.exclude(target_type=APPLICATION, target_id__in=ids_as_text(
                Application.objects.exclude(APPLICATION_SCOPE.official)))
        return events.defer(*UNSHOWN).order_by("-id")
    return BranchedEvents(tuple(about & narrowed for about in branches.values()))
