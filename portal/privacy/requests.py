"""A person's data protection requests (erasure, a correction that needs an
administrator), their nominee and their own corrections: services, each audited.

Requests are due by the end of the day (India's time) ``settings.PRIVACY_REQUEST_DUE_DAYS``
after the one they are made on, the day the pages and mail name; the beat job reminds the
superadmins on the day ``PRIVACY_REQUEST_REMINDER_DAYS_BEFORE`` days before that one and
escalates an overdue request once (the mail goes to every
superadmin and the request shows as overdue). Granting an erasure closes the
account: its name and addresses are removed, it can no longer sign in, its roles
end (not the platform's last superadmin's, nor an organisation's last admin's, whose
role does not end: refused), its other
requests lose what the person wrote (those still waiting are closed), and the
personal part of the audit events by or about it is redacted."""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal import signed_out_input
from portal.accounts.mail_limits import one_mailbox, own_account
from portal.accounts.models import address_naming, erased_email
from portal.accounts.selectors import addresses_of_users
from portal.audit.erasure import audit_redact
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.publish import superadmin_messages
from portal.audit.services import audit_record, audit_record_many
from portal.deadlines import end_of_local_day
from portal.limits import refuse_over_actions, shown
from portal.mail.retention import outbox_person_remove
from portal.organisations.models import Membership, MembershipRole, Organisation, PlatformRoleGrant, ended
from portal.organisations.selectors import organisations_left_without_admin
from portal.organisations.services import (
    LastAdmin,
    LastSuperadmin,
    organisation_admins_lapse,
    platform_roles_lapse,
    superadmin_account_end_check,
)
from portal.permissions import AnyUser
from portal.privacy.admin_history import admin_history_remove
from portal.privacy.models import HoldTarget, Nominee, PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from portal.privacy.retention import legal_held
from portal.text import has_visible_characters

MAX_OPEN_REQUESTS = 5


def privacy_request_make(*, user: AnyUser, kind: str, details: str, request: HttpRequest | None = None
                         ) -> PrivacyRequest:
    details = details.strip()
    if kind not in PrivacyRequestKind.values:
        raise ValidationError({"kind": _("Choose what you ask.")})
    if not details:
        raise ValidationError({"details": _("Say what you ask, e.g. which details are wrong.")})
    details = details[:2000]
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=user.pk)
        # The same request sent again (a double click, or back and send again) while the
        # first waits: one request, reminded and escalated once.
        if PrivacyRequest.objects.filter(user=user, kind=kind, details=details,
                                         status=PrivacyRequestStatus.OPEN).exists():
            raise ValidationError({"details": _("You sent this request already: it waits for a decision.")})
        if PrivacyRequest.objects.filter(user=user, status=PrivacyRequestStatus.OPEN).count() >= MAX_OPEN_REQUESTS:
            raise ValidationError({"kind": _("You have %(n)s requests waiting: wait for a decision first.")
                                   % {"n": MAX_OPEN_REQUESTS}})
        now = timezone.now()
        made = PrivacyRequest.objects.create(user=user, kind=kind, details=details, made_at=now,
                                             due_at=end_of_local_day(now, settings.PRIVACY_REQUEST_DUE_DAYS))
        audit_record(actor=user, action=AuditAction.PRIVACY_REQUEST_MADE, target=made, request=request,
                     new={"kind": kind, "due_at": made.due_at})
    return made


def decided_already(made: PrivacyRequest) -> ValidationError:
    """The refusal of a decision on ``made`` once it is no longer open (another superadmin
    decided it meanwhile, or the person's erasure closed it): how, by whom and when, so
    that the superadmin whose decision was not recorded knows what stands instead."""
    decider = made.decided_by
    who = address_naming(decider)
    values = {"status": made.get_status_display(), "who": who,
              "when": shown(made.decided_at) if made.decided_at else ""}
    if who and made.decided_at:
        message = _("This request was decided already: %(status)s, by %(who)s on %(when)s. Your decision was not "
                    "recorded.") % values
    elif made.decided_at:
        message = _("This request was decided already: %(status)s, on %(when)s. Your decision was not recorded.") % values
    else:
        message = _("This request was decided already: %(status)s. Your decision was not recorded.") % values
    return ValidationError(message, code="decided")


