"""What happens to a verification by itself, after it is made: run by the beat jobs
(verification/tasks.py), except the person's own confirmation through their link.

- **Superannuation.** A verified or suspended profile whose date of superannuation
  has passed is revoked (reason: retirement) by the system, audited as such
  (actor ``system:superannuation``), and the person told in their language.
- **Yearly confirmation of the official address.** ``VERIFICATION_RECONFIRM_DAYS``
  after the last confirmation (verifying and reinstating count as one), a single-use
  link (portal/tokens.py: only its hash stored) is mailed to the official address;
  ``VERIFICATION_RECONFIRM_REMINDER_DAYS`` before the grace period ends, one reminder
  with a fresh link (each audited, by ``system:reconfirmation``, with the address the link
  went to); once the grace period has ended without a confirmation, the profile is
  suspended by the system (``system:reconfirmation``), audited, and the person told.
  The grace period ends with the day (India's time) ``VERIFICATION_RECONFIRM_GRACE_DAYS``
  after the request (GovernmentProfile.confirmation_deadline): the mails give that date,
  and every link works to its end.
  None of these for a verification not in force (verified_in_force), whose link confirms nothing.
  Nor does the grace period count while it is not (an organisation suspended, an account
  deactivated): the suspension of an organisation marks when it stopped counting (the
  hourly job marks it for an account deactivated, and whatever else is left), and once it
  counts again (at the organisation's reactivation, a task; else the hourly job) the
  deadline moves on by that time (and to at least ``VERIFICATION_RECONFIRM_REMINDER_DAYS``
  from then), the links already mailed working to the new end; when that changes the date
  the mails gave, the one reminder goes again, naming the new date (audited, by
  ``system:reconfirmation``, with both dates).

Each job takes ids from a selector and hands them to a service, which claims the rows
under a lock (``FOR UPDATE SKIP LOCKED``: a second run at the same moment skips them),
checks again that each is due, and marks it in the same transaction that writes the
emails to the outbox and the audit rows. Run twice, the second run finds nothing to
do, so no email goes twice. A batch's queries do not depend on its size.
"""

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditAction
from portal.audit.services import audit_record, audit_record_many
from portal.deadlines import deadline_passed_if_set_before
from portal.mail.services import outbox_drop
from portal.organisations.models import Membership, MembershipRole, Organisation, OrganisationStatus, in_or_below_q
from portal.organisations.selectors import addresses_at_domains, admin_roles_resting_on
from portal.organisations.services import organisation_admins_lapse
from portal.tokens import token_digest, token_new
from verification import notifications
from verification.models import (
    HELD_STATUSES,
    VERIFICATION_ENDED,
    AddressConfirmation,
    EndReason,
    GovernmentProfile,
    VerificationMethod,
    VerificationStatus,
    resting_on_address_q,
    verified_in_force,
)
from verification.rosters.models import Invitation, InvitationStatus
from verification.rosters.notifications import invitation_link_topic
from verification.services import person_lock

SUPERANNUATION = "system:superannuation"  # who acts in the audit log when a verification lapses
RECONFIRMATION = "system:reconfirmation"  # ... when the yearly confirmation is asked, reminded, or not made
ADDRESS_REMOVED = "system:address_removed"  # ... and when its official address leaves the account
DOMAIN_REMOVED = "system:domain_removed"  # ... and when the organisation's domain it rests on is removed
CONFIRM_PATH_PREFIX = r"/verification/confirm/"  # where the link's token stands (portal/redaction.py)


# Selectors: which profiles are due (ids, oldest first) --------------------------------------

def _asked_before_the_deadline_passed(now: datetime) -> datetime:
    """Requests made before this instant have a deadline (confirmation_deadline) that had
    passed by ``now``; those made at or after it have one still running."""
    return deadline_passed_if_set_before(now, settings.VERIFICATION_RECONFIRM_GRACE_DAYS)


def _lapsed(today) -> Q:
    return Q(status__in=HELD_STATUSES, superannuation_date__lt=today)


def _confirming(now: datetime) -> Q:
    """Verifications the yearly confirmation concerns: those in force (verified_in_force).
    One past its date of superannuation is over, whether or not the hourly job has written
    it down; one of a deactivated account or in a suspended organisation stays as it was
    while it is (not asked, reminded nor suspended), its year going on once it counts again
    (and a grace period it was in, given back: _due_to_pause, _due_to_resume)."""
    return verified_in_force(timezone.localdate(now))


