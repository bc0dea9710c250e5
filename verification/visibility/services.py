"""Writes of profile visibility: an organisation's policy (its admins), a person's own
narrowing (the person), and the audit row of a directory export. Each change is one
audit event naming every field that changed, old → new (by the audience's name)."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.advisory import advisory_lock
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import hourly_audited
from portal.organisations.models import Organisation
from portal.permissions import AnyUser, roles_asked_again
from portal.shown import check_shown, shown_digest
from verification.services import check_decider
from verification.visibility.models import (
    DEFAULT_AUDIENCES,
    Audience,
    PersonalVisibility,
    ProfileField,
    VisibilityPolicy,
    column_of,
)
from verification.visibility.selectors import EXPORTS_PER_HOUR


def _name(value: int | None) -> str | None:
    return None if value is None else Audience(value).name.lower()


def _changes(row: VisibilityPolicy | PersonalVisibility, audiences: dict) -> tuple[dict, dict]:
    old, new = {}, {}
    for name, value in audiences.items():
        column = column_of(name)
        current = getattr(row, column)
        value = None if value is None else int(value)
        if current != value:
            old[str(name)], new[str(name)] = _name(current), _name(value)
            setattr(row, column, value)
    return old, new


def _audiences_shown(audiences: dict) -> dict:
    """Every field's audience ({field: Audience or None}, a field left out as None) as a
    page shows it and its digest is taken: by the field's name, the audience's number."""
    return {name.value: None if audiences.get(name) is None else int(audiences[name]) for name in ProfileField}


def _stored_audiences(row: VisibilityPolicy | PersonalVisibility) -> dict:
    return _audiences_shown({name: getattr(row, column_of(name)) for name in ProfileField})


def audiences_digest(audiences: dict) -> str:
    """The digest of the audiences a visibility page shows ({field: Audience or None}): the
    page sends it back as ``shown_values`` (portal.shown)."""
    return shown_digest(_audiences_shown(audiences))


def _checked(audiences: dict, *, allow_blank: bool) -> dict:
    known = set(ProfileField.values)
    checked = {}
    for name, value in audiences.items():
        if name not in known:
            raise ValidationError(_("Unknown profile field."), code="unknown_field")
        if value is None and allow_blank:
            checked[ProfileField(name)] = None
            continue
        if value is None or int(value) not in Audience.values:
            raise ValidationError(_("Choose who may see each field."), code="unknown_audience")
        checked[ProfileField(name)] = Audience(int(value))
    return checked


def visibility_policy_set(
    *, organisation_id: int, audiences: dict, actor: AnyUser, request: HttpRequest | None = None,
    shown_values: str | None = None,
) -> VisibilityPolicy:
    """Set the widest audience of some of an organisation's profile fields ({field:
    Audience}); only its administrators (or those above it) and superadmins, never an
    auditor. Fields left out keep their audience.

    ``shown_values``: the ``audiences_digest`` of the policy the page showed; when the
    policy is no longer that one (another admin saved it since) and this would change it,
    raises ChangedMeanwhile and saves nothing. None: not checked."""
    audiences = _checked(audiences, allow_blank=False)
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        roles_asked_again(actor)  # a role of theirs ended meanwhile: refused
        check_decider(actor, organisation)
        policy, _created = VisibilityPolicy.objects.select_for_update().get_or_create(organisation=organisation)
        stored = _stored_audiences(policy)
        old, new = _changes(policy, audiences)
        if not new:
            return policy
        check_shown(shown_values, stored)
        policy.changed_at, policy.changed_by = timezone.now(), actor
        policy.save()
        audit_record(actor=actor, action=AuditAction.VISIBILITY_POLICY_CHANGED, target=organisation, request=request,
                     old=old, new=new)
    return policy


def visibility_policy_of(organisation: Organisation) -> dict:
    """{field: Audience} of an organisation (the defaults where it set nothing)."""
    policy = VisibilityPolicy.objects.filter(organisation=organisation).first()
    if policy is None:
        return dict(DEFAULT_AUDIENCES)
    return {name: Audience(getattr(policy, column_of(name))) for name in ProfileField}


def personal_visibility_set(
    *, choices: dict, actor: AnyUser, request: HttpRequest | None = None, shown_values: str | None = None,
) -> PersonalVisibility:
    """The person's own choices ({field: Audience or None for the organisation's}). A
    person narrows, never widens: the narrower of the two always applies, also when the
    organisation later narrows or widens its own, so a choice wider than the organisation's
    is stored but shows the field to nobody more (the form refuses one wider than the
    organisation's now, PersonalVisibilityForm, saying so at the field).

    ``shown_values``: the ``audiences_digest`` of the choices the page showed; when they
    were changed since (in another tab or window) and this would change them, raises
    ChangedMeanwhile and saves nothing. None: not checked."""
    if not actor.is_authenticated:
        raise ValidationError(_("Sign in to choose who sees your details."), code="signed_out")
    choices = _checked(choices, allow_blank=True)
    with transaction.atomic():
        row, _created = PersonalVisibility.objects.select_for_update().get_or_create(user_id=actor.pk)
        stored = _stored_audiences(row)
        old, new = _changes(row, choices)
        if not new:
            return row
        check_shown(shown_values, stored)
        row.changed_at = timezone.now()
        row.save()
        audit_record(actor=actor, action=AuditAction.PERSONAL_VISIBILITY_CHANGED, target=row, request=request,
                     old=old, new=new)
    return row


# The first of PostgreSQL's two advisory-lock keys: a person's directory exports ("DIRX").
DIRECTORY_EXPORT_LOCK_NAMESPACE = 0x44495258


def _directory_export_lock(user_id: int) -> None:
    """Until the transaction ends, the person's other directory exports wait here, so that
    two at once cannot both find them under their hourly limit (SQLite, for development,
    has one writer at a time)."""
    advisory_lock(DIRECTORY_EXPORT_LOCK_NAMESPACE, user_id)


def directory_export_record(*, query: str, rows: int, actor: AnyUser, limit: int = EXPORTS_PER_HOUR,
                            request: HttpRequest | None = None) -> datetime | None:
    """The audit row of a CSV export of the directory: who, what they searched, how many
    people. The export's limit (``limit`` an hour) is counted from those rows: when the person made ``limit``
    in the last hour, nothing is written and the moment the next is possible is returned
    (None once written). The count and the row are made under the person's lock, as
    monitoring's export_record makes them (``hourly_audited``)."""
    return hourly_audited(actor=actor, action=AuditAction.DIRECTORY_EXPORTED, limit=limit,
                          lock=lambda: _directory_export_lock(actor.pk), new={"query": query, "rows": rows},
                          request=request)
