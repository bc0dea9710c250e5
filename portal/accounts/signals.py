"""Audit events for allauth's account and MFA flows, and what its MFA flows leave behind."""

from contextlib import contextmanager
from contextvars import ContextVar

from allauth.account import signals
from allauth.account.internal.flows.login import record_authentication
from allauth.account.internal.userkit import filter_users_by_email
from allauth.account.models import EmailAddress
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import clear_totp_secret
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from portal import signed_out_input
from portal.access import restore_signed_out_input
from portal.accounts.models import User
from portal.accounts.official_email import normalise_mailbox
from portal.advisory import advisory_lock
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import hourly_audited
from portal.organisations.selectors import primary_change_ends_powers
from portal.organisations.services import first_admin_roles_leave, official_powers_end


@receiver(signals.user_signed_up)
def on_signed_up(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.USER_SIGNED_UP, target=user, request=request)


@receiver(signals.user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user, request=request)
    request.signed_in_as = user.pk  # remembered by the browser (middleware.SignedInAsCookieMiddleware)


@receiver(user_logged_in)
def on_signed_in(sender, request, user, **kwargs):
    # Django's, sent by every sign-in (allauth's, the Django admin's) once the session is the
    # signed-in one: what the person typed signed out on this browser goes into it.
    if request is not None:
        restore_signed_out_input(request, user)


@receiver(user_logged_out)
def on_logged_out(sender, request, user, **kwargs):
    # Django's, sent by every sign-out (allauth's page, the Django admin's) before the session
    # ends; with no user when nobody was signed in to the session: nothing to record.
    if user is None:
        return
    audit_record(actor=user, action=AuditAction.USER_LOGGED_OUT, target=user, request=request)
    # Signed out on purpose: the browser no longer says who signed in last on it (its cookie
    # removed: middleware.SignedInAsCookieMiddleware), so nothing posted on it from now on
    # (someone else at a shared computer) is kept as what this account typed, and nothing
    # kept for the account before is put into its next sign-in's forms.
    signed_out_input.forget(user.pk)
    if request is not None:
        request.signed_out = True


@receiver(signals.email_added)
def on_email_added(sender, request, user, email_address, **kwargs):
    # Sent when the address is stored: with codes (ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED),
    # once the code mailed to it is entered, just before it is confirmed.
    audit_record(actor=user, action=AuditAction.USER_EMAIL_ADDED, target=user, request=request,
                 new={"email": email_address.email})


@receiver(signals.email_confirmed)
def on_email_confirmed(sender, request, email_address, **kwargs):
    audit_record(actor=email_address.user, action=AuditAction.USER_EMAIL_CONFIRMED, target=email_address.user,
                 new={"email": email_address.email}, request=request)


@receiver(signals.password_changed)
def on_password_changed(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.USER_PASSWORD_CHANGED, target=user, request=request)


@receiver(signals.password_reset)
def on_password_reset(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.USER_PASSWORD_RESET, target=user, request=request)


def primary_change_record(*, request, user, old: str, new: str) -> None:
    """The account's primary address changed from ``old`` to ``new``: audited, and the powers
    earned by an official address end when it stops being the primary one (an organisation's
    first admin role, when the new one is no address of that organisation's line). Refused
    (OfficialPowersHeld) for the last holder of a role: the views that change the primary
    address (views.EmailView, adapter.confirm_email) ask first, and undo the change."""
    audit_record(actor=user, action=AuditAction.USER_EMAIL_CHANGED, target=user, request=request,
                 old={"email": old}, new={"email": new})
    if primary_change_ends_powers(user, new, old=old):
        official_powers_end(user=user, reason="primary_email_not_official", request=request, address=old)
    else:
        # Official too, perhaps another department's: a first admin role stays with the
        # organisation's line, not with the person.
        first_admin_roles_leave(user=user, old=old, new=new)


# Set (to the account's id) while a confirmed address replaces the account's primary one
# (primary_address_replaced): that change is recorded there, not by on_email_changed.
_replacing_primary: ContextVar[int | None] = ContextVar("replacing_primary", default=None)


@contextmanager
def primary_address_replaced(*, request, user):
    """Around allauth's confirmation of an address that replaces the account's primary one
    (ACCOUNT_CHANGE_EMAIL: adapter.confirm_email), inside the caller's transaction: a change
    of the primary address is recorded, and ends what it ends, against the primary address
    the account had (``User.email``, read first). allauth's email_changed names as the
    address changed from the account's first other address by id, primary or not (an old
    personal one, while the official primary address is the one replaced), so
    on_email_changed leaves this change to the block. Each other address of the account
    that the confirmation removed is recorded as removed (allauth removes them with
    EmailAddress.remove(), which sends no email_removed). Nothing is recorded when the
    block raises, and no change when the address stays (an account's first address
    confirmed at sign-up)."""
    previous = User.objects.values_list("email", flat=True).get(pk=user.pk)
    addresses = list(EmailAddress.objects.filter(user_id=user.pk).order_by("pk").values_list("pk", "email", "verified"))
    token = _replacing_primary.set(user.pk)
    try:
        yield
    finally:
        _replacing_primary.reset(token)
    kept = set(EmailAddress.objects.filter(user_id=user.pk).values_list("pk", flat=True))
    for pk, email, verified in addresses:
        if pk not in kept:
            address_removed_record(request=request, user=user, email=email, verified=verified)
    current = User.objects.values_list("email", flat=True).get(pk=user.pk)
    if normalise_mailbox(current) != normalise_mailbox(previous):
        primary_change_record(request=request, user=user, old=previous, new=current)


