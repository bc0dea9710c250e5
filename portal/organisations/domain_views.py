"""The page on which a superadmin removes one of an organisation's email domains: a
confirmation page saying what the removal ends, asking why (organisation_domain_remove
asks for a superadmin again and refuses what the page would not offer). The domains are
listed, each with its link here, on the organisation's status page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.organisations.forms import DomainRemoveForm
from portal.organisations.models import Organisation, OrganisationDomain
from portal.organisations.services import organisation_domain_remove
from portal.text import before_full_stop


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def domain_remove(request, pk, domain_pk):
    organisation = get_object_or_404(Organisation, pk=pk)
    back = redirect("organisations:status", pk=organisation.pk)
    row = OrganisationDomain.objects.filter(pk=domain_pk, organisation=organisation).first()
    if row is None:  # removed meanwhile (sent twice, another tab, another superadmin)
        messages.info(request, _("That domain is no longer one of %(organisation)s's: there is nothing to remove.")
                      % {"organisation": before_full_stop(organisation.name)})
        return back
    form = DomainRemoveForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            organisation_domain_remove(domain_id=row.pk, reason=form.cleaned_data["reason"], actor=request.user,
                                       request=request)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error("reason", exc)
        else:
            messages.success(request, _("%(domain)s was removed from %(organisation)s.")
                             % {"domain": row.domain, "organisation": before_full_stop(organisation.name)})
            return back
    return render(request, "portal/organisations/domain_remove.html",
                  {"organisation": organisation, "row": row, "form": form})
