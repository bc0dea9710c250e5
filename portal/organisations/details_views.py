"""The page of an organisation's details (its name in English and in the local language, its
short code and its district): for a superadmin and the administrators of its state
(portal.permissions: may_change_organisation_details) a form, then a confirmation that
shows each detail before and after and who is told, then the change; for its own admins and
those above it the details read only (with, while it is suspended, since when, by whom and
why). Both list the last changes of its details. 404 for
anyone else with such a role, 403 for everyone else. The service
(organisation_details_change) asks again and refuses what the page would not offer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.organisations.details import DETAILS, details_changes
from portal.organisations.forms import OrganisationDetailsForm
from portal.organisations.models import OrganisationStatus
from portal.organisations.services import (
    OrganisationNotActive,
    ToldChanged,
    details_digest,
    details_told_shown,
    organisation_details_change,
)
from portal.organisations.status_selectors import (
    DETAILS_HISTORY_LIMIT,
    current_status,
    details_history,
    organisation_for_details,
    status_change_told,
    status_history,
)
from portal.permissions import may_change_organisation_details
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent
from portal.text import before_full_stop


@rule("organisation_details")
@require_http_methods(["GET", "POST"])
def details(request, pk):
    organisation = organisation_for_details(request.user, pk)
    changes = may_change_organisation_details(request.user, organisation)
    if request.method == "POST" and not changes:
        raise PermissionDenied
    context = {"organisation": organisation, "changes": changes, "limit": DETAILS_HISTORY_LIMIT}
    if not changes or organisation.status == OrganisationStatus.PENDING:
        if organisation.status == OrganisationStatus.SUSPENDED:  # since when, by whom and why
            context["current"] = current_status(organisation, status_history(organisation, limit=1))
        return render(request, "portal/organisations/details.html",
                      {**context, "history": details_history(organisation)})
    form = OrganisationDetailsForm(request.POST if request.method == "POST" else None, organisation=organisation)
    shown = shown_on_page(request, details_digest(organisation))  # once the form took any kept input
    step = request.POST.get("step")
    if form.is_bound and form.is_valid():
        changed = form.changed_details()
        if not changed:
            form.add_error(None, ValidationError(_("Nothing to save: each detail is as it is already."),
                                                 code="unchanged"))
        elif step == "save":
            done = _save(request, organisation, form, shown_sent(request.POST))
            if done is not None:
                return done
            shown = details_digest(organisation)  # read again when changed meanwhile
        elif step != "edit":
            told = [one for one in status_change_told(organisation) if one.user.pk != request.user.pk]
            return render(request, "portal/organisations/details_confirm.html", {
                **context, "form": form, "shown_values": shown, "told": told, "told_values": details_told_shown(told),
                "changed": details_changes(changed, state=organisation.state)})
    return render(request, "portal/organisations/details.html", {
        **context, "form": form, "shown_values": shown, "history": details_history(organisation)})


def _save(request, organisation, form, shown):
    """Change the details as confirmed: the redirect to the organisation's status page, or
    None with the refusal on the form (changed meanwhile: what is saved now at each field)."""
    old_name = organisation.name
    try:
        changed = organisation_details_change(
            organisation=organisation, **{key: form.cleaned_data[key] for key in DETAILS},
            reason=form.cleaned_data["reason"], actor=request.user, request=request, shown=shown,
            told_shown=shown_sent(request.POST, "told_values"))
    except ToldChanged:
        form.add_error(None, _("Since this page was opened, whom the change tells by email has changed: nothing was "
                               "saved. Check the changes again to see who is told now."))
        return None
    except ChangedMeanwhile:
        organisation.refresh_from_db(fields=DETAILS)
        form.organisation = organisation
        form.say_changed_meanwhile({key: getattr(organisation, key) for key in DETAILS})
        return None
    except OrganisationNotActive as refused:
        messages.info(request, refused.message)
        return redirect("organisations:details", pk=organisation.pk)
    except PermissionDenied as refused:
        form.add_error(None, str(refused))
        return None
    except ValidationError as refused:  # taken meanwhile (a short code): at its field
        form.add_error(None, refused)
        return None
    if changed:
        messages.success(request, _("The details of %(organisation)s were changed.")
                         % {"organisation": before_full_stop(old_name)})
    else:
        messages.info(request, _("Nothing was changed: each detail was already as you confirmed it."))
    return redirect("organisations:status", pk=organisation.pk)
