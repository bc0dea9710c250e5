from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.organisations.forms import DomainClaimConfirmForm
from portal.organisations.models import OrganisationDomain
from portal.organisations.selectors import pending_domain_claims
from portal.organisations.services import organisation_domain_accept
from portal.text import before_full_stop


@rule("superadmin")
@require_http_methods(["GET"])
def domain_claims(request):
    """Domains organisations listed that are not official for them: only a superadmin accepts one."""
    return _claims_page(request)


def _claims_page(request, refused: DomainClaimConfirmForm | None = None):
    """The claims, each with its form; a claim whose acceptance was refused, with its form
    as sent (its error summed up above the list, linked to its box)."""
    claims = pending_domain_claims()
    rows = [(claim, refused if refused and claim.pk == refused.claim.pk else DomainClaimConfirmForm(claim=claim))
            for claim in claims]
    return render(request, "portal/domain_claims.html", {"claims": rows, "refused": refused},
                  status=400 if refused else 200)


def _claims_page_on_get(view):
    """The address of a refused acceptance (its page is the claims page again) shows the
    claims page when it is read: reloaded, or come back to by the language switch."""

    @wraps(view)
    def answer(request, *args, **kwargs):
        return _claims_page(request) if request.method == "GET" else view(request, *args, **kwargs)

    return answer


@rule("superadmin", return_to="organisations:domain_claims")
@require_http_methods(["GET", "POST"])
@_claims_page_on_get
def domain_claim_accept(request, pk):
    # Looked up by its key alone: the acceptance sent again (a double click, Back and send
    # again) finds it accepted, and is told so rather than "Page not found".
    claim = get_object_or_404(OrganisationDomain.objects.select_related("organisation"), pk=pk)
    if claim.is_verified:
        messages.info(request, _("%(domain)s is already official for %(organisation)s.")
                      % {"domain": claim.domain, "organisation": before_full_stop(claim.organisation.name)})
        return redirect("organisations:domain_claims")
    if request.POST.get("confirm") != "yes":
        return _claims_page(request, refused=DomainClaimConfirmForm.refused(claim))
    try:
        organisation_domain_accept(domain_id=claim.pk, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(domain)s is now official for %(organisation)s.")
                         % {"domain": claim.domain, "organisation": before_full_stop(claim.organisation.name)})
    return redirect("organisations:domain_claims")
