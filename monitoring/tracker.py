"""The adoption tracker's reads: the expected offices of the viewer's jurisdictions,
overdue ones first, each matched to organisations and applications by its short code
(in its jurisdiction; a code an organisation had before its details changed, while no
organisation has it now) or its official domain, in a constant number of queries for a
page, however long the list."""

import re
from dataclasses import dataclass
from datetime import date

from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Upper
from django.utils.translation import gettext_lazy as _

from monitoring.models import ExpectedOffice
from onboarding.application.validators import split_domain_list
from onboarding.models import Application, ApplicationStatus, ApprovalStep, Stage
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import Level, Organisation, OrganisationDomain, OrganisationStatus, central_q
from portal.organisations.states import CENTRAL, JURISDICTION_CHOICES

IN_APPROVAL = {ApplicationStatus.WITH_AUTHORITY, ApplicationStatus.WITH_STATE, ApplicationStatus.CHANGES_REQUESTED,
               ApplicationStatus.UNDER_APPEAL, ApplicationStatus.REJECTED}


class TrackerStatus(models.TextChoices):
    ACTIVE = "active", _("Active on Sandes")
    SUSPENDED = "suspended", _("Suspended on Sandes")
    IN_APPROVAL = "in_approval", _("In approval")
    DRAFT = "draft", _("Application being filled")
    NOT_STARTED = "not_started", _("Not started")


def expected_offices_in(jurisdictions: set[str] | None) -> QuerySet[ExpectedOffice]:
    offices = ExpectedOffice.objects.all()
    if jurisdictions is not None:
        offices = offices.filter(jurisdiction__in=jurisdictions)
    return offices


def removed_office_jurisdiction(pk, jurisdictions: set[str] | None) -> str | None:
    """The jurisdiction of the office ``pk`` when it was taken off a list of
    ``jurisdictions`` (None: any), read from the audit row of its removal; None when no
    such office was (it never existed, or was another jurisdiction's: not told)."""
    try:
        target_id = str(int(pk))
    except (TypeError, ValueError):
        return None
    removals = AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED, target_id=target_id,
                                         target_type=ExpectedOffice._meta.label_lower, old_values__has_key="removed")
    jurisdiction = removals.annotate(of=KT("old_values__removed__jurisdiction")).values_list("of", flat=True).first()
    if jurisdiction is None or (jurisdictions is not None and jurisdiction not in jurisdictions):
        return None
    return jurisdiction


def _former_code_events(*, of_outer: bool = True) -> QuerySet[AuditEvent]:
    """The audit rows of organisations' details changed, each with the short code it had
    before (``former``, in capitals, as the lists keep theirs): what an office listed under
    a code changed since is matched by. ``of_outer``: those of the organisation
    ``OuterRef("pk")`` (by the index of their targets)."""
    events = AuditEvent.objects.filter(
        action=AuditAction.ORGANISATION_DETAILS_CHANGED, target_type=Organisation._meta.label_lower)
    if of_outer:
        events = events.filter(target_id=Cast(OuterRef("pk"), CharField()))
    return events.annotate(former=Upper(KT("old_values__short_code")))


# An organisation that joined Sandes: active, or suspended since (a reminder to join would not help it).
JOINED = (OrganisationStatus.ACTIVE, OrganisationStatus.SUSPENDED)


