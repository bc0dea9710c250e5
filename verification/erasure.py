"""What an erasure granted to a person (portal/privacy/requests.py) removes of their
verification: every record of theirs ends (revoked or cancelled, reason "erased": the
verification API stops answering for them at once) and loses the details they gave, the
name it was verified under and its address confirmations; the invitations they accepted, and every other one at one of
their addresses (addresses_of: as their data download lists them) that no account accepted (waiting or cancelled), are deleted
(one another account accepted stays theirs), with the personal part of the roster's
batch events that list them (its "invitation sent", read by its admins), and so are the
rows of uploaded rosters that list them at one of their addresses, those they took off
the account included (unless another account holds one now). The records of others they decided as an
administrator lose their address (who decided stays, as the account). (Their
memberships and admin roles are the core's to end; so is the mail to them, also at the
official addresses of theirs the account no longer holds: person_verification_addresses.)
Each of their records can be held on its own, and a hold on one stops the erasure.
Registered from VerificationConfig.ready."""

from allauth.account.models import EmailAddress
from django.db import connection
from django.db.models import BigIntegerField, CharField, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Lower
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.permissions import AnyUser
from portal.privacy.models import HoldTarget, LegalHold
from portal.privacy.requests import EVENT_TARGET, not_held_by_others
from verification.models import HELD_STATUSES, AddressConfirmation, EndReason, GovernmentProfile, VerificationStatus
from verification.retention import profiles_details_erase
from verification.rosters.models import Invitation, InvitationMail, RosterImport, mailbox_of
from verification.rosters.retention import person_rows_remove
from verification.services import TRANSFER


def person_verification_held(user_id: int) -> list[tuple[str, int]]:
    """The verification records an erasure of the person would change, as legal holds name
    them: theirs, and those of others they decided (which lose their address) that are held
    now (an administrator may have decided thousands: only those a hold names count)."""
    held = LegalHold.objects.filter(target_type=HoldTarget.VERIFICATION, released_at__isnull=True).values("target_id")
    return [(HoldTarget.VERIFICATION, pk) for pk in GovernmentProfile.objects.filter(
        Q(user_id=user_id) | Q(decided_by_id=user_id, pk__in=held)).values_list("pk", flat=True)]


def person_verification_addresses(user: AnyUser) -> list[str]:
    """The addresses the person's verification knows were theirs, which the account may no
    longer hold: their records' official addresses, those their confirmation links were
    mailed to, and those of the invitations they accepted (the erasure clears them all)."""
    profiles = GovernmentProfile.objects.filter(user=user).exclude(official_email="")
    return sorted({*profiles.values_list("official_email", flat=True),
                   *AddressConfirmation.objects.filter(profile__user=user).values_list("email", flat=True).distinct(),
                   *Invitation.objects.filter(accepted_by=user).values_list("email", flat=True).distinct()})


def addresses_of(user) -> list[str]:
    """The addresses whose invitations and roster rows are the person's, as an erasure
    granted to them reads them: their confirmed addresses, and those their verification
    knows were theirs (an official address they took off the account) that no other
    account holds now. Never an address the account holds unconfirmed (anyone can add
    anyone's address)."""
    confirmed = {email.lower() for email in EmailAddress.objects.filter(user=user, verified=True)
                 .values_list("email", flat=True)}
    past = {email.lower() for email in person_verification_addresses(user)} - confirmed
    return sorted(confirmed | set(not_held_by_others(user, past)))


