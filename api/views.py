"""Pages of an organisation's admins (of it or of an organisation above it) and of
superadmins: the organisation's API clients, registering one (its token shown once,
on the page that answers the form, never stored; kept in the session of the admin who
registered it only for that page's language switch and for the form sent twice, briefly,
masked by a pad only their browser holds), and revoking one after a
confirmation. Organisations and clients are fetched through selectors scoped to the
viewer: another organisation's are 404."""

import base64
import binascii
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from api import services
from api.forms import ApiClientForm, RevokeForm
from api.selectors import client_for_admin, clients_of
from api.tokens import token_hash
from portal.access import rule
from portal.accounts.models import address_naming
from portal.limits import shown
from portal.text import single_line
from verification.selectors import organisation_for_admin
from verification.visibility.models import Audience, ProfileField
from verification.visibility.services import visibility_policy_of

PAGE_SIZE = 50
# A new client's token, kept in the session of the admin who registered it so that the page
# showing it comes back with it after the language is changed there (the switch loads the
# page again), and the form sent twice leads to it: until they go on to the list or register
# another client, five minutes at most after it was made. The session (a database row) holds
# it only masked by a one-time pad of random bytes that the browser alone holds, in a cookie
# sent only to that page's address: neither alone is the token. Never anywhere else (the
# database keeps its SHA-256 only), never in a log.
TOKEN_KEPT_KEY = "api_client_token_shown"
TOKEN_PAD_COOKIE = "api_token_pad"
TOKEN_KEPT_SECONDS = 5 * 60


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _unmasked(kept: dict, pad_text: str | None, client) -> str | None:
    """The token the session's masked copy and the browser's pad make, if they make
    ``client``'s (else None: no pad, another's, or not one at all)."""
    try:
        masked, pad = base64.urlsafe_b64decode(kept["masked"]), base64.urlsafe_b64decode(pad_text or "")
        token = _xor(masked, pad).decode("ascii")
    except (KeyError, TypeError, ValueError, binascii.Error):  # ValueError: lengths differ, not ASCII
        return None
    return token if token_hash(token) == client.token_hash else None


def token_shown(request, client, token: str, until: float):
    """The page that shows ``client``'s token, kept for its language switch, which leads to
    ``client_token`` (not back to the form, which would start a new client)."""
    pad = secrets.token_bytes(len(token.encode("ascii")))
    request.session[TOKEN_KEPT_KEY] = {"client": client.pk, "until": until,
                                       "masked": base64.urlsafe_b64encode(_xor(token.encode("ascii"), pad)).decode()}
    again = reverse("api:client_token", args=[client.pk])
    response = render(request, "api/client_created.html", {
        "organisation": client.organisation, "client": client, "token": token, "language_next": again,
    })
    response.set_cookie(TOKEN_PAD_COOKIE, base64.urlsafe_b64encode(pad).decode(), path=again,
                        max_age=max(1, int(until - time.time())), secure=settings.SESSION_COOKIE_SECURE,
                        httponly=True, samesite="Strict")
    return response


def registered_here(request, organisation, name: str) -> int | None:
    """The client of ``organisation`` named ``name`` (as the form sent it) whose token this
    session keeps (registered here TOKEN_KEPT_SECONDS ago at most, still in use), if any."""
    kept = request.session.get(TOKEN_KEPT_KEY)
    if not isinstance(kept, dict) or time.time() >= kept.get("until", 0):
        return None
    return (clients_of(organisation).filter(pk=kept.get("client"), name=single_line(name).strip(),
                                            revoked_at__isnull=True).values_list("pk", flat=True).first())


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def client_list(request, pk):
    organisation = organisation_for_admin(request.user, pk)
    request.session.pop(TOKEN_KEPT_KEY, None)  # gone on from a token's page: no longer kept
    page = Paginator(clients_of(organisation), PAGE_SIZE).get_page(request.GET.get("page"))
    # A client finds a person only by an address or number verified users may see: say which
    # its people are found by under the organisation's policy today (a person may narrow it).
    policy = visibility_policy_of(organisation)
    found_by = {name: policy[name] >= Audience.VERIFIED for name in (ProfileField.OFFICIAL_EMAIL, ProfileField.MOBILE)}
    return render(request, "api/clients.html", {"organisation": organisation, "page": page, "query": "",
                                                "found_by_email": found_by[ProfileField.OFFICIAL_EMAIL],
                                                "found_by_mobile": found_by[ProfileField.MOBILE]})


