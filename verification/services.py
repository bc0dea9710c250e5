"""Writes to government profiles: asking to be verified, deciding, suspending,
reinstating, revoking, and an organisation's automatic verification. Views, tasks
and commands call these; nothing else saves a profile.

Every service that changes a person's profiles locks that person's user row first
and then the profile rows, so that two decisions about one person (two admins, two
organisations) run one after the other: the second sees what the first did. The
database refuses a second verified organisation anyway (a unique constraint).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy

from portal.accounts.mail_limits import mailbox_key, own_account, same_mailbox
from portal.accounts.official_email import classify_email
from portal.advisory import advisory_lock
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.limits import refuse_over
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationStatus,
    at_or_above,
    ended,
)
from portal.organisations.selectors import first_admin_roles_outside, organisations_left_without_admin
from portal.organisations.services import LastAdmin, organisation_admins_lapse
from portal.permissions import AnyUser, is_auditor, is_superadmin
from portal.shown import ChangedMeanwhile, check_shown, shown_digest
from portal.text import has_visible_characters, multi_line, single_line
from verification import notifications
from verification.models import (
    HELD_STATUSES,
    STANDING,
    SYSTEM_END_REASONS,
    VERIFICATION_ENDED,
    VERIFIED_ELSEWHERE,
    AddressConfirmation,
    EndReason,
    GovernmentProfile,
    SystemNote,
    VerificationMethod,
    VerificationSettings,
    VerificationStatus,
)
from verification.selectors import (
    administers,
    ends_elsewhere,
    has_confirmed_address,
    on_official_domain,
    verified_at_once,
    waiting_requests_count,
)
from verification.validators import check_official_address, check_superannuation_not_too_late, clean_mobile

REASON_MAX = 1000
# The longest input each detail accepts (the mobile number is stored normalised, in 13).
PROFILE_FIELDS = {"designation": 150, "office": 200, "employee_code": 50, "official_email": 254, "mobile": 20}
AUTOMATIC = "system:automatic_verification"  # who acts in the audit log when an organisation verifies automatically
# ... and when a verification ends because the person was verified in another organisation
# (who verified them there is in the event's details, ``transferred_by``).
TRANSFER = "system:transfer"


class JoinDecision:
    VERIFY = "verify"
    REJECT = "reject"
    ALL = (VERIFY, REJECT)


class StatusChanged(Exception):
    """The profile is no longer in a status that allows this (decided meanwhile by
    someone else, or never in it): nothing was changed."""

    def __init__(self, profile: GovernmentProfile) -> None:
        self.profile = profile
        super().__init__(f"profile {profile.pk} is {profile.status}")


class DecisionChanged(ChangedMeanwhile):
    """The verification was decided on since its page was opened (suspended, reinstated,
    suspended again...): nothing was changed, as that would undo a decision unseen."""


class OwnProfile(PermissionDenied):
    """Nobody decides on their own request or profile: another admin does."""


def join_refusal(user: AnyUser) -> str | None:
    """None if the user may ask to be verified, else why not."""
    if is_auditor(user):
        return _("An auditor's account is read-only: it cannot ask to be verified by an organisation.")
    return None


def person_lock(user_id: int) -> None:
    """Lock the person's account row: every change of their requests and verifications
    (and of the address one rests on) takes it first, so that they happen one at a time."""
    get_user_model().objects.select_for_update().filter(pk=user_id).get()


def _lock_profile(profile_id: int) -> GovernmentProfile:
    user_id = GovernmentProfile.objects.filter(pk=profile_id).values_list("user_id", flat=True).first()
    if user_id is None:
        raise GovernmentProfile.DoesNotExist
    person_lock(user_id)
    return (
        GovernmentProfile.objects.select_for_update(of=("self",))
        .select_related("user", "organisation")
        .get(pk=profile_id)
    )


def check_decider(actor: AnyUser, organisation: Organisation) -> None:
    """An admin of the organisation (or of one above it) or a superadmin; never an auditor;
    not by a role resting on a verification past its date of superannuation (selectors.administers)."""
    if not actor.is_authenticated or (is_auditor(actor) and not is_superadmin(actor)):
        raise PermissionDenied
    if not administers(actor, organisation):
        raise PermissionDenied


def is_own(actor: AnyUser, profile: GovernmentProfile) -> bool:
    """Whether ``profile`` is ``actor``'s: of their account, or of another account of their
    mailbox (accounts are one per address, "+tag" and all: the same person)."""
    return bool(own_account(profile.user, actor))


def _check_decider_of(actor: AnyUser, profile: GovernmentProfile) -> None:
    check_decider(actor, profile.organisation)
    if actor.pk == profile.user_id:
        raise OwnProfile(_("You cannot decide on your own verification: another administrator does."))
    if is_own(actor, profile):
        raise OwnProfile(_("This request is of another account of your own mailbox: another administrator decides it."))


def _record_decision(profile: GovernmentProfile, *, actor: AnyUser | None, now: datetime, reason: str = "",
                     reason_code: str = "") -> list[str]:
    profile.decided_at = now
    profile.decided_by = actor if actor is not None and actor.is_authenticated else None
    profile.decided_by_email = profile.decided_by.email if profile.decided_by else ""
    profile.reason, profile.reason_code = reason, reason_code
    return ["status", "decided_at", "decided_by", "decided_by_email", "reason", "reason_code"]


def _audit(actor: AnyUser | None, action: AuditAction, profile: GovernmentProfile, old_status: str, *,
           request: HttpRequest | None, actor_role: str | None = None, **new: object) -> None:
    if actor_role is None:
        actor_role = "" if actor is not None else AUTOMATIC
    audit_record(
        actor=actor, action=action, target=profile, request=request, actor_role=actor_role,
        old={"status": old_status},
        new={"status": profile.status, "user": profile.user.email, "organisation": profile.organisation_id, **new},
    )


def restart_confirmation_year(profile: GovernmentProfile, now: datetime) -> list[str]:
    """Verifying or reinstating someone counts as a confirmation of their official
    address: the year until the next one starts now (verification/lifecycle.py), and the
    links mailed for an earlier request are done with, as confirming uses every open one
    (their page says the address was confirmed then, nothing more to do). Returns the
    profile's fields to save."""
    AddressConfirmation.objects.filter(profile_id=profile.pk, used_at__isnull=True).update(used_at=now)
    profile.address_confirmed_at = now
    profile.confirmation_requested_at = profile.confirmation_reminded_at = profile.confirmation_paused_at = None
    profile.confirmation_mailed_at = None
    return ["address_confirmed_at", "confirmation_requested_at", "confirmation_mailed_at", "confirmation_reminded_at",
            "confirmation_paused_at"]


