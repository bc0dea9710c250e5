"""Reads of approval steps, scoped to who is looking."""

from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from datetime import datetime
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, Trim
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding.application.selectors import (
    current_letter_query,
    officers_addresses,
    official_within_ids,
    owners_call,
    parent_organisation,
    placement_of,
    review_flags,
    short_code_call,
    short_code_taken,
)
from onboarding.approval.timings import SINGLE_ROW, timings_from_settings
from onboarding.models import (
    Application,
    ApplicationVersion,
    ApprovalStep,
    ApprovalTimings,
    Attachment,
    Decision,
    Section,
    Stage,
    StateQueueCount,
)
from portal import compiled, prepared
from portal.accounts.models import User
from portal.accounts.official_email import (
    classify_emails_within,
    email_rules_query,
    explain_refusal,
    normalise_address,
)
from portal.organisations.notifications import people_known_languages
from portal.organisations.states import JURISDICTION_CHOICES
from portal.permissions import AnyUser, decided_jurisdictions, is_superadmin, state_admin_emails, superadmin_emails


def _in_jurisdictions_of(viewer: AnyUser, queryset: QuerySet[ApprovalStep]) -> QuerySet[ApprovalStep]:
    jurisdictions = decided_jurisdictions(viewer)
    if jurisdictions is None:
        return queryset
    return queryset.filter(jurisdiction__in=jurisdictions) if jurisdictions else queryset.none()


def _decided_shape(viewer: AnyUser) -> tuple[str, ...] | None:
    """The jurisdictions whose state steps the viewer decides, as a compiled query's
    constant: None for all of them, else a sorted tuple (maybe empty: none)."""
    jurisdictions = decided_jurisdictions(viewer)
    return None if jurisdictions is None else tuple(sorted(jurisdictions))


def state_steps_visible_to(viewer: AnyUser) -> QuerySet[ApprovalStep]:
    """State-stage steps (open or decided) of the viewer's jurisdictions."""
    return _in_jurisdictions_of(viewer, ApprovalStep.objects.filter(stage=Stage.STATE))


def _overdue(now: datetime) -> Case:
    return Case(When(due_at__lte=now, then=Value(True)), default=Value(False), output_field=BooleanField())


# What a row of the queue shows, and nothing else: not the application's answers (its
# whole form), only the nodal officer's name and designation read out of them.
QUEUE_ROW_FIELDS = (
    "pk", "jurisdiction", "opened_at", "due_at", "application__reference", "application__organisation_name",
    "application__nodal_officer__email", "application__nodal_officer__full_name",
)


def _by_age_slice(overdue: bool, *, start: int, stop: int, length: int) -> tuple[bool, bool, int, int]:
    """The slice of the ids of the open steps ``[start:stop]`` by age (the same age by id),
    overdue or not, of ``length`` in all, as (overdue, newest first, start, stop): taken
    from the nearer end, so that a far page walks the index backwards from the newest step
    instead of past every older one (the last page costs what the first does)."""
    if start > length - stop:
        return overdue, True, max(0, length - stop), length - start
    return overdue, False, start, stop


def _page_slices(*, offset: int, size: int, total: int, overdue: int) -> list[tuple[bool, bool, int, int]]:
    """The slices (``_by_age_slice``) whose ids, one after the other, are the ``size`` steps
    from ``offset`` in the queue's order (overdue first, then the oldest) of ``total``
    waiting steps, ``overdue`` of them overdue: the overdue steps by age, then the others."""
    slices = []
    if offset < overdue:
        slices.append(_by_age_slice(True, start=offset, stop=min(offset + size, overdue), length=overdue))
    if offset + size > overdue:  # always, unless the page is all overdue
        slices.append(_by_age_slice(False, start=max(0, offset - overdue), stop=min(offset + size - overdue, total - overdue),
                                    length=total - overdue))
    return slices


def _queue_ids_query(jurisdictions: tuple[str, ...] | None, overdue: bool, newest_first: bool, *,
                     now: datetime) -> QuerySet[ApprovalStep]:
    steps = ApprovalStep.objects.filter(stage=Stage.STATE, decision="")
    if jurisdictions is not None:
        steps = steps.filter(jurisdiction__in=jurisdictions)
    steps = steps.filter(due_at__lte=now) if overdue else steps.filter(due_at__gt=now)
    return steps.order_by(*(("-opened_at", "-id") if newest_first else ("opened_at", "id"))).values_list("pk")


