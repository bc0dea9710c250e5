"""Reads of applications, always scoped to who is looking."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding.application.validators import clean_staff_domains, split_domain_list
from onboarding.models import (
    EDITABLE_STATUSES,
    OPEN_STATUSES,
    WITHDRAWN_NOT_CORRECTED,
    Application,
    ApplicationStatus,
    ApprovalStep,
    Attachment,
    Decision,
    Section,
)
from portal import compiled, permissions
from portal.accounts.in_service import service_ended
from portal.accounts.mail_limits import same_mailbox
from portal.accounts.models import User
from portal.accounts.official_email import (
    ANY_ORGANISATION,
    classify_email_within,
    email_rules_query,
    explain_refusal,
    normalise_address,
)
from portal.accounts.selectors import addresses_of_users
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations import details
from portal.organisations.models import (
    DomainClaim,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    at_or_above,
)
from portal.organisations.selectors import domain_claims_of, short_code_holders
from portal.organisations.states import JURISDICTION_CHOICES
from portal.permissions import AnyUser, ObjectScope
from portal.privacy.models import HoldTarget, LegalHold, RetentionKind, RetentionMark, RetentionPolicy
from portal.privacy.retention import legal_held, next_run_at, reminder_names, retention_policies
from portal.text import has_visible_characters

# The nodal officer holds "change_application" on their application (given when it is
# started); platform roles and organisation admins see submitted applications only.
APPLICATION_SCOPE = ObjectScope(
    owner_perm="onboarding.change_application", jurisdiction="jurisdiction", organisation="organisation",
    official=Q(reference__isnull=False),
)


def applications_visible_to(viewer: AnyUser) -> QuerySet[Application]:
    """Applications a viewer may see: their own; the submitted ones of their
    jurisdictions (state admins, auditors) and organisations (their admins);
    everything (superadmins)."""
    return permissions.visible(viewer, Application.objects.all(), APPLICATION_SCOPE)


def application_for_viewer(viewer: AnyUser, pk: int) -> Application:
    try:
        return applications_visible_to(viewer).select_related("nodal_officer").get(pk=pk)
    except (Application.DoesNotExist, ValueError):
        raise Http404 from None


def application_for_officer(viewer: AnyUser, pk: int) -> Application:
    """An application the viewer is the nodal officer of, or 404 (never 403: do not confirm it
    exists). Its query built once per process (portal.compiled): every page of the form reads it."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    if not viewer.is_authenticated or not 0 < pk < 2**63:  # no row has such an id
        raise Http404
    application = compiled.first(_officer_application_query, (), user_id=viewer.pk, pk=pk)
    if application is None:
        raise Http404
    return application


def _officer_application_query(*, user_id: int, pk: int) -> QuerySet[Application]:
    return applications_of_officer(User(pk=user_id)).filter(pk=pk)


def applications_of_officer(viewer: AnyUser) -> QuerySet[Application]:
    return permissions.owned(viewer, Application.objects.all(), APPLICATION_SCOPE).order_by("-created_at", "-id")


def _officer_rows_query(*, user_id: int) -> QuerySet[Application]:
    letter = Attachment.objects.filter(application_id=OuterRef("pk"), is_current=True)
    return (
        applications_of_officer(User(pk=user_id))
        .annotate(has_letter=Exists(letter))
        .values_list("pk", "reference", "organisation_name", "status", "updated_at", "has_letter")
    )


def _officer_rows_from(rows: list[tuple]) -> list[dict]:
    return [
        {
            "pk": pk, "reference": reference, "organisation_name": organisation_name, "status": status,
            "get_status_display": ApplicationStatus(status).label, "updated_at": updated_at, "has_letter": has_letter,
            "is_editable": status in EDITABLE_STATUSES,
        }
        for pk, reference, organisation_name, status, updated_at, has_letter in rows
    ]


def current_letter(application: Application) -> Attachment | None:
    """The signed authorisation letter the application holds now, or None."""
    letter = compiled.first(current_letter_query, application_id=application.pk)
    if letter is not None:
        letter.application = application
    return letter


def current_letter_query(*, application_id: int) -> QuerySet[Attachment]:
    """The query of ``current_letter`` (for ``compiled``: a page that reads it with others in one round trip)."""
    return Attachment.objects.filter(application_id=application_id, is_current=True)[:1]


