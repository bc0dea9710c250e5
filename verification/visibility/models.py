"""Profile visibility (DESIGN §5): for each field of a person's profile, its widest
audience. An organisation's admins set it for their people (``VisibilityPolicy``,
one row per organisation; absent means the defaults), and each person may narrow,
never widen, it for themself (``PersonalVisibility``). ``rules.py`` applies both.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.IntegerChoices):
    """The widest audience of a field, widest first. Stored as numbers so that the
    narrower of two is the smaller (SQL ``LEAST``): never renumber them, they are in
    rows and in audit events (which name them: ``Audience(n).name``)."""

    PUBLIC = 40, _("Everyone, also without an account")
    VERIFIED = 30, _("Verified government users")
    ORGANISATION = 20, _("Verified members of the organisation")
    ADMINS = 10, _("The organisation's administrators")
    NOBODY = 0, _("Nobody but the person")


class ProfileField(models.TextChoices):
    """The fields of a person's profile that have an audience (also the names of the
    columns of both models below). Stable values: they are in audit events."""

    NAME = "name", _("Name")
    DESIGNATION = "designation", _("Designation")
    ORGANISATION = "organisation", _("Organisation")
    OFFICE = "office", _("Office or unit")
    OFFICIAL_EMAIL = "official_email", _("Official email address")
    MOBILE = "mobile", _("Mobile number")
    EMPLOYEE_CODE = "employee_code", _("Employee code")


# Narrow by default: who the person is and where they work to verified government
# users; how to reach them at work (office, official address) to their colleagues;
# the mobile number and employee code to the organisation's administrators.
DEFAULT_AUDIENCES = {
    ProfileField.NAME: Audience.VERIFIED,
    ProfileField.DESIGNATION: Audience.VERIFIED,
    ProfileField.ORGANISATION: Audience.VERIFIED,
    ProfileField.OFFICE: Audience.ORGANISATION,
    ProfileField.OFFICIAL_EMAIL: Audience.ORGANISATION,
    ProfileField.MOBILE: Audience.ADMINS,
    ProfileField.EMPLOYEE_CODE: Audience.ADMINS,
}


def _audience_field(field, default=None):
    return models.PositiveSmallIntegerField(field.label, choices=Audience.choices, default=default,
                                            null=default is None, blank=default is None)


class VisibilityPolicy(models.Model):
    """An organisation's choice, per field, of who may see it of its people. Edited by
    its admins (visibility_policy_set), every change audited."""

    organisation = models.OneToOneField("organisations.Organisation", on_delete=models.CASCADE, primary_key=True,
                                        related_name="visibility_policy")
    name = _audience_field(ProfileField.NAME, DEFAULT_AUDIENCES[ProfileField.NAME])
    designation = _audience_field(ProfileField.DESIGNATION, DEFAULT_AUDIENCES[ProfileField.DESIGNATION])
    organisation_name = _audience_field(ProfileField.ORGANISATION, DEFAULT_AUDIENCES[ProfileField.ORGANISATION])
    office = _audience_field(ProfileField.OFFICE, DEFAULT_AUDIENCES[ProfileField.OFFICE])
    official_email = _audience_field(ProfileField.OFFICIAL_EMAIL, DEFAULT_AUDIENCES[ProfileField.OFFICIAL_EMAIL])
    mobile = _audience_field(ProfileField.MOBILE, DEFAULT_AUDIENCES[ProfileField.MOBILE])
    employee_code = _audience_field(ProfileField.EMPLOYEE_CODE, DEFAULT_AUDIENCES[ProfileField.EMPLOYEE_CODE])
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    def __str__(self):
        # Also the audit log's snapshot of the target: no personal data.
        return f"Visibility policy of organisation #{self.organisation_id}"


class PersonalVisibility(models.Model):
    """A person's own narrowing, per field: blank means their organisation's choice; a
    value wider than the organisation's changes nothing (the narrower applies)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="personal_visibility")
    name = _audience_field(ProfileField.NAME)
    designation = _audience_field(ProfileField.DESIGNATION)
    organisation_name = _audience_field(ProfileField.ORGANISATION)
    office = _audience_field(ProfileField.OFFICE)
    official_email = _audience_field(ProfileField.OFFICIAL_EMAIL)
    mobile = _audience_field(ProfileField.MOBILE)
    employee_code = _audience_field(ProfileField.EMPLOYEE_CODE)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Visibility choices of user #{self.user_id}"


def column_of(field: str) -> str:
    """The column of both models holding a field's audience ("organisation" is the
    policy's foreign key, so its audience is ``organisation_name``)."""
    return "organisation_name" if field == ProfileField.ORGANISATION else field