def _membership_start(profile: GovernmentProfile) -> None:
    """The verified person is a member of the organisation. An admin there stays an admin,
    and is a member under the role (``member_before_admin``): when the role ends they are
    left a member (as a member made admin is), not no one there. The membership row is
    the one record of it: the core reads no verification."""
    membership, created = Membership.objects.get_or_create(
        organisation_id=profile.organisation_id, user_id=profile.user_id, defaults={"role": MembershipRole.MEMBER}
    )
    if created:
        return
    if membership.role == MembershipRole.MEMBER and not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    elif membership.role == MembershipRole.ADMIN and membership.is_active and not membership.member_before_admin:
        membership.member_before_admin = True
        membership.save(update_fields=["member_before_admin"])


def _member_ends(user_id: int, organisation_ids: list[int]) -> None:
    """The person stops being a member of the organisations ``organisation_ids``, also
    one under an admin role there (``member_before_admin``), which a move within its line
    may leave in place: when it ends they are left no member there (one query; none for
    none)."""
    if organisation_ids:
        Membership.objects.filter(
            Q(role=MembershipRole.MEMBER, is_active=True) | Q(role=MembershipRole.ADMIN, member_before_admin=True),
            organisation_id__in=organisation_ids, user_id=user_id,
        ).update(is_active=Case(When(role=MembershipRole.MEMBER, then=Value(False)), default=F("is_active")),
                 member_before_admin=False)


def _membership_end(profile: GovernmentProfile, *, ended_by: AnyUser | None = None,
                    verified_in: Organisation | None = None) -> list[Membership]:
    """A member stops being one; an admin of the organisation stops being its admin too
    (the verification the role rested on has ended: the core service audits it), and so
    does an admin role above it resting on this membership alone. ``ended_by``: the
    administrator who suspends or revokes the verification; ValidationError when that
    would end an admin role in an organisation they do not administer (an office's admin
    cannot remove an admin of the department above it: its admins, or a superadmin, can).
    ``verified_in``: the organisation that verifies the person instead (``_verify``).
    Either way a person's decision ends the roles, and the last-admin rule holds, as
    organisation_admin_revoke keeps it: LastAdmin, changing nothing, when an organisation
    would be left with no admin whose role does not end (the role is handed over first).
    The refusals of an administrator's decision name the person by their account address
    (``params["name"]``): what the rules let that administrator see of them is the page's
    to say (``person_named``). Returns the admin roles that ended."""
    _member_ends(profile.user_id, [profile.organisation_id])
    return _admin_roles_end(profile.user, [(profile.organisation_id, profile.user_id)], ended_by=ended_by,
                            verified_in=verified_in)


def _admin_roles_end(person: AnyUser, pairs: list[tuple[int, int]], *, ended_by: AnyUser | None = None,
                     verified_in: Organisation | None = None,
                     reasons: dict[tuple[int, int], str] | None = None) -> list[Membership]:
    """The admin roles of ``person`` of the organisations of ``pairs`` end, and those above
    resting on them (organisation_admins_lapse, in one call: every lock before the first
    audit row), held to the rules _membership_end says. Returns the roles that ended."""

    def check(membership: Membership) -> None:
        values = {"name": person.email, "organisation": membership.organisation.name}
        if ended_by is not None and not administers(ended_by, membership.organisation):
            raise ValidationError(
                _("%(name)s is an admin of %(organisation)s, a role that rests on this verification: ending it would "
                  "end that role too. Only the administrators of %(organisation)s or a superadmin can suspend or "
                  "revoke it."), code="admin_role_above", params=values)
        if ended(membership.ends_at) or membership.organisation_id not in organisations_left_without_admin([membership]):
            return
        if verified_in is not None:
            # Deciding on a waiting request, whose every detail the administrator sees.
            raise LastAdmin(
                _("%(name)s is the last admin of %(organisation)s whose role does not end, and being verified here "
                  "would end that role: they must first hand over the admin role of %(organisation)s (an admin there "
                  "grants it to someone else, without an end date). Until then they cannot be verified here.")
                % {**values, "name": person.full_name or person.email}, code="last_admin")
        raise LastAdmin(
            _("%(name)s is the last admin of %(organisation)s whose role does not end, a role that rests on this "
              "verification: ending the verification would leave %(organisation)s without one. Grant the admin role "
              "there to someone else first (without an end date)."), code="last_admin", params=values)

    return organisation_admins_lapse(pairs=pairs, reason=VERIFICATION_ENDED, check=check, reasons=reasons,
                                     member_of=verified_in)


# The refusals naming the official address a verification rests on (``params["email"]``).
ADDRESS_REFUSALS = ("address_gone", "not_official")


def person_named(refusal: ValidationError, name: str, *, official_email: str | None = None) -> ValidationError:
    """``refusal`` (from suspending, revoking or reinstating a verification) naming the
    person ``name`` instead of their account address, and their official address as
    ``official_email``: what the page shows of them, their name where the visibility
    rules let the administrator see it, the address likewise (None: hidden from them,
    "the official address")."""
    for error in refusal.error_list:
        if error.params and "name" in error.params:
            error.params = {**error.params, "name": name}
        if error.params and error.code in ADDRESS_REFUSALS:
            error.params = {**error.params, "email": official_email or _("The official address")}
    return refusal