def joined_match(statuses: tuple[str, ...] = JOINED) -> ExpressionWrapper:
    """An organisation of the office's jurisdiction, of one of ``statuses`` (those that joined
    Sandes: active or suspended), with its domain (the one that holds it verified, when one
    does) or its short code: what match_offices shows as "Active" or "Suspended", so that an
    office shown otherwise past its date is flagged and listed as overdue, and one that joined
    is not reminded to."""
    held = OrganisationDomain.objects.filter(domain=OuterRef("official_domain")).exclude(domain="").filter(
        Q(is_verified=True) | ~Exists(OrganisationDomain.objects.filter(domain=OuterRef("domain"), is_verified=True)))
    by_domain = held.filter(organisation__status__in=statuses)
    code = Organisation.objects.annotate(code=Upper("short_code")).filter(
        code=OuterRef("short_code"), status__in=statuses).exclude(short_code="")
    # An organisation that had the code (its details changed since), while no organisation has it now.
    held = Organisation.objects.annotate(code=Upper("short_code")).filter(code=OuterRef("short_code"))
    had = Organisation.objects.filter(status__in=statuses).filter(
        Exists(_former_code_events().filter(former=OuterRef(OuterRef("short_code")))))

    def code_or_had(where: Q) -> Q:
        return Q(Exists(code.filter(where))) | (~Q(short_code="") & ~Q(Exists(held)) & Q(Exists(had.filter(where))))

    of_a_state = Q(state=OuterRef("jurisdiction")) & ~Q(level=Level.CENTRAL)
    return ExpressionWrapper(
        Q(Exists(by_domain.filter(Q(organisation__state=OuterRef("jurisdiction"))
                                  & ~Q(organisation__level=Level.CENTRAL))))
        | code_or_had(of_a_state)
        | (Q(jurisdiction=CENTRAL) & (code_or_had(central_q())
                                      | Q(Exists(by_domain.filter(central_q("organisation__")))))),
        output_field=BooleanField())


def tracker_rows(jurisdictions: set[str] | None, *, today: date, jurisdiction: str = "") -> QuerySet[ExpectedOffice]:
    """Expected offices, overdue first (target date passed and not joined: not active nor
    suspended), then by date and name."""
    offices = expected_offices_in(jurisdictions)
    if jurisdiction:
        offices = offices.filter(jurisdiction=jurisdiction)
    return offices.annotate(joined=joined_match()).annotate(
        overdue=Case(When(Q(target_date__lt=today, joined=False), then=Value(True)), default=Value(False),
                     output_field=BooleanField()),
    ).order_by("-overdue", "target_date", "name", "id")


@dataclass
class Match:
    status: TrackerStatus
    organisation: Organisation | None = None
    application: Application | None = None
    step: ApprovalStep | None = None
    holder: str = ""

    @property
    def stage_label(self) -> str:
        if self.step is not None:
            return self.step.get_stage_display()
        if self.application is not None:
            return self.application.get_status_display()
        return ""


def _holder(application: Application, step: ApprovalStep | None) -> str:
    if application.status == ApplicationStatus.CHANGES_REQUESTED:
        return str(_("The nodal officer (returned for correction)"))
    if application.status == ApplicationStatus.REJECTED:
        return str(_("The nodal officer (may appeal the rejection)"))
    if step is None:
        return ""
    if step.stage == Stage.AUTHORITY:
        return f"{step.assignee_name} <{step.assignee_email}>".strip()
    if step.stage == Stage.STATE:
        return str(_("The administrators of %(jurisdiction)s") % {
            "jurisdiction": dict(JURISDICTION_CHOICES).get(step.jurisdiction, step.jurisdiction)})
    return str(_("The superadmins"))


