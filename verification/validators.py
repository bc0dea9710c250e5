"""Checks of the details a person gives about themselves (shared by the form and the services)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.accounts.official_email import classify_email
from portal.organisations.models import Organisation

# An Indian mobile number: ten digits starting with 6, 7, 8 or 9, written with or
# without the country code (+91 or 91) or a leading 0, spaces and hyphens allowed.
# ASCII digits only ([0-9], not \d, which takes any script's): a number is stored, looked
# up by the API and compared with another person's as typed, so "9८७६..." would never
# match "9876..." (the form, the API and rosters all clean with this).
_SEPARATORS = re.compile(r"[\s\-()]")
_MOBILE = re.compile(r"(?:\+?91|0)?([6-9][0-9]{9})")


def clean_mobile(value: str) -> str:
    """The number as stored: "+91" and its ten digits."""
    digits = _SEPARATORS.sub("", value or "")
    match = _MOBILE.fullmatch(digits)
    if not match:
        raise ValidationError(
            _("Enter a 10-digit Indian mobile number, such as 98765 43210 or +91 98765 43210."), code="invalid"
        )
    return f"+91{match[1]}"


def check_official_address(address: str, organisation: Organisation) -> None:
    """Refuse an address the official-email rules do not accept as official mail for
    ``organisation`` (a personal mail service, a domain off the official list and not
    accepted for it or an office below it: one accepted for another organisation is
    official there only), as its rosters check their rows."""
    if not classify_email(address, organisation=organisation).is_official_mail:
        raise ValidationError(_("Enter an official government address (for example name@dept.gov.in), not a personal one."),
                              code="not_official")
