"""Approval routing (DESIGN §4): approval steps, decisions, appeals and final approval.

Every status change goes through ``workflow.advance``. Services lock the
application row first and then its step (the same order as submit and
withdraw), so two decisions racing on one step give exactly one decision: the
second finds the step decided and raises ``StepAlreadyDecided``.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from onboarding import notifications, workflow
from onboarding.application.selectors import (
    accounts_holding,
    officer_address_moved,
    officer_addresses,
    officer_eligibility,
    official_within,
    parent_id,
    parent_organisation,
    proposed_parent,
    short_code_held,
    staff_domains,
)
from onboarding.application.services import (
    OfficerNotEligible,
    application_lock_for_officer,
    authority_mailbox_check,
    officer_lock,
)
from onboarding.application.validators import clean_staff_domains
from onboarding.approval.changes import reply_to_remarks
from onboarding.approval.deadlines import appeal_until, due_at
from onboarding.approval.decider_mails import tell_deciders
from onboarding.approval.placement import placement_made_tell
from onboarding.approval.selectors import (
    Tell,
    authorities_refused,
    authority_steps_refused,
    deciders_to_tell,
    escalation_tell,
    last_rejection,
    last_seen_step,
    refused_deciders,
    short_code_lost,
    told_of_waiting,
)
from onboarding.approval.tasks import approval_letter_enqueue
from onboarding.approval.timings import approval_timings
from onboarding.approval.tokens import (
    LinkState,
    authority_link_topic,
    link_state,
    review_url,
    token_build,
    token_lookup,
    token_lookup_digest,
)
from onboarding.models import (
    Application,
    ApplicationStatus,
    ApprovalStep,
    AuthorityToken,
    Decision,
    Section,
    Stage,
)
from portal.accounts.mail_limits import same_mailbox
from portal.accounts.official_email import normalise_address
from portal.accounts.selectors import addresses_of_users
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.client import request_meta
from portal.limits import refuse_over
from portal.mail.models import OutboxPriority
from portal.mail.refusals import unknown_mailboxes
from portal.mail.services import outbox_drop
from portal.organisations.models import Organisation, OrganisationStatus
from portal.organisations.services import organisation_activate, short_code_lock
from portal.permissions import AnyUser, decided_jurisdictions, is_superadmin
from portal.shown import check_shown, shown_digest
from portal.text import has_visible_characters, multi_line

TERMINAL = {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED_FINAL}
RESEND_INTERVAL = timedelta(minutes=10)
REMARKS_MAX = 4000


class StepAlreadyDecided(Exception):
    """The step was decided (or closed) before this decision: the caller shows who and when."""

    def __init__(self, step: ApprovalStep) -> None:
        self.step = step
        super().__init__(f"step {step.pk} already decided: {step.decision}")


class LinkNotValid(Exception):
    def __init__(self, state: LinkState, token: AuthorityToken | None = None) -> None:
        self.state, self.token = state, token
        super().__init__(f"authority link is {state.value}")


class AppealWindowClosed(Exception):
    def __init__(self, deadline: datetime | None) -> None:
        self.deadline = deadline
        super().__init__(f"the appeal period ended at {deadline}")


def _latest_version_number(application: Application) -> int:
    return application.versions.aggregate(number=Max("number"))["number"] or 0


def authority_of(application: Application) -> tuple[str, str]:
    data = application.section_data(Section.COMPETENT_AUTHORITY)
    return (data.get("official_email") or "").strip().lower(), (data.get("name") or "").strip()


# Opening steps -------------------------------------------------------------------

def _send_link(application: Application, step: ApprovalStep, now: datetime, *, resent: bool = False) -> None:
    """Make a new link for the authority's step (the caller has superseded the live
    ones) and email it to the authority. Not reply-to the nodal officer: a reply quotes
    the link, which would then decide in the officer's hands; the mail gives the
    officer's address to write to instead."""
    raw, row = token_build(step=step, email=step.assignee_email, now=now)
    row.save(force_insert=True)
    # A mail with a link the caller superseded, still waiting for the relay: not sent after this one.
    outbox_drop(topics=[authority_link_topic(application.pk)])
    resubmitted = last_seen_step(step) is not None
    # Sent again after a return for correction, to this authority or to one the correction named:
    # the remarks and the officer's reply to them, quoted (as the state administrators' mail does).
    version = (application.versions.filter(number=step.version_number).first()
               if step.version_number > 1 else None)
    notifications.send_bilingual(
        to=[step.assignee_email], template="authority_request", priority=OutboxPriority.URGENT,
        topic=authority_link_topic(application.pk),
        context={"application": application, "step": step, "link": review_url(raw), "resent": resent,
                 "resubmitted": resubmitted, "officer": application.nodal_officer,
                 **(reply_to_remarks(step, version) if version is not None else {})},
    )


def step_open_authority(*, application: Application) -> ApprovalStep:
    """Send the (re)submitted application to its competent authority: a step, a
    link by email to the official address, and a
    receipt to the nodal officer. The caller holds the application's row lock."""
    now = timezone.now()
    email, name = authority_of(application)
    AuthorityToken.objects.filter(
        step__application=application, used_at__isnull=True, superseded_at__isnull=True
    ).update(superseded_at=now)
    step = ApprovalStep.objects.create(
        application=application, stage=Stage.AUTHORITY, assignee_email=email, assignee_name=name,
        jurisdiction=application.jurisdiction, version_number=_latest_version_number(application),
        opened_at=now, due_at=due_at(Stage.AUTHORITY, now),
    )
    _send_link(application, step, now)
    notifications.notify_officer(application=application, template="submitted", context={"step": step})
    return step