# Asking ---------------------------------------------------------------------------------------

def _bounded_details(details: dict) -> dict:
    """The profile's details as stored: single lines within each field's limit; the
    mobile number normalised. Raises ValidationError for a missing or malformed one
    (the form says the same at each field first), and for one longer than its field once
    composed (``single_line``: a letter typed as one character, "ज़" from text converted
    from a legacy font, is stored as two), never cut."""
    cleaned, errors = {}, {}
    for name, limit in PROFILE_FIELDS.items():
        cleaned[name] = single_line(str(details.get(name) or "")).strip()
        if not has_visible_characters(cleaned[name]):  # empty, or only zero-width and other invisible characters
            errors[name] = ValidationError(_("This field is required."), code="required")
        try:
            MaxLengthValidator(limit)(cleaned[name])
        except ValidationError as error:
            errors[name] = error
    cleaned["official_email"] = cleaned["official_email"].lower()
    if cleaned["mobile"]:
        try:
            cleaned["mobile"] = clean_mobile(cleaned["mobile"])
        except ValidationError as exc:
            errors["mobile"] = exc
    superannuation = details.get("superannuation_date") or None
    if superannuation is not None and not isinstance(superannuation, date):
        errors["superannuation_date"] = ValidationError(_("Enter a valid date."), code="invalid")
    elif superannuation is not None:
        try:
            check_superannuation_not_too_late(superannuation)
        except ValidationError as exc:
            errors["superannuation_date"] = exc
    cleaned["superannuation_date"] = superannuation
    if errors:
        raise ValidationError(errors)
    return cleaned


# The first of PostgreSQL's two advisory-lock keys: the requests to be verified made from
# one mailbox, every account of it ("JOIN").
REQUESTS_MAILBOX_LOCK_NAMESPACE = 0x4A4F494E


def _check_request_rate(actor: AnyUser, now: datetime) -> None:
    """Each request waits in an organisation's queue and writes audit events: at most
    VERIFICATION_REQUESTS_PER_DAY in 24 hours per person (withdrawn ones included), or one
    account could fill every organisation's queue, or one queue again and again (ask,
    withdraw, ask). Counted by the person's mailbox (same_mailbox): accounts are kept one
    per address, so each "+tag" account of it is the same person. Takes the mailbox's lock
    first (after the person's row), so that two requests from two of its accounts at once
    cannot both pass the last one."""
    advisory_lock(REQUESTS_MAILBOX_LOCK_NAMESPACE, mailbox_key(actor.email))
    refuse_over(GovernmentProfile.objects.filter(same_mailbox("user__email", actor.email)), "requested_at",
                settings.VERIFICATION_REQUESTS_PER_DAY, now, ngettext_lazy(
                    "You have asked to be verified %(n)s time in the last 24 hours (from any account of your mailbox: "
                    "your address with or without a “+” tag), the most the portal accepts. You can ask again from "
                    "%(when)s.",
                    "You have asked to be verified %(n)s times in the last 24 hours (from any account of your mailbox: "
                    "your address with or without a “+” tag), the most the portal accepts. You can ask again from "
                    "%(when)s.", "n"))


def too_many_waiting(n: int) -> str:
    """What a person with ``n`` requests waiting, VERIFICATION_WAITING_MAX, is told: on the
    join page, and at its form when one is sent all the same."""
    return ngettext(
        "You have %(n)s request waiting for a decision (from any account of your mailbox: your address with or "
        "without a “+” tag), the most one person may have at once: withdraw it (Verification, in the menu, signed "
        "in with the account that made it) before asking another organisation.",
        "You have %(n)s requests waiting for a decision (from any account of your mailbox: your address with or "
        "without a “+” tag), the most one person may have at once: withdraw one of them (Verification, in the menu, "
        "signed in with the account that made it) before asking another organisation.", n) % {"n": n}


def _check_waiting(actor: AnyUser, *, made: GovernmentProfile | None = None) -> None:
    """At most VERIFICATION_WAITING_MAX of the person's requests wait at once, counted from
    every account of their mailbox as the daily limit counts them (under its lock, taken by
    _check_request_rate, so that two accounts of one mailbox asking at once cannot both pass
    the last one): the daily limit bounds how many they make in 24 hours, not how many they
    leave waiting, and asked over several days, one account would fill a department's queue.
    ``made``: the request being made, saved already and left waiting, not counted."""
    most = settings.VERIFICATION_WAITING_MAX
    if waiting_requests_count(actor) - (made is not None) >= most:
        raise ValidationError(too_many_waiting(most), code="too_many_waiting")


