"""Telling an organisation that an office is placed under it.

Anyone may choose any active organisation on Sandes as their office's parent (the form's
hierarchy section), and the competent authority the officer names and the state (or
central) administrators decide: once approved, the organisation's admins, and those of the
organisations above it, administer the office too. So whoever acts for it is told
(``who_acts_for`` with its own admins: they and the admins of the active organisations
above it; the superadmins where none does): when the application is submitted, naming the
office, its nodal officer, its staff domains and who decides, once for that organisation
(a correction sent again under the same parent tells nobody twice); and at final approval,
that the office now sits under it. Each person in English and their language
(recipient_languages, as the deciders' mails: decider_mails.py); those told in the same
words and languages share one message. Each telling is an audit row naming the
organisation and who was told, and the application records when (the decision pages say
so: ``placement_of``).

Depends on no service: its callers (the submission's receiver, final approval) run it in
their transaction, and the mails go to the outbox in it.
"""

from django.http import HttpRequest
from django.utils import timezone

from onboarding import notifications
from onboarding.application.selectors import parent_organisation, staff_domains
from onboarding.models import Application
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.organisations.models import Organisation
from portal.organisations.notifications import people_known_languages
from portal.organisations.selectors import who_acts_for
from portal.permissions import AnyUser


def placement_asked_tell(*, application: Application, actor: AnyUser | None, request: HttpRequest | None = None) -> None:
    """The application (just submitted, locked by the caller) places its office under an
    organisation on Sandes: whoever acts for that organisation is told (placement_asked),
    unless they were told already of this application under it. Nothing when it names none."""
    parent = parent_organisation(application)
    if parent is None or application.placement_told_to_id == parent.pk:
        return
    to, superadmins = _tell(application, parent, template="placement_asked")
    if not to:
        return
    application.placement_told_to, application.placement_told_at = parent, timezone.now()
    application.placement_told_superadmins = superadmins
    application.save(update_fields=["placement_told_to", "placement_told_at", "placement_told_superadmins"])
    audit_record(actor=actor, action=AuditAction.APPLICATION_PLACEMENT_TOLD, target=application, request=request,
                 new={"parent": parent.pk, "to": to})


def placement_made_tell(*, application: Application, organisation: Organisation, actor: AnyUser | None,
                        request: HttpRequest | None = None) -> None:
    """Final approval made ``organisation`` active under its parent: whoever acts for the
    parent is told that it now sits under it (placement_made). Nothing for one at the top."""
    if organisation.parent_id is None:
        return
    parent = organisation.parent
    to, _superadmins = _tell(application, parent, template="placement_made", context={"organisation": organisation})
    if to:
        audit_record(actor=actor, action=AuditAction.ORGANISATION_PLACEMENT_TOLD, target=organisation, request=request,
                     new={"parent": parent.pk, "application": application.reference, "to": to})


def _tell(application: Application, parent: Organisation, *, template: str,
          context: dict | None = None) -> tuple[list[str], bool]:
    """Mail ``template`` about ``application`` to whoever acts for ``parent`` (not the
    application's own nodal officer, who knows): one message to those told in the same
    words (as an admin of the same organisation, or as superadmins) and languages. The
    addresses told, sorted, and whether they are the superadmins (nobody administers
    ``parent`` or an active organisation above it). Four queries or so, whoever is told."""
    acting = [(user, organisation) for user, organisation in who_acts_for([parent], its_own=True)[parent.pk]
              if user.pk != application.nodal_officer_id]
    if not acting:
        return [], False
    known = people_known_languages(user.pk for user, _organisation in acting)
    groups: dict[tuple, tuple[Organisation | None, list[str]]] = {}
    for user, organisation in acting:
        languages = notifications.recipient_languages(known.get(user.pk), [application])
        groups.setdefault((languages, organisation.pk if organisation else None), (organisation, []))[1].append(user.email)
    shared = {"application": application, "parent": parent, "officer": application.nodal_officer,
              "domains": staff_domains(application), **(context or {})}
    for (languages, _organisation_id), (organisation, emails) in groups.items():
        notifications.send_bilingual(to=sorted(emails), template=template, languages=languages,
                                     context={**shared, "acting": organisation})
    return sorted(user.email for user, _organisation in acting), all(organisation is None for _user, organisation in acting)