def step_open_state(*, application: Application) -> ApprovalStep:
    """The state (or central) administrators' step, told to those who may decide it; when
    nobody may, the step says so (``nobody_may_decide_since``) instead of waiting unseen."""
    now = timezone.now()
    [recipients] = deciders_to_tell([Tell(application, Stage.STATE)])
    step = ApprovalStep.objects.create(
        application=application, stage=Stage.STATE, jurisdiction=application.jurisdiction,
        version_number=_latest_version_number(application), opened_at=now, due_at=due_at(Stage.STATE, now),
        nobody_may_decide_since=None if recipients else now,
    )
    # Sent again after a return for correction: the remarks and the officer's reply to them, quoted.
    version = application.versions.filter(number=step.version_number).first() if step.version_number > 1 else None
    tell_deciders(to=recipients, template="state_assigned",
                  context={"application": application, "step": step,
                           **(reply_to_remarks(step, version) if version is not None else {})})
    return step


def step_resend_authority_link(
    *, application_id: int, actor: AnyUser, request: HttpRequest | None = None
) -> ApprovalStep:
    """The nodal officer asks for a new link for the competent authority (the
    old one expired or was lost); the previous link stops working. One a step every
    RESEND_INTERVAL, ONBOARDING_LINK_RESENDS_PER_DAY an officer (``_check_resend_rate``),
    and none past the requests for a decision the authority's mailbox may be sent in a day,
    by this officer or by all (``authority_mailbox_check``)."""
    with transaction.atomic():
        officer_lock(actor=actor)  # two asked for at once cannot both pass the daily limit
        # A link asks for a decision in the officer's name: not for one out of service, as submitting is not.
        application = application_lock_for_officer(application_id=application_id, actor=actor, in_service=True)
        step = application.steps.select_for_update().filter(decision="", stage=Stage.AUTHORITY).first()
        if step is None:
            raise workflow.InvalidTransition(application.status, "resend_link")
        problem = authority_steps_refused([step]).get(step.pk)
        if problem:  # its link would decide nothing
            raise ValidationError(_("%(email)s can no longer decide as a competent authority: %(problem)s No new link "
                                    "was sent to it.") % {"email": step.assignee_email, "problem": problem},
                                  code="authority_not_eligible")
        if unknown_mailboxes([step.assignee_email]):  # its link would not be offered to the relay
            raise ValidationError(_("The mail server refused %(email)s as an address that does not exist: no new link "
                                    "was sent to it. The application's page says what you can do.")
                                  % {"email": step.assignee_email}, code="authority_address_unknown")
        now = timezone.now()
        latest = step.tokens.order_by("-created_at").values_list("created_at", flat=True).first()
        if latest and now - latest < RESEND_INTERVAL:
            raise ValidationError(_("A new link was sent less than 10 minutes ago. Please wait before sending another."),
                                  code="too_soon")
        _check_resend_rate(actor, now)
        authority_mailbox_check(address=step.assignee_email, officer=actor, now=now, message=_(
            "The portal has sent the competent authority's address %(n)s requests for a decision in the last 24 "
            "hours, the most one mailbox may receive: no new link was sent. You can ask for one from %(when)s."),
            share_message=_(
            "You have sent the competent authority's address %(n)s requests for a decision in the last 24 hours (from "
            "any account of your mailbox: your address with or without a “+” tag), the most one nodal officer may send "
            "one mailbox: no new link was sent. You can ask for one from %(when)s."))
        AuthorityToken.objects.filter(step=step, used_at__isnull=True, superseded_at__isnull=True).update(superseded_at=now)
        if step.address_unknown_told_at is not None:  # its refusal was lifted: a new one is told again
            step.address_unknown_told_at = None
            step.save(update_fields=["address_unknown_told_at"])
        _send_link(application, step, now, resent=True)
        audit_record(actor=actor, action=AuditAction.STEP_REMINDED, target=application, request=request,
                     new={"step": step.pk, "stage": step.stage, "new_link_to": step.assignee_email, "by": "nodal_officer"})
    return step


def authority_address_unknown_tell(*, mailboxes: list[str]) -> list[ApprovalStep]:
    """The mail relay refused these mailboxes as ones that do not exist (or a message was not
    offered to it for them because it had: portal/mail/refusals.py). The nodal officer of each
    application waiting for a competent authority at one of them is told, once a step, by mail
    and on the application's timeline: the authority never got the request (and gets no
    reminder) and so cannot decide; the application's page says what the officer can do. Each
    step is claimed by one conditional update, so two senders refused at once tell once."""
    if not mailboxes:
        return []
    now = timezone.now()
    steps = list(ApprovalStep.objects.filter(
        stage=Stage.AUTHORITY, decision="", assignee_email__in=mailboxes, address_unknown_told_at__isnull=True,
        application__status=ApplicationStatus.WITH_AUTHORITY,
    ).select_related("application", "application__nodal_officer"))
    told = []
    for step in steps:
        if not ApprovalStep.objects.filter(pk=step.pk, address_unknown_told_at__isnull=True).update(
                address_unknown_told_at=now):
            continue  # told by another sender meanwhile
        notifications.notify_officer(application=step.application, template="authority_address_unknown",
                                     context={"step": step})
        audit_record(actor=None, action=AuditAction.STEP_AUTHORITY_ADDRESS_UNKNOWN,
                     target=step.application, new={"step": step.pk, "stage": step.stage, "email": step.assignee_email})
        told.append(step)
    return told