@rule("administrator_of_organisation")
@never_cache  # the answer holds the token: no copy of it may stay in a cache (Cache-Control: no-store)
@require_http_methods(["GET", "POST"])
def client_create(request, pk):
    organisation = organisation_for_admin(request.user, pk)
    form = ApiClientForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # The form sent again (a double click, Enter twice, Back and send again): the browser
        # shows this answer only, so it leads to the token of the client this session has
        # just registered under that name, not to "already has a client named ...", which
        # would lose the token shown once. The kept token is replaced only by a new client's.
        registered = registered_here(request, organisation, form.cleaned_data["name"])
        if registered is not None:
            return redirect("api:client_token", pk=registered)
        try:
            client, token = services.api_client_create(
                organisation_id=organisation.pk, name=form.cleaned_data["name"], actor=request.user, request=request
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Shown on this answer, and again only after a language switch here (TOKEN_KEPT_KEY).
            return token_shown(request, client, token, time.time() + TOKEN_KEPT_SECONDS)
    return render(request, "api/client_form.html", {"organisation": organisation, "form": form})


@rule("administrator_of_organisation")
@never_cache  # the answer holds the token: no copy of it may stay in a cache (Cache-Control: no-store)
@require_http_methods(["GET"])
def client_token(request, pk):
    """Where the language switch of a token's page leads: that page again, in the language
    chosen, for the session that registered the client while it keeps the token; anyone
    else, or later, is sent to the list, told the token is shown once."""
    client = client_for_admin(request.user, pk)
    kept = request.session.get(TOKEN_KEPT_KEY)
    if kept and kept.get("client") == client.pk and client.is_active and time.time() < kept.get("until", 0):
        token = _unmasked(kept, request.COOKIES.get(TOKEN_PAD_COOKIE), client)
        if token:
            return token_shown(request, client, token, kept["until"])
    request.session.pop(TOKEN_KEPT_KEY, None)
    messages.info(request, _("A client's token is shown only once, on the page that answers its registration. "
                             "If it was not copied, revoke the client and register a new one."))
    return redirect("api:clients", pk=client.organisation_id)


def _revoked_already(request, client):
    """The revocation asked of a client revoked already: by another admin (their page open at
    the same time), said with who and when; by this one (the form sent again), said done."""
    revoker, when = client.revoked_by, shown(client.revoked_at)
    if revoker is not None and revoker.pk == request.user.pk:
        messages.info(request, _("You already revoked this client on %(when)s.") % {"when": when})
    elif address_naming(revoker):
        messages.warning(request, _("This client was already revoked, by %(who)s on %(when)s.")
                         % {"who": revoker.email, "when": when})
    else:
        messages.warning(request, _("This client was already revoked, on %(when)s.") % {"when": when})
    return redirect("api:clients", pk=client.organisation_id)


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def client_revoke(request, pk):
    client = client_for_admin(request.user, pk)
    back = redirect("api:clients", pk=client.organisation_id)
    if not client.is_active:
        return _revoked_already(request, client)
    form = RevokeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.api_client_revoke(client_id=client.pk, actor=request.user, request=request)
        except services.ClientRevokedAlready as already:  # revoked by another admin since this page read it
            return _revoked_already(request, already.client)
        messages.success(request, _("The client %(name)s was revoked: its token is refused from now on.")
                         % {"name": client.name})
        return back
    return render(request, "api/client_revoke.html", {"client": client, "form": form})
