"""Checks of the details a person gives about themselves (shared by the form, the services
and the rosters' checks)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.accounts.official_email import classify_email
from portal.organisations.models import Organisation
from portal.phone_numbers import clean_mobile as clean_mobile  # the one reading of a mobile number, every form's


def check_official_address(address: str, organisation: Organisation) -> None:
    """Refuse an address the official-email rules do not accept as official mail for
    ``organisation`` (a personal mail service, a domain off the official list and not
    accepted for an organisation of its line, it, an office below it or one above it: one
    accepted for another organisation is official in that one's line only), as its rosters
    check their rows."""
    if not classify_email(address, organisation=organisation).is_official_mail:
        raise ValidationError(_("Enter an official government address (for example name@dept.gov.in), not a personal one."),
                              code="not_official")


# The dates of superannuation the portal takes, whoever gives them (the person asking, a
# roster): a date after the last would make a verification no superannuation ever ends. A
# roster also takes past ones from the first year on (members who retired: applying them
# ends their verification); a person asks with one still to come.
SUPERANNUATION_FIRST_YEAR = 1950
SUPERANNUATION_LAST_YEAR = 2100


def check_superannuation_not_too_late(value: date) -> None:
    """Refuse a date of superannuation after the last year the portal takes, saying which it takes."""
    if value.year > SUPERANNUATION_LAST_YEAR:
        raise ValidationError(_("Enter a date of superannuation between tomorrow and 31 December %(year)s.")
                              % {"year": SUPERANNUATION_LAST_YEAR}, code="too_late")
