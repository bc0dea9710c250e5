"""The superadmin's confirmation that a claimed domain belongs to its organisation; the
reason and the note of an organisation's suspension or reactivation."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.forms import AccessibleForm
from portal.organisations.services import STATUS_NOTE_MAX_LENGTH
from portal.text import before_full_stop, has_visible_characters, multi_line


class DomainClaimConfirmForm(AccessibleForm):
    """One claim's box on the domain claims page (one form per claim: its box's id names the
    claim, so that the error summary links to the box of the claim refused). The box sends
    "yes", as the view asks."""

    confirm = forms.BooleanField(widget=forms.CheckboxInput(attrs={"value": "yes"}))

    def __init__(self, *args, claim, **kwargs):
        kwargs.setdefault("auto_id", f"%s-{claim.pk}")
        super().__init__(*args, **kwargs)
        self.claim = claim
        names = {"domain": claim.domain, "organisation": claim.organisation.name}
        field = self.fields["confirm"]
        field.label = _("I have confirmed that %(domain)s belongs to %(organisation)s") % names
        field.error_messages["required"] = _("Tick the box to confirm that %(domain)s belongs to %(organisation)s.") % {
            **names, "organisation": before_full_stop(claim.organisation.name)}

    @classmethod
    def refused(cls, claim):
        """The claim's form as sent without its box ticked: the error at the box."""
        form = cls({}, claim=claim)
        form.is_valid()
        return form


class OrganisationStatusForm(AccessibleForm):
    """Why an organisation is suspended, or reactivated: one of the reasons of that change
    (``reasons``), and a note, required, of at most STATUS_NOTE_MAX_LENGTH characters, as
    organisation_suspend and organisation_reactivate take them."""

    reason_code = forms.ChoiceField(
        label=gettext_lazy("Reason"), widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": gettext_lazy("Choose the reason."),
                        "invalid_choice": gettext_lazy("Choose the reason.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Note"), max_length=STATUS_NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What happened, for the record (at most 1,000 characters): the audit log keeps it, "
                               "and the people told by email are sent it."),
    )

    def __init__(self, *args, reasons: type[TextChoices], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = reasons.choices

    def clean_reason(self):
        note = multi_line(self.cleaned_data["reason"]).strip()  # as the service stores it
        if not has_visible_characters(note):
            raise ValidationError(self.fields["reason"].error_messages["required"], code="required")
        return note