def _state_queue_ids(jurisdictions: tuple[str, ...] | None, *, offset: int, size: int, total: int, overdue: int,
                     now: datetime) -> list[int]:
    """The ids of the ``size`` steps from ``offset`` in the queue's order (overdue first,
    then the oldest) of the open steps of ``jurisdictions`` (None: all), given how many wait
    (``total``) and how many of them are ``overdue``: the overdue steps by age, then the
    others by age, each part a slice of the open steps in the order of the index
    ``state_queue_order_idx`` (a jurisdiction's open steps by age), which PostgreSQL walks
    to the page (from whichever end is nearer) instead of sorting every open step (6 ms at
    10,000 waiting). One query, its SQL built once per process (``compiled.slices``): a
    page across the end of the overdue steps takes both parts with ``UNION ALL``.

    A list, not an ``IN`` subquery of the rows' query: given one, PostgreSQL hashed it
    against a scan of every approval step ever made (2 ms at 10,000, growing with the
    history). On PostgreSQL the page's rows take the slices as an ``ARRAY`` instead
    (``_queue_page_rows_query``), this list is for the databases without one."""
    parts = [(_queue_ids_query, (jurisdictions, part_overdue, newest_first), start, stop, {"now": now})
             for part_overdue, newest_first, start, stop in _page_slices(offset=offset, size=size, total=total,
                                                                         overdue=overdue)]
    return [pk for (pk,) in compiled.slices(parts)]


def _queue_rows_query(count: int, *, now: datetime, **ids: int) -> QuerySet[ApprovalStep]:
    """The rows of the steps ``ids`` (``id0``..``id<count-1>``) as the queue shows them, overdue first."""
    return _queue_rows(ApprovalStep.objects.filter(pk__in=[ids[f"id{i}"] for i in range(count)]), now)


def _queue_page_rows_query(jurisdictions: tuple[str, ...] | None, slices: tuple[tuple[bool, bool], ...], *,
                           now: datetime, **bounds: int) -> QuerySet[ApprovalStep]:
    """PostgreSQL: the rows of a page whose ids are ``slices`` of the open steps of
    ``jurisdictions`` ((overdue, newest first) each, its bounds ``limit<i>`` and ``offset<i>``;
    ``_page_slices``), in one statement: the ids an ``ARRAY`` of the slices, which
    PostgreSQL computes first and then reads the steps by their primary key (as a list of
    ids would be; an ``IN`` of the subquery was hashed against a scan of every step)."""
    pieces, params = [], []
    for i, (overdue, newest_first) in enumerate(slices):
        sql, slice_params = _queue_ids_query(jurisdictions, overdue, newest_first, now=now).query.sql_with_params()
        pieces.append(f"({sql} LIMIT %s OFFSET %s)")
        params += [*slice_params, bounds[f"limit{i}"], bounds[f"offset{i}"]]
    column = f'"{ApprovalStep._meta.db_table}"."{ApprovalStep._meta.pk.column}"'
    in_slices = RawSQL(f"{column} = ANY(ARRAY({' UNION ALL '.join(pieces)}))", params, output_field=BooleanField())
    return _queue_rows(ApprovalStep.objects.filter(in_slices), now)


def _walks_one_index(shape: tuple[str, ...] | None, slices: list[tuple[bool, bool, int, int]],
                     counts: dict[str, int]) -> bool:
    """Whether the page's rows statement is best run with its generic plan: its ids one
    slice of the open steps of one jurisdiction (or of all of them), overdue or not, which
    are at least half of those waiting. Then PostgreSQL's plan for it, whatever the values,
    walks ``state_queue_order_idx`` (``state_queue_all_order_idx``) in the slice's direction,
    and its generic plan is that same plan, kept instead of made again at each page (0.4 ms
    at 10,000 waiting, where its estimate of a ``LIMIT`` and ``OFFSET`` it cannot see kept it
    choosing a plan per call). Not for several jurisdictions (no index gives their steps in
    the queue's order: the generic plan sorted every open step, slower than the plans for
    the values) nor for a slice of the smaller part (a few overdue steps among many: the
    plan for the values may read them by due date instead of walking past the others)."""
    if (shape is not None and len(shape) != 1) or len(slices) != 1:
        return False
    overdue = slices[0][0]
    part = counts["overdue"] if overdue else counts["total"] - counts["overdue"]
    return 2 * part >= counts["total"]


