"""The Django admin's history of a person's account (django_admin_log): each entry names
the object changed by its text, an account's or an address's being the address. An
erasure (portal/privacy/requests.py) and the retention rule for unused accounts
(accounts_retention.py) delete it with the account's addresses."""

from collections.abc import Iterable

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.db.models.functions import Lower


def admin_history_remove(*, user_ids: Iterable[int], addresses: Iterable[str]) -> None:
    """Delete the admin's entries about the accounts ``user_ids`` and their addresses, and
    those about an address (deleted since) that is one of ``addresses`` (lower case): what
    the person had. Call before the addresses are deleted. A constant number of queries."""
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (apps loaded)

    user_ids = [str(pk) for pk in user_ids]
    addresses = sorted({address.lower() for address in addresses if address})
    if not user_ids and not addresses:
        return
    account_type = ContentType.objects.get_for_model(get_user_model())
    address_type = ContentType.objects.get_for_model(EmailAddress)
    address_ids = [str(pk) for pk in EmailAddress.objects.filter(user_id__in=user_ids).values_list("pk", flat=True)]
    LogEntry.objects.annotate(named=Lower("object_repr")).filter(
        Q(content_type=account_type, object_id__in=user_ids) | Q(content_type=address_type, object_id__in=address_ids)
        | Q(content_type__in=[account_type, address_type], named__in=addresses)).delete()
