"""What an erasure granted to a person (portal/privacy/requests.py) removes of their
verification: every record of theirs ends (revoked or cancelled, reason "erased": the
verification API stops answering for them at once) and loses the details they gave and
its address confirmations; their memberships end, and so does an admin role resting on
them; invitations to their addresses are deleted. Registered from VerificationConfig.ready."""

from django.utils import timezone

from portal.organisations.models import Membership, MembershipRole
from portal.organisations.services import organisation_admins_lapse
from portal.permissions import AnyUser
from verification.models import (
    HELD_STATUSES,
    VERIFICATION_ENDED,
    AddressConfirmation,
    EndReason,
    GovernmentProfile,
    VerificationStatus,
)
from verification.rosters.models import Invitation

DETAILS_ERASED = {"designation": "", "office": "", "employee_code": "", "official_email": "", "mobile": "",
                  "superannuation_date": None, "reason": ""}


def person_verification_erase(user: AnyUser, addresses: list[str]) -> list[tuple[str, str]]:
    now = timezone.now()
    profiles = list(GovernmentProfile.objects.select_for_update().filter(user=user).values_list("pk", "status",
                                                                                                "organisation_id"))
    ids = [pk for pk, _status, _organisation in profiles]
    held = [(organisation, user.pk) for _pk, status, organisation in profiles if status in HELD_STATUSES]
    GovernmentProfile.objects.filter(pk__in=ids, status__in=HELD_STATUSES).update(
        status=VerificationStatus.REVOKED, decided_at=now, decided_by=None, decided_by_email="",
        reason_code=EndReason.ERASED)
    GovernmentProfile.objects.filter(pk__in=ids, status=VerificationStatus.PENDING).update(
        status=VerificationStatus.CANCELLED, decided_at=now, decided_by=None, decided_by_email="",
        reason_code=EndReason.ERASED)
    GovernmentProfile.objects.filter(pk__in=ids).update(**DETAILS_ERASED)
    AddressConfirmation.objects.filter(profile_id__in=ids).delete()
    Membership.objects.filter(user=user, role=MembershipRole.MEMBER, is_active=True).update(is_active=False)
    if held:
        organisation_admins_lapse(pairs=held, reason=VERIFICATION_ENDED)
    invitations = Invitation.objects.filter(email__in=addresses)
    targets = [("rosters.invitation", str(pk)) for pk in invitations.values_list("pk", flat=True)]
    invitations.delete()
    return [("verification.governmentprofile", str(pk)) for pk in ids] + targets