def _queue_rows(steps: QuerySet[ApprovalStep], now: datetime) -> QuerySet[ApprovalStep]:
    """The rows of ``steps`` as the queue shows them, overdue first."""
    nodal_officer = KeyTransform("nodal_officer", "application__data")
    return (
        steps
        .annotate(
            overdue=_overdue(now),
            officer_form_name=Trim(KeyTextTransform("name", nodal_officer)),
            officer_form_designation=Trim(KeyTextTransform("designation", nodal_officer)),
        )
        .order_by("-overdue", "opened_at", "id")
        .values_list(*QUEUE_ROW_FIELDS, "overdue", "officer_form_name", "officer_form_designation")
    )


def _queue_counts(viewer: AnyUser, now: datetime) -> dict[str, int]:
    """How many state steps wait for the viewer (``total``) and how many of them are overdue,
    in one query. On PostgreSQL the waiting ones are the sum of the counts the steps'
    trigger keeps per jurisdiction (StateQueueCount) and the overdue ones a range of
    ``state_queue_due_idx``: counting every waiting step took 3 ms at 10,000, on every page.
    Its SQL built once per process for each set of jurisdictions (portal.compiled).
    Elsewhere (SQLite) both from the open steps."""
    if connections[ApprovalStep.objects.db].vendor != "postgresql":
        open_steps = state_steps_visible_to(viewer).filter(decision="")
        return open_steps.aggregate(total=Count("pk"), overdue=Count("pk", filter=Q(due_at__lte=now)))
    shape = _decided_shape(viewer)
    if shape == ():
        return {"total": 0, "overdue": 0}
    [(total, overdue)] = compiled.rows(_queue_counts_query, (shape,), now=now)
    return {"total": total, "overdue": overdue}


def _queue_counts_query(jurisdictions: tuple[str, ...] | None, *, now: datetime) -> QuerySet[StateQueueCount]:
    """One row (an aggregate over a constant, so no GROUP BY): the waiting steps of these
    jurisdictions (None: all) and the overdue ones. No count kept for the jurisdictions:
    none waits, so none is overdue either."""
    kept = StateQueueCount.objects.all()
    overdue = ApprovalStep.objects.filter(stage=Stage.STATE, decision="", due_at__lte=now)
    if jurisdictions is not None:
        kept = kept.filter(jurisdiction__in=jurisdictions)
        overdue = overdue.filter(jurisdiction__in=jurisdictions)
    overdue = overdue.order_by().values(n=Func("pk", function="COUNT"))
    return (
        kept.annotate(one=Value(1)).values("one")
        .annotate(total=Coalesce(Sum("waiting"), 0),
                  overdue=Coalesce(Max(Subquery(overdue, output_field=IntegerField())), 0))
        .values_list("total", "overdue")
    )


def state_queue_page(viewer: AnyUser, *, number: str | int | None, per_page: int, now: datetime | None = None) -> Page:
    """One page of the state queue: the open state steps the viewer may decide, overdue
    first, then the oldest (the same age by id); two queries whatever the page (on
    PostgreSQL; three or four elsewhere). How many steps wait (and how many of them are overdue),
    then the page's ids taken from the steps alone (slices of the open steps by age,
    ``_page_slices``) and their rows, joined to their application and officer (on
    PostgreSQL one statement, ``_queue_page_rows_query``): a far page walks an index of
    narrow rows, and sorts neither every open step nor joined ones with every
    application's answers. Each row is a dictionary of what the page shows (plain values:
    no model instances to build, and the template finds each key at its first try):
    ``pk``, ``reference``, ``organisation_name``, ``jurisdiction_label``, ``officer`` (the
    name given in the form, else the account's name, else its address), ``designation``,
    ``officer_email``, ``opened_at``, ``due_at``, ``overdue``, and ``key``: the row as read, every
    value the others are made from (the template keeps each row's HTML by it)."""
    now = now or timezone.now()
    return _queue_page(_decided_shape(viewer), _queue_counts(viewer, now), number=number, per_page=per_page, now=now)


