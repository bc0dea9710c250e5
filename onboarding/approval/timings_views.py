"""The superadmins' page of the approval timings: the days of each stage, the reminder,
the appeal period and the lifetime of the competent authority's link, and the most times one
application may be returned for correction. A change is shown for confirmation (what
changes, and that what is open keeps its dates) before it is saved."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from onboarding.approval.timings import (
    DAYS_MAX,
    DAYS_MIN,
    RETURNS_LEAST,
    RETURNS_MOST,
    approval_timings,
    approval_timings_check,
    approval_timings_update,
)
from onboarding.models import APPROVAL_SETTINGS, ApprovalTimings
from portal.access import rule
from portal.forms import AccessibleForm

HELP = {
    "authority_due_days": gettext_lazy("From the day the application is submitted to the end of the last day, "
                                       "India's time; then the step is overdue and escalated. From 1 to 365."),
    "state_due_days": gettext_lazy("From the day the competent authority approves. From 1 to 365."),
    "appeal_due_days": gettext_lazy("From the day the nodal officer appeals. From 1 to 365."),
    "reminder_days_before": gettext_lazy("0 reminds on the due date itself; at most a day less than the "
                                         "shortest of the three stages above."),
    "appeal_window_days": gettext_lazy("From the day of the rejection; then the rejection becomes final. "
                                       "From 1 to 365."),
    "token_ttl_days": gettext_lazy("A link never stops working before its step is due. From 1 to 365."),
    "returns_max": gettext_lazy("By its competent authority and the state administrators together; after that it "
                                "can only be approved or rejected. A change applies to the decisions made from then "
                                "on. From 1 to 20."),
}


def _days_field(name: str) -> forms.IntegerField:
    whole = gettext_lazy("Give a whole number of days.")
    return forms.IntegerField(
        label=ApprovalTimings._meta.get_field(name).verbose_name, help_text=HELP[name],
        widget=forms.NumberInput(attrs={"min": DAYS_MIN[name], "max": DAYS_MAX, "class": "form-control w-auto"}),
        error_messages={"required": whole, "invalid": whole},
    )


class ApprovalTimingsForm(AccessibleForm):
    authority_due_days = _days_field("authority_due_days")
    state_due_days = _days_field("state_due_days")
    appeal_due_days = _days_field("appeal_due_days")
    reminder_days_before = _days_field("reminder_days_before")
    appeal_window_days = _days_field("appeal_window_days")
    token_ttl_days = _days_field("token_ttl_days")
    returns_max = forms.IntegerField(
        label=ApprovalTimings._meta.get_field("returns_max").verbose_name, help_text=HELP["returns_max"],
        widget=forms.NumberInput(attrs={"min": RETURNS_LEAST, "max": RETURNS_MOST, "class": "form-control w-auto"}),
        error_messages={"required": gettext_lazy("Give a whole number."), "invalid": gettext_lazy("Give a whole number.")},
    )
    # The change the superadmin was shown and confirms ("old>new"); set by the page.
    confirmed = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)


def _change(old: dict[str, int], new: dict[str, int]) -> str:
    return ",".join(str(old[name]) for name in APPROVAL_SETTINGS) + ">" + ",".join(str(new[name]) for name in APPROVAL_SETTINGS)


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field, error)
    else:
        form.add_error(None, exc)


@rule("approval_timings")
@require_http_methods(["GET", "POST"])
def approval_timings_page(request):
    timings = approval_timings()
    old = timings.values()
    form = ApprovalTimingsForm(request.POST or None, initial=old)
    changes = []
    if request.method == "POST" and form.is_valid():
        new = {name: form.cleaned_data[name] for name in APPROVAL_SETTINGS}
        try:
            approval_timings_check(new)
            if new == old:
                messages.info(request, _("Nothing changed: the timings are those you sent."))
                return redirect("onboarding:timings")
            if form.cleaned_data["confirmed"] == _change(old, new):
                approval_timings_update(values=new, seen=old, actor=request.user, request=request)
                messages.success(request, _("Approval timings saved. They apply to the stages opened from now on."))
                return redirect("onboarding:timings")
        except ValidationError as exc:
            _add_errors(form, exc)
            if getattr(exc, "code", None) != "changed_meanwhile":
                return render(request, "onboarding/approval_timings.html", {"form": form, "timings": timings})
            timings = approval_timings()  # someone else's change: show the change from theirs
            old = timings.values()
        data = request.POST.copy()
        data["confirmed"] = _change(old, new)
        errors = form.non_field_errors()
        form = ApprovalTimingsForm(data, initial=old)
        form.is_valid()
        for error in errors:
            form.add_error(None, error)
        changes = [(form[name].label, old[name], new[name]) for name in APPROVAL_SETTINGS if old[name] != new[name]]
    return render(request, "onboarding/approval_timings.html", {
        "form": form, "timings": timings, "changes": changes,
        "returns_changed": bool(changes) and old["returns_max"] != new["returns_max"]})
