"""The person's verification requests and records, in their data download
(portal/privacy/personal_data.py), registered from VerificationConfig.ready."""

from portal.privacy.breach import breach_person_field_register
from portal.privacy.breach_reads import breach_read_route_register
from portal.privacy.personal_data import PersonalDataSection, personal_data_register
from verification.models import GovernmentProfile


def profiles_of(user) -> list:
    return list(GovernmentProfile.objects.filter(user=user).order_by("id").values(
        "organisation__name", "designation", "office", "employee_code", "official_email", "mobile",
        "superannuation_date", "status", "requested_at", "verified_at", "decided_at", "reason_code", "reason")[:200])


def register() -> None:
    breach_person_field_register("verification.governmentprofile", "user_id")
    # The pages that show one person: the admin's record of them and the directory's card.
    breach_read_route_register("verification:profile", "verification.governmentprofile")
    breach_read_route_register("visibility:person", "verification.governmentprofile")
    personal_data_register(PersonalDataSection(name="verification_records", collect=profiles_of))
