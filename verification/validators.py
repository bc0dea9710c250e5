"""Checks of the details a person gives about themselves (shared by the form and the services)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.accounts.official_email import classify_email
from portal.organisations.models import Organisation
from portal.phone_numbers import clean_mobile as clean_mobile  # the one reading of a mobile number, every form's


def check_official_address(address: str, organisation: Organisation) -> None:
    """Refuse an address the official-email rules do not accept as official mail for
    ``organisation`` (a personal mail service, a domain off the official list and not
    accepted for it or an office below it: one accepted for another organisation is
    official there only), as its rosters check their rows."""
    if not classify_email(address, organisation=organisation).is_official_mail:
        raise ValidationError(_("Enter an official government address (for example name@dept.gov.in), not a personal one."),
                              code="not_official")