def was_sent_for_decision(application: Application) -> bool:
    """Whether the application was ever submitted: a version of it was sent for a decision."""
    return application.versions.exists()


def withdrawal_removes_files(application: Application) -> bool:
    """Whether withdrawing ``application`` now removes its letters and form PDFs: a draft
    never sent for a decision, and neither it nor its officer under a legal hold (a
    hold keeps everything). The withdraw page says what will be deleted from this, and
    application_withdraw deletes by it."""
    return not was_sent_for_decision(application) and not legal_held(
        (HoldTarget.APPLICATION, application.pk), (HoldTarget.PERSON, application.nodal_officer_id))


def stores_form_pdfs(application: Application) -> bool:
    """Whether the form PDFs its officer downloads are stored: not for an application
    closed without ever being sent for a decision (a draft withdrawn, its letters and PDFs
    removed then): what was filled is rendered for them as for a reader, and kept nowhere."""
    return application.is_open or was_sent_for_decision(application)


def is_officer_of(user: AnyUser, application: Application) -> bool:
    return permissions.is_owner(user, application, APPLICATION_SCOPE)


def may_change_officer(user: AnyUser, application: Application) -> bool:
    """Whether ``user`` may hand ``application`` over to another nodal officer (and, its
    officer's account closed, withdraw it for them: ``may_withdraw_for_officer``): a
    superadmin, or a state administrator who decides its jurisdiction's steps (not an
    auditor: ``decided_jurisdictions``) of one sent for a decision (they see no draft).
    Never its own nodal officer. No query beyond the roles read once per request."""
    if not user.is_authenticated or user.pk == application.nodal_officer_id:
        return False
    if permissions.is_superadmin(user):
        return True
    jurisdictions = permissions.decided_jurisdictions(user)
    return application.reference is not None and (jurisdictions is None or application.jurisdiction in jurisdictions)


def may_withdraw_for_officer(user: AnyUser, application: Application) -> bool:
    """Whether ``user`` may withdraw ``application`` on its nodal officer's behalf: one who
    may hand it over (``may_change_officer``), while the officer's account is closed (they
    can no longer sign in to withdraw it themselves)."""
    return not application.nodal_officer.is_active and may_change_officer(user, application)


def officer_eligibility(user: AnyUser, *, rules: list[tuple[str, str]] | None = None,
                        verified: bool | None = None, within: int | None | object = ANY_ORGANISATION,
                        in_service: bool = False, someone_else: bool = False) -> str | None:
    """None if the user may act as a nodal officer, else a message saying why not.
    Asked at every action an officer takes, not only when starting. ``rules``
    (``email_rules``) and ``verified`` (whether the account's address is verified): when
    the caller read them already. ``within``: the id of the organisation the officer is to
    act for (``official_within``), or None for one that does not exist yet: a domain accepted
    for another organisation does not count (``classify_email_within``); by default (no
    organisation in question yet: starting a draft, whose place is chosen later) one accepted
    for any organisation does. ``in_service``: also whether they are still in government
    service as far as the apps know (``service_ended``: their latest verification past its
    date of superannuation, or ended on retirement or on leaving service), a query more:
    asked where the role is used up, at submission (the application goes out for decisions
    in their name) and at final approval (they become the organisation's first admin).
    ``someone_else``: said to an administrator about ``user`` (a handover, a final approval),
    not to ``user``."""
    if permissions.is_auditor(user):
        return _("An auditor's account has read-only access and cannot act as a nodal officer.")
    verdict = classify_email_within(user.email, within, rules=rules)
    if not verdict.eligible_as_officer:
        return explain_refusal(verdict, for_officer=True)
    if verified is None:  # asked on every page of an officer: its SQL built once per process
        verified = bool(compiled.rows(_verified_address_query, user_id=user.pk, email=user.email))
    if not verified:
        if someone_else:
            return _("%(email)s has not been confirmed by its holder yet: they confirm it with the code the portal "
                     "mails them when they sign in.") % {"email": user.email}
        return _("Verify your email address first: we sent a code to %(email)s.") % {"email": user.email}
    if in_service:
        return service_ended(user.pk)
    return None


