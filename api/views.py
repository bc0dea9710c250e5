"""Pages of an organisation's admins (of it or of an organisation above it) and of
superadmins: the organisation's API clients, registering one (its token shown once,
on the page that answers the form, never stored), and revoking one after a
confirmation. Organisations and clients are fetched through selectors scoped to the
viewer: another organisation's are 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from api import services
from api.forms import ApiClientForm, RevokeForm
from api.selectors import client_for_admin, clients_of
from portal.access import rule
from verification.selectors import organisation_for_admin
from verification.visibility.models import Audience, ProfileField
from verification.visibility.services import visibility_policy_of

PAGE_SIZE = 50


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def client_list(request, pk):
    organisation = organisation_for_admin(request.user, pk)
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
        try:
            client, token = services.api_client_create(
                organisation_id=organisation.pk, name=form.cleaned_data["name"], actor=request.user, request=request
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Shown on this answer only: the token is kept nowhere (not in the session either).
            return render(request, "api/client_created.html",
                          {"organisation": organisation, "client": client, "token": token})
    return render(request, "api/client_form.html", {"organisation": organisation, "form": form})


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def client_revoke(request, pk):
    client = client_for_admin(request.user, pk)
    back = redirect("api:clients", pk=client.organisation_id)
    if not client.is_active:
        messages.info(request, _("This client was already revoked."))
        return back
    form = RevokeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.api_client_revoke(client_id=client.pk, actor=request.user, request=request)
        messages.success(request, _("The client %(name)s was revoked: its token is refused from now on.")
                         % {"name": client.name})
        return back
    return render(request, "api/client_revoke.html", {"client": client, "form": form})
