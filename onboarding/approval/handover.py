"""Handing an application over to another nodal officer.

A nodal officer who leaves (transferred, retired, their account closed) takes their
application with them: nobody else may correct, submit, appeal or withdraw it. A
superadmin, or a state administrator of its jurisdiction (``may_change_officer``), hands
an open one (a draft, one waiting for a decision or returned for correction) to another
account that may act as a nodal officer; not one rejected (``officer_change_open``): the
successor applies again. The form keeps what it says: its Nodal officer section names
the previous officer until the new one gives their own details there (its address must
be their account's: submission checks the section, final approval the address,
``officer_address_moved``), so nobody is made an organisation's admin on a form that
names someone else.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from onboarding import notifications, workflow
from onboarding.application.selectors import (
    may_change_officer,
    officer_eligibility,
    official_within,
)
from onboarding.application.services import bound_section_form, status_of_form
from onboarding.approval.deadlines import application_deciders_watch
from onboarding.approval.services import authority_of
from onboarding.models import Application, ApplicationStatus, Decision, Section, Stage
from portal.accounts.official_email import normalise_address
from portal.accounts.selectors import addresses_of_users
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.permissions import AnyUser
from portal.shown import check_shown, shown_digest

OFFICER_PERMISSIONS = ("view_application", "change_application")  # what application_create gives the officer
# Rejected, its appeal period running or its appeal heard: never handed over (``officer_change_open``).
REJECTED = (ApplicationStatus.REJECTED, ApplicationStatus.UNDER_APPEAL)


def officer_change_open(application: Application) -> bool:
    """Whether ``application`` may be handed over now: open (a draft, waiting for a
    decision, returned for correction). Not one rejected, even while its appeal period
    runs: its form names the previous officer and cannot be corrected while it is rejected
    or under appeal, so overturning would be refused (``officer_address_moved``) and the
    successor's appeal could only be upheld; they apply again instead."""
    return application.status in workflow.WITHDRAWABLE


def officer_change_refusal(application: Application) -> str:
    """Why ``application`` may not be handed over now, as its handover page and the
    handover say it ("" while it may: ``officer_change_open``)."""
    if officer_change_open(application):
        return ""
    if application.status in REJECTED:
        return _("A rejected application is not handed over to another nodal officer: its form, which names the "
                 "previous one, can no longer be corrected, so an appeal could not be granted on it. The colleague "
                 "who takes their place applies again, with a new application.")
    return _("This application can no longer be handed over to another nodal officer.")


def officer_shown(application: Application) -> str:
    """The digest of what the handover page shows of whom it hands the application over from
    (portal.shown): its nodal officer's account."""
    return shown_digest({"officer": application.nodal_officer_id})


def application_officer_change(
    *, application_id: int, new_officer: AnyUser, actor: AnyUser, request: HttpRequest | None = None,
    shown_values: str | None = None,
) -> Application:
    """``actor`` (``may_change_officer``) hands the application over to ``new_officer``:
    they become its nodal officer (the owner's permissions move to them, the previous
    officer can no longer open it), its Nodal officer section is marked as needing their
    own details (checked as the form checks it: ``status_of_form``), the audit row names
    both, and both are told by email. Its open state step or appeal is told to whoever may
    decide it now and was not told of it (the new officer decided it: it passes to the
    superadmins; the previous one may decide it now). Refused (ValidationError, nothing changed) when it
    is closed (``officer_change_open``), when ``new_officer`` is its officer already, the
    actor (their account, or another account of one of their mailboxes: addresses
    compared normalised), an account closed, one that may not act as a nodal officer for
    it (``officer_eligibility``, their being in service included) or one of whose
    addresses is its competent authority's. ``shown_values``: ``officer_shown`` of the page
    it was asked on: one handed over to someone else since raises ChangedMeanwhile, nothing
    changed (their officer would be replaced unseen); None: not checked."""
    with transaction.atomic():
        application = (Application.objects.select_for_update(of=("self",)).select_related("nodal_officer")
                       .get(pk=application_id))
        if not may_change_officer(actor, application):
            raise PermissionDenied
        if not officer_change_open(application):
            raise ValidationError(officer_change_refusal(application),
                                  code="rejected" if application.status in REJECTED else "closed")
        _check_new_officer(application, new_officer, actor)
        check_shown(shown_values, {"officer": application.nodal_officer_id})
        deciders_tell = application_deciders_watch(application)
        previous = application.nodal_officer
        application.nodal_officer = new_officer
        form_status = status_of_form(bound_section_form(application, Section.NODAL_OFFICER))
        application.section_status = {**application.section_status, Section.NODAL_OFFICER.value: form_status.value}
        application.save(update_fields=["nodal_officer", "section_status", "updated_at"])
        for permission in OFFICER_PERMISSIONS:
            remove_perm(permission, previous, application)
            assign_perm(permission, new_officer, application)
        audit_record(actor=actor, action=AuditAction.APPLICATION_OFFICER_CHANGED, target=application, request=request,
                     old={"user": previous.email, "user_id": previous.pk},
                     new={"user": new_officer.email, "user_id": new_officer.pk})
        context = {"application": application, "editable": application.is_editable}
        notifications.send_bilingual(to=[previous.email], template="officer_replaced", context=context)
        notifications.send_bilingual(to=[new_officer.email], template="officer_assigned", context=context)
        if deciders_tell is not None:
            deciders_tell()
    return application