def _check_resend_rate(actor: AnyUser, now: datetime) -> None:
    """Each new link mails the official address the officer named: at most
    ONBOARDING_LINK_RESENDS_PER_DAY in 24 hours per officer, over all their applications and
    every account of their mailbox (same_mailbox: "+tag" accounts are the same person),
    counted from the audit events that record them; else anyone with an official address
    could make the portal mail any official address every 10 minutes."""
    accounts = get_user_model().objects.filter(same_mailbox("email", actor.email)).values("pk")
    asked = AuditEvent.objects.filter(actor_id__in=accounts, action=AuditAction.STEP_REMINDED)
    refuse_over(asked, "created_at", settings.ONBOARDING_LINK_RESENDS_PER_DAY, now, _(
        "You have asked for %(n)s new links for competent authorities in the last 24 hours (from any account of your "
        "mailbox: your address with or without a “+” tag), the most the portal accepts: each one emails the "
        "authority. You can ask for another from %(when)s."))

def steps_close_on_withdrawal(*, application: Application, actor: AnyUser | None,
                              for_officer: bool = False) -> list[ApprovalStep]:
    """Close the open step of a withdrawn application and void its links (caller holds the
    lock), and tell whoever was told it waits on them that it no longer does
    (``_tell_withdrawn``; ``for_officer``: that it was withdrawn on the nodal officer's
    behalf, not by them)."""
    now = timezone.now()
    steps = list(application.steps.select_for_update().filter(decision=""))
    for step in steps:
        step.decision = Decision.CANCELLED
        step.decided_at = now
        step.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        step.decided_by_email = getattr(actor, "email", "")
        step.save(update_fields=["decision", "decided_at", "decided_by", "decided_by_email"])
    AuthorityToken.objects.filter(
        step__application=application, used_at__isnull=True, superseded_at__isnull=True
    ).update(superseded_at=now)
    outbox_drop(topics=[authority_link_topic(application.pk)])  # links void: none delivered after this
    _tell_withdrawn(application, steps, for_officer=for_officer)
    return steps


def _tell_withdrawn(application: Application, steps: list[ApprovalStep], *, for_officer: bool = False) -> None:
    """Those told that a closed step waited on them are told it no longer does, one mail
    each: the competent authority its link went to (the link no longer works), and the
    administrators the step was in the queue of or escalated to (``told_of_waiting``; as
    ``deciders_to_tell`` chooses them now, so nobody the decision would refuse), with a
    link to their queue, since the application is no longer theirs to open. An authority whose
    address can no longer act as one (authority_steps_refused) is not mailed, as no link nor
    reminder goes to it."""
    refused = authority_steps_refused(steps)
    for step in steps:
        context = {"application": application, "step": step, "for_officer": for_officer}
        if step.assignee_email and step.pk not in refused:
            notifications.send_bilingual(to=[step.assignee_email], template="authority_withdrawn", context=context)
        asks = told_of_waiting(step)
        if asks:
            told = dict.fromkeys(email for emails in deciders_to_tell(asks) for email in emails)
            tell_deciders(to=told, template="step_withdrawn", context=context)


# The remark of an appeal the system closed as its nodal officer's account was erased
# (``appeal_close_on_erasure``), and its audit row's "reason": stable values.
APPEAL_CLOSED_ACCOUNT_ERASED = "The nodal officer's account was erased."
APPEAL_CLOSED_REASON = "account_erased"


def appeal_close_on_erasure(*, application: Application) -> ApprovalStep | None:
    """Close the open appeal of ``application`` (locked by the caller) as its nodal
    officer's account is erased: overturning would make the closed account the
    organisation's admin, which final approval refuses, so nobody could grant it and it
    would wait in the superadmins' queue for ever. The system upholds the rejection (the
    appeal's own transition; its remark says why), the audit row records it as the
    system's decision, and the superadmins told the appeal waits on them (or to whom it
    was escalated) are told it no longer does; the officer is not (their account and its
    mail go). None when no appeal is open."""
    step = application.steps.select_for_update().filter(decision="", stage=Stage.APPEAL).first()
    if step is None:
        return None
    event = workflow.step_event(Stage.APPEAL, Decision.UPHOLD, application.status)
    old_status, new_status = workflow.advance(application, event)
    now = timezone.now()
    step.decision, step.remarks, step.decided_at = Decision.UPHOLD, APPEAL_CLOSED_ACCOUNT_ERASED, now
    step.decided_by, step.decided_by_email = None, ""
    step.save(update_fields=["decision", "remarks", "decided_at", "decided_by", "decided_by_email"])
    application.closed_at = now
    application.save(update_fields=["status", "closed_at", "updated_at"])
    audit_record(
        actor=None, action=AuditAction.STEP_DECIDED, target=application, actor_role="system",
        old={"status": old_status},
        new={"status": new_status, "step": step.pk, "stage": step.stage, "decision": step.decision.value,
             "remarks": step.remarks, "version": step.version_number, "reason": APPEAL_CLOSED_REASON},
    )
    # Whom application_appeal told (the appeal's deciders) and any it was escalated to, as
    # deciders_to_tell chooses them now (leaving out the officer, by their addresses still).
    asks = [Tell(application, Stage.APPEAL), *([escalation_tell(step)] if step.escalated_at is not None else [])]
    told = dict.fromkeys(email for emails in deciders_to_tell(asks) for email in emails)
    tell_deciders(to=told, template="appeal_closed", context={"application": application, "step": step})
    return step