def join_request_create(
    *, organisation_id: int, details: dict, language: str, actor: AnyUser, request: HttpRequest | None = None,
    shown: str | None = None,
) -> GovernmentProfile:
    """The signed-in ``actor`` asks ``organisation_id`` (an active organisation) to
    verify them, with their details; told later in ``language``. When the organisation
    verifies automatically and the official address given (one the actor confirmed) is
    on one of its verified domains, the request is verified at once (by the system,
    audited as such).
    Raises ValidationError (not allowed, details missing, a request already open or a
    verification already held there, VERIFICATION_WAITING_MAX requests of the actor's
    waiting already and this one would wait too: one verified at once waits in no queue,
    and verifying it cancels the others) or Organisation.DoesNotExist. ``shown``: the digest
    (EndsElsewhere.shown) of what the join page said being verified here ends elsewhere;
    a request verified at once when it would end something else by then raises
    portal.shown.ChangedMeanwhile, nothing done (None: not checked)."""
    refusal = join_refusal(actor)
    if refusal:
        raise ValidationError(refusal, code="not_eligible")
    details = _bounded_details(details)
    organisation = Organisation.objects.get(pk=organisation_id, status=OrganisationStatus.ACTIVE)
    try:
        check_official_address(details["official_email"], organisation)  # as the form says at the field
    except ValidationError as refusal:
        raise ValidationError({"official_email": refusal}) from None
    if not has_confirmed_address(actor, details["official_email"]):
        raise ValidationError({"official_email": ValidationError(
            _("This address is not one you have confirmed. Add it to your account (Account, then Email addresses) "
              "and open the link we send to it, then ask again."), code="unconfirmed")})
    with transaction.atomic():
        person_lock(actor.pk)  # serialises the person's requests: two at once cannot both pass the limit
        now = timezone.now()
        _check_request_rate(actor, now)
        # A waiting request first (at most one: a constraint), then a held verification.
        current = (
            GovernmentProfile.objects.filter(STANDING, user=actor, organisation=organisation)
            .order_by(Case(When(status=VerificationStatus.PENDING, then=0), default=1))
            .values_list("status", flat=True).first()
        )
        if current == VerificationStatus.PENDING:
            raise ValidationError(_("You have already asked %(organisation)s to verify you: wait for its decision.")
                                  % {"organisation": organisation.name}, code="pending")
        if current:
            raise ValidationError(_("You are already a verified member of %(organisation)s.")
                                  % {"organisation": organisation.name}, code="held")
        matched = on_official_domain(actor, details["official_email"], organisation)
        at_once = verified_at_once(actor, organisation, on_domain=matched)
        if at_once:
            check_shown(shown, ends_elsewhere(actor, organisation).values())
        else:
            _check_waiting(actor)
        profile = GovernmentProfile.objects.create(
            user=actor, organisation=organisation, status=VerificationStatus.PENDING, requested_at=now,
            request_language=notifications.mail_language(language), **details,
        )
        _audit(actor, AuditAction.VERIFICATION_REQUESTED, profile, "", request=request, on_official_domain=matched,
               language=profile.request_language,
               details=details)
        if at_once:
            try:
                with transaction.atomic():
                    _verify(profile, actor=None, method=VerificationMethod.OFFICIAL_EMAIL, reason="", request=request,
                            on_official_domain=True)
            except LastAdmin:
                # The last admin of the organisation they leave: the request waits for an
                # administrator here, whose decision says so (join_request_decide), and the
                # person hands the role over meanwhile. Waiting, it counts as any other.
                profile.refresh_from_db()
                _check_waiting(actor, made=profile)
    return profile


def join_request_withdraw(*, profile_id: int, actor: AnyUser, request: HttpRequest | None = None) -> GovernmentProfile:
    """The person withdraws their own request while it waits."""
    with transaction.atomic():
        profile = _lock_profile(profile_id)
        if profile.user_id != actor.pk:
            raise PermissionDenied
        if profile.status != VerificationStatus.PENDING:
            raise StatusChanged(profile)
        profile.status = VerificationStatus.CANCELLED
        fields = _record_decision(profile, actor=actor, now=timezone.now(), reason=SystemNote.WITHDRAWN)
        profile.save(update_fields=fields)
        _audit(actor, AuditAction.VERIFICATION_CANCELLED, profile, VerificationStatus.PENDING, request=request,
               reason="withdrawn_by_requester")
    return profile


# Deciding -------------------------------------------------------------------------------------

def _end_elsewhere(profile: GovernmentProfile, *, actor: AnyUser | None,
                   now: datetime) -> list[tuple[GovernmentProfile, str]]:
    """Verified in ``profile``'s organisation: a verification held in another one ends
    (revoked as a transfer), one of the same organisation suspended as its address left
    the account, or as the domain it rested on was removed, ends (revoked, for that
    reason), and the person's other waiting requests
    are cancelled.
    Returns each changed profile with its status before; their memberships and audit
    events are the caller's (``_verify``), after every row is locked."""
    others = list(
        GovernmentProfile.objects.select_for_update(of=("self",)).select_related("user", "organisation")
        .filter(user_id=profile.user_id, status__in=[VerificationStatus.PENDING, *HELD_STATUSES])
        .exclude(pk=profile.pk).order_by("id")
    )
    changed = []
    for other in others:
        old_status = other.status
        if old_status == VerificationStatus.PENDING:
            # Cancelled by the transfer, not by a decision of that organisation's (as below).
            other.status = VerificationStatus.CANCELLED
            decider = actor if other.organisation_id == profile.organisation_id else None
            fields = _record_decision(other, actor=decider, now=now, reason=SystemNote.VERIFIED_ELSEWHERE)
        elif other.organisation_id == profile.organisation_id:
            # Suspended as its address left the account, or its domain the organisation (STANDING).
            other.status = VerificationStatus.REVOKED
            reason_code = (EndReason.DOMAIN_REMOVED if other.reason_code == EndReason.DOMAIN_REMOVED
                           else EndReason.ADDRESS_REMOVED)
            fields = _record_decision(other, actor=actor, now=now, reason_code=reason_code,
                                      reason=SystemNote.VERIFIED_AGAIN)
        elif old_status == VerificationStatus.SUSPENDED and other.reason_code:
            # Suspended for a reason (misuse, say): the record keeps it, and the audit row
            # says what ended it. An administrator here chose to verify them knowing it.
            # Ended by the transfer, not by a decision of that organisation's: no decider
            # there (who made the transfer is in the audit row, ``_verify``).
            other.status = VerificationStatus.REVOKED
            fields = _record_decision(other, actor=None, now=now, reason_code=other.reason_code, reason=other.reason)
        else:
            other.status = VerificationStatus.REVOKED
            fields = _record_decision(other, actor=None, now=now, reason_code=EndReason.TRANSFER,
                                      reason=SystemNote.VERIFIED_ELSEWHERE)
        other.save(update_fields=fields)
        changed.append((other, old_status))
    return changed