def privacy_request_decide(*, request_id: int, grant: bool, reason: str, actor: AnyUser,
                           request: HttpRequest | None = None) -> PrivacyRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision: the person reads it.")})
    with transaction.atomic():
        made = PrivacyRequest.objects.select_for_update().get(pk=request_id)
        if made.status != PrivacyRequestStatus.OPEN:
            raise decided_already(made)
        # Another account of their mailbox ("+tag") is theirs too: one person's.
        if made.user_id and own_account(made.user, actor):
            raise ValidationError(_("Someone else must decide your own request."))
        made.status = PrivacyRequestStatus.GRANTED if grant else PrivacyRequestStatus.REFUSED
        made.decided_at, made.decided_by, made.decision_reason = timezone.now(), actor, reason[:2000]
        made.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(actor=actor, action=AuditAction.PRIVACY_REQUEST_DECIDED, target=made, request=request,
                     old={"status": PrivacyRequestStatus.OPEN}, new={"status": made.status, "reason": reason[:500]})
        if grant and made.kind == PrivacyRequestKind.ERASURE and made.user_id:
            if legal_held((HoldTarget.PERSON, made.user_id)):
                raise ValidationError(_("This person's records are under a legal hold: release the hold before "
                                        "granting the erasure, or refuse the request."), code="held")
            if legal_held(*person_hold_targets(made.user_id)):
                raise ValidationError(_("A record the erasure would change (one of this person's, or one they "
                                        "decided on or handed over) is under a legal hold: release the hold before "
                                        "granting the erasure, or refuse the request."), code="held")
            try:
                person_erase(user_id=made.user_id, actor=actor, granted_request_id=made.pk)
            except LastAdmin as refused:
                raise ValidationError({"decision": refused.messages}, code="last_admin") from None
            except LastSuperadmin:
                raise ValidationError({"decision": _(
                    "This person is the platform's last superadmin whose role does not end: grant the superadmin "
                    "role to someone else (without an end date) before granting the erasure, or refuse the request."
                )}, code="last_superadmin") from None
    return made


# Which of a person's records can be held on their own (their applications, their
# verification records...): each is called with the person's id and returns
# (HoldTarget, id) pairs; an erasure is refused while any of them is held, as while
# the person is. Registered from the apps' ready().
HoldTargets = Callable[[int], list[tuple[str, int]]]
_HOLD_TARGETS: list[HoldTargets] = []


def person_hold_targets_register(collect: HoldTargets) -> None:
    if collect not in _HOLD_TARGETS:
        _HOLD_TARGETS.append(collect)


def person_hold_targets(user_id: int) -> list[tuple[str, int]]:
    """The person's records that the apps say can be held, as (HoldTarget, id) pairs."""
    return [target for collect in _HOLD_TARGETS for target in collect(user_id)]


def person_held(user_id: int) -> bool:
    """Whether the person, or one of their records the apps say can be held, is under a
    legal hold now: what deletes an account outside an erasure (the Django admin) asks this."""
    return legal_held((HoldTarget.PERSON, user_id), *person_hold_targets(user_id))


# What the apps erase of a person besides the account (their verification records,
# invitations to their addresses...): each is called with the person and all their
# addresses, the account's and those it had before (person_past_addresses: less those another
# account holds now), in the erasure's transaction, and returns the audit targets whose events'
# personal part is redacted with the account's. A pair (EVENT_TARGET, id) names one event
# about something else that names the person (a roster's batch event listing the
# invitations it sent): that event is redacted itself. Registered from the apps' ready().
ErasureHandler = Callable[[AnyUser, list[str]], list[tuple[str, str]]]
EVENT_TARGET = AuditEvent._meta.label_lower
_ERASURE_HANDLERS: list[ErasureHandler] = []


def person_erasure_register(handler: ErasureHandler) -> None:
    if handler not in _ERASURE_HANDLERS:
        _ERASURE_HANDLERS.append(handler)


# The addresses the apps' records know were the person's, which the account may no longer
# hold (the official address their verification records name, which they may have taken
# off their account): the outbox's mail to them, the records and events that name them are
# the person's too. Each is called with
# the person in the erasure's transaction, before the handlers above clear those records.
# Registered from the apps' ready().
PastAddresses = Callable[[AnyUser], Iterable[str]]
_PAST_ADDRESSES: list[PastAddresses] = []


def person_past_addresses_register(source: PastAddresses) -> None:
    if source not in _PAST_ADDRESSES:
        _PAST_ADDRESSES.append(source)