# Deciding ---------------------------------------------------------------------------

def may_decide_state_step(user: AnyUser, step: ApprovalStep) -> bool:
    jurisdictions = decided_jurisdictions(user)
    return jurisdictions is None or step.jurisdiction in jurisdictions


FINAL_APPROVALS = {workflow.Event.STATE_APPROVE, workflow.Event.APPEAL_OVERTURN}


# A final approval refused below says what the decider can do instead: at the state level
# return the application for correction (or reject it); an appeal can only overturn or
# uphold the rejection (workflow.TRANSITIONS has no return from under_appeal), so its advice
# is one of those, or what would let the overturn go through.

def _state_advice(problem: str, may_return: bool) -> str:
    """``problem``, refusing a state administrator's approval, with what they can do instead:
    return the application for correction, or, with no return left (``workflow.returns_left``),
    reject it."""
    if may_return:
        return _("%(problem)s Return the application for correction instead.") % {"problem": problem}
    return _("%(problem)s It cannot be returned for correction again (it has been returned the most times the portal "
             "allows): reject it, giving this as the reason; its nodal officer may appeal the rejection or apply "
             "again.") % {"problem": problem}


def _check_officer_may_become_admin(application: Application, stage: Stage, may_return: bool = True) -> None:
    """Final approval makes the nodal officer the organisation's first admin: only
    while their account still earns it (active, with an official, verified primary
    address, at a domain accepted for an organisation only where it is official:
    ``official_within``, of someone still in government service) and is still the one the form names (its address the form's:
    ``officer_address_moved``)."""
    if not application.nodal_officer.is_active:  # deactivated: it can no longer sign in
        raise ValidationError({"decision": _(
            "The nodal officer's account has been deactivated: they cannot be made the organisation's admin. "
            "Uphold the rejection, or overturn it once their account is active again."
        ) if stage == Stage.APPEAL else _(
            "The nodal officer's account has been deactivated: they cannot be made the organisation's admin. "
            "Reject the application, or approve it once their account is active again."
        )}, code="officer_not_eligible")
    # Their address's domain, if one accepted for an organisation, counts only where it is official.
    problem = officer_eligibility(application.nodal_officer, within=official_within(application), in_service=True,
                                  someone_else=True)
    if problem:
        if stage == Stage.APPEAL:
            message = _(
                "The nodal officer can no longer be made the organisation's admin: %(problem)s An appeal cannot return "
                "the application for correction: overturn the rejection once their account is eligible again, or "
                "uphold it and they can apply again.") % {"problem": problem}
        elif may_return:
            message = _(
                "The nodal officer can no longer be made the organisation's admin: %(problem)s "
                "Return the application for correction instead.") % {"problem": problem}
        else:
            message = _state_advice(_("The nodal officer can no longer be made the organisation's admin: %(problem)s")
                                    % {"problem": problem}, may_return)
        raise ValidationError({"decision": message}, code="officer_not_eligible")
    moved = officer_address_moved(application)
    if moved is not None:  # the account is no longer the mailbox the form, and every decision, named
        raise ValidationError({"decision": (_(
            "The nodal officer's account no longer has the address the form names for them, %(email)s (changed since "
            "the form was filled): approval would make whoever holds the account now the organisation's admin. An "
            "appeal cannot return the application for correction: overturn the rejection once the account's address "
            "is %(email)s again, or uphold it and a nodal officer at that address can apply again."
        ) if stage == Stage.APPEAL else _(
            "The nodal officer's account no longer has the address the form names for them, %(email)s (changed since "
            "the form was filled): approval would make whoever holds the account now the organisation's admin. "
            "Approve it once the account's address is %(email)s again, or return the application for correction."
        ) if may_return else _(
            "The nodal officer's account no longer has the address the form names for them, %(email)s (changed since "
            "the form was filled): approval would make whoever holds the account now the organisation's admin. "
            "Approve it once the account's address is %(email)s again, or reject it: it cannot be returned for "
            "correction again (it has been returned the most times the portal allows)."
        )) % {"email": moved}}, code="officer_address_moved")


def _check_short_code_free(application: Application, stage: Stage, may_return: bool = True) -> None:
    """Final approval makes the organisation active under its short code: refused while
    another organisation has it (taken since the form was checked). The code's lock, held
    until the decision commits, makes another approval naming it at the same moment wait
    and then find it taken, as it would one after the other."""
    code = application.section_data(Section.ORGANISATION).get("short_code") or ""
    short_code_lock(code)
    # Said to the decider, who does not choose the short code: what they can do so that the officer chooses another.
    problem = short_code_held(code, application)
    if problem:
        raise ValidationError({"decision": (_(
            "%(problem)s An appeal cannot return the application for correction: uphold the rejection, giving this "
            "as the reason, and the nodal officer can apply again with another short code."
        ) if stage == Stage.APPEAL else _(
            "%(problem)s Return the application for correction so that its nodal officer can choose another short code."
        ) if may_return else _(
            "%(problem)s It cannot be returned for correction again (it has been returned the most times the portal "
            "allows): reject it, giving this as the reason; its nodal officer can then apply again with another short "
            "code.")) % {"problem": problem}}, code="short_code_taken")


