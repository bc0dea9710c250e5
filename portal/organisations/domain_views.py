"""The pages on which a superadmin adds an email domain to an organisation, or removes one
of its domains: each says what it does and asks why, with a box to confirm
(organisation_domain_add and organisation_domain_remove ask for a superadmin again and
refuse what the pages would not offer). The domains are listed, with the links here, on
the organisation's status page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.organisations.forms import DomainAddForm, DomainRemoveForm
from portal.organisations.models import Organisation, OrganisationDomain
from portal.organisations.services import domain_removal_shown, organisation_domain_add, organisation_domain_remove
from portal.organisations.status_selectors import domain_removal_weighed
from portal.shown import ChangedMeanwhile, shown_sent
from portal.text import before_full_stop


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def domain_remove(request, pk, domain_pk):
    organisation = get_object_or_404(Organisation, pk=pk)
    back = redirect("organisations:status", pk=organisation.pk)
    row = OrganisationDomain.objects.filter(pk=domain_pk, organisation=organisation).select_related("organisation").first()
    gone = _("That domain is no longer one of %(organisation)s's: there is nothing to remove.") % {
        "organisation": before_full_stop(organisation.name)}
    if row is None:  # removed meanwhile (sent twice, another tab, another superadmin)
        messages.info(request, gone)
        return back
    form = DomainRemoveForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            organisation_domain_remove(domain_id=row.pk, reason=form.cleaned_data["reason"], actor=request.user,
                                       request=request, shown=shown_sent(request.POST))
        except ChangedMeanwhile:  # what it ends, or whom it tells, changed since the page was opened
            # The reason kept, the box not: it confirms what the page says now, read first.
            form = DomainRemoveForm(initial={"reason": form.cleaned_data["reason"]})
            form.cleaned_data = {}  # (an unbound form holds the page's error alone)
            form.add_error(None, _("Since this page was opened, what removing this domain ends, or whom it tells, has "
                                   "changed: nothing was done. Read what it does now, then confirm again."))
        except OrganisationDomain.DoesNotExist:  # removed while this removal waited for the organisation
            messages.info(request, gone)
            return back
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error("reason", exc)
        else:
            messages.success(request, _("%(domain)s was removed from %(organisation)s.")
                             % {"domain": row.domain, "organisation": before_full_stop(organisation.name)})
            return back
    weighed = domain_removal_weighed(row)
    # Sent back with the confirmation: the service refuses it if what the page says has changed by then.
    return render(request, "portal/organisations/domain_remove.html",
                  {"organisation": organisation, "row": row, "form": form, **weighed,
                   "shown_values": domain_removal_shown(row, request.user, weighed)})


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def domain_add(request, pk):
    organisation = get_object_or_404(Organisation, pk=pk)
    form = DomainAddForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            row = organisation_domain_add(organisation_id=organisation.pk, domain=form.cleaned_data["domain"],
                                          reason=form.cleaned_data["reason"], actor=request.user, request=request)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)  # its errors name their fields (the domain, the reason)
        else:
            messages.success(request, _("%(domain)s is now official for %(organisation)s.")
                             % {"domain": row.domain, "organisation": before_full_stop(organisation.name)})
            return redirect("organisations:status", pk=organisation.pk)
    return render(request, "portal/organisations/domain_add.html", {"organisation": organisation, "form": form})