def officer_address_moved(application: Application) -> str | None:
    """The address the form names for the nodal officer, when their account's address is no
    longer it (compared normalised; changed since the form was filled: the officer moved to
    another post or department, the account now someone else's mailbox); None while it is.
    Final approval makes the account the organisation's first admin on the form's word: it
    is refused while this names an address. No query once the officer is read."""
    named = (application.section_data(Section.NODAL_OFFICER).get("official_email") or "").strip().lower()
    if normalise_address(named) and normalise_address(named) == normalise_address(application.nodal_officer.email):
        return None
    return named


def officer_overview(user: AnyUser) -> tuple[list[dict], str | None]:
    """The rows of an officer's list of applications (``applications_of_officer``, the
    newest first) and whether they may start one (``officer_eligibility``): their three
    queries (the list, the official-email rules, the verified address), each built once
    per process, in one round trip on PostgreSQL (``compiled.together``). A row shows
    what the list shows and nothing else (not the answers), whether a letter is uploaded
    read in the same query: a dictionary with ``pk``, ``reference``,
    ``organisation_name``, ``status``, ``get_status_display``, ``updated_at``,
    ``has_letter`` and ``is_editable``."""
    if not user.is_authenticated:
        return [], officer_eligibility(user)
    rows, rules, verified = compiled.together(
        ("rows", _officer_rows_query, (), {"user_id": user.pk}),
        ("rows", email_rules_query, (), {}),
        ("rows", _verified_address_query, (), {"user_id": user.pk, "email": user.email}),
    )
    return _officer_rows_from(rows), officer_eligibility(user, rules=rules, verified=bool(verified))


def _verified_address_query(*, user_id: int, email: str) -> QuerySet[EmailAddress]:
    return EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=True).values_list("pk")[:1]


def application_timeline(application: Application) -> QuerySet[AuditEvent]:
    """What happened to an application, oldest first, from the audit log (one query);
    section saves are left out."""
    return (
        AuditEvent.objects.filter(target_type="onboarding.application", target_id=str(application.pk))
        .exclude(action=AuditAction.APPLICATION_SECTION_SAVED)
        .only("created_at", "action", "actor_email", "actor_role", "new_values")
        .order_by("id")
    )


def withdrawn_by(application: Application) -> str:
    """Who withdrew ``application`` (withdrawn), as its audit row says: "officer" (its nodal
    officer), "not_corrected" (the portal: returned for correction and not corrected in
    time), or "for_officer" (on the officer's behalf: their account closed or erased, by an
    administrator or the portal). What the pages of its links tell the competent authority.
    One query."""
    row = (AuditEvent.objects.filter(target_type="onboarding.application", target_id=str(application.pk),
                                     action=AuditAction.APPLICATION_WITHDRAWN)
           .order_by("-id").values_list("actor_id", "new_values").first())
    if row is None:  # (none recorded: as its officer's)
        return "officer"
    actor_id, new = row[0], row[1] or {}
    if new.get("reason") == WITHDRAWN_NOT_CORRECTED:
        return "not_corrected"
    if actor_id is not None and actor_id == application.nodal_officer_id and not new.get("for_officer"):
        return "officer"
    return "for_officer"


# The events that record an address leaving an account (its "old" address): removed, replaced
# as the sign-in address, changed in the Django admin.
ADDRESS_LEFT = (AuditAction.USER_EMAIL_REMOVED, AuditAction.USER_EMAIL_CHANGED, AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN)


def accounts_holding(address: str, *, since: datetime) -> list[int]:
    """The accounts (ids, in order) that hold ``address``'s mailbox, as their sign-in address
    or another of theirs, in any of its forms ("+tag", case): whom ``addresses_of_users``
    would find it among; and those it left ``since`` then (their audit events: removed from
    the account, replaced, changed in the Django admin), who may have read what was mailed to
    it meanwhile. Two queries."""
    others = EmailAddress.objects.filter(same_mailbox("email", address)).values("user_id")
    holding = set(User.objects.filter(same_mailbox("email", address) | Q(pk__in=others)).values_list("pk", flat=True))
    left = (AuditEvent.objects.filter(created_at__gte=since, action__in=ADDRESS_LEFT, target_type=User._meta.label_lower)
            .annotate(left_address=KeyTextTransform("email", "old_values")).filter(same_mailbox("left_address", address))
            .values_list("target_id", flat=True))
    return sorted(holding | {int(pk) for pk in left if pk.isdigit()})


def officer_addresses(application: Application) -> set[str]:
    """The nodal officer's addresses, normalised: their account's and those typed in the form
    (as saved; one query)."""
    return officers_addresses([application.pk]).get(application.pk, set())


