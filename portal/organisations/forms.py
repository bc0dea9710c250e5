"""The superadmin's confirmation that a claimed domain belongs to its organisation, and
why one of its domains is removed; the reason and the note of an organisation's suspension
or reactivation; its details changed; where it moves (its state and the organisation above it)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.forms import AccessibleForm
from portal.organisations.details import (
    DETAILS,
    clean_short_code,
    details_clean,
    district_field,
    name_field,
    name_local_field,
    short_code_field,
)
from portal.organisations.models import Level
from portal.organisations.selectors import organisation_by_short_code
from portal.organisations.services import STATUS_NOTE_MAX_LENGTH, move_clean
from portal.organisations.states import State
from portal.text import before_full_stop, has_visible_characters, multi_line


class ReasonForRecord:
    """A form's ``reason``: a note for the record, stored as the services store it (its lines
    kept, trimmed); one of only spaces or invisible characters is refused as none, with the
    field's own "required" message."""

    def clean_reason(self):
        note = multi_line(self.cleaned_data["reason"]).strip()
        if not has_visible_characters(note):
            raise ValidationError(self.fields["reason"].error_messages["required"], code="required")
        return note


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


class DomainAddForm(ReasonForRecord, AccessibleForm):
    """The domain a superadmin adds to an organisation, why, and the box confirming that
    addresses there become official for it (organisation_domain_add checks the domain)."""

    domain = forms.CharField(
        label=gettext_lazy("Domain"), max_length=253,
        help_text=gettext_lazy("As in the staff's addresses after the @, for example krishi.maharashtra.gov.in."),
        error_messages={"required": gettext_lazy("Enter the domain to add.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Why it is added"), max_length=STATUS_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("For the record (at most 1,000 characters): the audit log keeps it."),
        error_messages={"required": gettext_lazy("Give the reason the domain is added.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I have confirmed that the domain belongs to this organisation"),
        error_messages={"required": gettext_lazy("Tick the box to confirm that the domain belongs to it.")},
    )


class DomainRemoveForm(ReasonForRecord, AccessibleForm):
    """Why a superadmin removes one of an organisation's email domains (a note, required, of
    at most STATUS_NOTE_MAX_LENGTH characters, as organisation_domain_remove takes it), and
    the box confirming what the removal ends."""

    reason = forms.CharField(
        label=gettext_lazy("Why it is removed"), max_length=STATUS_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("For the record (at most 1,000 characters): the audit log keeps it."),
        error_messages={"required": gettext_lazy("Give the reason the domain is removed.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("Yes, remove the domain and end what rests on it alone"),
        error_messages={"required": gettext_lazy("Tick the box to confirm the removal.")},
    )


class OrganisationStatusForm(ReasonForRecord, AccessibleForm):
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


class OrganisationDetailsForm(ReasonForRecord, AccessibleForm):
    """An organisation's name in English and in the local language, its short code and its
    district, with the fields and refusals of the onboarding form (portal.organisations.details),
    and why they change: a note, required, of at most STATUS_NOTE_MAX_LENGTH characters, as
    organisation_details_change takes them. Sent from the form (``step`` "review"), it leads to
    the confirmation; from the confirmation, "save" saves and "edit" shows the form again."""

    buttons = (("step", "review"), ("step", "save"), ("step", "edit"))

    name = name_field()
    name_local = name_local_field()
    short_code = short_code_field()
    district = district_field()
    reason = forms.CharField(
        label=gettext_lazy("Why they change"), max_length=STATUS_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For the record (at most 1,000 characters), for example the order that renamed it: "
                               "the audit log keeps it, and the people told by email are sent it."),
    )

    def __init__(self, *args, organisation, **kwargs):
        kwargs.setdefault("initial", {key: getattr(organisation, key) for key in DETAILS})
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.details = {}

    def clean_short_code(self):
        return clean_short_code(self.cleaned_data["short_code"])

    def clean(self):
        """The checks of more than one answer, or of what is stored (the district of a district
        office, the short code free on Sandes), said at the field each is about, as the
        service makes them (details_clean); ``details`` the details as they would be stored."""
        data = super().clean()
        try:
            self.details = details_clean({key: data.get(key, self.data.get(key)) for key in DETAILS},
                                         organisation=self.organisation)
        except ValidationError as refused:
            for key, errors in refused.error_dict.items():
                if key not in self.errors:
                    self.add_error(key, errors)
        return data

    def changed_details(self) -> dict[str, tuple[str, str]]:
        """{field: (stored, typed)} of the details this valid form changes."""
        return {key: (getattr(self.organisation, key), self.details[key]) for key in DETAILS
                if self.details.get(key) != getattr(self.organisation, key)}


class OrganisationMoveForm(ReasonForRecord, AccessibleForm):
    """Where an organisation moves: its state or UT (not asked of one of the centre's level,
    which has none), the organisation above it by its short code (none: at the top), and why;
    on the confirmation, the box confirming what the move gives and takes. Checked as
    organisation_move checks them (move_clean); ``parent`` the organisation named. Sent from the
    form (``step`` "review") it leads to the confirmation; from the confirmation, "save" moves it
    and "edit" shows the form again."""

    buttons = (("step", "review"), ("step", "save"), ("step", "edit"))

    state = forms.ChoiceField(
        label=gettext_lazy("State / UT"), choices=[("", gettext_lazy("Choose…")), *State.choices],
        error_messages={"required": gettext_lazy("Choose the state or UT."),
                        "invalid_choice": gettext_lazy("Choose the state or UT.")},
    )
    parent = forms.CharField(
        label=gettext_lazy("Short code of the organisation above it"), max_length=20, required=False,
        help_text=gettext_lazy("As on the organisation's status page, for example AGRI-MH. Leave it empty to place "
                               "it at the top, with no organisation above it."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why it moves"), max_length=STATUS_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For the record (at most 1,000 characters), for example the order that transferred "
                               "it: the audit log keeps it, and the people told by email are sent it."),
        error_messages={"required": gettext_lazy("Write why it moves, for the record.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I have checked who gains and who loses sight of it and powers over it"),
        required=False,
    )

    def __init__(self, *args, organisation, **kwargs):
        parent = organisation.parent if organisation.parent_id else None
        kwargs.setdefault("initial", {"state": organisation.state, "parent": parent.short_code if parent else ""})
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.parent = None
        if organisation.level == Level.CENTRAL:  # of the centre: no state to choose
            del self.fields["state"]

    def clean(self):
        """The parent named by its short code, and the checks of both answers together, said at the
        field each is about, as the service makes them (move_clean)."""
        data = super().clean()
        code = (data.get("parent") or "").strip()
        if code and "parent" not in self.errors:
            self.parent = organisation_by_short_code(code)
            if self.parent is None:
                self.add_error("parent", ValidationError(
                    _("No organisation on Sandes has the short code %(code)s.") % {"code": code}, code="unknown"))
        if "parent" in self.errors:
            return data
        try:
            state = data.get("state") if "state" in self.fields else self.organisation.state
            data["state"] = move_clean(self.organisation, state=state or "", parent=self.parent)
        except ValidationError as refused:
            for key, errors in refused.error_dict.items():
                if key not in self.errors:
                    self.add_error(key, errors)
        return data

    def confirm_refused(self):
        """The error at the box, for a confirmation sent without it ticked."""
        self.add_error("confirm", ValidationError(_("Tick the box to confirm the move."), code="required"))

    def changes_nothing(self) -> bool:
        """Whether this valid form leaves the organisation where it is."""
        organisation = self.organisation
        return (self.cleaned_data["state"] == organisation.state
                and (self.parent.pk if self.parent else None) == organisation.parent_id)
