from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils.translation import gettext as _

from portal.accounts.models import ERASED_EMAIL_DOMAIN, EmailSuffixRule, SuffixKind, released_email
from portal.accounts.official_email import normalise_host_name, personal_mail_service
from portal.audit.erasure import audit_redact
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.organisations.models import Membership, PlatformRoleGrant
from portal.organisations.selectors import official_powers_of
from portal.permissions import AnyUser, is_superadmin
from portal.privacy.accounts_retention import unconfirmed_accounts
from portal.privacy.admin_history import admin_history_remove
from portal.privacy.requests import person_held
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
    ChangedMeanwhile and saves nothing. None: not checked. Only a superadmin's (PermissionDenied)."""
    if not is_superadmin(actor):
        raise PermissionDenied
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
                         new={"suffix": suffix, "kind": kind, "note": rule.note})
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


def email_rule_delete(*, rule_id: int, actor: AnyUser, request: HttpRequest | None = None,
                      shown_values: str | None = None) -> bool:
    """Delete one official-email rule; audited. False, and nothing recorded, when it was
    deleted already (the same rule deleted twice at once). Only a superadmin's (PermissionDenied).
    ``shown_values``: the digest of the rule as the page showed it (None: not checked);
    ChangedMeanwhile when another superadmin changed it since (a rule turned into another,
    deleted unseen)."""
    if not is_superadmin(actor):
        raise PermissionDenied
    with transaction.atomic():
        rule = EmailSuffixRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            return False
        check_shown(shown_values, email_rule_values(rule))
        old = {"suffix": rule.suffix, "kind": rule.kind, "note": rule.note}
        audit_record(actor=actor, action=AuditAction.EMAIL_RULE_DELETED, target=rule, request=request, old=old)
        rule.delete()
    return True


# A closed account's address, released ------------------------------------------------------

def account_address_release(*, user_id: int, actor: AnyUser, request: HttpRequest | None = None) -> AbstractBaseUser:
    """Release the address of a closed (inactive) account, so that whoever reads its mailbox
    now (the successor in a post whose official mailbox it is) can sign up with it: an
    address is one account's (``User.email`` is unique), an application of the account
    protects it from deletion, and allauth's password reset ignores an inactive account. A
    superadmin's decision (PermissionDenied otherwise); refused (ValidationError) for an
    active account and for one whose address was released or erased already.

    The account keeps its name and records under an address that names nobody and receives
    no mail (``released_email``, as an erased account's); refused while it holds a role
    (official_powers_of: an inactive account's come back with its "Active" tick, and rest on
    its address), which is revoked first; its addresses are removed, which suspends a
    verification resting on one (verification.receivers), its mail going to the released
    address, not to the mailbox's new reader. Audited as a change of its address by the
    superadmin (``released``). Returns the account."""
    if not is_superadmin(actor):
        raise PermissionDenied
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        if user.is_active:
            raise ValidationError(_("%(email)s is the address of an active account: only a closed (inactive) "
                                    "account's address is released.") % {"email": user.email}, code="active")
        if user.email.endswith(f"@{ERASED_EMAIL_DOMAIN}"):
            raise ValidationError(_("This account's address was released or erased already: there is nothing to "
                                    "release."), code="released")
        held = official_powers_of(user)
        if held:
            # They come back with its "Active" tick, and rest on its address: their end is
            # the decision of whoever may revoke them, through their pages (audited, the
            # last holder of a role kept), not a side effect of this.
            raise ValidationError(_("%(email)s still holds these roles: %(roles)s. Revoke them first (granting them to "
                                    "someone else where nobody else holds them), then release the address.")
                                  % {"email": user.email, "roles": ", ".join(held)}, code="roles_held")
        old, released = user.email, released_email(user.pk)
        addresses = sorted(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
        user.email = released
        user.save(update_fields=["email"])
        # Each removed as the Django admin removes one (post_delete: a verification resting
        # on it is suspended, told at the released address, which receives nothing).
        for address in EmailAddress.objects.filter(user=user).order_by("pk"):
            address.delete()
        audit_record(actor=actor, action=AuditAction.USER_EMAIL_CHANGED, target=user, request=request,
                     old={"email": old, "addresses": addresses}, new={"email": released, "released": True})
    return user


# An address proven by its owner, given up by those who hold it unconfirmed --------------------

def unconfirmed_holders_release(*, address: str, owner: AnyUser, request: HttpRequest | None = None) -> int:
    """Before ``owner`` is given ``address`` (in its mailbox form), which they proved theirs by
    the code mailed to it: the other accounts that hold it without having confirmed it give
    it up, so that allauth's "A user is already registered with this email address" does not
    keep the mailbox's owner from it. Anyone may sign up with any address and never confirm it.

    A sign-up at the address that was never confirmed nor signed in to (an active account with
    no confirmed address, nothing kept for it, no role and no legal hold: ``unconfirmed_accounts``,
    ``person_held``) is erased as the retention of unused accounts erases it a year later (the
    personal part of its audit events redacted, its history in the Django admin removed, the
    account deleted); an address another account added and never confirmed is removed from it.
    Each is audited as the address removed, unconfirmed, by its owner (``confirmed_by_owner``).
    An account that confirmed it, was signed in to, holds a role or is held keeps it, and allauth
    refuses. Returns how many accounts gave it up."""
    released = 0
    with transaction.atomic():
        sign_ups = (unconfirmed_accounts()
                    .filter(email=address, is_active=True, last_login__isnull=True)
                    .exclude(pk=owner.pk)
                    .exclude(Exists(Membership.objects.filter(user=OuterRef("pk"))))
                    .exclude(Exists(PlatformRoleGrant.objects.filter(user=OuterRef("pk"))))
                    .select_for_update(of=("self",)))
        for account in sign_ups:
            if person_held(account.pk):
                continue
            admin_history_remove(user_ids=[account.pk], addresses=[account.email])
            audit_redact(actor_ids=[account.pk], targets=[(account._meta.label_lower, str(account.pk))],
                         purpose="unconfirmed_address_released", record=False)
            audit_record(actor=owner, action=AuditAction.USER_EMAIL_REMOVED, target=account, request=request,
                         old={"email": address, "verified": False},
                         new={"confirmed_by_owner": True, "account_deleted": True})
            account.delete()
            released += 1
        added = (EmailAddress.objects.select_for_update(of=("self",)).select_related("user")
                 .filter(email=address, verified=False).exclude(user=owner).exclude(user__email=address).order_by("pk"))
        for row in added:
            audit_record(actor=owner, action=AuditAction.USER_EMAIL_REMOVED, target=row.user, request=request,
                         old={"email": row.email, "verified": False}, new={"confirmed_by_owner": True})
            row.delete()
            released += 1
    return released
