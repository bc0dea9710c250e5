from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.accounts.official_email import normalise_host_name, personal_mail_service
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.permissions import AnyUser
from portal.shown import check_shown, shown_digest


def clean_suffix(value: str | None) -> str:
    """The suffix of an official-email rule as stored: a host name (normalise_host_name),
    or "-" and one for a label ending ("-external.gov.in"). A leading dot is dropped. One
    longer than the column once encoded is refused."""
    raw = (value or "").strip().lower().lstrip(".")
    if not raw:
        raise ValidationError(_("Enter a domain suffix such as gov.in."), code="required")
    dash = raw.startswith("-")
    try:
        normalised = normalise_host_name(raw[1:] if dash else raw)
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not a valid domain suffix: type a domain name only, such as gov.in or iitb.ac.in "
              "(letters, digits, hyphens and dots; no “@”, “*”, “/”, spaces or “http://”).") % {"value": value},
            code="invalid") from None
    labels = normalised.split(".")
    if dash and len(labels) < 3:
        raise ValidationError(_("A label-ending rule needs a suffix under it, for example -external.gov.in."), code="invalid")
    stored = ("-" if dash else "") + normalised
    # Typed within the field's limit, a suffix may outgrow the column once IDNA-encoded
    # ("ü" is "xn--...") and with its "-".
    limit = EmailSuffixRule._meta.get_field("suffix").max_length
    if len(stored) > limit:
        raise ValidationError(
            _("“%(value)s” is too long once encoded: a domain suffix holds at most %(limit)s characters (a letter "
              "outside a–z takes several).") % {"value": value, "limit": limit}, code="max_length")
    return stored


def email_rule_values(rule: EmailSuffixRule) -> dict:
    """A rule's values as its page shows and edits them."""
    return {"suffix": rule.suffix, "kind": rule.kind, "note": rule.note}


def email_rule_digest(rule: EmailSuffixRule) -> str:
    """The digest of a rule as its page shows it: the page sends it back as ``shown_values``
    (portal.shown)."""
    return shown_digest(email_rule_values(rule))


def email_rule_deleted(rule_id: int) -> bool:
    """Whether the rule ``rule_id`` was deleted (read from the audit row of its deletion),
    not one that never was."""
    return AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_DELETED, target_id=str(rule_id),
                                     target_type=EmailSuffixRule._meta.label_lower).exists()


def email_rule_save(
    *,
    suffix: str,
    kind: str,
    note: str = "",
    actor: AnyUser,
    rule_id: int | None = None,
    request: HttpRequest | None = None,
    shown_values: str | None = None,
) -> EmailSuffixRule:
    """Create or change one official-email rule; audited. A suffix another rule has,
    or took meanwhile (the same rule added twice at once), is refused. Consumer mail is never
    official (DESIGN §3): a rule of a personal mail service (personal_mail_service), or of a
    domain under one, is of consumer mail, and a consumer-mail rule stays one (deleted if it
    was added by mistake); otherwise refused at the kind (ValidationError keyed "kind").

    ``shown_values``: the ``email_rule_digest`` of the rule the page showed; when the rule
    is no longer that (another superadmin saved it since) and this would change it, raises
    ChangedMeanwhile and saves nothing. None: not checked."""
    suffix = clean_suffix(suffix)
    if kind not in SuffixKind.values:
        raise ValidationError(_("Choose a kind."), code="invalid")
    service = personal_mail_service(suffix.lstrip("-"))
    if service and kind != SuffixKind.CONSUMER:
        raise ValidationError({"kind": ValidationError(
            _("%(service)s is a personal mail service (consumer mail, which is never official): a rule for it or a "
              "domain under it can only be of the kind “Consumer mail (never official)”.") % {"service": service},
            code="consumer_mail")})
    duplicate = ValidationError(_("There is already a rule for %(suffix)s.") % {"suffix": suffix}, code="duplicate")
    with transaction.atomic():
        clash = EmailSuffixRule.objects.filter(suffix=suffix).exclude(pk=rule_id).exists()
        if clash:
            raise duplicate
        if rule_id is None:
            try:
                with transaction.atomic():
                    rule = EmailSuffixRule.objects.create(suffix=suffix, kind=kind, note=note[:200])
            except IntegrityError:
                raise duplicate from None
            audit_record(actor=actor, action=AuditAction.EMAIL_RULE_CREATED, target=rule, request=request,
                         new={"suffix": suffix, "kind": kind, "note": note})
            return rule
        rule = EmailSuffixRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:  # deleted by someone else while this was edited
            raise ValidationError(_("This rule was already deleted."), code="gone")
        old = email_rule_values(rule)
        new = {"suffix": suffix, "kind": kind, "note": note[:200]}
        if old == new:
            return rule
        check_shown(shown_values, old)
        if rule.kind == SuffixKind.CONSUMER and kind != SuffixKind.CONSUMER:
            raise ValidationError({"kind": ValidationError(
                _("This rule is of consumer mail, which is never official: its kind stays. If it was added by "
                  "mistake, delete it and add the right rule."), code="consumer_mail")})
        rule.suffix, rule.kind, rule.note = suffix, kind, note[:200]
        try:
            with transaction.atomic():
                rule.save(update_fields=["suffix", "kind", "note", "updated_at"])
        except IntegrityError:
            raise duplicate from None
        audit_record(actor=actor, action=AuditAction.EMAIL_RULE_CHANGED, target=rule, request=request, old=old, new=new)
        return rule


def email_rule_delete(*, rule_id: int, actor: AnyUser, request: HttpRequest | None = None) -> bool:
    """Delete one official-email rule; audited. False, and nothing recorded, when it was
    deleted already (the same rule deleted twice at once)."""
    with transaction.atomic():
        rule = EmailSuffixRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            return False
        old = {"suffix": rule.suffix, "kind": rule.kind, "note": rule.note}
        audit_record(actor=actor, action=AuditAction.EMAIL_RULE_DELETED, target=rule, request=request, old=old)
        rule.delete()
    return True