def officers_addresses(application_ids: Iterable[int]) -> dict[int, set[str]]:
    """{application id: its nodal officer's addresses, normalised} for these applications, in
    one query whatever their number: every address of the officer's account (primary and
    others) and those typed in the form as saved (read out of the answers, not the answers
    themselves)."""
    application_ids = set(application_ids) - {None}
    if not application_ids:
        return {}
    typed = KeyTransform(str(Section.NODAL_OFFICER), "data")
    rows = Application.objects.filter(pk__in=application_ids).values_list(
        "pk", KeyTextTransform("official_email", typed), KeyTextTransform("alternate_email", typed),
        "nodal_officer__email", "nodal_officer__emailaddress__email",
    )
    found: dict[int, set[str]] = {}
    for pk, *addresses in rows:
        found.setdefault(pk, set()).update(normalise_address(address or "") for address in addresses)
    return {pk: addresses - {""} for pk, addresses in found.items()}


def other_officers_addresses(application: Application) -> set[str]:
    """Addresses of the nodal officers of the other open applications for the same
    organisation (the same organisation record, or the same name), normalised."""
    same = Q(organisation_id=application.organisation_id) if application.organisation_id else Q(pk__in=[])
    name = (application.organisation_name or "").strip()
    if name:
        same |= Q(organisation_name__iexact=name)
    officers = set(
        Application.objects.filter(same, status__in=OPEN_STATUSES)
        .exclude(pk=application.pk).exclude(nodal_officer_id=application.nodal_officer_id)
        .values_list("nodal_officer_id", flat=True)
    )
    return addresses_of_users(officers) if officers else set()


def _jurisdiction_label(code: str) -> str:
    return str(dict(JURISDICTION_CHOICES).get(code, code or "—"))


def _flag_domains(application: Application) -> list[str]:
    data = application.section_data(Section.ORGANISATION)
    return [domain.lower() for domain in split_domain_list(data.get("email_domains") or "")][:20]


def owners_call(application: Application) -> tuple | None:
    """The read (a call of ``compiled.together``) of the application's staff domains that
    are official for another organisation already (for the claims and the level), its SQL
    built once per process for each number of domains (at most 20); None when it lists none."""
    domains = _flag_domains(application)
    if not domains:
        return None
    organisation = {} if application.organisation_id is None else {"organisation_id": application.organisation_id}
    return ("objects", _owners_query, (len(domains), bool(organisation)),
            {**organisation, **{f"domain{i}": domain for i, domain in enumerate(domains)}})


def _form_short_code(application: Application) -> str:
    code = application.section_data(Section.ORGANISATION).get("short_code") or ""
    return code.strip() if isinstance(code, str) else ""


def short_code_call(application: Application) -> tuple | None:
    """The read (a call of ``compiled.together``) of the organisation, other than the one the
    application is for, that has the short code its form names now (``short_code_holders``:
    an active one first), for the flags; None when the form names none of the short code's form."""
    code = _form_short_code(application)
    if not details.SHORT_CODE_RE.match(code):
        return None
    organisation = {} if application.organisation_id is None else {"organisation_id": application.organisation_id}
    return ("first", _code_holder_query, (bool(organisation),), {"code": code, **organisation})


def _code_holder_query(has_organisation: bool, *, code: str, organisation_id: int | None = None) -> QuerySet[Organisation]:
    return short_code_holders(code, exclude_id=organisation_id if has_organisation else None)[:1]


def _short_code_flags(application: Application, holder: Organisation | None, appeal: bool = False) -> list[str]:
    """The short code the form names, given to another organisation (``holder``) since the
    form was checked: final approval is refused while it has it (``_check_short_code_free``
    in the approval services). An active organisation is named (its name is public, as
    details.short_code_taken names it); another one is not. On an ``appeal`` (no return
    for correction), what the superadmin can do."""
    if holder is None:
        return []
    code = _form_short_code(application)
    name = holder.name if holder.status == OrganisationStatus.ACTIVE else None
    if appeal and name:
        return [_("The short code the form names, %(code)s, has been given to %(name)s on Sandes since the application "
                  "was submitted: an overturn is refused while that organisation has it, and an appeal cannot return "
                  "the application for correction; upheld, its nodal officer can apply again with another short "
                  "code.") % {"code": code, "name": name}]
    if appeal:
        return [_("The short code the form names, %(code)s, has been given to another organisation since the "
                  "application was submitted: an overturn is refused while that organisation has it, and an appeal "
                  "cannot return the application for correction; upheld, its nodal officer can apply again with "
                  "another short code.") % {"code": code}]
    if name:
        return [_("The short code the form names, %(code)s, has been given to %(name)s on Sandes since the application "
                  "was submitted: final approval is refused while that organisation has it, and only a return for "
                  "correction lets the nodal officer choose another.") % {"code": code, "name": holder.name}]
    return [_("The short code the form names, %(code)s, has been given to another organisation since the application "
              "was submitted: final approval is refused while that organisation has it, and only a return for "
              "correction lets the nodal officer choose another.") % {"code": code}]


