"""Reading accounts' addresses, for the apps that compare a person with an address."""

from allauth.account.models import EmailAddress

from portal.accounts.models import User
from portal.accounts.official_email import normalise_address


def addresses_of_users(user_ids: set[int]) -> set[str]:
    """Every address of these accounts (primary and others, confirmed or not), normalised (one query)."""
    rows = EmailAddress.objects.filter(user_id__in=user_ids).values_list("email", flat=True)
    primary = User.objects.filter(pk__in=user_ids).values_list("email", flat=True)
    return {normalise_address(address) for address in [*rows, *primary]} - {""}