def state_queue(viewer: AnyUser, *, number: str | int | None, per_page: int,
                now: datetime | None = None) -> tuple[Page, list[ApprovalStep]]:
    """The queue page (``state_queue_page``) and the escalated authority steps
    (``escalated_authority_steps``, at most ``per_page``); on PostgreSQL the page's counts
    and the escalated steps in one round trip (``compiled.together``)."""
    now = now or timezone.now()
    shape = _decided_shape(viewer)
    if shape == () or connections[ApprovalStep.objects.db].vendor != "postgresql":
        return (state_queue_page(viewer, number=number, per_page=per_page, now=now),
                escalated_authority_steps(viewer, limit=per_page))
    [(total, overdue)], escalated = compiled.together(
        ("rows", _queue_counts_query, (shape,), {"now": now}),
        ("objects", _escalated_query, (shape, per_page), {}),
    )
    counts = {"total": total, "overdue": overdue}
    return _queue_page(shape, counts, number=number, per_page=per_page, now=now), escalated


def _queue_page(shape: tuple[str, ...] | None, counts: dict[str, int], *, number: str | int | None, per_page: int,
                now: datetime) -> Page:
    """The queue's page of the jurisdictions ``shape`` (``_decided_shape``), given how many
    steps wait and how many of them are overdue."""
    page = Paginator(range(counts["total"]), per_page).get_page(number)
    offset = (page.number - 1) * per_page
    if not counts["total"]:
        rows = []
    elif connections[ApprovalStep.objects.db].vendor == "postgresql":
        # The ids and their rows in one statement, built once per process for each shape of page.
        slices = _page_slices(offset=offset, size=per_page, total=counts["total"], overdue=counts["overdue"])
        bounds = {name: value for i, (_o, _n, start, stop) in enumerate(slices)
                  for name, value in ((f"limit{i}", stop - start), (f"offset{i}", start))}
        with prepared.generic_plan() if _walks_one_index(shape, slices, counts) else nullcontext():
            rows = compiled.rows(_queue_page_rows_query, (shape, tuple((o, n) for o, n, _start, _stop in slices)),
                                 now=now, **bounds)
    else:
        ids = _state_queue_ids(shape, offset=offset, size=per_page, total=counts["total"], overdue=counts["overdue"],
                               now=now)
        # The rows' query built once per process for each number of rows (portal.compiled).
        rows = compiled.rows(_queue_rows_query, (len(ids),), now=now, **{f"id{i}": pk for i, pk in enumerate(ids)})
    # get_jurisdiction_display would build (and translate) the whole list of states and
    # union territories for every row: once per page instead.
    labels = dict(JURISDICTION_CHOICES)
    page.object_list = [
        {
            "pk": pk, "reference": reference, "organisation_name": organisation_name,
            "jurisdiction_label": labels.get(jurisdiction, jurisdiction),
            "officer": form_name or full_name or email, "designation": designation, "officer_email": email,
            "opened_at": opened_at, "due_at": due_at, "overdue": overdue, "key": row,
        }
        for row in rows
        for (pk, jurisdiction, opened_at, due_at, reference, organisation_name, email, full_name, overdue, form_name,
             designation) in (row,)
    ]
    return page


def escalated_authority_steps(viewer: AnyUser, *, limit: int) -> list[ApprovalStep]:
    """Competent authorities' steps of the viewer's jurisdictions that are overdue
    and were escalated to the state administrators, the ``limit`` due first. Its query
    built once per process for each set of jurisdictions (portal.compiled)."""
    shape = _decided_shape(viewer)
    if shape == ():
        return []
    return compiled.objects(_escalated_query, (shape, limit))


def _escalated_query(jurisdictions: tuple[str, ...] | None, limit: int) -> QuerySet[ApprovalStep]:
    steps = ApprovalStep.objects.filter(stage=Stage.AUTHORITY, decision="", escalated_at__isnull=False)
    if jurisdictions is not None:
        steps = steps.filter(jurisdiction__in=jurisdictions)
    return (
        steps.select_related("application")
        .only("id", "assignee_name", "assignee_email", "due_at", "application__id", "application__reference",
              "application__organisation_name")
        .order_by("due_at", "id")[:limit]
    )


def state_step_for(viewer: AnyUser, pk: int) -> ApprovalStep:
    try:
        return state_steps_visible_to(viewer).select_related("application", "application__nodal_officer").get(pk=pk)
    except (ApprovalStep.DoesNotExist, ValueError):
        raise Http404 from None


def appeal_queue(viewer: AnyUser) -> QuerySet[ApprovalStep]:
    if not is_superadmin(viewer):
        return ApprovalStep.objects.none()
    return (
        ApprovalStep.objects.filter(stage=Stage.APPEAL, decision="")
        .select_related("application", "application__nodal_officer")
        .order_by("due_at", "id")
    )