@receiver(signals.email_changed)
def on_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    # "Make primary" on the email page (allauth names the primary address it replaces).
    if _replacing_primary.get() == user.pk:
        return
    primary_change_record(request=request, user=user, old=getattr(from_email_address, "email", ""),
                          new=to_email_address.email)


def address_removed_record(*, request, user, email: str, verified: bool) -> None:
    # A confirmed address is what official powers, verifications and invitations rest on.
    audit_record(actor=user, action=AuditAction.USER_EMAIL_REMOVED, target=user, request=request,
                 old={"email": email, "verified": verified})


@receiver(signals.email_removed)
def on_email_removed(sender, request, user, email_address, **kwargs):
    address_removed_record(request=request, user=user, email=email_address.email, verified=email_address.verified)


def authenticator_values(authenticator) -> dict:
    """What an audit event says of an authenticator (never its secret or its codes): its
    kind, and its id while it has one (allauth announces a removal once it is deleted)."""
    values = {"type": authenticator.type}
    if authenticator.pk is not None:
        values["authenticator"] = authenticator.pk
    return values


@receiver(mfa_signals.authenticator_added)
def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    # A role holder's second factor is what the role rests on: set up, renewed or taken away, it is audited.
    audit_record(actor=user, action=AuditAction.USER_AUTHENTICATOR_ADDED, target=user, request=request,
                 new=authenticator_values(authenticator))
    # The set-up page keeps showing one secret until it is activated (forms.ActivateTOTPForm):
    # once it is, a later set-up gets a new one.
    if request is not None:
        clear_totp_secret(request)
        # Activated with a code of the new app: this session has given the second factor, as
        # allauth records it at sign-in (the MFA middleware asks it of role holders and staff).
        if authenticator.type == Authenticator.Type.TOTP and request.user.pk == user.pk:
            record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True)


@receiver(mfa_signals.authenticator_used)
def on_authenticator_used(sender, request, user, authenticator, reauthenticated=False, **kwargs):
    # A recovery code stands in for the second factor (its app lost or out of reach): each one
    # used, at a sign-in or to confirm who the person is, is audited; a code of the app is not.
    if authenticator.type != Authenticator.Type.RECOVERY_CODES:
        return
    audit_record(actor=user, action=AuditAction.USER_RECOVERY_CODE_USED, target=user, request=request,
                 new={**authenticator_values(authenticator), "reauthenticated": bool(reauthenticated)})


@receiver(mfa_signals.authenticator_reset)
def on_authenticator_reset(sender, request, user, authenticator, **kwargs):
    audit_record(actor=user, action=AuditAction.USER_AUTHENTICATOR_RESET, target=user, request=request,
                 new=authenticator_values(authenticator))


@receiver(mfa_signals.authenticator_removed)
def on_authenticator_removed(sender, request, user, authenticator, **kwargs):
    audit_record(actor=user, action=AuditAction.USER_AUTHENTICATOR_REMOVED, target=user, request=request,
                 old=authenticator_values(authenticator))


# Refused passwords, and refused second-factor codes, audited per account and hour, each
# kind counted on its own. Whoever knows an address makes refusals as fast as allauth's
# rate limits let them (five an address in five minutes, sixty an hour; more once its
# counters in the cache are gone, or spread over the account's addresses): the first
# ones of the hour show the guessing, when and from where; the rest are not written.
REFUSALS_AUDITED_PER_HOUR = 20
# The first of PostgreSQL's two advisory-lock keys: an account's refusals ("RFSD").
REFUSALS_LOCK_NAMESPACE = 0x52465344


def _refusal_record(*, request, user, action: AuditAction, new: dict) -> None:
    """One refusal against ``user``'s account, audited (the account as actor and target)
    unless REFUSALS_AUDITED_PER_HOUR of that kind were this hour; counted under the
    account's lock, so that refusals at the same moment cannot all pass the count."""
    hourly_audited(actor=user, action=action, limit=REFUSALS_AUDITED_PER_HOUR, target=user, request=request,
                   lock=lambda: advisory_lock(REFUSALS_LOCK_NAMESPACE, user.pk), new=new)


def password_refusal_record(*, request, credentials: dict) -> None:
    """A password refused (adapter.authentication_failed: at the sign-in, or when the
    person is asked again who they are), audited against each account allauth checked it
    against: those the address names, as its backend finds them. An address no account
    has writes nothing, so nothing typed there is kept; neither is the password."""
    email = credentials.get("email")
    if not email:
        return
    signed_in = getattr(getattr(request, "user", None), "pk", None)
    for user in filter_users_by_email(email, prefer_verified=True, for_login=True):
        _refusal_record(request=request, user=user, action=AuditAction.USER_LOGIN_FAILED,
                        new={"reauthentication": signed_in == user.pk})


@receiver(mfa_signals.authentication_failed)
def on_second_factor_refused(sender, request, user, authenticator, reauthentication=False, **kwargs):
    # A code matching none of the account's second factors, after the right password (or
    # when a signed-in person is asked again who they are): allauth names the app, or the
    # recovery codes when there is no app. Never the code typed.
    _refusal_record(request=request, user=user, action=AuditAction.USER_SECOND_FACTOR_FAILED,
                    new={**authenticator_values(authenticator), "reauthentication": bool(reauthentication)})
