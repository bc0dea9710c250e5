"""Retention of verification records, registered with the core's retention engine
(portal/privacy) from VerificationConfig.ready: a revoked person's record, the
policy's days after the revocation, keeps what an audit needs (the person, the
organisation, the status, the dates, the reason's code, who decided) and loses the
details they gave (designation, office, employee code, official address, mobile,
superannuation date, the free-text reason), the name it was verified under and its
address confirmations, and the invitation that verified it its copy of them. A request
rejected or withdrawn (or cancelled as its person was verified elsewhere) is reduced the
same way, its own policy's days after it closed.
The addresses a held person's records name (or a held record does) are the core's to
keep records at while the hold lasts (held_verification_addresses)."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from portal.privacy.models import HoldTarget, RetentionKind, RetentionPolicy
from portal.privacy.registry import RetentionRule, retention_rule_register
from portal.privacy.retention import days_ago, held_addresses_register
from verification.models import AddressConfirmation, GovernmentProfile, VerificationStatus
from verification.rosters.models import Invitation


def profiles_details_erase(ids: list[int]) -> None:
    """The profiles lose the details their person gave (and the free-text reason), the
    name they were verified under and their address confirmations; what an audit needs
    stays (also an erasure's, erasure.py). So does the invitation that verified one (the
    same details, as the roster gave them, on its organisation's invitations page): one
    its person accepted in its organisation before the record was decided."""
    AddressConfirmation.objects.filter(profile_id__in=ids).delete()
    Invitation.objects.filter(Exists(GovernmentProfile.objects.filter(
        pk__in=ids, user_id=OuterRef("accepted_by_id"), organisation_id=OuterRef("organisation_id"),
        decided_at__gte=OuterRef("accepted_at")))).update(
        email="", mailbox="", name="", designation="", office="", employee_code="", mobile="", superannuation_date=None)
    GovernmentProfile.objects.filter(pk__in=ids).update(
        designation="", office="", employee_code="", official_email="", mobile="", superannuation_date=None, reason="",
        verified_name="")


def _decided_in(statuses: tuple[str, ...]) -> tuple:
    """The rule's ``due`` and ``apply`` for the profiles in ``statuses``: due the policy's
    days after they were decided; reduced (``profiles_details_erase``) if still in one."""

    def due(policy: RetentionPolicy, now: datetime) -> QuerySet:
        return GovernmentProfile.objects.filter(status__in=statuses, decided_at__lt=days_ago(now, policy.days))

    def reduce(ids: list[int], now: datetime) -> None:
        profiles_details_erase(list(GovernmentProfile.objects.filter(pk__in=ids, status__in=statuses)
                                    .values_list("pk", flat=True)))

    return due, reduce


def profiles_audit(ids: list[int]) -> tuple[list[int], list[tuple[str, str]]]:
    return [], [("verification.governmentprofile", str(pk)) for pk in ids]


def held_verification_addresses(holds: QuerySet) -> list[QuerySet]:
    """The addresses the verification records of the people under a legal hold (``holds``,
    those in force) name, and those the verification records held themselves name: their
    official addresses, those their confirmation links were mailed to, and those of the
    invitations a held person accepted. The account may no longer hold them (an official
    address taken off it, its verification suspended): a roster's rows and the outbox's
    mail at them are still the person's, kept while the hold lasts (held_person_addresses)."""
    people = holds.filter(target_type=HoldTarget.PERSON).values("target_id")
    records = GovernmentProfile.objects.filter(
        Q(user_id__in=people) | Q(pk__in=holds.filter(target_type=HoldTarget.VERIFICATION).values("target_id")))
    return [records.exclude(official_email="").values_list("official_email"),
            AddressConfirmation.objects.filter(profile__in=records).values_list("email"),
            Invitation.objects.filter(accepted_by__in=people).values_list("email")]


def register() -> None:
    held_addresses_register(held_verification_addresses)
    for kind, statuses in ((RetentionKind.REVOKED_VERIFICATION, (VerificationStatus.REVOKED,)),
                           (RetentionKind.CLOSED_VERIFICATION_REQUEST,
                            (VerificationStatus.REJECTED, VerificationStatus.CANCELLED))):
        due, reduce = _decided_in(statuses)
        retention_rule_register(RetentionRule(
            kind=kind, target_type="verification.governmentprofile", person_field="user_id", due=due, apply=reduce,
            audit_of=profiles_audit, deletes=False,
        ))
