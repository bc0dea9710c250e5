"""Writes to API clients: registering one (its token returned once, only its hash
kept), revoking one, and recording when a token was last used. Views and the
management command call these; nothing else saves a client."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from api.models import ApiClient
from api.selectors import REVOKED, REVOKED_SECONDS, client_cache_key
from api.tokens import token_new
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.forms import refuse_mark_piles
from portal.organisations.models import Organisation, OrganisationStatus
from portal.permissions import AnyUser, is_auditor, is_superadmin
from portal.text import has_undecodable_bytes, has_visible_characters, single_line
from verification.selectors import administers

NAME_MAX = 100
COMMAND = "system:manage.py api_client_create"  # who acts in the audit log when the command registers a client
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per client


def check_client_admin(actor: AnyUser, organisation: Organisation) -> None:
    """An admin of the organisation (or of one above it) or a superadmin; never an auditor."""
    if not actor.is_authenticated or (is_auditor(actor) and not is_superadmin(actor)):
        raise PermissionDenied
    if not administers(actor, organisation):
        raise PermissionDenied


def _clean_name(name: str) -> str:
    name = single_line(str(name or "")).strip()
    if has_undecodable_bytes(name):
        raise ValidationError({"name": ValidationError(
            _("The name holds bytes that are not UTF-8 text: type it again."), code="undecodable")})
    if not has_visible_characters(name):  # empty, or only zero-width and other invisible characters
        raise ValidationError({"name": ValidationError(_("Give the client a name."), code="required")})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": ValidationError(
            _("Use at most %(limit)s characters.") % {"limit": NAME_MAX}, code="max_length")})
    try:  # as the page's form refuses it, for the command too: drawn over the list's rows
        refuse_mark_piles(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc}) from None
    return name


def api_client_create(
    *, organisation_id: int, name: str, actor: AnyUser | None, request: HttpRequest | None = None
) -> tuple[ApiClient, str]:
    """Register an API client of an active organisation and return it with its token,
    which is returned here once and stored nowhere (only its hash). ``actor`` is an
    admin of the organisation (or above it) or a superadmin; None when an operator runs
    the management command. Raises ValidationError (no name, a name in use, the
    organisation not active, or API_CLIENTS_PER_ORGANISATION clients not revoked
    already), PermissionDenied or Organisation.DoesNotExist."""
    name = _clean_name(name)
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        if actor is not None:
            check_client_admin(actor, organisation)
        if organisation.status != OrganisationStatus.ACTIVE:
            raise ValidationError(_("Only an active organisation can register API clients."), code="inactive")
        # Each client has its own API_RATE_PER_MINUTE: a bounded number of them per
        # organisation, counted under the organisation's lock (two at once cannot both pass).
        limit = settings.API_CLIENTS_PER_ORGANISATION
        if ApiClient.objects.filter(organisation=organisation, revoked_at__isnull=True).count() >= limit:
            raise ValidationError({"name": ValidationError(
                ngettext(
                    "This organisation already has %(n)s API client in use, the most one organisation may have (each has "
                    "its own allowance of requests a minute). Revoke it if it is no longer needed, then register this one.",
                    "This organisation already has %(n)s API clients in use, the most one organisation may have (each has "
                    "its own allowance of requests a minute). Revoke one it no longer needs, then register this one.",
                    limit,
                ) % {"n": limit}, code="too_many")})
        if ApiClient.objects.filter(organisation=organisation, name=name, revoked_at__isnull=True).exists():
            raise ValidationError({"name": ValidationError(
                _("This organisation already has a client named %(name)s: choose another name, or revoke that one first.")
                % {"name": name}, code="duplicate")})
        token, prefix, digest = token_new()
        try:
            with transaction.atomic():
                client = ApiClient.objects.create(
                    organisation=organisation, name=name, token_prefix=prefix, token_hash=digest, created_at=timezone.now(),
                    created_by=actor if actor is not None else None,
                )
        except IntegrityError:  # the same name, registered meanwhile (the lock makes this rare)
            raise ValidationError({"name": ValidationError(
                _("This organisation already has a client named %(name)s: choose another name, or revoke that one first.")
                % {"name": name}, code="duplicate")}) from None
        audit_record(
            actor=actor, action=AuditAction.API_CLIENT_CREATED, target=client, request=request,
            actor_role="" if actor is not None else COMMAND,
            new={"name": name, "organisation": organisation.pk, "token_prefix": prefix},
        )
    return client, token


class ClientRevokedAlready(Exception):
    """The client was revoked already (``client.revoked_by``, ``client.revoked_at``): by
    another admin at the same moment, or by this one before (a form sent twice)."""

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client.pk)
        self.client = client


def api_client_revoke(*, client_id: int, actor: AnyUser, request: HttpRequest | None = None) -> ApiClient:
    """Revoke a client: its token is refused from the next request on. Revoking a
    revoked client changes nothing and records nothing: ClientRevokedAlready, so that
    whoever asked is told who revoked it and when, not that they did."""
    with transaction.atomic():
        client = (ApiClient.objects.select_for_update(of=("self",)).select_related("organisation", "revoked_by")
                  .get(pk=client_id))
        check_client_admin(actor, client.organisation)
        if client.revoked_at is not None:
            raise ClientRevokedAlready(client)
        client.revoked_at = timezone.now()
        client.revoked_by = actor
        client.save(update_fields=["revoked_at", "revoked_by"])
        # Its token is refused from the next request on: no worker may keep it cached
        # (deleted now; marked revoked after the commit, over what a request that read
        # it meanwhile cached, and so that one still reading it cannot cache it: it only
        # adds its entry where none is, client_by_token).
        key = client_cache_key(client.token_hash)
        cache.delete(key)
        transaction.on_commit(lambda: cache.set(key, REVOKED, REVOKED_SECONDS))
        audit_record(
            actor=actor, action=AuditAction.API_CLIENT_REVOKED, target=client, request=request,
            old={"revoked": False}, new={"revoked": True, "name": client.name, "organisation": client.organisation_id},
        )
    return client


def used_key(digest: str) -> str:
    """The cache key of the marker that the last use of the client of a token (its
    hash) was recorded this minute."""
    return f"api-used:{digest}"


def api_client_used(*, client: ApiClient, now: datetime | None = None) -> None:
    """Record that the client's token was used: one UPDATE at most once a minute per
    client (a marker in the cache says it was written this minute), never a write per
    request."""
    if cache.add(used_key(client.token_hash), 1, int(LAST_USED_RESOLUTION.total_seconds())):
        api_client_last_use_record(client=client, now=now)


def api_client_last_use_record(*, client: ApiClient, now: datetime | None = None) -> None:
    """The UPDATE of api_client_used, for a caller that set the marker itself (api.auth,
    in the same round trip to Redis as the rate counter)."""
    now = now or timezone.now()
    ApiClient.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION),
                             pk=client.pk).update(last_used_at=now)