def appeal_step_for(viewer: AnyUser, pk: int) -> ApprovalStep:
    if not is_superadmin(viewer):
        raise Http404
    try:
        return ApprovalStep.objects.select_related("application", "application__nodal_officer").get(pk=pk, stage=Stage.APPEAL)
    except (ApprovalStep.DoesNotExist, ValueError):
        raise Http404 from None


def last_seen_step(step: ApprovalStep, *, steps: list[ApprovalStep] | None = None) -> ApprovalStep | None:
    """The earlier step of the same stage whose decider last saw the application, or None.
    At the competent authority's stage, only a step of the same authority (address): one
    the officer has just named saw no earlier version. ``steps``: the application's steps
    as ``steps_of`` read them, when the caller has them (then no query)."""
    any_decider = step.stage != Stage.AUTHORITY
    if steps is not None:
        seen = [s for s in steps if s.stage == step.stage and s.opened_at <= step.opened_at and s.pk != step.pk
                and s.decision not in ("", Decision.CANCELLED)
                and (any_decider or s.assignee_email.lower() == step.assignee_email.lower())]
        return max(seen, key=lambda s: (s.opened_at, s.pk), default=None)
    earlier = (
        ApprovalStep.objects.filter(application_id=step.application_id, stage=step.stage, opened_at__lte=step.opened_at)
        .exclude(pk=step.pk)
        .exclude(decision__in=["", Decision.CANCELLED])
    )
    if not any_decider:
        earlier = earlier.filter(assignee_email__iexact=step.assignee_email)
    return earlier.order_by("-opened_at", "-id").first()


def short_code_lost(application: Application) -> str:
    """The short code ``application``'s form names when another organisation has it now, else
    "": final approval refuses it (``_check_short_code_free``), so no appeal can be granted
    while it does."""
    code = application.section_data(Section.ORGANISATION).get("short_code") or ""
    return code if code and short_code_taken(code, application) else ""


def last_rejection(application: Application) -> ApprovalStep | None:
    """The application's latest rejected step, or None."""
    return application.steps.filter(decision=Decision.REJECT).order_by("-decided_at").first()


def addresses_of_accounts(emails: Iterable[str]) -> dict[str, tuple[int, set[str]]]:
    """{login address: (account id, every address of the account, normalised)} for the
    accounts whose login is one of ``emails`` (one query). Normalised as the form compares
    people (``normalise_address``): "director+onb@" is "director@"."""
    found: dict[str, tuple[int, set[str]]] = {}
    rows = User.objects.filter(email__in=set(emails)).values_list("pk", "email", "emailaddress__email")
    for pk, email, other in rows:
        addresses = found.setdefault(email, (pk, {normalise_address(email)}))[1]
        addresses.add(normalise_address(other or ""))
    return {email: (pk, addresses - {""}) for email, (pk, addresses) in found.items()}


def known_languages_of(emails: Iterable[str]) -> dict[str, str]:
    """{login address: the language the portal knows its account's holder by
    (``people_known_languages``)} of those it knows; a constant number of queries."""
    accounts = addresses_of_accounts(emails)
    known = people_known_languages(pk for pk, _addresses in accounts.values())
    return {email: known[pk] for email, (pk, _addresses) in accounts.items() if pk in known}


class Refused(NamedTuple):
    """Who may not decide a step: accounts (ids) and addresses (normalised)."""

    accounts: set[int]
    addresses: set[str]

    def includes(self, account_id: int | None, addresses: set[str]) -> bool:
        return account_id in self.accounts or bool(self.addresses & addresses)

    def add(self, account_id: int | None, *addresses: str, accounts: Iterable[int] = ()) -> None:
        """Refuse the account (when there is one), ``accounts``, and the addresses (normalised; "" none)."""
        if account_id is not None:
            self.accounts.add(account_id)
        self.accounts.update(accounts)
        self.addresses.update(filter(None, map(normalise_address, addresses)))


