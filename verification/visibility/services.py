"""Writes of profile visibility: an organisation's policy (its admins), a person's own
narrowing (the person), and the audit row of a directory export. Each change is one
audit event naming every field that changed, old → new (by the audience's name)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.organisations.models import Organisation
from portal.permissions import AnyUser
from verification.services import check_decider
from verification.visibility.models import (
    DEFAULT_AUDIENCES,
    Audience,
    PersonalVisibility,
    ProfileField,
    VisibilityPolicy,
    column_of,
)


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
    *, organisation_id: int, audiences: dict, actor: AnyUser, request: HttpRequest | None = None
) -> VisibilityPolicy:
    """Set the widest audience of some of an organisation's profile fields ({field:
    Audience}); only its administrators (or those above it) and superadmins, never an
    auditor. Fields left out keep their audience."""
    audiences = _checked(audiences, allow_blank=False)
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        check_decider(actor, organisation)
        policy, _created = VisibilityPolicy.objects.select_for_update().get_or_create(organisation=organisation)
        old, new = _changes(policy, audiences)
        if not new:
            return policy
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
    *, choices: dict, actor: AnyUser, request: HttpRequest | None = None
) -> PersonalVisibility:
    """The person's own choices ({field: Audience or None for the organisation's}). A
    choice wider than the organisation's is refused: a person narrows, never widens
    (and the narrower of the two always applies, also when the organisation later
    narrows or widens its own)."""
    if not actor.is_authenticated:
        raise ValidationError(_("Sign in to choose who sees your details."), code="signed_out")
    choices = _checked(choices, allow_blank=True)
    with transaction.atomic():
        row, _created = PersonalVisibility.objects.select_for_update().get_or_create(user_id=actor.pk)
        old, new = _changes(row, choices)
        if not new:
            return row
        row.changed_at = timezone.now()
        row.save()
        audit_record(actor=actor, action=AuditAction.PERSONAL_VISIBILITY_CHANGED, target=row, request=request,
                     old=old, new=new)
    return row


def directory_export_record(*, query: str, rows: int, actor: AnyUser, request: HttpRequest | None = None) -> None:
    """The audit row of a CSV export of the directory: who, what they searched, how many people."""
    audit_record(actor=actor, action=AuditAction.DIRECTORY_EXPORTED, request=request, new={"query": query, "rows": rows})