def _verify(profile: GovernmentProfile, *, actor: AnyUser | None, method: str, reason: str,
            request: HttpRequest | None, on_official_domain: bool, name: str | None = None) -> None:
    """Verify a locked, pending profile (the caller holds the person's lock), under
    ``name`` (the name a roster gives) or else the account's name as it is now: the name
    the organisation vouches for (``verified_name``).

    Every row is changed (and locked) before the first audit event: appending one holds
    the chain's lock to the commit, and a row locked after it could wait on a transaction
    that itself waits for the chain. Ending a membership elsewhere locks its rows and
    then audits (``organisation_admins_lapse``): it comes last but for the events."""
    now = timezone.now()
    # The other rows first: the database allows one held verification per person.
    changed = _end_elsewhere(profile, actor=actor, now=now)
    held = [other for other, old_status in changed if old_status != VerificationStatus.PENDING]
    # The one it replaces here (suspended when its address left the account) is no
    # verification elsewhere: the membership carries on, and the person is told nothing of it.
    ended = [other for other in held if other.organisation_id != profile.organisation_id]
    replaced = [other for other in held if other.organisation_id == profile.organisation_id]
    profile.status = VerificationStatus.VERIFIED
    fields = _record_decision(profile, actor=actor, now=now, reason=reason)
    profile.method, profile.verified_at, profile.verified_by = method, now, profile.decided_by
    profile.verified_name = profile.user.full_name if name is None else name
    fields += restart_confirmation_year(profile, now)
    profile.save(update_fields=[*fields, "method", "verified_at", "verified_by", "verified_name"])
    _membership_start(profile)
    # An admin role resting on a verification that ends here ends with it, and so does an
    # organisation's first admin role (resting on its approved application, on no
    # verification) outside this organisation's line: the person works here now. Every
    # role in one lapse (every lock before the first audit row); the mail names each.
    _member_ends(profile.user_id, [other.organisation_id for other in ended])
    pairs = [(other.organisation_id, profile.user_id) for other in ended]
    left = [pair for pair in first_admin_roles_outside(profile.user_id, profile.organisation) if pair not in pairs]
    roles = _admin_roles_end(profile.user, pairs + left, verified_in=profile.organisation,
                             reasons=dict.fromkeys(left, VERIFIED_ELSEWHERE))
    # A role at or above an organisation whose verification ended rested on that; the
    # others ended because the person left the line they are in.
    ended_roles = [role for role in roles if any(
        at_or_above(role.organisation_id, other.organisation_id, other.organisation.ancestry) for other in ended)]
    left_roles = [role for role in roles if role not in ended_roles]
    for other, old_status in changed:
        if old_status == VerificationStatus.PENDING and other.organisation_id == profile.organisation_id:
            _audit(actor, AuditAction.VERIFICATION_CANCELLED, other, old_status, request=request,
                   reason="verified_elsewhere", verified_in=profile.organisation_id)
        elif old_status == VerificationStatus.PENDING:
            # The system's doing in that organisation, as an ending below: who verified the
            # person here is named in the details.
            _audit(None, AuditAction.VERIFICATION_CANCELLED, other, old_status, request=None, actor_role=TRANSFER,
                   reason="verified_elsewhere", verified_in=profile.organisation_id,
                   **({"transferred_by": actor.email} if actor is not None and actor.is_authenticated else {}))
        elif other.organisation_id == profile.organisation_id:
            _audit(actor, AuditAction.VERIFICATION_ENDED, other, old_status, request=request,
                   reason_code=other.reason_code, verified_in=profile.organisation_id, verified_profile=profile.pk)
        else:
            # Ended by the transfer, the system's doing in that organisation: who verified
            # the person here is named in the details (a personal value, as the actor's
            # address; their client's address stays with their own event, the verification).
            _audit(None, AuditAction.VERIFICATION_ENDED, other, old_status, request=None, actor_role=TRANSFER,
                   reason_code=other.reason_code, verified_in=profile.organisation_id, verified_profile=profile.pk,
                   ended_by="verified_elsewhere",
                   **({"transferred_by": actor.email} if actor is not None and actor.is_authenticated else {}))
    _audit(actor, AuditAction.VERIFICATION_VERIFIED, profile, VerificationStatus.PENDING, request=request, method=method,
           reason=reason, on_official_domain=on_official_domain, name=profile.verified_name, ended=[other.pk for other in ended],
           **({"replaced": [other.pk for other in replaced]} if replaced else {}))
    notifications.send_decision_mail(profile=profile, template="verified",
                                     context={"ended": ended, "ended_roles": ended_roles, "left_roles": left_roles})


def clean_reason(reason: str | None) -> str:
    """A reason as stored (and mailed): its lines kept, no control character or bidi
    override, within REASON_MAX; "" when nothing else was typed. The forms clean theirs
    with it, so that one refused here is refused at the field first."""
    return multi_line(reason or "").strip()[:REASON_MAX]


def _check_active(organisation: Organisation) -> None:
    """Nobody is verified (or verified again) in an organisation that is not active."""
    if organisation.status != OrganisationStatus.ACTIVE:
        raise ValidationError(_("%(organisation)s is not active: nobody can be verified in it now.")
                              % {"organisation": organisation.name}, code="inactive")