def match_offices(offices: list[ExpectedOffice]) -> dict[int, Match]:
    """What each office of a page stands at (four queries for the page): an active
    organisation, else a suspended one, else an application in approval (with its stage and
    who holds it), else a draft, else nothing."""
    codes = {office.short_code for office in offices if office.short_code}
    domains = {office.official_domain for office in offices if office.official_domain}
    organisations: list[Organisation] = []
    by_domain: dict[str, list[Organisation]] = {}
    if codes or domains:
        # With each, every one of the page's codes it had before its details changed (``formers``,
        # a line each: a short code holds none), as joined_match reads them: any of them.
        formers = (_former_code_events().filter(former__in=codes).order_by().values("target_id")
                   .annotate(codes=StringAgg("former", Value("\n"))).values("codes"))
        had = (_former_code_events(of_outer=False).filter(former__in=codes)
               .annotate(organisation_id=Cast("target_id", IntegerField())).values("organisation_id"))
        organisations = list(Organisation.objects.annotate(code=Upper("short_code"), formers=Subquery(formers))
                             .filter(Q(code__in=codes) | Q(pk__in=had))
                             .only("id", "name", "short_code", "state", "level", "status"))
        for organisation in organisations:
            organisation.former_codes = set((organisation.formers or "").split("\n")) - {""}
        # A domain's holder is the organisation that has it verified; while none does, each
        # that claims it (as joined_match reads them).
        verified: set[str] = set()
        for row in OrganisationDomain.objects.filter(domain__in=domains).select_related("organisation") \
                .order_by("-is_verified", "id"):
            if row.is_verified:
                verified.add(row.domain)
            elif row.domain in verified:
                continue
            by_domain.setdefault(row.domain, []).append(row.organisation)
    query = Q(pk__in=[])
    if codes:
        query |= Q(code__in=codes, jurisdiction__in={"", *(o.jurisdiction for o in offices if o.short_code)})
    for jurisdiction in sorted({o.jurisdiction for o in offices if o.official_domain}):
        listed = {o.official_domain for o in offices if o.official_domain and o.jurisdiction == jurisdiction}
        query |= Q(jurisdiction=jurisdiction, data__organisation__email_domains__iregex=_listing_any(listed))
    applications = []
    if codes or domains:
        applications = list(
            Application.objects.annotate(code=Upper(KT("data__organisation__short_code")))
            .filter(query).exclude(status=ApplicationStatus.WITHDRAWN)
            .defer("section_status")
            .prefetch_related(Prefetch("steps", queryset=ApprovalStep.objects.filter(decision=""), to_attr="open_steps"))
            .order_by("-updated_at", "-id")
        )
    return {office.pk: _match_one(office, organisations, by_domain, applications) for office in offices}


# What separates the domains of an application's list (split_domain_list's ``\\s,;``),
# written out: ``\\s`` is not the same set of characters in every database's regex.
_SEPARATORS = ",;" + "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def _listing_any(domains: set[str]) -> str:
    """A regex (any case) of a list of domains that has one of ``domains`` as an entry:
    the same in PostgreSQL's and in Python's (SQLite's REGEXP) syntax."""
    return (f"(^|[{_SEPARATORS}])({'|'.join(re.escape(domain) for domain in sorted(domains))})"
            f"($|[{_SEPARATORS}])")


def _same_jurisdiction(office: ExpectedOffice, jurisdiction: str) -> bool:
    return office.jurisdiction == jurisdiction


def _match_one(office, organisations, by_domain, applications) -> Match:
    found = [o for o in organisations if office.short_code and o.code == office.short_code
             and _same_jurisdiction(office, o.jurisdiction)]
    if office.short_code and not any(o.code == office.short_code for o in organisations):
        # Nobody has the code now: the organisation that had it (its short code changed since).
        found += [o for o in organisations
                  if office.short_code in o.former_codes and _same_jurisdiction(office, o.jurisdiction)]
    found += [o for o in by_domain.get(office.official_domain, []) if _same_jurisdiction(office, o.jurisdiction)]
    active = next((o for o in found if o.status == OrganisationStatus.ACTIVE), None)
    if active is not None:
        return Match(TrackerStatus.ACTIVE, organisation=active)
    suspended = next((o for o in found if o.status == OrganisationStatus.SUSPENDED), None)
    if suspended is not None:
        return Match(TrackerStatus.SUSPENDED, organisation=suspended)
    mine = [a for a in applications if _application_matches(office, a)]
    for application in mine:
        if application.status in IN_APPROVAL:
            step = application.open_steps[0] if application.open_steps else None
            return Match(TrackerStatus.IN_APPROVAL, application=application, step=step,
                         holder=_holder(application, step))
    for application in mine:
        if application.status == ApplicationStatus.DRAFT:
            return Match(TrackerStatus.DRAFT, application=application, holder=str(_("The nodal officer")))
    return Match(TrackerStatus.NOT_STARTED, organisation=found[0] if found else None)


def _application_matches(office: ExpectedOffice, application: Application) -> bool:
    if office.short_code and application.code == office.short_code and (
            not application.jurisdiction or application.jurisdiction == office.jurisdiction):
        return True
    if office.official_domain and application.jurisdiction == office.jurisdiction:
        # Only the office's own state's or UT's: a domain is anyone's to type on their list, and
        # another state's applications (its drafts, who holds each) are not this list's to show.
        listed = application.section_data("organisation").get("email_domains") or ""
        return office.official_domain in {domain.lower() for domain in split_domain_list(listed)}
    return False