# The account's own events that record one of its addresses (added, confirmed, changed
# from, removed, added or changed in the Django admin): an address the person took off the
# account is named there, and in what others recorded about them.
ADDRESS_EVENTS = (AuditAction.USER_EMAIL_ADDED, AuditAction.USER_EMAIL_CONFIRMED, AuditAction.USER_EMAIL_CHANGED,
                  AuditAction.USER_EMAIL_REMOVED, AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN)


def _addresses_recorded(user: AnyUser) -> set[str]:
    """The addresses the account's own events recorded as confirmed (read before the erasure
    redacts them): an address the Django admin added unconfirmed, or that was removed
    unconfirmed, was never proven the person's (it may be a colleague's, typed by mistake),
    and the mail and records at it are not theirs. (An address allauth adds is confirmed
    by the code mailed to it as it is added.)"""
    events = AuditEvent.objects.filter(target_type=user._meta.label_lower, target_id=str(user.pk),
                                       action__in=ADDRESS_EVENTS, redacted_at__isnull=True)
    found = set()
    for action, old, new in events.values_list("action", "old_values", "new_values"):
        old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
        if action == AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN and new.get("verified") is not True:
            continue  # saved unconfirmed (or its address changed there: still held, or removed since)
        if action == AuditAction.USER_EMAIL_REMOVED and old.get("verified") is False:
            continue
        found.update(value for value in (old.get("email"), new.get("email")) if isinstance(value, str))
    return found


def person_past_addresses(user: AnyUser, held: list[str]) -> list[str]:
    """The addresses ``user`` had besides ``held`` (the account's now), lower case: those the
    account's own events recorded and those the registered sources know, less those another
    account holds now: an official address passes to the next holder of a post, and the mail
    there, the events and records naming it, may be theirs (the outbox's own retention
    removes that mail, OUTBOX_KEEP_DAYS after it was sent)."""
    had = [*_addresses_recorded(user), *(address for source in _PAST_ADDRESSES for address in source(user))]
    return not_held_by_others(user, {address.strip().lower() for address in had if address and address.strip()}
                              - set(held))


def not_held_by_others(user: AnyUser, addresses: Iterable[str]) -> list[str]:
    """``addresses`` (lower case) less those another account holds now (as an address of
    its own or its account's email: an official address passes to the next holder of a
    post), sorted. No query for none."""
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (apps loaded)

    addresses = set(addresses)
    if not addresses:
        return []
    others = EmailAddress.objects.exclude(user=user).annotate(address=Lower("email")).filter(address__in=addresses)
    accounts = get_user_model().objects.exclude(pk=user.pk).annotate(address=Lower("email")).filter(
        address__in=addresses)
    taken = {*others.values_list("address", flat=True), *accounts.values_list("address", flat=True)}
    return sorted(addresses - taken)