def refused_deciders(applications: Iterable[Application]) -> dict[int, dict[Stage, Refused]]:
    """{application id: {stage: who may not decide its step of that stage}} for the state
    level and an appeal, as the decision refuses them: its nodal officer (their account, and
    any account of one of their addresses, ``officers_addresses``); at the state level
    whoever decided an authority step of it (each address a link of one went to, the accounts
    that held it then, and the account signed in where one decided), and the address of the one still open (its
    escalation to the state level leaves the authority out: it will not decide that level
    either); at an appeal the same (the appeal's decision takes the place of the state
    level's: an authority overturning a rejection of what it approved would make its own
    approval final), and whoever made the rejection under appeal (``last_rejection``: an
    administrator's account, the address of an authority's link, the accounts that held it then
    and the account signed in where it decided). Addresses normalised: the same mailbox under a "+tag", or its domain
    in Unicode, is the same person. Two queries."""
    refused = {application.pk: {stage: Refused({application.nodal_officer_id}, set()) for stage in (Stage.STATE, Stage.APPEAL)}
               for application in applications}
    if not refused:
        return refused
    for application_id, addresses in officers_addresses(refused).items():
        for who in refused[application_id].values():
            who.add(None, *addresses)
    rows = (
        ApprovalStep.objects.filter(Q(stage=Stage.AUTHORITY) | Q(decision=Decision.REJECT), application_id__in=list(refused))
        .exclude(decision=Decision.CANCELLED)
        .order_by("decided_at", "id")
        .values_list("application_id", "stage", "decision", "assignee_email", "decided_by_id", "decided_by_email",
                     "link_holders")
    )
    rejections = {}  # the latest of each application, as last_rejection finds it
    for application_id, stage, decision, assignee_email, decided_by_id, decided_by_email, holders in rows:
        if stage == Stage.AUTHORITY:
            for who in refused[application_id].values():  # the state level and an appeal
                # the account signed in where it decided, and those that held its address then
                who.add(decided_by_id, assignee_email, decided_by_email, accounts=holders)
        if decision == Decision.REJECT:
            rejections[application_id] = decided_by_id, decided_by_email, holders
    for application_id, (decided_by_id, decided_by_email, holders) in rejections.items():
        refused[application_id][Stage.APPEAL].add(decided_by_id, decided_by_email, accounts=holders)
    return refused