def _check_staff_domains_allowed(application: Application, stage: Stage, may_return: bool = True) -> None:
    """Final approval gives the organisation the email domains its form lists: refused
    while one of them is refused now (marked a personal mail service since the form was
    checked), rather than making it active with none."""
    try:
        clean_staff_domains(application.section_data(Section.ORGANISATION).get("email_domains"))
    except ValidationError as exc:
        raise ValidationError({"decision": (_(
            "%(problem)s An appeal cannot return the application for correction: uphold the rejection, giving this "
            "as the reason, and the nodal officer can apply again without that domain; or, if it was marked a "
            "personal mail service by mistake, correct the official email rules and then overturn it."
        ) % {"problem": " ".join(exc.messages)} if stage == Stage.APPEAL
            else _state_advice(" ".join(exc.messages), may_return))}, code="domains_refused") from None


def _check_parent_active(application: Application, stage: Stage, may_return: bool = True) -> None:
    """Final approval places the organisation under the existing parent its form names:
    refused while that parent is no longer active (suspended, or gone, since the form was
    checked), rather than making it active under a suspended parent or under none. The
    parent's row stays locked until the decision commits, so it is not suspended or
    deleted between this check and the new organisation's being placed under it."""
    pk = parent_id(application)
    if pk is None:
        return
    parent = Organisation.objects.select_for_update(no_key=True).filter(pk=pk).only("name", "status").first()
    if parent is not None and parent.status == OrganisationStatus.ACTIVE:
        return
    problem = _(
        "The parent organisation the form names is no longer on Sandes: the organisation cannot be placed under it."
    ) if parent is None else _(
        "The parent organisation the form names, %(parent)s, is no longer active on Sandes: the organisation cannot "
        "be placed under it."
    ) % {"parent": parent.name}
    raise ValidationError({"decision": (_(
        "%(problem)s An appeal cannot return the application for correction: uphold the rejection, giving this "
        "as the reason, and the nodal officer can apply again under an active parent organisation; or overturn "
        "it once the parent organisation is active on Sandes again."
    ) % {"problem": problem} if stage == Stage.APPEAL else _state_advice(problem, may_return))},
        code="parent_not_active")


def _returns_made(application: Application) -> int:
    return application.steps.filter(decision=Decision.RETURN).count()


def _check_return_left(application: Application, returns_max: int) -> int:
    """How many times ``application`` was returned for correction; ValidationError when no
    return is left (``workflow.returns_left``, of ``returns_max``)."""
    returns_made = _returns_made(application)
    if not workflow.returns_left(returns_made, returns_max):
        raise ValidationError({"decision": ValidationError(ngettext(
            "This application has been returned for correction %(n)s time, the most the portal allows: it "
            "cannot be returned again. Approve or reject it; its nodal officer may appeal a rejection to the "
            "superadmins.",
            "This application has been returned for correction %(n)s times, the most the portal allows: it "
            "cannot be returned again. Approve or reject it; its nodal officer may appeal a rejection to the "
            "superadmins.", returns_made) % {"n": returns_made}, code="returns_exhausted")})
    return returns_made


def _check_final_approval(application: Application, stage: Stage, returns_max: int | None) -> None:
    """ValidationError when what final approval would do cannot be done now; at the state
    level its advice is a return for correction while one is left (of ``returns_max``)."""
    may_return = stage != Stage.STATE or bool(workflow.returns_left(_returns_made(application), returns_max))
    _check_officer_may_become_admin(application, stage, may_return)
    _check_short_code_free(application, stage, may_return)
    _check_staff_domains_allowed(application, stage, may_return)
    _check_parent_active(application, stage, may_return)