def join_request_decide(
    *, profile_id: int, decision: str, reason: str | None = "", actor: AnyUser, request: HttpRequest | None = None,
    method: str = VerificationMethod.MANUAL, name: str | None = None,
) -> GovernmentProfile:
    """An admin of the organisation (or above it), or a superadmin, verifies or rejects a
    waiting request; a rejection needs a reason, which the person is sent. Verifying
    cancels the person's other waiting requests and ends a verification they held in
    another organisation. Raises ValidationError, PermissionDenied (OwnProfile for
    one's own) or StatusChanged, and changes nothing when it does. ``method``: by hand,
    or from the organisation's roster (verification.rosters, for the admin who applied it),
    whose row's ``name`` the admin vouches for. By hand, ``name`` is the account's name as
    the request's page showed it to the admin, who vouches for that: verifying is refused
    (ValidationError "name_changed") when the account's name is no longer that, the person
    having changed it since; None: the account's name as it is now (not checked)."""
    reason = clean_reason(reason)
    if method not in (VerificationMethod.MANUAL, VerificationMethod.ROSTER):
        raise ValueError(method)
    if decision not in JoinDecision.ALL:
        raise ValidationError({"decision": _("Choose verify or reject.")}, code="invalid")
    if decision == JoinDecision.REJECT and not reason:
        raise ValidationError({"reason": _("Give the reason for rejecting: the person is sent it.")}, code="required")
    with transaction.atomic():
        profile = _lock_profile(profile_id)
        _check_decider_of(actor, profile)
        if profile.status != VerificationStatus.PENDING:
            raise StatusChanged(profile)
        if decision == JoinDecision.VERIFY:
            _check_active(profile.organisation)
            # Asked before retiring, decided after; an address removed or no longer official since.
            _check_vouchable(profile, superannuated=_("This person's date of superannuation has passed: they cannot "
                                                      "be verified."))
            if method == VerificationMethod.MANUAL and name is not None and name != profile.user.full_name:
                raise _name_changed(again=False)
            _verify(profile, actor=actor, method=method, reason=reason, request=request, name=name,
                    on_official_domain=on_official_domain(profile.user, profile.official_email, profile.organisation))
            return profile
        profile.status = VerificationStatus.REJECTED
        fields = _record_decision(profile, actor=actor, now=timezone.now(), reason=reason)
        profile.save(update_fields=fields)
        _audit(actor, AuditAction.VERIFICATION_REJECTED, profile, VerificationStatus.PENDING, request=request, reason=reason)
        notifications.send_decision_mail(profile=profile, template="rejected")
    return profile


@dataclass
class BulkOutcome:
    decided: list[GovernmentProfile] = field(default_factory=list)
    # (profile id, why it was left): "status_changed", "verified_in_another_chosen" (its person verified by
    # another of the requests decided, which ended it), "own", "not_allowed", "name_changed", "invalid"
    skipped: list[tuple[int, str]] = field(default_factory=list)


def join_requests_decide(
    *, profile_ids: Iterable[int], decision: str, reason: str | None = "", actor: AnyUser,
    request: HttpRequest | None = None, names: Mapping[int, str | None] | None = None,
) -> BulkOutcome:
    """The same decision on several requests, oldest first, each in its own transaction:
    one decided meanwhile by someone else (or the actor's own), or of a person who changed
    their name since the admin was shown it (``names``: by profile id, as join_request_decide
    takes ``name``), is left as it is and reported, the others are decided. The decision
    and reason are checked before any."""
    if decision not in JoinDecision.ALL:
        raise ValidationError({"decision": _("Choose verify or reject.")}, code="invalid")
    if decision == JoinDecision.REJECT and not clean_reason(reason):
        raise ValidationError({"reason": _("Give the reason for rejecting: the person is sent it.")}, code="required")
    outcome = BulkOutcome()
    verified_people = set()  # a person verified here ends their other requests, some of them chosen too
    for profile_id in sorted(set(profile_ids)):
        try:
            decided = join_request_decide(profile_id=profile_id, decision=decision, reason=reason, actor=actor,
                                          request=request, name=(names or {}).get(profile_id))
            outcome.decided.append(decided)
            if decided.status == VerificationStatus.VERIFIED:
                verified_people.add(decided.user_id)
        except StatusChanged:
            ended_here = bool(verified_people) and GovernmentProfile.objects.filter(
                pk=profile_id, user_id__in=verified_people, status=VerificationStatus.CANCELLED).exists()
            outcome.skipped.append((profile_id, "verified_in_another_chosen" if ended_here else "status_changed"))
        except OwnProfile:
            outcome.skipped.append((profile_id, "own"))
        except (PermissionDenied, GovernmentProfile.DoesNotExist):
            outcome.skipped.append((profile_id, "not_allowed"))
        except ValidationError as error:
            outcome.skipped.append((profile_id, "name_changed" if getattr(error, "code", None) == "name_changed"
                                    else "invalid"))
    return outcome


# After verification ---------------------------------------------------------------------------

def _check_address_still_confirmed(profile: GovernmentProfile) -> None:
    """The official address a verification rests on is still one the person confirmed on
    their account (it may have been removed since they asked: see ``receivers``). The
    refusal names it in ``params``: a page shows it as the viewer may see it (``person_named``)."""
    if not has_confirmed_address(profile.user, profile.official_email):
        raise ValidationError(
            _("%(email)s is no longer a confirmed address of this person's account: they add it to their account "
              "and confirm it again first, or ask to be verified with another address."),
            code="address_gone", params={"email": profile.official_email})


def _check_address_official(profile: GovernmentProfile) -> None:
    """The official address is still one the rules accept as official mail for the
    profile's organisation (DESIGN §3; check_official_address): a superadmin may have
    taken its domain off the official list since the person asked."""
    if not classify_email(profile.official_email, organisation=profile.organisation).is_official_mail:
        raise ValidationError(
            _("%(email)s is not an official government address under the current rules: it cannot be verified. The "
              "person asks again with an official address."),
            code="not_official", params={"email": profile.official_email})