def authorities_refused(authorities: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """{(address, application id): why it can no longer decide as that application's competent
    authority} for those of ``authorities`` that cannot now: refused by the official-email
    rules since the officer named it (its domain made a contractor's or a personal mail
    service), or at a domain accepted as official for another organisation than the one the
    application is for or placed under (``official_within``). Its link decides nothing and no
    link or reminder goes to it. Three queries at most (``classify_emails_within``)."""
    verdicts = classify_emails_within(authorities, official_within_ids)
    return {pair: explain_refusal(verdict, for_officer=True)
            for pair, verdict in verdicts.items() if not verdict.eligible_as_officer}


def authority_steps_refused(steps: Iterable[ApprovalStep]) -> dict[int, str]:
    """{step id: why its competent authority can no longer decide} for those of the
    authority ``steps`` whose address cannot now: refused by the official-email rules since,
    or not official for its application's organisation (``authorities_refused``), or become
    one of the nodal officer's own addresses since (``officers_addresses``). Their link decides
    nothing (as the decision checks it), so no link or reminder goes to them and the officer's
    page says why. Four queries at most, whatever the number of steps."""
    steps = [step for step in steps if step.stage == Stage.AUTHORITY]
    if not steps:
        return {}
    refused = authorities_refused({(step.assignee_email, step.application_id) for step in steps})
    own = officers_addresses({step.application_id for step in steps})
    problems = {}
    for step in steps:
        if (step.assignee_email, step.application_id) in refused:
            problems[step.pk] = refused[step.assignee_email, step.application_id]
        elif normalise_address(step.assignee_email) in own.get(step.application_id, set()):
            problems[step.pk] = _("It is now one of the nodal officer's own addresses: the competent authority must "
                                  "be someone else.")
    return problems


class Tell(NamedTuple):
    """Whom to tell of an application's step: those who may decide it at ``stage`` (the
    state level or an appeal), the state administrators of ``jurisdiction`` (the step's;
    by default the application's) first unless ``superadmins`` (a step escalated to them)."""

    application: Application
    stage: Stage
    superadmins: bool = False
    jurisdiction: str = ""

    @property
    def state_admins_of(self) -> str | None:
        """The jurisdiction whose state administrators are asked first, or None."""
        if self.superadmins or self.stage != Stage.STATE:
            return None
        return self.jurisdiction or self.application.jurisdiction


def escalation_tell(step: ApprovalStep) -> Tell:
    """Whom an overdue ``step`` is escalated to, one level up: an authority's step to the
    state or central administrators of its jurisdiction, a state step and an appeal to the
    superadmins; those of them who may decide it (``deciders_to_tell``)."""
    return Tell(step.application, Stage.APPEAL if step.stage == Stage.APPEAL else Stage.STATE,
                superadmins=step.stage != Stage.AUTHORITY, jurisdiction=step.jurisdiction)


def told_of_waiting(step: ApprovalStep) -> list[Tell]:
    """Whom the portal told that the open ``step`` waits on them, other than the competent
    authority its link went to: the state step's deciders (a new step in their queue, its
    reminder), and those it was escalated to once overdue (``escalation_tell``)."""
    asks = [Tell(step.application, Stage.STATE, jurisdiction=step.jurisdiction)] if step.stage == Stage.STATE else []
    if step.escalated_at is not None:
        asks.append(escalation_tell(step))
    return asks


def deciders_to_tell(asks: Iterable[Tell], *, now: datetime | None = None) -> list[list[str]]:
    """The addresses to tell for each of ``asks`` (a new step in their queue, a reminder,
    an escalation, the reply to the authority's confirmation), in order: the state
    administrators of the application's jurisdiction (for the state level) or the
    superadmins, leaving out whoever the decision would refuse (``refused_deciders``: the
    nodal officer, whoever decided it at an earlier level); the superadmins not refused
    when that leaves nobody. A mail to someone who may not decide would leave the step
    with nobody told. Their roles as they stand at ``now`` (by default this moment: a
    role that ended then is asked about as it was). Five queries at most, whatever the
    number of asks."""
    asks = list(asks)
    if not asks:
        return []
    jurisdictions = {ask.state_admins_of for ask in asks} - {None}
    admins = state_admin_emails(jurisdictions, now=now) if jurisdictions else {}
    supers = superadmin_emails(now=now)
    may_decide = _may_decide({*supers, *(email for emails in admins.values() for email in emails)})
    refused = refused_deciders({ask.application.pk: ask.application for ask in asks}.values())
    told = []
    for ask in asks:
        who = refused[ask.application.pk][ask.stage]
        first = admins.get(ask.state_admins_of, [])
        told.append([email for email in first if may_decide(email, who)]
                    or [email for email in supers if may_decide(email, who)])
    return told


def _may_decide(emails: set[str]) -> Callable[[str, Refused], bool]:
    """Whether the account of each of ``emails`` (an address of a role's holder) may decide
    what ``Refused`` refuses; their accounts and addresses read once (one query)."""
    accounts = addresses_of_accounts(emails)
    known = {email: accounts.get(email) or (None, {normalise_address(email)}) for email in emails}

    def may_decide(email: str, who: Refused) -> bool:
        return not who.includes(*known[email])

    return may_decide


def deciders_told_at(asks: Iterable[tuple[Tell, Collection[datetime | None]]]) -> list[set[str]]:
    """For each (ask, moments) of ``asks``: every address ``deciders_to_tell`` names for the
    ask at any of its moments (the roles as they stood then; None: this moment), that is
    whoever was told of it whichever of them it was asked at. Two queries a moment, and
    three; the work for an ask grows with the number of its moments, not with their
    administrators (those of one jurisdiction over the same moments are gathered once)."""
    asks = list(asks)
    if not asks:
        return []
    moments = {moment for _ask, at in asks for moment in at}
    jurisdictions = {ask.state_admins_of for ask, _at in asks} - {None}
    admins_at = {moment: {jurisdiction: frozenset(emails) for jurisdiction, emails
                          in (state_admin_emails(jurisdictions, now=moment) if jurisdictions else {}).items()}
                 for moment in moments}
    supers_at = {moment: frozenset(superadmin_emails(now=moment)) for moment in moments}
    may_decide = _may_decide({*(email for supers in supers_at.values() for email in supers),
                              *(email for admins in admins_at.values() for emails in admins.values() for email in emails)})
    refused = refused_deciders({ask.application.pk: ask.application for ask, _at in asks}.values())
    gathered: dict[tuple[str | None, frozenset], tuple[list[frozenset[str]], frozenset[str]]] = {}
    told = []
    for ask, at in asks:
        key = (ask.state_admins_of, frozenset(at))
        if key not in gathered:
            firsts = [admins_at[moment].get(ask.state_admins_of, frozenset()) for moment in key[1]]
            gathered[key] = firsts, frozenset().union(*firsts)
        firsts, admins = gathered[key]
        who = refused[ask.application.pk][ask.stage]
        deciding = {email for email in admins if may_decide(email, who)}
        # The superadmins of each moment at which none of its administrators could decide.
        supers = frozenset().union(*(supers_at[moment] for moment, first in zip(key[1], firsts, strict=True)
                                     if deciding.isdisjoint(first)))
        told.append(deciding | {email for email in supers if may_decide(email, who)})
    return told


def steps_of(application: Application) -> list[ApprovalStep]:
    """Every step of an application the viewer may already see, oldest first."""
    steps = compiled.objects(_steps_query, application_id=application.pk)
    for step in steps:
        step.application = application  # as application.steps would
    return steps


def _officer_reply() -> Case:
    """A step's ``officer_reply``: for a return for correction, the nodal officer's reply to its
    remarks, sent with the next version; "" for other steps, or before it was sent."""
    return Case(When(decision=Decision.RETURN, then=Coalesce(Subquery(
        ApplicationVersion.objects.filter(application_id=OuterRef("application_id"),
                                          number=OuterRef("version_number") + 1).values("reply")[:1]),
        Value(""), output_field=TextField())), default=Value(""), output_field=TextField())


def _steps_query(*, application_id: int) -> QuerySet[ApprovalStep]:
    """The steps, each with ``officer_reply`` (``_officer_reply``)."""
    return (ApprovalStep.objects.filter(application_id=application_id).exclude(decision=Decision.CANCELLED)
            .annotate(officer_reply=_officer_reply()).order_by("opened_at", "id"))


def replies_to_remarks(steps: Iterable[ApprovalStep]) -> dict[int, dict]:
    """{step id: {"reply": the nodal officer's reply sent with the version the step decides on,
    "answered": the return whose remarks it answers}} for those of ``steps`` sent after a
    return for correction with a reply (``changes.reply_to_remarks``, for many steps): one
    query, none when every step decides on a first version."""
    wanted = {(step.application_id, step.version_number - 1): step.pk for step in steps if step.version_number > 1}
    if not wanted:
        return {}
    found: dict[int, dict] = {}
    returns = (ApprovalStep.objects.filter(application_id__in={application for application, _n in wanted},
                                           decision=Decision.RETURN)
               .annotate(officer_reply=_officer_reply()).order_by("decided_at", "id"))
    for answered in returns:
        pk = wanted.get((answered.application_id, answered.version_number))
        if pk is not None and answered.officer_reply:
            found[pk] = {"reply": answered.officer_reply, "answered": answered}  # the latest return wins
    return found


def _version_query(*, application_id: int, number: int) -> QuerySet[ApplicationVersion]:
    return ApplicationVersion.objects.filter(application_id=application_id, number=number)[:1]


def _timings_query() -> QuerySet[ApprovalTimings]:
    return ApprovalTimings.objects.filter(pk=SINGLE_ROW)[:1]


def review_reads(step: ApprovalStep) -> tuple[ApplicationVersion | None, list[ApprovalStep], Attachment | None,
                                              list[str], dict | None, int]:
    """What a decider's page reads of the step's application besides the step: the version
    sent for it (its frozen copy, or None), every step (as ``steps_of``), the current letter
    (as ``current_letter``), what ``review_flags`` reads (the official-email rules, the
    staff domains official elsewhere) and the most returns for correction (the approval
    timings' ``returns_max``), in one round trip (``compiled.together``); then the
    parent organisation the form names, the flags, and where the office is placed and whether
    those who act for that organisation were told (``placement_of``)."""
    application = step.application
    owners, code = owners_call(application), short_code_call(application)
    version, steps, letter, rules, timings, *optional = compiled.together(
        ("first", _version_query, (), {"application_id": application.pk, "number": step.version_number}),
        ("objects", _steps_query, (), {"application_id": application.pk}),
        ("first", current_letter_query, (), {"application_id": application.pk}),
        ("rows", email_rules_query, (), {}),
        ("first", _timings_query, (), {}),
        *([owners] if owners else []),
        *([code] if code else []),
    )
    found_owners = optional.pop(0) if owners else []
    code_holder = optional.pop(0) if code else None
    for found in (*steps, *([letter] if letter is not None else [])):
        found.application = application  # as application.steps and application.attachments would
    parent = parent_organisation(application)
    flags = review_flags(application, owners=found_owners, rules=rules, parent=parent, code_holder=code_holder,
                         appeal=step.stage == Stage.APPEAL)
    return (version, steps, letter, flags, placement_of(application, parent),
            (timings or timings_from_settings()).returns_max)