def person_erase(*, user_id: int, actor: AnyUser | None, granted_request_id: int | None = None) -> None:
    """Close an account whose erasure was granted: no name, no addresses, no sign-in, no second
    factors, no nominee nor anyone's nomination of it, nothing it typed signed out kept for
    it to send again, no history in the Django admin (of the account, its addresses and
    those it had), no mail to it in the outbox (sent or not; also at the addresses the apps
    know were the person's, person_past_addresses_register), what the apps hold about the
    person erased (person_erasure_register: their drafts, their verification records'
    details, their invitations and roster rows...), their other data protection requests
    emptied of what they wrote and closed if still waiting, and the personal part of the
    audit events by or about it redacted, with the events of its organisations that name it
    by an address of its own, now or before (its admin roles; refused, LastAdmin, for an
    organisation's last admin whose role does not end), its platform roles ended (refused,
    LastSuperadmin, for the platform's last superadmin whose role does not end, by a grant
    or as a Django superuser). What other rules keep (a submitted application's reference
    and decisions, the erasure request granted, ``granted_request_id``, as the record of
    what was asked and decided) stays with the account id."""
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (apps loaded)
    from allauth.mfa.models import Authenticator  # noqa: PLC0415 (apps loaded)

    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        # Refused (LastSuperadmin) first, nothing changed, for the platform's last superadmin
        # whose role does not end: by a grant, or a Django superuser (no grant to end below).
        superadmin_account_end_check(user_id=user.pk)
        # Its address and those it confirmed: one the Django admin added unconfirmed is no
        # proof that the mail and records at it are the person's (_addresses_recorded).
        addresses = sorted({user.email.lower(), *(email.lower() for email in EmailAddress.objects.filter(
            user=user, verified=True).values_list("email", flat=True))})
        # Those it had before too, read before the handlers clear the records that name them.
        every_address = addresses + person_past_addresses(user, addresses)
        targets = [("accounts.user", str(user.pk))]
        for handler in _ERASURE_HANDLERS:
            targets += handler(user, every_address)
        event_ids = [int(pk) for kind, pk in targets if kind == EVENT_TARGET]
        targets = [(kind, pk) for kind, pk in targets if kind != EVENT_TARGET]
        admin_history_remove(user_ids=[user.pk], addresses=every_address)
        EmailAddress.objects.filter(user=user).delete()
        user.email, user.full_name, user.language, user.is_active = erased_email(user.pk), "", "", False
        user.set_unusable_password()
        user.save(update_fields=["email", "full_name", "language", "is_active", "password"])
        # Its memberships and admin roles end (a first admin's included): a closed account
        # belongs to and administers nothing. The address is gone first, so the events of
        # the roles' end name the closed account, not the person.
        Membership.objects.filter(user=user, role=MembershipRole.MEMBER, is_active=True).update(is_active=False)
        admin_of = list(Membership.objects.filter(user=user, role=MembershipRole.ADMIN, is_active=True)
                        .values_list("organisation_id", "user_id"))
        if admin_of:
            organisation_admins_lapse(pairs=admin_of, reason="account_erased", check=_erasure_keeps_an_admin)
        Nominee.objects.filter(user=user).delete()
        # Named as others' nominee at one of its addresses: that naming ends (the address reaches
        # nobody's account now), and the events recording it are redacted.
        event_ids += _nominee_namings_end(every_address)
        # Its second factors (the authenticator app's secret, the recovery codes) go too. Its
        # sessions are signed out at their next request (an inactive account with no usable
        # password); their rows expire after SESSION_COOKIE_AGE and sessions_clear removes them.
        Authenticator.objects.filter(user=user).delete()
        # What it typed in a form while signed out, kept for it to send again (in the cache).
        transaction.on_commit(lambda: signed_out_input.forget(user.pk))
        outbox_person_remove(addresses=every_address)
        others, closed = _requests_close(user, actor, granted_request_id)
        targets += [("privacy.privacyrequest", str(pk)) for pk in others]
        audit_redact(actor_ids=[user.pk], targets=targets, event_ids=event_ids + _membership_events(user, every_address),
                     actor=actor, purpose="erasure request")
        # After the redaction, so that what closed them and ended the person's platform roles
        # stays whole: it names nobody but the actor (the roles' end, the closed account).
        # Refused (LastSuperadmin) for the platform's last superadmin whose role does not end
        # (asked first, above: superadmin_account_end_check).
        platform_roles_lapse(user_id=user.pk, reason="account_erased")
        audit_record_many([{"action": AuditAction.PRIVACY_REQUEST_DECIDED, "target": made,
                            "old": {"status": PrivacyRequestStatus.OPEN},
                            "new": {"status": made.status, "reason": "account_erased"}} for made in closed], actor=actor)


def _erasure_keeps_an_admin(role: Membership) -> None:
    """An erasure is granted by a person: it does not end an admin role the last-admin rule
    keeps (organisation_admin_revoke refuses it: LastAdmin), the role is handed over first."""
    if not ended(role.ends_at) and role.organisation_id in organisations_left_without_admin([role]):
        raise LastAdmin(_(
            "This person is the last admin of %(organisation)s whose role does not end: grant the admin role there "
            "to someone else (without an end date) before granting the erasure, or refuse the request."
        ) % {"organisation": role.organisation.name}, code="last_admin")


def _requests_close(user: AnyUser, actor: AnyUser | None, granted_request_id: int | None
                    ) -> tuple[list[int], list[PrivacyRequest]]:
    """The person's requests other than the erasure granted lose what they wrote; those
    still waiting are closed (the daily sweep reminds of open ones only). Returns the ids
    of those requests and the ones closed."""
    others = list(PrivacyRequest.objects.select_for_update().filter(user=user).exclude(pk=granted_request_id)
                  .only("pk", "status"))
    if not others:
        return [], []
    ids = [made.pk for made in others]
    waiting = [made.pk for made in others if made.status == PrivacyRequestStatus.OPEN]
    PrivacyRequest.objects.filter(pk__in=ids).exclude(details="").update(details="")
    decider = actor if getattr(actor, "is_authenticated", False) else None
    PrivacyRequest.objects.filter(pk__in=waiting).update(status=PrivacyRequestStatus.CLOSED, decided_at=timezone.now(),
                                                         decided_by=decider)
    return ids, list(PrivacyRequest.objects.filter(pk__in=waiting).order_by("pk"))


