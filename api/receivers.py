"""What an organisation's suspension and reactivation mean for its API clients' tokens,
which api.selectors keeps in the cache for a minute: refused from the next request once
the suspension commits, answered again from the next request once the reactivation does."""

from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from api.models import ApiClient
from api.selectors import REVOKED, REVOKED_SECONDS, client_cache_key
from portal.organisations.models import OrganisationStatus
from portal.organisations.signals import organisation_status_changed


@receiver(organisation_status_changed, dispatch_uid="api_tokens_follow_the_organisation")
def on_organisation_status_changed(sender, *, organisation, old, new, **kwargs):
    keys = [client_cache_key(digest) for digest in ApiClient.objects.filter(
        organisation_id=organisation.pk, revoked_at__isnull=True).values_list("token_hash", flat=True)]
    if not keys:
        return
    if new != OrganisationStatus.ACTIVE:
        # As a revocation marks its client's entry (api_client_revoke): deleted now, marked
        # refused after the commit, over what a request that read the client meanwhile cached.
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.set_many(dict.fromkeys(keys, REVOKED), REVOKED_SECONDS))
    elif old != OrganisationStatus.ACTIVE:
        # Active again: the marks go, and the next request looks its client up again.
        transaction.on_commit(lambda: cache.delete_many(keys))
