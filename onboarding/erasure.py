"""What an erasure granted to a person (portal/privacy/requests.py) removes of their
applications: their drafts, with their files and saved versions, as retention erases
an abandoned one; the events of handovers to or from them (another nodal officer) lose
their address, and an application handed over from them that its successor still edits
loses their answers in its Nodal officer section (to be filled again). Their submitted
applications stay (their reference and decisions are kept by other rules, with the account
id); those still waiting for a decision, or returned for correction, are withdrawn first
(``applications_withdraw_on_erasure``): nobody could act on them any more; one under appeal
has its appeal closed, the rejection upheld by the system. The events that list them among
those told of an application (reminders, escalations, placements: ``to``) are redacted. The approval steps they decided
as an administrator lose their address (who decided stays, as the account) and the client
address and browser they decided from; a step decided through an emailed link names the
competent authority's official address, not an account, and that address stays. Each
application can be held on its own, and a hold on one stops the erasure. Registered from
OnboardingConfig.ready."""

from django.db.models import Q
from django.utils import timezone

from onboarding.application.services import applications_withdraw_on_erasure
from onboarding.models import (
    EDITABLE_STATUSES,
    Application,
    ApplicationStatus,
    ApprovalStep,
    Section,
    SectionStatus,
    Stage,
)
from onboarding.retention import applications_audit, drafts_erase
from portal.accounts.official_email import normalise_address
from portal.audit.models import AuditAction, AuditEvent
from portal.permissions import AnyUser
from portal.privacy.models import HoldTarget, LegalHold, RetentionKind, RetentionMark
from portal.privacy.requests import EVENT_TARGET


def person_applications_held(user_id: int) -> list[tuple[str, int]]:
    """The applications an erasure of the person would change, as legal holds name them:
    theirs, those with a step they decided (its address, client address and browser, and the
    events of their decision), and those handed over to or from them (the handover's event,
    their answers in a successor's draft), of those others' the ones held now (a state
    administrator may have decided thousands: only those a hold names count)."""
    held = list(LegalHold.objects.filter(target_type=HoldTarget.APPLICATION, released_at__isnull=True)
                .values_list("target_id", flat=True))
    handed_over = AuditEvent.objects.filter(
        Q(old_values__user_id=user_id) | Q(new_values__user_id=user_id),
        action=AuditAction.APPLICATION_OFFICER_CHANGED, target_type="onboarding.application",
        target_id__in=[str(pk) for pk in held],
    ).values_list("target_id", flat=True) if held else []
    others = Q(pk__in=ApprovalStep.objects.filter(decided_by_id=user_id, application_id__in=held).values("application_id"))
    applications = Application.objects.filter(
        Q(nodal_officer_id=user_id) | others | Q(pk__in=[int(pk) for pk in handed_over if pk.isdigit()]))
    return [(HoldTarget.APPLICATION, pk) for pk in applications.values_list("pk", flat=True)]


def _handed_over_answers_erase(user: AnyUser, addresses: list[str]) -> None:
    """The answers of the Nodal officer section that name one of ``addresses`` in the
    applications handed over from ``user`` to another nodal officer and still being edited (a
    draft, or returned for correction): the successor replaces them with their own before it
    is sent again; until then they are the erased person's details in someone else's
    application. The section is left to fill again. One sent for a decision keeps them, as
    the form it is decided on (its submitted versions keep them in any case, as the person's
    own submitted applications do)."""
    mailboxes = {normalise_address(address) for address in addresses} - {""}
    typed = {address.strip() for address in addresses} | {address.strip().lower() for address in addresses}
    for application in Application.objects.select_for_update(of=("self",)).filter(
            status__in=EDITABLE_STATUSES, data__nodal_officer__official_email__in=sorted(typed)).exclude(nodal_officer=user):
        if normalise_address(str(application.data[Section.NODAL_OFFICER]["official_email"])) not in mailboxes:
            continue
        application.data = {**application.data, Section.NODAL_OFFICER.value: {}}
        application.section_status = {**application.section_status,
                                      Section.NODAL_OFFICER.value: SectionStatus.NOT_STARTED.value}
        application.save(update_fields=["data", "section_status", "updated_at"])


# The events of the deadline jobs and of an office's placement that list those told (``to``).
TOLD_EVENTS = (AuditAction.STEP_REMINDED, AuditAction.STEP_ESCALATED, AuditAction.STEP_ASSIGNED,
               AuditAction.APPLICATION_PLACEMENT_TOLD, AuditAction.ORGANISATION_PLACEMENT_TOLD)


def _told_events(addresses: list[str]) -> list[tuple[str, str]]:
    """The events that list one of ``addresses`` among those told of an application (a
    reminder, an escalation, a step sent to an administrator appointed since, the placement of
    an office), as the addresses were stored, capitals and all: each read in the audit log of
    the application or organisation. Read by the text of their list, then compared whole."""
    wanted = {address.strip().lower() for address in addresses} - {""}
    if not wanted:
        return []
    candidates = Q()
    for address in sorted(wanted):
        candidates |= Q(new_values__to__icontains=address)
    # Only those whose hash keeps ``to`` apart (written since it is a personal key): an older
    # one's hash covers it whole, and redacting it would leave the address there.
    events = AuditEvent.objects.filter(candidates, action__in=TOLD_EVENTS, redacted_at=None,
                                       personal_keys__contains=["to"])
    return [(EVENT_TARGET, str(pk)) for pk, told in events.values_list("pk", "new_values__to")
            if wanted & {str(address).strip().lower() for address in (told if isinstance(told, list) else [told])}]


def person_applications_erase(user: AnyUser, addresses: list[str]) -> list[tuple[str, str]]:
    # The steps of others' applications they decided keep who decided (the account), not its address;
    # one they decided through an authority's link (signed in) keeps the authority's address it names.
    # None keeps the client address and browser they decided from (as retention's closed_reduce clears them).
    ApprovalStep.objects.filter(decided_by=user).exclude(decided_by_email="").exclude(stage=Stage.AUTHORITY).update(
        decided_by_email="")
    ApprovalStep.objects.filter(decided_by=user).exclude(ip=None, user_agent="").update(ip=None, user_agent="")
    # Their open applications sent for a decision are withdrawn, their links void and whoever they
    # waited on told, by the system for the erasure (before the account loses its addresses: the
    # deciders told are chosen leaving the officer out, by those addresses).
    applications_withdraw_on_erasure(user=user)
    _handed_over_answers_erase(user, addresses)
    # The handovers that name them (as the officer before or after) name them by address.
    named = Q(old_values__user_id=user.pk) | Q(new_values__user_id=user.pk)
    handovers = [(EVENT_TARGET, str(pk)) for pk in AuditEvent.objects.filter(
        named, action=AuditAction.APPLICATION_OFFICER_CHANGED, target_type="onboarding.application",
    ).values_list("pk", flat=True)] + _told_events(addresses)
    ids = list(Application.objects.select_for_update().filter(nodal_officer=user, status=ApplicationStatus.DRAFT)
               .values_list("pk", flat=True))
    if not ids:
        return handovers
    drafts_erase(ids, timezone.now())
    RetentionMark.objects.filter(kind=RetentionKind.DRAFT_APPLICATION, target_id__in=ids).delete()
    return applications_audit(ids)[1] + handovers