def _check_vouchable(profile: GovernmentProfile, *, superannuated: str) -> None:
    """What verifying or reinstating ``profile`` vouches for still holds: the person may
    still be verified (join_refusal, read under their lock: an auditor's account is
    read-only, and the role may have been granted since they asked or were suspended),
    their date of superannuation has not passed (the verification API, the directory and
    verified viewers would already count them as not verified: verified_in_force; refused
    with ``superannuated``), and the official address is still theirs and still official."""
    if join_refusal(profile.user):
        raise ValidationError(_("This person is an auditor, and an auditor's account is read-only: it cannot be "
                                "verified by an organisation."), code="not_eligible")
    if profile.superannuation_date is not None and profile.superannuation_date < timezone.localdate():
        raise ValidationError(superannuated, code="superannuated")
    _check_address_still_confirmed(profile)
    _check_address_official(profile)


def _check_no_request_waiting(profile: GovernmentProfile) -> None:
    """No request of the person waits in the profile's organisation (the person is locked).
    Suspended as its address left the account, the person may ask the same organisation
    again with a new address (STANDING): reinstating the old verification then would leave
    a verification and a waiting request side by side there, which asking refuses. The
    waiting request is decided first (verifying it ends the suspended one). The error's
    ``params["request"]`` is the waiting request's id, for the page to link to it."""
    waiting = (GovernmentProfile.objects.filter(user_id=profile.user_id, organisation_id=profile.organisation_id,
                                                status=VerificationStatus.PENDING)
               .exclude(pk=profile.pk).values_list("pk", "official_email").first())
    if waiting is not None:
        raise ValidationError(
            _("This person asked %(organisation)s again, with %(email)s, and that request waits: decide on it first "
              "(verifying it ends this suspended verification). Until then this verification cannot be reinstated."),
            code="request_waiting",
            params={"organisation": profile.organisation.name, "email": waiting[1], "request": waiting[0]})


# Suspensions and reinstatements, counted together against VERIFICATION_SUSPENSIONS_PER_DAY.
SUSPENSION_ACTIONS = (AuditAction.VERIFICATION_SUSPENDED, AuditAction.VERIFICATION_REINSTATED)


def _suspensions_within_limit(profile: GovernmentProfile, now: datetime) -> None:
    """At most VERIFICATION_SUSPENSIONS_PER_DAY suspensions and reinstatements of one
    profile by administrators (whoever of them) in 24 hours, counted from their audit
    rows: each mails the person, with the administrator's note, and a suspend-reinstate
    cycle repeated would flood their mailbox. The system's own suspensions (an address
    not confirmed or gone) do not count. Revoking is not limited: it ends the
    verification for good, with one mail."""
    refuse_over(
        AuditEvent.objects.filter(target_type=GovernmentProfile._meta.label_lower, target_id=str(profile.pk),
                                  action__in=SUSPENSION_ACTIONS, actor_id__isnull=False),
        "created_at", settings.VERIFICATION_SUSPENSIONS_PER_DAY, now,
        ngettext_lazy(
            "This person's verification was suspended or reinstated %(n)s time in the last 24 hours, the most the "
            "portal allows (each time they are told by email). It can be changed again from %(when)s.",
            "This person's verification was suspended or reinstated %(n)s times in the last 24 hours, the most the "
            "portal allows (each time they are told by email). It can be changed again from %(when)s.", "n"))


def ending_roles_shown(roles: Iterable[Membership]) -> str:
    """The digest (portal.shown) of the admin roles a confirmation page says end with a
    verification suspended or revoked (selectors.admin_roles_ending_with): the page sends it
    back, and profile_suspend and profile_revoke refuse it when the roles that would end are
    not those (one granted or ended since the page was opened). A role past its end date is
    none of them: it ended by itself (recorded as such, not as ended by the decision)."""
    now = timezone.now()
    return shown_digest({"admin_roles": sorted(role.organisation_id for role in roles if not ended(role.ends_at, now))})


def decision_shown(profile: GovernmentProfile) -> str:
    """The digest (portal.shown) of the decision a suspend, revoke or reinstate page shows the
    verification in (its status, and when it was last decided): the page sends it back, and
    those services refuse it (DecisionChanged) when another decision was made since, even one
    that left the status as it was (reinstated and suspended again)."""
    return shown_digest({"status": profile.status, "decided_at": profile.decided_at})


def _change_held(
    *, profile_id: int, actor: AnyUser, allowed: set[str], to: str, action: AuditAction, template: str,
    reason: str, reason_code: str, request: HttpRequest | None, shown: str | None = None,
    decision: str | None = None,
) -> GovernmentProfile:
    with transaction.atomic():
        profile = _lock_profile(profile_id)
        _check_decider_of(actor, profile)
        if profile.status not in allowed:
            raise StatusChanged(profile)
        if decision is not None and decision != decision_shown(profile):
            raise DecisionChanged
        if action in SUSPENSION_ACTIONS:
            # Under the profile's lock: two at once cannot both pass the limit.
            _suspensions_within_limit(profile, timezone.now())
        if to == VerificationStatus.VERIFIED:
            # A suspended (or otherwise not active) organisation vouches for nobody: verifying
            # there is refused (join_request_decide), and reinstating is verifying again.
            # Suspending and revoking stay possible.
            _check_active(profile.organisation)
            _check_vouchable(profile, superannuated=_("This person's date of superannuation has passed: the "
                                                      "verification cannot be reinstated."))
            _check_no_request_waiting(profile)
        old_status = profile.status
        profile.status = to
        fields = _record_decision(profile, actor=actor, now=timezone.now(), reason=reason, reason_code=reason_code)
        if to == VerificationStatus.VERIFIED:
            fields += restart_confirmation_year(profile, profile.decided_at)
            if not profile.verified_name:
                # None on record (held before names were): the administrator reinstating
                # the person vouches for the account's name, as verifying does.
                profile.verified_name = profile.user.full_name
                fields.append("verified_name")
        profile.save(update_fields=fields)
        ended_roles = []
        if to == VerificationStatus.VERIFIED:
            _membership_start(profile)
        else:
            # An admin role resting on the verification ends with it, for good: the mail says so.
            ended_roles = _membership_end(profile, ended_by=actor)
            # Not the roles its page said end (changed since it was opened): undone, the page says them again.
            if shown is not None and shown != ending_roles_shown(ended_roles):
                raise ChangedMeanwhile
        _audit(actor, action, profile, old_status, request=request, reason_code=reason_code, reason=reason)
        notifications.send_decision_mail(profile=profile, template=template, context={"ended_roles": ended_roles})
    return profile