def step_decide(
    *,
    step_id: int,
    decision: Decision | str,
    remarks: str | None = "",
    actor: AnyUser | None = None,
    token: str | None = None,
    token_digest: str | None = None,
    request: HttpRequest | None = None,
    stage: Stage | None = None,
) -> ApprovalStep:
    """Record a decision on an open step and move the application on.

    The competent authority decides with ``token`` (no account, ``actor`` None),
    or with ``token_digest``, the SHA-256 of the link its session holds;
    state administrators and superadmins decide as ``actor``. Raises
    StepAlreadyDecided, LinkNotValid, PermissionDenied, InvalidTransition or
    ValidationError (a reason is missing), and changes nothing when it does.
    """
    # As an appeal's grounds: its lines kept, no control character or bidi override (the officer's
    # pages, the mails and the letter show them).
    remarks = multi_line((remarks or "").strip()).strip()[:REMARKS_MAX]
    if not has_visible_characters(remarks):  # only zero-width and other invisible characters: no reason given
        remarks = ""
    try:
        decision = Decision(decision)
    except ValueError:
        raise ValidationError({"decision": _("Choose a decision.")}, code="invalid") from None
    with transaction.atomic():
        application_id = ApprovalStep.objects.filter(pk=step_id).values_list("application_id", flat=True).first()
        if application_id is None:
            raise ApprovalStep.DoesNotExist
        application = Application.objects.select_for_update(of=("self",)).select_related("nodal_officer").get(pk=application_id)
        step = ApprovalStep.objects.select_for_update().get(pk=step_id)
        if stage is not None and step.stage != stage:
            raise workflow.InvalidTransition(application.status, f"{step.stage}:{decision}")
        if step.decision:
            raise StepAlreadyDecided(step)
        if step.stage == Stage.AUTHORITY:
            token_row = _authority_token(step, token, token_digest)
            signed_in = getattr(request, "user", None)
            signed_in = signed_in if signed_in is not None and signed_in.is_authenticated else None
            _check_authority_decider(token_row, signed_in, application)
            # Whoever is signed in where the link decides (a forwarded link) is recorded on the
            # step, and so is every account that holds the link's address, or held it since the
            # step opened: refused_deciders then keeps them from deciding the next level or the
            # appeal, the address removed from their account before or after.
            actor, decided_by, decided_by_email = None, signed_in, token_row.email
            step.link_holders = accounts_holding(token_row.email, since=step.opened_at)
        else:
            _check_staff_decider(actor, step, application)
            _check_second_pair_of_eyes(actor, step, application)
            token_row, decided_by, decided_by_email = None, actor, actor.email
        event = workflow.step_event(step.stage, decision, application.status)
        if decision in workflow.REMARKS_REQUIRED and not remarks:
            raise ValidationError({"remarks": _("Give the reason for this decision.")}, code="required")
        # The most returns, as the superadmins set it now: read where a return is counted.
        returns_max = (approval_timings().returns_max
                       if decision == Decision.RETURN or (event in FINAL_APPROVALS and step.stage == Stage.STATE) else None)
        returns_made = _check_return_left(application, returns_max) + 1 if decision == Decision.RETURN else None
        if event in FINAL_APPROVALS:
            _check_final_approval(application, step.stage, returns_max)
        old_status, new_status = workflow.advance(application, event)
        now = timezone.now()
        ip, user_agent = request_meta(request)
        step.decision, step.remarks, step.decided_at = decision, remarks, now
        step.decided_by, step.decided_by_email, step.ip, step.user_agent = decided_by, decided_by_email, ip, user_agent
        step.save(update_fields=["decision", "remarks", "decided_at", "decided_by", "decided_by_email", "link_holders", "ip",
                                 "user_agent"])
        if token_row is not None:
            token_row.used_at = now
            token_row.save(update_fields=["used_at"])
        if step.stage == Stage.AUTHORITY:  # its links decide nothing now: a reminder still to send is not sent
            outbox_drop(topics=[authority_link_topic(application.pk)])
        fields = ["status", "updated_at"]
        if new_status in TERMINAL:
            application.closed_at = now
            fields.append("closed_at")
        application.save(update_fields=fields)
        audit_record(
            actor=actor, action=AuditAction.STEP_DECIDED, target=application, request=request,
            # The authority has no account: named by the address the link went to, a
            # personal value (redacted with the step's personal details), not in the role.
            actor_role="competent_authority" if actor is None else "",
            old={"status": old_status},
            new={"status": new_status, "step": step.pk, "stage": step.stage, "decision": decision.value,
                 "remarks": remarks, "version": step.version_number,
                 **({"email": decided_by_email} if actor is None else {}),
                 **({"signed_in_account": decided_by.pk} if actor is None and decided_by is not None else {})},
        )
        _after_decision(application=application, step=step, event=event, actor=actor, request=request,
                        returns_made=returns_made, returns_max=returns_max)
    return step


def _authority_token(step: ApprovalStep, token: str | None, digest: str | None = None) -> AuthorityToken:
    """The competent authority's link for ``step``, locked; LinkNotValid when it is not a valid one."""
    if token:
        token_row = token_lookup(token, for_update=True)
    else:
        token_row = token_lookup_digest(digest, for_update=True) if digest else None
    if token_row is None or token_row.step_id != step.pk:
        raise LinkNotValid(LinkState.UNKNOWN)
    state = link_state(token_row)
    if state != LinkState.VALID:
        raise LinkNotValid(state, token_row)
    return token_row


def _check_authority_decider(token_row: AuthorityToken, signed_in: AnyUser | None, application: Application) -> None:
    """ValidationError unless the link ``token_row`` may decide now: not in the nodal officer's
    hands, not to one of their addresses, and to an address still eligible as a competent
    authority's."""
    if signed_in is not None and _is_nodal_officer(signed_in, application):
        # The link in the officer's hands (forwarded, quoted in a reply): nobody decides on their own application.
        raise ValidationError(_("You are signed in as this application's nodal officer: only its competent "
                                "authority decides on it, from the link sent to them."), code="own_application")
    if normalise_address(token_row.email) in officer_addresses(application):
        # The authority's mailbox is (now) one of the officer's own, signed in or not.
        raise ValidationError(_("This link went to one of the nodal officer's own addresses: the competent "
                                "authority must be someone else, so it decides nothing."), code="own_address")
    # Checked again now, as the reminders and the officer's page check it: its domain may
    # have been made a contractor's or personal mail since.
    problem = authorities_refused([(token_row.email, application.pk)]).get((token_row.email, application.pk))
    if problem:
        raise ValidationError(_(
            "%(email)s can no longer decide as a competent authority: %(problem)s Write to the nodal officer at "
            "%(officer)s: another competent authority must decide on the application."
        ) % {"email": token_row.email, "problem": problem, "officer": application.nodal_officer.email},
            code="authority_not_eligible")


