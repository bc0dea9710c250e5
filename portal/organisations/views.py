from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.organisations.forms import DomainClaimConfirmForm
from portal.organisations.models import OrganisationDomain
from portal.organisations.selectors import claims_as_they_stand, pending_domain_claims
from portal.organisations.services import organisation_domain_accept
from portal.text import before_full_stop

PAGE_SIZE = 50  # claims a page


@rule("superadmin")
@require_http_methods(["GET"])
def domain_claims(request):
    """Domains organisations listed that are not official for them: only a superadmin accepts one."""
    return _claims_page(request)


def _page_of(claim_pk: int) -> int:
    """The number of the page that lists (or listed) the claim ``claim_pk``."""
    return pending_domain_claims().filter(pk__lt=claim_pk).count() // PAGE_SIZE + 1


def _claims_url(claim_pk: int) -> str:
    """The claims page that lists (or listed) the claim ``claim_pk``: a superadmin who
    accepted one is back where they were."""
    number = _page_of(claim_pk)
    return reverse("organisations:domain_claims") + (f"?page={number}" if number > 1 else "")


def _claims_page(request, refused: DomainClaimConfirmForm | None = None):
    """The claims, PAGE_SIZE a page, oldest first, each that can be accepted with its
    form, the others with why not; a claim whose acceptance was refused, on its page with
    its form as sent (its error summed up above the list, linked to its box)."""
    number = _page_of(refused.claim.pk) if refused else request.GET.get("page")
    page = Paginator(pending_domain_claims(), PAGE_SIZE).get_page(number)
    rows = [(claim, refused if refused and claim.pk == refused.claim.pk
             else DomainClaimConfirmForm(claim=claim) if claim.acceptable else None)
            for claim in claims_as_they_stand(page.object_list)]
    return render(request, "portal/domain_claims.html", {"claims": rows, "page": page, "refused": refused},
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
        return redirect(_claims_url(claim.pk))
    if request.POST.get("confirm") != "yes":
        return _claims_page(request, refused=DomainClaimConfirmForm.refused(claim))
    try:
        organisation_domain_accept(domain_id=claim.pk, actor=request.user, request=request)
    except OrganisationDomain.DoesNotExist:  # removed by another superadmin while this waited
        messages.info(request, _("%(domain)s was removed from %(organisation)s meanwhile: there is nothing to accept.")
                      % {"domain": claim.domain, "organisation": before_full_stop(claim.organisation.name)})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(domain)s is now official for %(organisation)s.")
                         % {"domain": claim.domain, "organisation": before_full_stop(claim.organisation.name)})
    return redirect(_claims_url(claim.pk))
