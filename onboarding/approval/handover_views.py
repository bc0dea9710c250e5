"""The page on which a superadmin, or a state administrator of its jurisdiction, hands an
application over to another nodal officer (onboarding/approval/handover.py)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onboarding.application.selectors import application_for_viewer, may_change_officer, may_withdraw_for_officer
from onboarding.approval.forms import OfficerChangeForm
from onboarding.approval.handover import (
    account_at,
    application_officer_change,
    handed_over_by,
    officer_change_open,
    officer_change_refusal,
    officer_shown,
)
from portal.access import rule
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent


@rule("viewer_of_application")
@require_http_methods(["GET", "POST"])
def officer_change(request, pk):
    application = application_for_viewer(request.user, pk)
    if not may_change_officer(request.user, application):
        raise Http404  # as for an application one may not see: whether it exists is not confirmed
    if not officer_change_open(application):
        messages.info(request, officer_change_refusal(application))
        return redirect("onboarding:detail", pk=pk)
    form = OfficerChangeForm(request.POST if request.method == "POST" else None)
    shown = shown_on_page(request, officer_shown(application))  # once the form took any kept input
    if request.method == "POST" and form.is_valid():
        new_officer = account_at(form.cleaned_data["email"])
        if new_officer is None:
            form.add_error("email", _("No account has this address: the new nodal officer signs up with it first."))
        else:
            try:
                application_officer_change(application_id=application.pk, new_officer=new_officer, actor=request.user,
                                           request=request, shown_values=shown_sent(request.POST))
            except PermissionDenied:  # their role ended meanwhile
                raise Http404 from None
            except ChangedMeanwhile:  # handed over to someone else since: the page says to whom now
                application = application_for_viewer(request.user, pk)
                shown = officer_shown(application)
                form.add_error(None, ValidationError(_(
                    "Nothing was changed: since this page was opened, the application was handed over to another "
                    "nodal officer (its nodal officer's account is now %(email)s). Check whom to hand it over to, "
                    "then confirm again.") % {"email": application.nodal_officer.email}, code="changed_meanwhile"))
            except ValidationError as exc:
                if getattr(exc, "code", None) == "same_officer" and handed_over_by(application, request.user):
                    # Sent again (a double click, Back and send): done already, by them.
                    messages.info(request, _("Application %(ref)s is with %(email)s already: you handed it over to "
                                             "them.") % {"ref": application.display_reference,
                                                         "email": new_officer.email})
                    return redirect("onboarding:detail", pk=pk)
                form.add_error("email", exc)
            else:
                messages.success(request, _("Application %(ref)s was handed over to %(email)s, who was told by email, "
                                            "as was its previous nodal officer.") % {
                    "ref": application.display_reference, "email": new_officer.email})
                return redirect("onboarding:detail", pk=pk)
    return render(request, "onboarding/officer_change.html", {
        "application": application, "form": form, "shown_values": shown,
        "can_withdraw": may_withdraw_for_officer(request.user, application),
    })