def person_verification_erase(user: AnyUser, addresses: list[str]) -> list[tuple[str, str]]:
    """``addresses``: the account's and those it had before that no other account holds."""
    theirs = addresses_of(user)  # read before their records' official addresses are erased
    ids = list(GovernmentProfile.objects.select_for_update().filter(user=user).values_list("pk", flat=True))
    ended = {"decided_at": timezone.now(), "decided_by": None, "decided_by_email": "", "reason_code": EndReason.ERASED}
    GovernmentProfile.objects.filter(pk__in=ids, status__in=HELD_STATUSES).update(status=VerificationStatus.REVOKED,
                                                                                  **ended)
    GovernmentProfile.objects.filter(pk__in=ids, status=VerificationStatus.PENDING).update(
        status=VerificationStatus.CANCELLED, **ended)
    profiles_details_erase(ids)
    # Those they accepted and every other one at one of their addresses (addresses_of: those
    # confirmed, and those their verification knows were theirs that nobody else holds) that
    # no account accepted, whatever its status (a cancelled one holds their roster details as
    # much as one waiting: as their data download lists them); never one another account
    # accepted at an address now theirs (it passed with a post).
    invitations = Invitation.objects.filter(Q(accepted_by=user) | Q(email__in=theirs, accepted_by__isnull=True))
    erased = list(invitations.values_list("pk", "roster_id"))
    targets = [("rosters.invitation", str(pk)) for pk, _roster in erased]
    targets += [(EVENT_TARGET, str(pk)) for pk in _invitations_sent_events(erased)]
    invitations.delete()
    # The records of others they decided keep who decided (the account), not its address.
    GovernmentProfile.objects.filter(decided_by=user).exclude(decided_by_email="").update(decided_by_email="")
    person_rows_remove(addresses)
    # The records of invitation mails to their mailboxes (kept a day or two, for the limit).
    InvitationMail.objects.filter(mailbox__in={mailbox_of(address) for address in [*addresses, *theirs]}).delete()
    targets += [(EVENT_TARGET, str(pk)) for pk in _events_naming_them_as_who_acted(user, addresses)]
    return [("verification.governmentprofile", str(pk)) for pk in ids] + targets


def _invitations_sent_events(invitations: list[tuple[int, int | None]]) -> list[int]:
    """The ids of the batch events (INVITATION_SENT, one per batch of a roster, about the
    roster) that list one of ``invitations`` ((id, roster id) pairs) by its id and
    address: the organisation's admins read them in its audit log. Only the events of the
    rosters concerned are read (by the index on the target), and on PostgreSQL only those
    whose list holds one of the invitations (JSON containment)."""
    ids = {pk for pk, _roster in invitations}
    rosters = sorted({str(roster) for _pk, roster in invitations if roster is not None})
    if not rosters:
        return []
    events = AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT, target_type=RosterImport._meta.label_lower,
                                       target_id__in=rosters, redacted_at__isnull=True)
    if connection.vendor == "postgresql":
        listing = Q()
        for pk in sorted(ids):
            listing |= Q(new_values__invitations__contains=[[pk]])
        events = events.filter(listing)
    return [pk for pk, listed in events.values_list("pk", "new_values__invitations")
            if any(entry and entry[0] in ids for entry in listed or [])]


def _events_naming_them_as_who_acted(user: AnyUser, addresses: list[str]) -> list[int]:
    """The ids of the system's events that name the person, as an administrator, by one of
    ``addresses`` (lower case; compared in lower case) in their details: a transfer's
    (``transferred_by``: a verification ended or a request cancelled in another
    organisation when they verified someone) and a roster's batch of invitations
    (``invited_by``: they asked for the roster to be applied). The organisations' admins
    read them in their audit logs. Only the events about what the person did are read: about
    the records of the people they verified (found from their own events of it, by the index
    on the actor) and about the rosters they had applied (likewise), by the index on the
    target. One query."""
    profile_type, roster_type = GovernmentProfile._meta.label_lower, RosterImport._meta.label_lower
    theirs = AuditEvent.objects.filter(actor_id=user.pk)
    verified = theirs.filter(action=AuditAction.VERIFICATION_VERIFIED, target_type=profile_type).annotate(
        profile_id=Cast("target_id", BigIntegerField())).values("profile_id")
    people = GovernmentProfile.objects.filter(pk__in=verified).values("user_id")
    their_records = GovernmentProfile.objects.filter(user_id__in=people).annotate(
        key=Cast("pk", CharField())).values("key")
    applied = theirs.filter(action=AuditAction.ROSTER_APPLY_REQUESTED, target_type=roster_type).values("target_id")
    transfers = AuditEvent.objects.filter(
        action__in=(AuditAction.VERIFICATION_ENDED, AuditAction.VERIFICATION_CANCELLED), actor_role=TRANSFER,
        target_type=profile_type, target_id__in=their_records, redacted_at__isnull=True,
    ).annotate(named=Lower(KeyTextTransform("transferred_by", "new_values"))).filter(named__in=addresses)
    invitations = AuditEvent.objects.filter(
        action=AuditAction.INVITATION_SENT, target_type=roster_type, target_id__in=applied, redacted_at__isnull=True,
    ).annotate(named=Lower(KeyTextTransform("invited_by", "new_values"))).filter(named__in=addresses)
    # A union, not an OR of the two: each part is read through the index on the target.
    return sorted(transfers.order_by().values_list("pk", flat=True)
                  .union(invitations.order_by().values_list("pk", flat=True)))