# The parent organisation (or the holder of the form's short code), not read yet (review_flags reads it).
_UNREAD = object()


def review_flags(application: Application, *, owners: list[OrganisationDomain] | None = None,
                 rules: list[tuple[str, str]] | None = None, parent: Organisation | None | object = _UNREAD,
                 code_holder: Organisation | None | object = _UNREAD, appeal: bool = False) -> list[str]:
    """What the competent authority and the administrators must see before deciding,
    flagged: staff domains that would not be official for the organisation (and
    why), a state or central level that does not match its parent organisation
    or its domains (the level chosen decides who decides), and what final approval would
    be refused for (the officer's address moved, the short code given to another
    organisation). ``owners`` (what ``owners_call`` reads), ``rules`` (``email_rules``),
    ``parent`` (``parent_organisation``) and ``code_holder`` (what ``short_code_call``
    reads): when the caller read them. ``appeal``: for the superadmin deciding an appeal, who
    cannot return the application for correction."""
    domains = _flag_domains(application)
    if owners is None:
        call = owners_call(application)
        owners = compiled.together(call)[0] if call else []
    flags = []
    if parent is _UNREAD:
        parent = parent_organisation(application)
    # A domain official for the organisation it is placed under, or one above that, is the
    # office's too (domains_official_above): no claim, nothing to flag.
    shared = {row.domain for row in owners
              if parent is not None and at_or_above(row.organisation_id, parent.pk, parent.ancestry)}
    claims = domain_claims_of([domain for domain in domains if domain not in shared],
                              organisation_id=application.organisation_id, claimed={row.domain for row in owners},
                              rules=rules)
    for domain, claim in claims.items():
        if claim != DomainClaim.OFFICIAL_SUFFIX:
            flags.append(_("Email domain %(domain)s: %(reason)s. Its addresses do not become official by this "
                           "approval.") % {"domain": domain, "reason": DomainClaim(claim).label})
    chosen = application.jurisdiction
    if parent is not None and chosen and parent.jurisdiction != chosen:
        flags.append(_("The level chosen sends this application to the administrators of %(chosen)s, but its parent "
                       "organisation %(parent)s belongs to %(theirs)s.") % {
            "chosen": _jurisdiction_label(chosen), "parent": parent.name, "theirs": _jurisdiction_label(parent.jurisdiction)})
    flags += _proposed_parent_flags(application, appeal)
    moved = officer_address_moved(application)
    if moved is not None:
        flags.append(_("The nodal officer's account no longer has the address the form names for them, %(email)s "
                       "(changed since the form was filled): final approval is refused while it does not, as it would "
                       "make whoever holds the account now the organisation's admin.") % {"email": moved})
    if code_holder is _UNREAD:
        call = short_code_call(application)
        code_holder = compiled.together(call)[0] if call else None
    flags += _short_code_flags(application, code_holder, appeal)
    for row in owners:
        if chosen and row.organisation.jurisdiction != chosen:
            flags.append(_("The email domain %(domain)s is official for %(organisation)s, of %(theirs)s, not of "
                           "%(chosen)s.") % {"domain": row.domain, "organisation": row.organisation.name,
                                              "theirs": _jurisdiction_label(row.organisation.jurisdiction),
                                              "chosen": _jurisdiction_label(chosen)})
    return flags