def _check_staff_decider(actor: AnyUser | None, step: ApprovalStep, application: Application) -> None:
    """PermissionDenied unless ``actor`` may decide ``step`` (a state or appeal step) by their
    role. The nodal officer holding that role (their own account, or another of their
    addresses) finds the application in their queue: they are refused at the decision,
    saying why (``_check_second_pair_of_eyes``)."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied
    if step.stage == Stage.STATE and not may_decide_state_step(actor, step):
        raise PermissionDenied
    if step.stage == Stage.APPEAL and not is_superadmin(actor):
        raise PermissionDenied


def _is_nodal_officer(user: AnyUser, application: Application) -> bool:
    """Whether ``user`` is the application's nodal officer: their account, or another
    account of one of their mailboxes (addresses compared normalised)."""
    return user.pk == application.nodal_officer_id or bool(addresses_of_users({user.pk}) & officer_addresses(application))


def _check_second_pair_of_eyes(actor: AnyUser, step: ApprovalStep, application: Application) -> None:
    """Each level is decided by someone else: neither level by the nodal officer, from their own
    account or another account of one of their addresses (``_is_nodal_officer``), a state step not by the
    competent authority of the same application (the link went to one of their addresses),
    an appeal not by whoever made the rejection under appeal (signed in, or as the competent
    authority through a link to one of their addresses) nor by the competent authority (the
    appeal takes the state level's place). ValidationError at the decision otherwise. Who is
    refused is ``refused_deciders``, which the mails that ask for a decision leave out."""
    addresses = addresses_of_users({actor.pk})
    if not refused_deciders([application])[application.pk][Stage(step.stage)].includes(actor.pk, addresses):
        return
    if actor.pk == application.nodal_officer_id:
        raise ValidationError({"decision": _(
            "You are this application's nodal officer: nobody decides on their own application, so another "
            "administrator decides it.")}, code="own_application")
    if _is_nodal_officer(actor, application):
        raise ValidationError({"decision": _(
            "One of your addresses is this application's nodal officer's: nobody decides on their own application, "
            "so another administrator decides it.")}, code="own_application")
    if step.stage == Stage.APPEAL:
        rejection = last_rejection(application)
        if rejection is not None and (rejection.decided_by_id == actor.pk or actor.pk in rejection.link_holders
                                      or normalise_address(rejection.decided_by_email) in addresses):
            raise ValidationError({"decision": _(
                "You made the rejection under appeal: another superadmin decides the appeal.")}, code="own_rejection")
        if _approved_as_authority(actor, application, addresses):
            raise ValidationError({"decision": _(
                "You approved this application as its competent authority: another superadmin decides the appeal "
                "against its rejection.")}, code="own_authority_decision")
        raise ValidationError({"decision": _(  # returned it, or was signed in when its link decided
            "You decided on this application as its competent authority: another superadmin decides the appeal "
            "against its rejection.")}, code="own_authority_decision")
    raise ValidationError({"decision": _(
        "You decided on this application as its competent authority: another administrator decides it at this "
        "level.")}, code="own_authority_decision")


def _approved_as_authority(actor: AnyUser, application: Application, addresses: set[str]) -> bool:
    """Whether a competent authority's approval of ``application`` is ``actor``'s: made signed
    in as them, or through a link to one of their ``addresses``."""
    approvals = application.steps.filter(stage=Stage.AUTHORITY, decision=Decision.APPROVE)
    return any(step.decided_by_id == actor.pk or actor.pk in step.link_holders
               or normalise_address(step.assignee_email) in addresses or normalise_address(step.decided_by_email) in addresses
               for step in approvals.only("decided_by_id", "link_holders", "assignee_email", "decided_by_email"))


def appeal_refused_why(*, step: ApprovalStep, actor: AnyUser) -> str:
    """Why ``actor``, a superadmin, may not decide the appeal ``step`` (its nodal officer, who
    made the rejection, its competent authority: ``_check_second_pair_of_eyes``), said on its
    page before they decide; "" when they may."""
    try:
        _check_second_pair_of_eyes(actor, step, step.application)
    except ValidationError as refused:
        return " ".join(refused.messages)
    return ""


def appeal_decide(
    *, step_id: int, decision: Decision | str, remarks: str | None = "", actor: AnyUser, request: HttpRequest | None = None
) -> ApprovalStep:
    """A superadmin upholds or overturns a rejection under appeal."""
    return step_decide(step_id=step_id, decision=decision, remarks=remarks, actor=actor, request=request, stage=Stage.APPEAL)


def _after_decision(
    *, application: Application, step: ApprovalStep, event: workflow.Event, actor: AnyUser | None,
    request: HttpRequest | None, returns_made: int | None = None, returns_max: int | None = None,
) -> None:
    """``returns_made``: for a return, how many the application has had with it, of ``returns_max`` (its mail counts them)."""
    E = workflow.Event
    context = {"step": step}
    if event == E.AUTHORITY_APPROVE:
        context["next_step"] = step_open_state(application=application)
        notifications.notify_officer(application=application, template="authority_approved", context=context)
    elif event in (E.AUTHORITY_RETURN, E.STATE_RETURN):
        context.update(returns_made=returns_made, returns_left=workflow.returns_left(returns_made, returns_max),
                       returns_max=returns_max)
        notifications.notify_officer(application=application, template="returned", context=context)
    elif event in (E.AUTHORITY_REJECT, E.STATE_REJECT):
        context["appeal_until"] = appeal_until(step.decided_at)
        notifications.notify_officer(application=application, template="rejected", context=context)
    elif event in (E.STATE_APPROVE, E.APPEAL_OVERTURN):
        application_approve(application=application, actor=actor, request=request)
        notifications.notify_officer(application=application, template="approved", context=context)
    elif event == E.APPEAL_UPHOLD:
        notifications.notify_officer(application=application, template="appeal_upheld", context=context)
    if step.stage == Stage.AUTHORITY:
        # "If you did not make this decision, reply at once": the reply reaches the
        # administrators who look at the application next (the superadmins where the
        # jurisdiction has none who may decide it), not the portal's no-reply address.
        [reviewers] = deciders_to_tell([Tell(application, Stage.STATE)])
        notifications.send_bilingual(to=[step.assignee_email], template="authority_confirmation",
                                     context={"application": application, "step": step}, reply_to=reviewers)


# Final approval ----------------------------------------------------------------------

def application_approve(
    *, application: Application, actor: AnyUser | None, request: HttpRequest | None = None
) -> Organisation:
    """Final approval, inside the deciding transaction: the organisation becomes
    active with its email domains and the nodal officer its first admin (an
    organisation service), and the approval letter is queued for when the
    transaction commits. A parent not yet on Sandes that the form names is none to
    place it under: it is made with no parent, that parent's name and type kept with
    its activation (the deciders were told: review_flags)."""
    data = application.section_data(Section.ORGANISATION)
    organisation = organisation_activate(
        organisation_id=application.organisation_id,
        attributes={**data, "name": data.get("name") or application.organisation_name},
        parent=parent_organisation(application), domains=staff_domains(application),
        first_admin=application.nodal_officer, actor=actor, source=application.reference, request=request,
        proposed_parent=proposed_parent(application),
    )
    application.organisation = organisation
    application.save(update_fields=["organisation"])
    placement_made_tell(application=application, organisation=organisation, actor=actor, request=request)
    transaction.on_commit(lambda: approval_letter_enqueue(application.pk))
    return organisation


# Appeals ---------------------------------------------------------------------------

def appeal_deadline(application: Application) -> datetime | None:
    rejection = last_rejection(application)
    return None if rejection is None else appeal_until(rejection.decided_at)


def _appeal_shown_values(application: Application) -> dict:
    """What the appeal's confirmation shows of the application: the rejection appealed
    against (its reason), until when it may be appealed, and whether its short code was
    given to another organisation or the form names another address for the nodal officer
    than their account's (then the appeal could only be upheld)."""
    rejection = last_rejection(application)
    if rejection is None:
        return {}
    return {"rejection": rejection.pk, "remarks": rejection.remarks, "until": appeal_until(rejection.decided_at),
            "short_code_lost": short_code_lost(application), "officer_address_moved": officer_address_moved(application)}


def appeal_shown(application: Application) -> str:
    """The digest (portal.shown) of what the appeal's confirmation shows (``_appeal_shown_values``):
    a confirmation opened before it changed lodges nothing (ChangedMeanwhile)."""
    return shown_digest(_appeal_shown_values(application))


def application_appeal(
    *, application_id: int, grounds: str | None, actor: AnyUser, request: HttpRequest | None = None,
    shown: str | None = None,
) -> ApprovalStep:
    """The nodal officer appeals a rejection, within the appeal period, stating grounds,
    while they may still act as one (OfficerNotEligible, as at every action of theirs).
    ``shown``: the digest of what their confirmation showed (``appeal_shown``; None: not
    checked); ChangedMeanwhile, lodging nothing, when it is not that of the application now:
    one appeal, never withdrawn, is lodged only against the rejection the officer saw."""
    grounds = multi_line((grounds or "").strip())[:REMARKS_MAX]
    with transaction.atomic():
        application = Application.objects.select_for_update(of=("self",)).select_related("nodal_officer").get(pk=application_id)
        if application.nodal_officer_id != actor.pk:
            raise PermissionDenied
        # Overturned, the rejection makes them the first admin: not someone out of service (as submitting).
        problem = officer_eligibility(actor, in_service=True)
        if problem:
            raise OfficerNotEligible(problem, code="not_eligible")
        workflow.next_status(application.status, workflow.Event.APPEAL)
        now = timezone.now()
        deadline = appeal_deadline(application)
        if deadline is None or now > deadline:
            raise AppealWindowClosed(deadline)
        if not has_visible_characters(grounds):  # empty, or only zero-width and other invisible characters
            raise ValidationError({"grounds": _("State the grounds of your appeal.")}, code="required")
        check_shown(shown, _appeal_shown_values(application))
        old_status, new_status = workflow.advance(application, workflow.Event.APPEAL)
        application.save(update_fields=["status", "updated_at"])
        [recipients] = deciders_to_tell([Tell(application, Stage.APPEAL)])
        step = ApprovalStep.objects.create(
            application=application, stage=Stage.APPEAL, grounds=grounds,
            version_number=_latest_version_number(application), opened_at=now, due_at=due_at(Stage.APPEAL, now),
            nobody_may_decide_since=None if recipients else now,
        )
        audit_record(actor=actor, action=AuditAction.APPLICATION_APPEALED, target=application, request=request,
                     old={"status": old_status}, new={"status": new_status, "step": step.pk, "grounds": grounds})
        # Whom the appeal went to, or that nobody may decide it yet (it then waits for a superadmin to be appointed).
        notifications.notify_officer(application=application, template="appeal_lodged",
                                     context={"step": step, "deciders": len(recipients)})
        tell_deciders(to=recipients, template="appeal_assigned", context={"application": application, "step": step})
    return step