def _end_reason(reason_code: str) -> str:
    if reason_code not in EndReason.values or reason_code in SYSTEM_END_REASONS:  # the system's
        raise ValidationError({"reason_code": _("Choose the reason.")}, code="required")
    return reason_code


def profile_suspend(
    *, profile_id: int, reason_code: str, reason: str | None = "", actor: AnyUser, request: HttpRequest | None = None,
    shown: str | None = None, decision: str | None = None,
) -> GovernmentProfile:
    """Suspend a verified profile (it can be reinstated): the person is no longer a
    verified user meanwhile, but keeps their place in the organisation. An admin role
    resting on the verification ends, and reinstating does not bring it back (it is
    granted again): the confirmation page and the mail say so. ``shown``: the
    ending_roles_shown of the roles the page said end; others would end now:
    portal.shown.ChangedMeanwhile, nothing changed. ``decision``: the decision_shown of the
    verification as the page showed it; another made since: DecisionChanged, nothing changed."""
    return _change_held(
        profile_id=profile_id, actor=actor, allowed={VerificationStatus.VERIFIED}, to=VerificationStatus.SUSPENDED,
        action=AuditAction.VERIFICATION_SUSPENDED, template="suspended", reason=clean_reason(reason),
        reason_code=_end_reason(reason_code), request=request, shown=shown, decision=decision,
    )


def profile_reinstate(
    *, profile_id: int, reason: str | None = "", actor: AnyUser, request: HttpRequest | None = None,
    decision: str | None = None,
) -> GovernmentProfile:
    """Lift a suspension: the profile is verified again (as it was verified before).
    ``decision``: as profile_suspend takes it."""
    return _change_held(
        profile_id=profile_id, actor=actor, allowed={VerificationStatus.SUSPENDED}, to=VerificationStatus.VERIFIED,
        action=AuditAction.VERIFICATION_REINSTATED, template="reinstated", reason=clean_reason(reason), reason_code="",
        request=request, decision=decision,
    )


def profile_revoke(
    *, profile_id: int, reason_code: str, reason: str | None = "", actor: AnyUser, request: HttpRequest | None = None,
    shown: str | None = None, decision: str | None = None,
) -> GovernmentProfile:
    """Revoke a verified or suspended profile, finally: it stays as history; to be
    verified again the person asks again. ``shown`` and ``decision``: as profile_suspend takes them."""
    return _change_held(
        profile_id=profile_id, actor=actor, allowed=set(HELD_STATUSES), to=VerificationStatus.REVOKED,
        action=AuditAction.VERIFICATION_REVOKED, template="revoked", reason=clean_reason(reason),
        reason_code=_end_reason(reason_code), request=request, shown=shown, decision=decision,
    )


# The name verified ------------------------------------------------------------------------------

def _name_changed(*, again: bool) -> ValidationError:
    """The account's name is no longer the one the administrator was shown (and would vouch for):
    ``again`` when what was shown was itself a changed name (to accept)."""
    message = (_("The person changed their name again meanwhile: check the name shown now.") if again
               else _("The person changed their name meanwhile: check the name shown now."))
    return ValidationError(message, code="name_changed")


def verified_name_accept(
    *, profile_id: int, name: str, actor: AnyUser, request: HttpRequest | None = None
) -> GovernmentProfile:
    """An administrator of the person's organisation (or of one above it), or a superadmin,
    accepts the name the person gave their account since being verified (``name``: the one
    the administrator was shown) as the name the organisation vouches for: others see it
    from now on (verification.visibility.rules). Audited with both names. Raises
    PermissionDenied (OwnProfile for one's own), StatusChanged when the profile is no
    longer held, ValidationError when the organisation is not active or the account's
    name is no longer ``name`` (the person changed it again: the page shows the new one);
    changes nothing when it is the name verified already."""
    with transaction.atomic():
        profile = _lock_profile(profile_id)  # the person's lock: their name does not change meanwhile
        _check_decider_of(actor, profile)
        if not profile.is_held:
            raise StatusChanged(profile)
        _check_active(profile.organisation)
        new = profile.user.full_name
        if new != name:
            raise _name_changed(again=True)
        old = profile.verified_name
        if new == old:
            return profile
        profile.verified_name = new
        profile.save(update_fields=["verified_name"])
        audit_record(actor=actor, action=AuditAction.VERIFICATION_NAME_ACCEPTED, target=profile, request=request,
                     old={"name": old}, new={"name": new, "user": profile.user.email,
                                             "organisation": profile.organisation_id})
    return profile


# Settings -------------------------------------------------------------------------------------

def auto_verification_set(
    *, organisation_id: int, enabled: bool, actor: AnyUser, request: HttpRequest | None = None
) -> VerificationSettings:
    """Switch an organisation's automatic verification (of people whose official address,
    confirmed, is on one of its verified domains) on or off; audited. Requests already
    waiting are left for the admins."""
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        check_decider(actor, organisation)
        row, _created = VerificationSettings.objects.select_for_update().get_or_create(organisation=organisation)
        if row.auto_verify_official_domain == enabled:
            return row
        old = row.auto_verify_official_domain
        row.auto_verify_official_domain, row.changed_at, row.changed_by = enabled, timezone.now(), actor
        row.save(update_fields=["auto_verify_official_domain", "changed_at", "changed_by"])
        audit_record(actor=actor, action=AuditAction.AUTO_VERIFICATION_CHANGED, target=organisation, request=request,
                     old={"auto_verify_official_domain": old}, new={"auto_verify_official_domain": enabled})
    return row