def _check_new_officer(application: Application, new_officer: AnyUser, actor: AnyUser) -> None:
    email = new_officer.email
    if new_officer.pk == application.nodal_officer_id:
        raise ValidationError(_("%(email)s is already this application's nodal officer.") % {"email": email},
                              code="same_officer")
    if new_officer.pk == actor.pk:
        raise ValidationError(_("You cannot hand an application over to yourself: nobody decides on an application "
                                "they applied for."), code="own_application")
    addresses = addresses_of_users({new_officer.pk})
    if addresses & addresses_of_users({actor.pk}):
        raise ValidationError(_("%(email)s is an address of yours: you cannot hand an application over to yourself, "
                                "nobody decides on an application they applied for.") % {"email": email},
                              code="own_application")
    if not new_officer.is_active:
        raise ValidationError(_("The account %(email)s has been deactivated: it cannot be the nodal officer.")
                              % {"email": email}, code="not_active")
    problem = officer_eligibility(new_officer, within=official_within(application), in_service=True, someone_else=True)
    if problem:
        raise ValidationError(_("%(email)s cannot be this application's nodal officer: %(problem)s")
                              % {"email": email, "problem": problem}, code="not_eligible")
    authority, _name = authority_of(application)
    if authority and normalise_address(authority) in addresses:
        raise ValidationError(_("%(email)s is this application's competent authority: the nodal officer must be "
                                "someone else.") % {"email": email}, code="same_person")
    # Whoever decided as its competent authority (signed in where a link decided, the address
    # a deciding link went to, an account that held it then), as the state level refuses them
    # (refused_deciders).
    decided = (application.steps.filter(stage=Stage.AUTHORITY, decided_at__isnull=False)
               .exclude(decision=Decision.CANCELLED)
               .values_list("decided_by_id", "link_holders", "assignee_email", "decided_by_email"))
    if any(by == new_officer.pk or new_officer.pk in holders
           or {normalise_address(assignee), normalise_address(by_email)} & addresses
           for by, holders, assignee, by_email in decided):
        raise ValidationError(_("%(email)s decided on this application as its competent authority: the nodal officer "
                                "must be someone else.") % {"email": email}, code="same_person")


def handed_over_by(application: Application, actor: AnyUser) -> bool:
    """Whether the application's last handover was ``actor``'s: a handover to its nodal
    officer sent again by them (a double click, Back and send) is done, not refused. One query."""
    last = (AuditEvent.objects.filter(target_type="onboarding.application", target_id=str(application.pk),
                                      action=AuditAction.APPLICATION_OFFICER_CHANGED)
            .order_by("-id").values_list("actor_id", flat=True).first())
    return last is not None and last == actor.pk


def account_at(address: str) -> AnyUser | None:
    """The account whose sign-in address is ``address`` (any case), or None: whom the
    handover page names as the new nodal officer, by their full address."""
    address = (address or "").strip()
    return get_user_model().objects.filter(email__iexact=address).first() if address else None