def _due_to_ask(now: datetime) -> Q:
    due = now - timedelta(days=settings.VERIFICATION_RECONFIRM_DAYS)
    return _confirming(now) & Q(confirmation_requested_at__isnull=True) & (
        Q(address_confirmed_at__lte=due) | Q(address_confirmed_at__isnull=True, verified_at__lte=due)
    )


def _due_to_remind(now: datetime) -> Q:
    remind = now - timedelta(days=settings.VERIFICATION_RECONFIRM_GRACE_DAYS
                             - settings.VERIFICATION_RECONFIRM_REMINDER_DAYS)
    return _confirming(now) & Q(confirmation_reminded_at__isnull=True, confirmation_requested_at__lte=remind,
                                confirmation_requested_at__gte=_asked_before_the_deadline_passed(now),
                                confirmation_paused_at__isnull=True)


def _due_to_suspend(now: datetime) -> Q:
    return _confirming(now) & Q(confirmation_requested_at__lt=_asked_before_the_deadline_passed(now),
                                confirmation_paused_at__isnull=True)


def _due_to_pause(now: datetime) -> Q:
    """Verified profiles asked to confirm, their deadline still running, that stopped being in
    force but for superannuation (their organisation suspended, their account deactivated:
    the link confirms nothing meanwhile) and are not marked yet."""
    not_counting = ~Q(organisation__status=OrganisationStatus.ACTIVE) | Q(user__is_active=False)
    return not_counting & Q(status=VerificationStatus.VERIFIED, confirmation_paused_at__isnull=True,
                            confirmation_requested_at__gte=_asked_before_the_deadline_passed(now))


def _due_to_resume(now: datetime) -> Q:
    return _confirming(now) & Q(confirmation_requested_at__isnull=False, confirmation_paused_at__isnull=False)


def _ids(condition: Q, limit: int) -> list[int]:
    return list(GovernmentProfile.objects.filter(condition).order_by("id").values_list("id", flat=True)[:limit])