def _membership_events(user: AnyUser, addresses: list[str]) -> list[int]:
    """The events of the organisations the person was ever a member or an admin of that
    name them by one of ``addresses`` (their admin role granted, changed, ended; the
    account's addresses and those it had before): the organisation's admins read them in
    its audit log. And the events that list them among those told, of those organisations,
    of the offices below them (whose admins above are told when an office has none of its
    own), and, for one who ever held a platform role (a superadmin is told when an office
    has no admin above either), of every organisation."""
    member_of = list(Organisation.objects.filter(pk__in=Membership.objects.filter(user=user).values("organisation_id"))
                     .only("pk", "ancestry"))
    platform = PlatformRoleGrant.objects.filter(user=user).exists()
    if not member_of and not platform:
        return []
    organisations = AuditEvent.objects.filter(target_type="organisations.organisation")
    events = organisations.filter(target_id__in=[str(organisation.pk) for organisation in member_of])
    named = list(events.filter(Q(old_values__user__in=addresses) | Q(new_values__user__in=addresses))
                 .values_list("pk", flat=True))
    if not platform:
        below = Q()
        for organisation in member_of:
            below |= Q(pk=organisation.pk) | Q(ancestry__startswith=organisation.subtree_prefix)
        events = organisations.filter(target_id__in=[str(pk) for pk in
                                                     Organisation.objects.filter(below).values_list("pk", flat=True)])
    else:
        events = organisations
    # And those that list them among the admins told (suspended, moved, its details changed...)
    # or among those whose admin role a move ended ([organisation, address] pairs).
    wanted = {address.lower() for address in addresses}
    for pk, values in events.filter(Q(new_values__has_key="told") | Q(new_values__has_key="admin_roles_ended"),
                                    redacted_at=None).values_list("pk", "new_values"):
        listed = [*(values.get("told") or []),
                  *(pair[-1] for pair in values.get("admin_roles_ended") or [] if isinstance(pair, list) and pair)]
        if wanted & {str(address).lower() for address in listed}:
            named.append(pk)
    return named


# Changes a person makes to their own name, and to their nominee, in 24 hours: each writes an
# audit event, and a script could write thousands.
OWN_CHANGES_PER_DAY = 10


def _own_changes_within_limit(user: AnyUser, action: str, message: str) -> None:
    """Refuse (ValidationError, ``message``) a change of ``action`` once ``user`` made
    OWN_CHANGES_PER_DAY of them in 24 hours; the caller holds their row locked."""
    refuse_over_actions(actor=user, action=action, limit=OWN_CHANGES_PER_DAY, now=timezone.now(), message=message)


def person_correct(*, user: AnyUser, full_name: str, request: HttpRequest | None = None) -> None:
    """What a person corrects themselves: their name (their addresses through allauth's own page),
    OWN_CHANGES_PER_DAY times in 24 hours at most."""
    full_name = " ".join(full_name.split())[:150]
    if not has_visible_characters(full_name):  # empty, or only zero-width and other invisible characters
        raise ValidationError({"full_name": _("Enter your name.")})
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        if locked.full_name == full_name:
            return
        _own_changes_within_limit(user, AuditAction.PERSONAL_DATA_CORRECTED, ngettext(
            "You have corrected your name %(n)s time in the last 24 hours, the most the portal allows: this "
            "correction was not saved. You can correct it again from %(when)s.",
            "You have corrected your name %(n)s times in the last 24 hours, the most the portal allows: this "
            "correction was not saved. You can correct it again from %(when)s.", OWN_CHANGES_PER_DAY))
        old = locked.full_name
        locked.full_name = full_name
        locked.save(update_fields=["full_name"])
        audit_record(actor=user, action=AuditAction.PERSONAL_DATA_CORRECTED, target=locked, request=request,
                     old={"name": old}, new={"name": full_name})


