"""The person's verification requests and records, the invitations and roster rows
that name them, in their data download
(portal/privacy/personal_data.py), registered from VerificationConfig.ready."""

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from portal.privacy.breach import breach_person_field_register, breach_record_kind_register
from portal.privacy.breach_reads import breach_read_route_register
from portal.privacy.personal_data import PersonalDataSection, personal_data_register
from verification.erasure import addresses_of
from verification.models import GovernmentProfile
from verification.rosters.models import Invitation, RosterRow
from verification.visibility.models import Audience, PersonalVisibility


def profiles_of(user) -> list:
    return list(GovernmentProfile.objects.filter(user=user).order_by("id").values(
        "organisation__name", "verified_name", "designation", "office", "employee_code", "official_email", "mobile",
        "superannuation_date", "status", "requested_at", "verified_at", "decided_at", "reason_code", "reason")[:200])


def invitations_of(user) -> list:
    """Invitations the person accepted, and every other one to one of their addresses
    (addresses_of) that no account accepted, whatever its status (waiting, or cancelled: an
    expired one a later roster replaced still holds their roster details as the
    organisation gave them). One another account accepted is that person's, even at an
    address now the person's (an official address passes to the next holder of a post)."""
    addresses = addresses_of(user)
    return list(Invitation.objects.filter(
        Q(accepted_by=user) | Q(email__in=addresses, accepted_by__isnull=True)).order_by("id").values(
        "organisation__name", "email", "name", "designation", "office", "employee_code", "mobile",
        "superannuation_date", "status", "created_at", "expires_at", "accepted_at")[:200])


def roster_rows_of(user) -> list:
    """The rows of uploaded rosters that list the person at one of their addresses
    (addresses_of: those an erasure removes, verification/rosters/retention.py person_rows_remove), as the
    organisation uploaded them, with what checking or applying each gave; kept until the
    roster's rows are removed (ROSTER_ROWS_KEEP_DAYS)."""
    addresses = addresses_of(user)
    return list(RosterRow.objects.filter(email__in=addresses).order_by("roster_id", "line").values(
        "line", "name", "email", "mobile", "designation", "employee_code", "office", "superannuation_date",
        "superannuation_raw", "outcome", "problems", organisation=F("roster__organisation__name"),
        uploaded_at=F("roster__uploaded_at"))[:200])


def visibility_of(user) -> dict | None:
    """The person's own choices of who sees each detail of theirs: per detail, the widest
    audience they allow ("organisation": the verified members of their organisation...),
    or None where they left it to their organisation."""
    row = PersonalVisibility.objects.filter(user=user).values().first()
    if row is None:
        return None
    return {name: (Audience(value).name.lower() if value is not None and name != "changed_at" else value)
            for name, value in row.items() if name != "user_id"}


def register() -> None:
    breach_person_field_register("verification.governmentprofile", "user_id")
    breach_person_field_register("rosters.invitation", "accepted_by_id")  # not accepted: nobody's account yet
    breach_person_field_register("visibility.personalvisibility", "user_id")
    breach_record_kind_register("verification.governmentprofile", _("verification records as a government user"))
    breach_record_kind_register("rosters.invitation", _("invitations from an organisation's roster"))
    breach_record_kind_register("rosters.rosterimport", _("rosters uploaded by organisations"))
    breach_record_kind_register("visibility.personalvisibility", _("choices of who sees your details"))
    # The pages that show one person: the admin's record of them and the directory's card.
    breach_read_route_register("verification:profile", "verification.governmentprofile")
    breach_read_route_register("visibility:person", "verification.governmentprofile")
    # A roster's preview lists its refused rows, its download all of them (names, addresses, mobile numbers).
    breach_read_route_register("verification:roster", "rosters.rosterimport")
    breach_read_route_register("verification:roster_refusals", "rosters.rosterimport")
    personal_data_register(PersonalDataSection(name="verification_records", collect=profiles_of))
    personal_data_register(PersonalDataSection(name="roster_invitations", collect=invitations_of))
    personal_data_register(PersonalDataSection(name="roster_rows", collect=roster_rows_of))
    personal_data_register(PersonalDataSection(name="visibility_choices", collect=visibility_of))
