"""Clients of the verification API: an eGov application an organisation's admins
registered, with the token it sends. Only the token's SHA-256 is kept (the token is
shown once, when the client is registered); its first characters, which are not
secret, are kept too so that people can tell their clients' tokens apart.

Rows are never deleted: a revoked client stays as history (and its token, hashed,
can never authenticate again)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="api_clients")
    name = models.CharField(_("name"), max_length=100)
    # The token's first characters ("sandes_" and 8 random ones): shown in lists, not a secret.
    token_prefix = models.CharField(max_length=20)
    # SHA-256 (hex) of the whole token: the token itself is stored nowhere.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # When the token was last used, to the minute (written at most once a minute).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "name", "id"]
        constraints = [
            # One client of a name per organisation while it is in use (a form sent twice makes one).
            models.UniqueConstraint(fields=["organisation", "name"], condition=Q(revoked_at__isnull=True),
                                    name="api_client_unique_active_name"),
        ]

    def __str__(self):
        # Also the audit log's snapshot of the target: never the token.
        return f"API client #{self.pk} ({self.token_prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None