def nominee_record(*, user: AnyUser, name: str, email: str, relationship: str,
                   request: HttpRequest | None = None) -> Nominee:
    # Empty, or only zero-width and other invisible characters: no name or relationship shown.
    missing = {field: _("This field is required.") for field, value in (("name", name), ("relationship", relationship))
               if not has_visible_characters(value)}
    if missing:
        raise ValidationError(missing)
    values = {"name": name.strip(), "email": email.strip().lower(), "relationship": relationship.strip()}
    with transaction.atomic():
        # The person's row, locked first: on the first save there is no nominee row to lock,
        # and two saves at once (a double click) would both record the nominee.
        get_user_model().objects.select_for_update().get(pk=user.pk)
        nominee = Nominee.objects.filter(user=user).first()
        if nominee is not None and all(getattr(nominee, key) == value for key, value in values.items()):
            return nominee  # saved again unchanged (a second click): nothing to record
        # Someone else acts for them: not an address of theirs (any "+tag" form of its mailbox).
        if any(one_mailbox(values["email"], address) for address in addresses_of_users({user.pk})):
            raise ValidationError({"email": _("Name someone else: this address is yours.")})
        _own_changes_within_limit(user, AuditAction.NOMINEE_RECORDED, ngettext(
            "You have changed your nominee %(n)s time in the last 24 hours, the most the portal allows: this change "
            "was not saved. You can change it again from %(when)s.",
            "You have changed your nominee %(n)s times in the last 24 hours, the most the portal allows: this change "
            "was not saved. You can change it again from %(when)s.", OWN_CHANGES_PER_DAY))
        old = None if nominee is None else {"nominee": {"name": nominee.name, "email": nominee.email}}
        nominee, _created = Nominee.objects.update_or_create(
            user=user, defaults={**values, "recorded_at": timezone.now()})
        audit_record(actor=user, action=AuditAction.NOMINEE_RECORDED, target=user, request=request,
                     old=old, new={"nominee": {"name": nominee.name, "email": nominee.email}})
    return nominee


def _nominee_namings_end(addresses: list[str]) -> list[int]:
    """Remove the nominees others named at one of ``addresses`` (an erased person's); the ids
    of the events that named the address as someone's nominee (the new one, or the one replaced)."""
    Nominee.objects.filter(email__in=addresses).delete()
    return list(AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED)
                .filter(Q(old_values__nominee__email__in=addresses) | Q(new_values__nominee__email__in=addresses))
                .values_list("pk", flat=True))


def _mail(template: str, context: dict) -> list[EmailMultiAlternatives]:
    """The superadmins' mail, as the audit head's (superadmin_messages)."""
    return superadmin_messages(template=f"privacy/email/{template}", context=context)


def privacy_requests_sweep(*, now=None) -> dict:
    """Beat: remind the superadmins of requests due soon, escalate overdue ones, once each.
    Rows are claimed by the mark they get in the same transaction as the mail (outbox)."""
    now = now or timezone.now()
    counts = {"reminded": 0, "escalated": 0}
    # Reminded on the local day PRIVACY_REQUEST_REMINDER_DAYS_BEFORE days before the day a
    # request is due (due_at is the end of that day); overdue from the first instant after it.
    horizon = end_of_local_day(now, settings.PRIVACY_REQUEST_REMINDER_DAYS_BEFORE)
    with transaction.atomic():
        soon = list(PrivacyRequest.objects.select_for_update(skip_locked=True).filter(
            status=PrivacyRequestStatus.OPEN, reminded_at__isnull=True, due_at__gt=now,
            due_at__lte=horizon).order_by("due_at", "pk")[:500])
        overdue = list(PrivacyRequest.objects.select_for_update(skip_locked=True).filter(
            status=PrivacyRequestStatus.OPEN, escalated_at__isnull=True, due_at__lte=now).order_by("due_at", "pk")[:500])
        for rows, field, template, action, key in (
            (soon, "reminded_at", "request_reminder", AuditAction.PRIVACY_REQUEST_REMINDED, "reminded"),
            (overdue, "escalated_at", "request_escalated", AuditAction.PRIVACY_REQUEST_ESCALATED, "escalated"),
        ):
            if not rows:
                continue
            PrivacyRequest.objects.filter(pk__in=[row.pk for row in rows]).update(**{field: now})
            messages = _mail(template, {"requests": rows, "site_url": settings.SITE_URL})
            if messages:
                mailers.default.send_messages(messages)
            audit_record_many([{"action": action, "target": row, "new": {"due_at": row.due_at}} for row in rows])
            counts[key] = len(rows)
    return counts