def _proposed_parent_flags(application: Application, appeal: bool = False) -> list[str]:
    """The parent not yet on Sandes that the form names, put to whoever decides: there is
    none to place the office under, so final approval makes it with no parent. On an
    ``appeal`` (no return for correction), what the superadmin can do."""
    proposed = proposed_parent(application)
    if proposed is None:
        return []
    kind = OrganisationType(proposed["org_type"]).label if proposed["org_type"] else "—"
    if appeal:
        return [_("The form names a parent organisation not yet on Sandes: %(name)s (%(type)s). An overturn makes this "
                  "organisation with no parent, recording that name with its activation; an appeal cannot return the "
                  "application for correction: if that parent is on Sandes already (under another name), a superadmin "
                  "places the organisation under it afterwards, from its page (“Change its state or the organisation "
                  "above it”).") % {"name": proposed["name"], "type": kind}]
    return [_("The form names a parent organisation not yet on Sandes: %(name)s (%(type)s). Final approval makes this "
              "organisation with no parent, recording that name with its activation; if that parent is on Sandes "
              "already (under another name), return the application for correction so that the nodal officer "
              "chooses it.") % {"name": proposed["name"], "type": kind}]


def _owners_query(count: int, has_organisation: bool, *, organisation_id: int | None = None,
                  **domains: str) -> QuerySet[OrganisationDomain]:
    """The verified domains among ``domain0``..``domain<count-1>`` of organisations other than
    ``organisation_id`` (any, when the application has none yet), with their organisation."""
    return (
        OrganisationDomain.objects.filter(domain__in=[domains[f"domain{i}"] for i in range(count)], is_verified=True)
        .exclude(organisation_id=organisation_id if has_organisation else None).select_related("organisation")
    )


def _organisation_query(*, pk: int) -> QuerySet[Organisation]:
    return Organisation.objects.filter(pk=pk)


def short_code_taken(code: str, application: Application | None) -> str:
    """Why ``code`` cannot be the short code of the organisation ``application`` is for
    (another organisation has it), or "" (portal.organisations.details.short_code_taken, the
    rule the organisation's page applies too)."""
    return details.short_code_taken(code, exclude_id=application.organisation_id if application else None)


def short_code_held(code: str, application: Application) -> str:
    """That another organisation has ``code``, said to whoever decides on ``application``
    (details.short_code_held: no "Choose another", which is the nodal officer's to do), or ""."""
    return details.short_code_held(code, exclude_id=application.organisation_id)


def parent_id(application: Application) -> int | None:
    """The id of the existing organisation the form names as the parent, or None (none named,
    or not a number an organisation could have); whether it exists is not asked."""
    return _parent_id_in(application.section_data(Section.HIERARCHY))


def _parent_id_in(hierarchy: object) -> int | None:
    if not isinstance(hierarchy, dict) or hierarchy.get("parent_choice") != "existing" or not hierarchy.get("parent"):
        return None
    try:
        pk = int(hierarchy["parent"])
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


def parent_organisation(application: Application) -> Organisation | None:
    """The existing organisation the form names as the parent, or None."""
    pk = parent_id(application)
    return compiled.first(_organisation_query, pk=pk) if pk else None


def staff_domains(application: Application) -> list[str]:
    """The email domains the form lists for the organisation's staff, as final approval
    records them (``clean_staff_domains``; none when the list does not pass it)."""
    try:
        domains, _warnings = clean_staff_domains(application.section_data(Section.ORGANISATION).get("email_domains"))
    except ValidationError:
        return []
    return domains


def placement_of(application: Application, parent: Organisation | None) -> dict | None:
    """Where the application places the office (``parent``, as ``parent_organisation``
    reads it) and whether those who act for that organisation were told of it
    (onboarding/approval/placement.py): {"parent", "told_at" (None: not told), "superadmins"
    (told to them: it has no admin)}; None when it names no parent on Sandes. No query."""
    if parent is None:
        return None
    told = application.placement_told_to_id == parent.pk
    return {"parent": parent, "told_at": application.placement_told_at if told else None,
            "superadmins": told and application.placement_told_superadmins}


def proposed_parent(application: Application) -> dict | None:
    """The parent organisation not yet on Sandes that the form names, as the form checked it:
    {"name": its name, stripped, "org_type": its type, or "" if not one}; None when the form
    names none (another choice, or a name that shows nothing). No query."""
    hierarchy = application.section_data(Section.HIERARCHY)
    name = str(hierarchy.get("new_parent_name") or "").strip()[:200]
    if hierarchy.get("parent_choice") != "new" or not has_visible_characters(name):
        return None
    org_type = hierarchy.get("new_parent_type")
    return {"name": name, "org_type": org_type if org_type in OrganisationType.values else ""}


