"""Forms of the approval routing: a decision on a step, an appeal, a handover to another nodal officer."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from onboarding import workflow
from onboarding.approval.services import REMARKS_MAX
from onboarding.models import Decision
from portal.forms import AccessibleForm
from portal.text import has_visible_characters, multi_line

# Decisions that cannot be undone: approving (the organisation is activated, its nodal officer made
# its admin), rejecting, and either decision on an appeal. The form records them once the person has
# ticked the box confirming them; returning an application for correction is not final.
FINAL_DECISIONS = {Decision.APPROVE, Decision.REJECT, Decision.OVERTURN, Decision.UPHOLD}


class DecisionForm(AccessibleForm):
    decision = forms.ChoiceField(
        label=_("Your decision"), widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": _("Choose a decision."), "invalid_choice": _("Choose a decision.")},
    )
    remarks = forms.CharField(
        label=_("Remarks"), required=False, max_length=REMARKS_MAX, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when you return or reject: the nodal officer reads them."),
    )
    remarks.required_when = True  # neither "optional" nor starred: the hint says when
    # Named "confirm": never put back ticked when what was typed is shown again (portal.pending.NOT_RESTORED).
    confirm = forms.BooleanField(
        label=_("Yes, record this decision: it cannot be undone"), required=False,
        help_text=_("Required when you approve or reject. Not needed to return the application for correction."),
    )
    confirm.required_when = True

    def __init__(self, *args, stage, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage = stage
        self.offer_return(True)

    def offer_return(self, may_return):
        """Offer a return for correction or not (``workflow.returns_left``: none left, the page
        offers only approval and rejection). The blank form is the same for every step of a
        stage that may (or may no longer) be returned: the template keeps its HTML by both."""
        self.may_return = may_return
        self.fields["decision"].choices = [(d.value, Decision(d).label)
                                           for d in workflow.decisions_for(self.stage, may_return=may_return)]
        # The hints speak of the decisions offered (an appeal is upheld or overturned, never returned).
        if self.stage == "appeal":
            self.fields["remarks"].help_text = _("Required when you uphold the rejection: the nodal officer reads them.")
            self.fields["confirm"].help_text = _("Required: overturning or upholding the rejection is final.")
        elif not may_return:
            self.fields["remarks"].help_text = _("Required when you reject: the nodal officer reads them.")
            self.fields["confirm"].help_text = _("Required: approving or rejecting the application is final.")

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        # A reason of only zero-width and other invisible characters is none: the officer would read a blank.
        if (decision and decision in workflow.REMARKS_REQUIRED and "remarks" not in self.errors
                and not has_visible_characters(data.get("remarks") or "")):
            self.add_error("remarks", _("Give the reason for this decision."))
        if decision in FINAL_DECISIONS and not data.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm the decision."))
        return data


class AppealForm(AccessibleForm):
    """The grounds of an appeal. Sent from the form (``step`` "review"), they lead to the
    confirmation (an appeal is lodged once and cannot be withdrawn); from the confirmation,
    "save" lodges it and "edit" shows the form again."""

    buttons = (("step", "review"), ("step", "save"), ("step", "edit"))

    grounds = forms.CharField(
        label=_("Grounds of your appeal"), max_length=REMARKS_MAX, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Explain why the rejection should be overturned."),
        error_messages={"required": _("State the grounds of your appeal.")},
    )

    def clean_grounds(self):
        # As application_appeal lodges them (its lines kept, no control character or bidi
        # override): the confirmation shows what the superadmins will read.
        grounds = multi_line(self.cleaned_data["grounds"].strip()).strip()
        if not has_visible_characters(grounds):  # only zero-width and other invisible characters: a blank
            raise ValidationError(self.fields["grounds"].error_messages["required"], code="required")
        return grounds


class OfficerChangeForm(AccessibleForm):
    """Whom to hand an application over to (their account's address), confirmed."""

    email = forms.EmailField(
        label=_("Email address of the new nodal officer"), max_length=254,
        help_text=_("The address they sign in with: they must have an account, at an official address."),
        error_messages={"required": _("Enter the email address of the new nodal officer.")},
    )
    # Named "confirm": never put back ticked when what was typed is shown again (portal.pending.NOT_RESTORED).
    confirm = forms.BooleanField(
        label=_("Yes, hand the application over: its present nodal officer can no longer open it"),
        error_messages={"required": _("Tick the box to confirm the handover.")},
    )