def lapsed_profile_ids(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Held profiles whose date of superannuation has passed (the day after it, local time)."""
    return _ids(_lapsed(timezone.localdate(now or timezone.now())), limit)


def confirmation_pause_ids(*, now: datetime | None = None, limit: int = 1000) -> dict[str, list[int]]:
    """Profiles asked to confirm whose grace period stopped counting, and those whose counts again."""
    now = now or timezone.now()
    return {"pause": _ids(_due_to_pause(now), limit), "resume": _ids(_due_to_resume(now), limit)}


def confirmation_resume_ids(*, organisation_id: int, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Profiles of the organisation whose grace period counts again (``_due_to_resume``)."""
    return _ids(_due_to_resume(now or timezone.now()) & Q(organisation_id=organisation_id), limit)


def confirmation_due_ids(*, now: datetime | None = None, limit: int = 1000) -> dict[str, list[int]]:
    """Verified profiles due for this year's request, for its reminder, and for suspension."""
    now = now or timezone.now()
    return {"ask": _ids(_due_to_ask(now), limit), "remind": _ids(_due_to_remind(now), limit),
            "suspend": _ids(_due_to_suspend(now), limit)}


# Services of the beat jobs -----------------------------------------------------------------

def _claim(profile_ids: Iterable[int], condition: Q) -> list[GovernmentProfile]:
    """The profiles among ``profile_ids`` still meeting ``condition``, locked; those another
    transaction holds are skipped (they are being changed: the next run sees them)."""
    return list(
        GovernmentProfile.objects.filter(condition, pk__in=list(profile_ids))
        .select_related("user", "organisation")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
    )


def _end_memberships(profiles: list[GovernmentProfile]) -> dict[int, list[Membership]]:
    """Members stop being members (one query), and admins of those organisations stop
    being their admins (the core service, audited). Returns the admin roles that ended,
    by user id."""
    pairs = Q()
    for profile in profiles:
        pairs |= Q(organisation_id=profile.organisation_id, user_id=profile.user_id)
    Membership.objects.filter(pairs, role=MembershipRole.MEMBER, is_active=True).update(is_active=False)
    ended: dict[int, list[Membership]] = {}
    for role in organisation_admins_lapse(pairs=[(profile.organisation_id, profile.user_id) for profile in profiles],
                                          reason=VERIFICATION_ENDED):
        ended.setdefault(role.user_id, []).append(role)
    return ended


def _end_by_system(profiles: list[GovernmentProfile], *, to: str, reason_code: str, action: AuditAction, actor_role: str,
                   template: str | None, now: datetime, mail_to: str | None = None,
                   ended_by: str | None = None) -> None:
    """``profiles`` (locked) go ``to`` a status, by the system, audited; each person is told
    (``template``, at their account's address or ``mail_to``, with the admin roles that
    ended with it), unless ``template`` is None or their account is deactivated. With ``ended_by``, a profile suspended for
    a reason keeps it (and its words), as being verified elsewhere leaves it: its audit row
    carries that reason and ``ended_by`` says what ended it; one suspended for a reason that
    changes has its old reason in the audit row's old values."""
    old = {profile.pk: profile.status for profile in profiles}
    kept = {profile.pk for profile in profiles
            if ended_by and profile.status == VerificationStatus.SUSPENDED and profile.reason_code}
    old_reasons = {profile.pk: profile.reason_code for profile in profiles
                   if profile.status == VerificationStatus.SUSPENDED and profile.reason_code
                   and profile.pk not in kept and profile.reason_code != reason_code}
    ended = {"status": to, "decided_at": now, "decided_by": None, "decided_by_email": ""}
    GovernmentProfile.objects.filter(pk__in=list(old)).exclude(pk__in=kept).update(
        **ended, reason_code=reason_code, reason="")
    if kept:
        GovernmentProfile.objects.filter(pk__in=kept).update(**ended)
    for profile in profiles:
        profile.status, profile.decided_at, profile.decided_by, profile.decided_by_email = to, now, None, ""
        if profile.pk not in kept:
            profile.reason_code, profile.reason = reason_code, ""
    ended_roles = _end_memberships(profiles)
    audit_record_many([
        {"action": action, "target": profile, "actor_role": actor_role,
         "old": {"status": old[profile.pk],
                 **({"reason_code": old_reasons[profile.pk]} if profile.pk in old_reasons else {})},
         "new": {"status": to, "user": profile.user.email, "organisation": profile.organisation_id,
                 "reason_code": profile.reason_code, "superannuation_date": profile.superannuation_date,
                 "confirmation_requested_at": profile.confirmation_requested_at,
                 **({"ended_by": ended_by} if profile.pk in kept else {})}}
        for profile in profiles
    ])
    if template is not None:  # not to an account deactivated: it cannot sign in to act on what the mail says
        notifications.send_many([
            notifications.build_decision_mail(profile=profile, template=template, to=mail_to,
                                              context={"ended_roles": ended_roles.get(profile.user_id, [])})
            for profile in profiles if profile.user.is_active
        ])


def profiles_lapse(*, profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """Revoke, by the system, the given profiles that are still held and past their date
    of superannuation (reason: retirement; one suspended for a reason keeps it, the audit
    row saying ``ended_by: superannuation``); each person is told in their language.
    Returns how many were revoked (0 for those already revoked: safe to run twice)."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _claim(profile_ids, _lapsed(timezone.localdate(now)))
        if profiles:
            _end_by_system(profiles, to=VerificationStatus.REVOKED, reason_code=EndReason.RETIREMENT,
                           action=AuditAction.VERIFICATION_REVOKED, actor_role=SUPERANNUATION, template="lapsed", now=now,
                           ended_by="superannuation")
    return len(profiles)


def confirm_url(raw: str) -> str:
    return f"{settings.SITE_URL}{reverse('verification:confirm_link', kwargs={'token': raw})}"


def _send_links(profiles: list[GovernmentProfile], *, template: str, action: AuditAction, now: datetime) -> None:
    """A fresh link for each profile, expiring when its grace period ends (at the end of
    the day the mail gives; ``moved``: no longer the day the request's mail gave, the
    reminder going again), mailed to its official address in the person's language,
    audited as ``action`` by the system (``system:reconfirmation``) with the address it
    went to (one INSERT each for links and mail, and the audit chain's queries)."""
    rows, messages, events = [], [], []
    for profile in profiles:
        raw, digest = token_new()
        deadline = profile.confirmation_deadline
        rows.append(AddressConfirmation(profile=profile, token_hash=digest, email=profile.official_email,
                                        created_at=now, expires_at=deadline))
        messages.append(notifications.build_decision_mail(
            profile=profile, template=template, to=profile.official_email,
            context={"link": confirm_url(raw), "deadline": deadline, "moved": profile.confirmation_deadline_moved},
        ))
        events.append({"action": action, "target": profile, "actor_role": RECONFIRMATION,
                       "new": {"email": profile.official_email, "user": profile.user.email,
                               "organisation": profile.organisation_id,
                               "confirmation_requested_at": profile.confirmation_requested_at, "deadline": deadline}})
    AddressConfirmation.objects.bulk_create(rows)
    notifications.send_many(messages)
    audit_record_many(events)


def confirmations_pause(*, profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """Mark when the grace period of each given profile stopped counting (its verification
    no longer in force). A mark, not a change anyone sees: what it gives back is audited
    when the verification counts again (confirmations_resume). Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _claim(profile_ids, _due_to_pause(now))
        if profiles:
            GovernmentProfile.objects.filter(pk__in=[p.pk for p in profiles]).update(confirmation_paused_at=now)
    return len(profiles)


def confirmations_pause_in(*, organisation_id: int, now: datetime) -> int:
    """Mark, as confirmations_pause does, the grace period of each profile of the
    organisation (asked to confirm, its deadline still running) as having stopped counting
    at ``now``, the moment the organisation was suspended (in that transaction), rather
    than at the hourly run after it: the time between is given back too, and a deadline
    that passes before that run no longer ends the verification at the reactivation. Those
    another transaction holds are left to the hourly run. Two queries. Returns how many."""
    claimed = list(GovernmentProfile.objects.filter(_due_to_pause(now), organisation_id=organisation_id)
                   .select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
    if claimed:
        GovernmentProfile.objects.filter(pk__in=claimed).update(confirmation_paused_at=now)
    return len(claimed)


def _given_back(profile: GovernmentProfile, now: datetime) -> datetime:
    """The moment the grace period of ``profile`` counts from once its verification counts
    again: its request moved on by the time it did not count, and late enough to leave at
    least the reminder's days (a day at least) from ``now``. The day the request was mailed
    (``confirmation_mailed_at``) stays as it was."""
    shifted = profile.confirmation_requested_at + (now - profile.confirmation_paused_at)
    latest_left = now - timedelta(days=settings.VERIFICATION_RECONFIRM_GRACE_DAYS
                                  - max(settings.VERIFICATION_RECONFIRM_REMINDER_DAYS, 1))
    return max(shifted, latest_left)


def confirmations_resume(*, profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """Give back to each given profile whose verification counts again the grace it did not
    have while it did not: the deadline moves on (_given_back), the links of this request
    still unused work to the new one, and when the date the mails gave changed the one
    reminder goes again at its moment before the new date; audited. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _claim(profile_ids, _due_to_resume(now))
        if not profiles:
            return 0
        events, expiries = [], {}
        for profile in profiles:
            old_deadline, paused_at = profile.confirmation_deadline, profile.confirmation_paused_at
            profile.confirmation_requested_at = _given_back(profile, now)
            profile.confirmation_paused_at = None
            deadline = profile.confirmation_deadline
            if timezone.localdate(deadline) != timezone.localdate(old_deadline):
                profile.confirmation_reminded_at = None  # the reminder names the new date
            expiries[profile.pk] = (old_deadline, deadline)
            events.append({"action": AuditAction.VERIFICATION_CONFIRMATION_RESUMED, "target": profile,
                           "actor_role": RECONFIRMATION, "old": {"deadline": old_deadline},
                           "new": {"deadline": deadline, "not_counted_from": paused_at,
                                   "confirmation_requested_at": profile.confirmation_requested_at,
                                   "user": profile.user.email, "organisation": profile.organisation_id}})
        GovernmentProfile.objects.bulk_update(
            profiles, ["confirmation_requested_at", "confirmation_paused_at", "confirmation_reminded_at"])
        # This request's links still unused are those that expire at its old deadline
        # (those of an earlier year, at theirs).
        this_request = Q()
        for pk, (old_deadline, _deadline) in expiries.items():
            this_request |= Q(profile_id=pk, expires_at=old_deadline)
        AddressConfirmation.objects.filter(this_request, used_at__isnull=True).update(expires_at=Case(
            *(When(profile_id=pk, then=Value(deadline)) for pk, (_old, deadline) in expiries.items()),
            output_field=DateTimeField()))
        audit_record_many(events)
    return len(profiles)


def confirmations_request(*, profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """This year's request to confirm the official address, to each given profile that
    is due for it, once (marked ``confirmation_requested_at``)."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _claim(profile_ids, _due_to_ask(now))
        if profiles:
            GovernmentProfile.objects.filter(pk__in=[p.pk for p in profiles]).update(
                confirmation_requested_at=now, confirmation_mailed_at=now, confirmation_paused_at=None)
            for profile in profiles:
                profile.confirmation_requested_at = profile.confirmation_mailed_at = now
            _send_links(profiles, template="confirm_address", action=AuditAction.VERIFICATION_CONFIRMATION_REQUESTED,
                        now=now)
    return len(profiles)


def confirmations_remind(*, profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """The one reminder, with a fresh link, to each given profile that has not confirmed
    and is due for it (marked ``confirmation_reminded_at``); again, saying that the date
    has moved, when the grace given back since moved it (confirmations_resume)."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _claim(profile_ids, _due_to_remind(now))
        if profiles:
            GovernmentProfile.objects.filter(pk__in=[p.pk for p in profiles]).update(confirmation_reminded_at=now)
            _send_links(profiles, template="confirm_address_reminder",
                        action=AuditAction.VERIFICATION_CONFIRMATION_REMINDED, now=now)
    return len(profiles)


def profiles_suspend_unconfirmed(*, profile_ids: Iterable[int], now: datetime | None = None) -> int:
    """Suspend, by the system, each given verified profile whose grace period ended
    without a confirmation; the person is told. An administrator may reinstate it."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _claim(profile_ids, _due_to_suspend(now))
        if profiles:
            _end_by_system(profiles, to=VerificationStatus.SUSPENDED, reason_code=EndReason.UNCONFIRMED,
                           action=AuditAction.VERIFICATION_SUSPENDED, actor_role=RECONFIRMATION,
                           template="unconfirmed_suspended", now=now)
    return len(profiles)


def profiles_suspend_address_removed(*, user_id: int, email: str, now: datetime | None = None) -> int:
    """``email`` left the account of ``user_id`` (removed, or replaced by a new primary
    address): a verification resting on it as its official address is suspended, by the
    system, and the person told at their account's address. The address no longer
    proves anything about them: someone else may confirm it next (a successor in the
    post), and the verification API answers for it. An administrator may reinstate the
    verification once the person has confirmed the address again; or the person asks
    again with a new address (models.STANDING), and verifying that ends this one.
    One the system suspended already, the address's yearly confirmation never having
    come (often because it no longer reached them), rests on the address gone just the
    same: its reason becomes this one (audited), so that asking again is open to them.
    An administrator's suspension, for a reason of theirs, stays as they left it.
    Returns how many."""
    now = now or timezone.now()
    email = (email or "").strip().lower()
    with transaction.atomic():
        # The person's row first, as the services that verify them lock it: a verification
        # decided meanwhile is either seen here or sees the address gone.
        person_lock(user_id)
        confirmed = list(EmailAddress.objects.filter(user_id=user_id, verified=True)
                         .order_by("-primary", "id").values_list("email", flat=True))
        if email in (address.lower() for address in confirmed):
            return 0  # still confirmed on the account
        profiles = list(
            GovernmentProfile.objects.filter(resting_on_address_q(), user_id=user_id, official_email=email)
            .select_related("user", "organisation").select_for_update(of=("self",)).order_by("id")
        )
        if profiles:
            # Told at an address still confirmed on the account (the primary first), never
            # at the one that left it; with none left, the audit row is all.
            _end_by_system(profiles, to=VerificationStatus.SUSPENDED, reason_code=EndReason.ADDRESS_REMOVED,
                           action=AuditAction.VERIFICATION_SUSPENDED, actor_role=ADDRESS_REMOVED,
                           template="address_removed_suspended" if confirmed else None, now=now,
                           mail_to=confirmed[0] if confirmed else None)
    return len(profiles)


def _invitations_at_domain(organisation: Organisation, domain: str) -> QuerySet:
    """The waiting invitations of ``organisation`` and of the offices below it (for whom its
    domains counted as official) to addresses at ``domain``."""
    return Invitation.objects.filter(in_or_below_q(organisation), addresses_at_domains("email", [domain]),
                                     status=InvitationStatus.PENDING)


def _verified_at_domain(organisation: Organisation, domain: str) -> QuerySet:
    """The verifications in force in ``organisation`` and in the offices below it (whose staff
    use its domains as theirs: their requests and rosters take addresses there as official)
    of people whose official address is at ``domain``."""
    return GovernmentProfile.objects.filter(in_or_below_q(organisation), addresses_at_domains("official_email", [domain]),
                                            status=VerificationStatus.VERIFIED)


def domain_removal_weighed(*, organisation: Organisation, domain: str) -> dict[str, int]:
    """What removing ``domain`` from ``organisation`` would end (domain_removed_consequences:
    with the verifications suspended, the admin roles resting on them, which do not come back
    when one is reinstated) and which verifications an administrator decided at it would
    stand, counted (organisations.signals.DOMAIN_REMOVAL_COUNTS). Four queries (one more for
    each admin among those suspended), changing nothing."""
    suspended = _verified_at_domain(organisation, domain).filter(method=VerificationMethod.OFFICIAL_EMAIL)
    admins = suspended.filter(Exists(Membership.objects.filter(user_id=OuterRef("user_id"), role=MembershipRole.ADMIN,
                                                               is_active=True)))
    pairs = list(admins.values_list("organisation_id", "user_id"))
    return {"invitations_withdrawn": _invitations_at_domain(organisation, domain).count(),
            "verifications_suspended": suspended.count(),
            "admin_roles_ended": len(admin_roles_resting_on(pairs)) if pairs else 0,
            **verified_by_hand_at_domain(organisation=organisation, domain=domain)}


def verified_by_hand_at_domain(*, organisation: Organisation, domain: str) -> dict[str, int]:
    """How many verifications in force in ``organisation`` and in the offices below it an
    administrator decided (by hand, from a roster) for people whose official address is at
    ``domain``: those that stand when it is removed (``verified_by_hand``), and how many of
    them are in the offices below it (``verified_by_hand_below``: each office's own members
    page lists them, not the organisation's). One query."""
    counted = _verified_at_domain(organisation, domain).exclude(method=VerificationMethod.OFFICIAL_EMAIL).aggregate(
        verified_by_hand=Count("pk"), verified_by_hand_below=Count("pk", filter=~Q(organisation_id=organisation.pk)))
    return counted


def domain_removed_consequences(*, organisation_id: int, domain: str, now: datetime | None = None) -> tuple[int, int]:
    """A superadmin removed ``domain`` from organisation ``organisation_id``
    (organisations.services.organisation_domain_remove), in its transaction: what rested
    on the domain alone ends, by the system (``system:domain_removed``), audited.

    - The waiting invitations of the organisation and of the offices below it (for whom
      its domains counted as official) to addresses at the domain are withdrawn: their
      links verify nobody.
    - The verifications in the organisation and in the offices below it made automatically
      at the domain (method official_email: nobody vouched for the person but the domain)
      are suspended (reason: domain_removed), the person told; its administrators may
      reinstate one they vouch for. A verification an administrator decided (by hand, from a roster)
      stands: a person vouched for it.

    Returns (invitations withdrawn, verifications suspended)."""
    now = now or timezone.now()
    organisation = Organisation.objects.only("pk", "ancestry").get(pk=organisation_id)
    invitations = list(_invitations_at_domain(organisation, domain).select_for_update(of=("self",)).order_by("id"))
    if invitations:
        Invitation.objects.filter(pk__in=[invitation.pk for invitation in invitations]).update(
            status=InvitationStatus.CANCELLED)
        outbox_drop(topics=[invitation_link_topic(invitation.pk) for invitation in invitations])
        audit_record_many([
            {"action": AuditAction.INVITATION_CANCELLED, "target": invitation, "actor_role": DOMAIN_REMOVED,
             "old": {"status": InvitationStatus.PENDING},
             "new": {"status": InvitationStatus.CANCELLED, "email": invitation.email, "domain": domain}}
            for invitation in invitations
        ])
    profiles = list(
        _verified_at_domain(organisation, domain).filter(method=VerificationMethod.OFFICIAL_EMAIL)
        .select_related("user", "organisation").select_for_update(of=("self",)).order_by("id"))
    if profiles:
        _end_by_system(profiles, to=VerificationStatus.SUSPENDED, reason_code=EndReason.DOMAIN_REMOVED,
                       action=AuditAction.VERIFICATION_SUSPENDED, actor_role=DOMAIN_REMOVED,
                       template="domain_removed_suspended", now=now)
    return len(invitations), len(profiles)


# The person's confirmation ---------------------------------------------------------------

class LinkState(enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    CLOSED = "closed"  # the verification is no longer in force (suspended, revoked, past superannuation, ...)


def _profile_in_force(now: datetime | None = None) -> Exists:
    """Whether a link's profile is in force (verified_in_force), for annotating links."""
    return Exists(GovernmentProfile.objects.filter(verified_in_force(timezone.localdate(now or timezone.now())),
                                                   pk=OuterRef("profile_id")))


def confirmation_of(digest: str | None) -> AddressConfirmation | None:
    """The link whose token has SHA-256 ``digest`` (with its profile), or None."""
    if not digest:
        return None
    return (AddressConfirmation.objects.select_related("profile", "profile__organisation")
            .annotate(profile_in_force=_profile_in_force()).filter(token_hash=digest).first())


def confirmation_lookup(raw: object) -> AddressConfirmation | None:
    """The link for a token string from a URL, or None; strings that cannot be ours are not looked up."""
    return confirmation_of(token_digest(raw))


def link_state(row: AddressConfirmation | None, now: datetime | None = None) -> LinkState:
    """The state of a link (from confirmation_of, or annotated as it does), CLOSED once its
    verification is not in force: suspended or ended, past its date of superannuation
    (before the hourly job revokes it), of a deactivated account or in a suspended organisation."""
    if row is None:
        return LinkState.UNKNOWN
    if row.used_at:
        return LinkState.USED
    if row.expires_at <= (now or timezone.now()):
        return LinkState.EXPIRED
    if not row.profile_in_force:
        return LinkState.CLOSED
    return LinkState.VALID


def address_confirm(*, digest: str, request: HttpRequest | None = None) -> tuple[LinkState, AddressConfirmation | None]:
    """Whoever holds the link confirms that the official address reaches the person:
    the year starts again, and every open link of the profile is used. Returns the
    link's state as it was (VALID when it confirmed) and the link. Locks the person,
    then the profile, then the link, as the other services do."""
    now = timezone.now()
    with transaction.atomic():
        user_id = AddressConfirmation.objects.filter(token_hash=digest).values_list("profile__user_id", flat=True).first()
        if user_id is None:
            return LinkState.UNKNOWN, None
        person_lock(user_id)
        # The link and its profile locked first, then read: a statement that waited for their locks
        # reads what else it asks (whether the verification is in force: its organisation, its
        # domains) as it was when it started, before whatever held them (a domain removed, the
        # organisation suspended) committed; the next statement reads that committed.
        if AddressConfirmation.objects.select_for_update(of=("self", "profile")).select_related("profile").filter(
                token_hash=digest).first() is None:  # removed meanwhile (the retention of used links)
            return LinkState.UNKNOWN, None
        row = (AddressConfirmation.objects.select_related("profile", "profile__organisation", "profile__user")
               .annotate(profile_in_force=_profile_in_force(now)).get(token_hash=digest))
        state = link_state(row, now)
        if state != LinkState.VALID:
            return state, row
        profile = row.profile
        old = profile.address_confirmed_at
        profile.address_confirmed_at, profile.confirmation_requested_at, profile.confirmation_reminded_at = now, None, None
        profile.confirmation_paused_at = profile.confirmation_mailed_at = None
        profile.save(update_fields=["address_confirmed_at", "confirmation_requested_at", "confirmation_mailed_at",
                                    "confirmation_reminded_at", "confirmation_paused_at"])
        AddressConfirmation.objects.filter(profile=profile, used_at__isnull=True).update(used_at=now)
        row.used_at = now
        audit_record(
            actor=None, action=AuditAction.VERIFICATION_ADDRESS_CONFIRMED, target=profile, request=request,
            actor_role="official_address", old={"address_confirmed_at": old},
            new={"address_confirmed_at": now, "user": profile.user.email, "organisation": profile.organisation_id,
                 "email": row.email},
        )
    return LinkState.VALID, row


def next_confirmation_due(profile: GovernmentProfile) -> datetime | None:
    """When the person will next be asked to confirm their official address."""
    basis = profile.address_confirmed_at or profile.verified_at
    return basis + timedelta(days=settings.VERIFICATION_RECONFIRM_DAYS) if basis else None