def official_within(application: Application) -> int | None:
    """The id of the organisation whose accepted email domains count as official for the
    application's competent authority and nodal officer: its own when it has one, else the
    existing one the form places it under, else None (a new organisation on its own: only
    the official suffixes count). No query."""
    return application.organisation_id or parent_id(application)


def official_within_ids(application_ids: Iterable[int]) -> dict[int, int | None]:
    """{application id: ``official_within`` of it} for ``application_ids``. One query."""
    rows = Application.objects.filter(pk__in=set(application_ids)).values_list(
        "pk", "organisation_id", f"data__{Section.HIERARCHY}")
    return {pk: organisation_id or _parent_id_in(hierarchy) for pk, organisation_id, hierarchy in rows}


def people_of(application: Application) -> dict[str, dict]:
    """The nodal officer and the competent authority as the form names them, each with
    their address's domain, to be shown side by side to whoever decides."""
    people = {}
    for key, section in (("officer", Section.NODAL_OFFICER), ("authority", Section.COMPETENT_AUTHORITY)):
        data = application.section_data(section)
        email = (data.get("official_email") or "").strip().lower()
        people[key] = {"name": data.get("name") or "", "designation": data.get("designation") or "",
                       "email": email, "domain": email.rpartition("@")[2]}
    if not people["officer"]["email"]:
        people["officer"]["email"] = application.nodal_officer.email
    return people


# The retention policy of applications returned for correction and left so
# (onboarding.application.returned): reminded, then withdrawn.
RETURNED_POLICY = RetentionKind.RETURNED_APPLICATION


def withdrawal_day(policy: RetentionPolicy, reminded_at: datetime) -> date:
    """The day (India's) from which the retention run withdraws an application returned for
    correction whose officer was reminded at ``reminded_at``: what the reminder names, and
    the day before which the officer must submit it again."""
    return reminder_names(policy, reminded_at)


def correction_deadline(application: Application, *, now: datetime | None = None) -> date | None:
    """The day before which ``application``, returned for correction, must be submitted
    again (or at least saved), or the retention run withdraws it: the day its officer's
    reminder named, or, not reminded yet, the day a reminder sent once it has been left
    for the policy's days (today, if that is past) would name. None for an application
    not returned for correction, while the policy is off, and while the application or its
    officer is under a legal hold (the run leaves it alone: no day can be named). The day
    may be today or past (the run has not come yet): it may then be withdrawn at the next
    run. One query: the policy, with the reminder sent since the application was last
    touched and whether a hold is in force."""
    if application.status != ApplicationStatus.CHANGES_REQUESTED:
        return None
    reminded = RetentionMark.objects.filter(kind=RETURNED_POLICY, target_id=application.pk,
                                            reminded_at__gte=application.updated_at)
    holds = LegalHold.objects.filter(
        Q(target_type=HoldTarget.APPLICATION, target_id=application.pk)
        | Q(target_type=HoldTarget.PERSON, target_id=application.nodal_officer_id), released_at__isnull=True)
    policy = RetentionPolicy.objects.filter(kind=RETURNED_POLICY).annotate(
        reminded=Subquery(reminded.values("reminded_at")[:1]), named=Subquery(reminded.values("due_on")[:1]),
        held=Exists(holds)).first()
    if policy is None:  # not stored yet: the run stores it with its defaults
        retention_policies()
        return correction_deadline(application, now=now)
    if not policy.enabled or policy.held:
        return None
    if policy.named:  # the day its reminder named, whatever the policy says since
        return policy.named
    if policy.reminded:
        return withdrawal_day(policy, policy.reminded)
    # Not reminded yet: reminded by the first run once it has been left the policy's whole
    # days (the day it was last touched not counted), the next run at the earliest (today's
    # before its hour, tomorrow's after it).
    reminded_on = timezone.localdate(application.updated_at) + timedelta(days=policy.days + 1)
    return max(reminded_on, timezone.localdate(next_run_at(now))) + timedelta(days=policy.days_after_reminder)


def last_return(application: Application) -> ApprovalStep | None:
    """The decision that returned the application for correction, if it is waiting
    for one: what the officer is asked to change (one query)."""
    if application.status != ApplicationStatus.CHANGES_REQUESTED:
        return None
    return application.steps.filter(decision=Decision.RETURN).order_by("-decided_at", "-id").first()
