"""One form per section of the onboarding form.

A section's raw input is stored as the draft whatever its validity, so nothing
typed is ever lost; the form decides the section's status and the messages
shown at each field. ``warnings`` are advice that does not block.

The draft keeps no more than a field accepts (``bounded_input``): its length, no
line break or other control character in a single-line answer, a few lines in a
multi-line one. What that changes is said at the field (``input_changes``).
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from onboarding.application.declarations import UNDERTAKINGS
from onboarding.application.selectors import (
    officer_addresses,
    official_within,
    other_officers_addresses,
    short_code_taken,
)
from onboarding.application.validators import (
    clean_landline,
    clean_mobile,
    clean_pin,
    clean_staff_domains,
    clean_website,
    letter_too_large,
)
from onboarding.models import Section
from portal.accounts.official_email import ACCEPTED_ELSEWHERE, normalise_address, validate_official_email
from portal.forms import SIZE_PLACEHOLDER, AccessibleForm, CountField, limit_file_size, refuse_invisible_only, text_field
from portal.organisations.details import (
    clean_short_code,
    district_field,
    district_missing,
    district_required,
    name_field,
    name_local_field,
    short_code_field,
)
from portal.organisations.models import Level, Organisation, OrganisationStatus, OrganisationType
from portal.organisations.pin_codes import pin_fits_state
from portal.organisations.states import State
from portal.text import (
    MARKS_ON_ONE_LETTER_MAX,
    composed,
    has_mark_pile,
    has_visible_characters,
    multi_line,
    single_line,
    without_mark_piles,
)

# A single-line answer (portal.forms.text_field); the organisation's own details are built by
# portal.organisations.details, which the page that changes them later uses too.
_text = text_field


def _answered(value) -> bool:
    """Whether an answer a section requires on a condition was given: text that shows
    something (not only zero-width spaces...), or any other value."""
    return has_visible_characters(value) if isinstance(value, str) else bool(value)


def applies(field, answers) -> bool:
    """Whether ``field``'s answer counts with these ``answers`` of its section: a parent
    searched for and then replaced by "It has no parent" is kept in the draft, and is no
    parent to show (see SectionForm)."""
    condition = getattr(field, "applies_when", None)
    if condition is None:
        return True
    name, wanted = condition
    answer = answers.get(name) or ""  # an answer not given (in an older draft, not stored) as none chosen
    return answer in wanted if isinstance(wanted, tuple) else answer == wanted


class SectionForm(AccessibleForm):
    """A field's ``applies_when`` (another field's name, and its value or a tuple of its
    values) says that its answer counts only when that other answer is given: the draft
    keeps it (choosing back brings it back), the summaries, the PDF and the list of changes
    leave it out otherwise, and it is not checked (a parent chosen before "It has no parent",
    suspended since, or a technical contact's address kept under "No", refuses nothing).
    """

    section = None
    # The most lines a multi-line answer keeps, by field (others: DEFAULT_MAX_LINES).
    max_lines = {}
    buttons = (("save", "1"), ("continue", "1"))  # templates/onboarding/section.html

    def __init__(self, *args, application=None, **kwargs):
        self.application = application
        self.input_changes = {}
        super().__init__(*args, **kwargs)

    def note_input_change(self, field, message):
        """Storing the draft changed what was sent for ``field`` (cut to its limit...):
        said at the field, as a warning, on the page that answers this save."""
        self.input_changes.setdefault(field, []).append(message)
        self.warn(field, message)

    def require(self, field, message):
        """An answer this section needs is missing: the section is "in progress", not "has errors"."""
        self.add_error(field, ValidationError(message, code="required"))

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self._errors:
            for name, field in self.fields.items():
                if name in self._errors and not applies(field, self.data):
                    del self._errors[name]


class OrganisationSectionForm(SectionForm):
    section = Section.ORGANISATION
    max_lines = {"address": 8, "email_domains": 25}

    name = name_field()
    name_local = name_local_field()
    short_code = short_code_field()
    org_type = forms.ChoiceField(label=_("Type of organisation"), choices=[("", _("Choose…"))] + OrganisationType.choices)
    level = forms.ChoiceField(label=_("Level"), choices=[("", _("Choose…"))] + Level.choices)
    state = forms.ChoiceField(
        label=_("State / UT"),
        choices=[("", _("Choose…"))] + State.choices,
        required=False,
        help_text=_("Required unless the organisation is a central (Government of India) body."),
    )
    district = district_field()
    # Required on a condition the hint states: neither "optional" nor starred.
    state.required_when = True
    # A central body has none (approval makes it with no state, filed under "central"): one
    # chosen before "Central" is kept in the draft, and shown while no level is chosen.
    state.applies_when = ("level", ("", Level.STATE, Level.DISTRICT, Level.SUB_DISTRICT))
    address = forms.CharField(label=_("Postal address"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                              validators=[refuse_invisible_only])
    pin_code = _text(_("PIN code"), 7, inputmode="numeric", autocomplete="postal-code")
    landline = _text(_("Office landline"), 20, required=False,
                     help_text=_("With STD code, 10 digits after the 0, e.g. 011-23456789"), inputmode="tel")
    website = _text(_("Website"), 200, required=False, help_text=_("e.g. https://mha.gov.in"), inputmode="url")
    email_domains = forms.CharField(
        label=_("Email domains used by your staff"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line or separated by commas, e.g. mha.gov.in"),
    )
    approx_users = CountField(label=_("Approximate number of users"), min_value=1, max_value=5_000_000)

    def clean_pin_code(self):
        return clean_pin(self.cleaned_data["pin_code"])

    def clean_short_code(self):
        code = clean_short_code(self.cleaned_data["short_code"])
        problem = short_code_taken(code, self.application)
        if problem:
            raise ValidationError(problem, code="short_code_taken")
        return code

    def clean_landline(self):
        value = self.cleaned_data["landline"]
        return clean_landline(value) if value else ""

    def clean_website(self):
        value = self.cleaned_data["website"]
        if not value:
            return ""
        url, needs_review = clean_website(value)
        if needs_review:
            self.warn("website", _("This website is not on an official government domain; it will be reviewed before approval."))
        return url

    def clean_email_domains(self):
        domains, warnings = clean_staff_domains(self.cleaned_data["email_domains"])
        for warning in warnings:
            self.warn("email_domains", warning)
        return domains

    def clean(self):
        data = super().clean()
        level = data.get("level")
        if level and level != Level.CENTRAL and not data.get("state"):
            self.require("state", _("Choose the state or union territory of a state, district or sub-district office."))
        if district_required(level) and not _answered(data.get("district")):
            self.require("district", district_missing())
        pin, state = data.get("pin_code"), data.get("state")
        if pin and state and level != Level.CENTRAL and not pin_fits_state(pin, state):
            # Advice, not a refusal: one of the two is most likely a typo, but an office
            # near a border may be served by the other side's post office.
            self.warn("pin_code", _("PIN code %(pin)s is not one of %(state)s's: check the PIN code and the state or "
                                    "union territory.") % {"pin": pin, "state": State(state).label})
        return data


class HierarchySectionForm(SectionForm):
    section = Section.HIERARCHY
    buttons = (*SectionForm.buttons, ("search_parent", "1"))  # onboarding/includes/hierarchy_fields.html
    EXISTING, NEW, NONE = "existing", "new", "none"

    parent_choice = forms.ChoiceField(
        label=_("Parent organisation"),
        choices=[
            (EXISTING, _("It reports to an organisation already on Sandes")),
            (NEW, _("It reports to an organisation not yet on Sandes")),
            (NONE, _("It has no parent (for example a ministry)")),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    parent = forms.ModelChoiceField(
        label=_("Parent organisation on Sandes"),
        queryset=Organisation.objects.filter(status=OrganisationStatus.ACTIVE),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("Choose the parent organisation from the search results.")},
    )
    new_parent_name = _text(_("Name of the parent organisation"), 200, required=False,
                            help_text=_("Required when it reports to an organisation not yet on Sandes."))
    new_parent_type = forms.ChoiceField(
        label=_("Type of the parent organisation"), choices=[("", _("Choose…"))] + OrganisationType.choices, required=False,
        help_text=_("Required when it reports to an organisation not yet on Sandes."),
    )
    # Required on a condition the hint states: neither "optional" nor starred.
    new_parent_name.required_when = new_parent_type.required_when = True
    parent.applies_when = ("parent_choice", EXISTING)
    new_parent_name.applies_when = new_parent_type.applies_when = ("parent_choice", NEW)
    # Chosen from the search's results into a hidden input: an error is shown at the search
    # box (hierarchy_fields.html), and the error summary leads there.
    parent.error_target = "parent-search"

    def clean(self):
        data = super().clean()
        choice = data.get("parent_choice")
        if choice == self.EXISTING and not data.get("parent") and "parent" not in self.errors:
            self.require("parent", _("Search for the parent organisation and choose it from the results."))
        if choice == self.NEW:
            if not _answered(data.get("new_parent_name")):
                self.require("new_parent_name", _("Enter the name of the parent organisation."))
            if not data.get("new_parent_type"):
                self.require("new_parent_type", _("Choose the type of the parent organisation."))
        return data


class PersonFieldsMixin:
    def clean_mobile(self):
        return clean_mobile(self.cleaned_data["mobile"])


class NodalOfficerSectionForm(PersonFieldsMixin, SectionForm):
    section = Section.NODAL_OFFICER

    name = _text(_("Full name"), 150, autocomplete="name")
    designation = _text(_("Designation"), 150, autocomplete="organization-title")
    employee_code = _text(_("Employee code"), 30)
    official_email = forms.EmailField(
        label=_("Official email"),
        max_length=254,
        help_text=_("The verified address of your account. To use another, change your account's email first."),
        widget=forms.EmailInput(attrs={"readonly": "readonly", "autocomplete": "email"}),
    )
    mobile = _text(_("Mobile number"), 20, autocomplete="tel", inputmode="tel")
    alternate_email = forms.EmailField(label=_("Alternate official email"), max_length=254, required=False)

    def clean_official_email(self):
        # As the competent authority's: a domain accepted for one organisation makes none of
        # its mailboxes another's nodal officer.
        within = official_within(self.application) if self.application is not None else None
        try:
            address = validate_official_email(self.cleaned_data["official_email"], for_officer=True, within=within)
        except ValidationError as refused:
            if refused.code != f"email_{ACCEPTED_ELSEWHERE}":
                raise
            raise ValidationError(" ".join([*refused.messages, str(_(
                "If this office reports to that organisation, choose it as the parent organisation (Place in the "
                "hierarchy); otherwise make an official address your account's email."))]), code=refused.code) from None
        account_email = getattr(getattr(self.application, "nodal_officer", None), "email", None)
        if account_email and address != account_email.lower():
            raise ValidationError(
                _("This must be your account's verified email, %(email)s.") % {"email": account_email}, code="mismatch"
            )
        return address

    def clean_alternate_email(self):
        value = self.cleaned_data["alternate_email"]
        return validate_official_email(value, for_officer=False) if value else ""

    def clean(self):
        data = super().clean()
        if data.get("alternate_email") and data.get("alternate_email") == data.get("official_email"):
            self.add_error("alternate_email", ValidationError(
                _("The alternate email must differ from the official email."), code="same_as_official"
            ))
        return data


class CompetentAuthoritySectionForm(PersonFieldsMixin, SectionForm):
    section = Section.COMPETENT_AUTHORITY

    name = _text(_("Full name"), 150)
    designation = _text(_("Designation"), 150, help_text=_("e.g. Joint Secretary, Director, District Magistrate"))
    official_email = forms.EmailField(
        label=_("Official email"),
        max_length=254,
        help_text=_("The application is sent here for approval: it must be an official government address."),
    )
    mobile = _text(_("Mobile number"), 20, inputmode="tel")

    def clean_official_email(self):
        # A domain accepted for one organisation makes none of its mailboxes another's authority.
        within = official_within(self.application) if self.application is not None else None
        address = validate_official_email(self.cleaned_data["official_email"], for_officer=True, within=within)
        if self.application is not None:
            normalised = normalise_address(address)
            if normalised in officer_addresses(self.application):
                raise ValidationError(
                    _("The competent authority must be a different person from the nodal officer, with a different email."),
                    code="same_person",
                )
            if normalised in other_officers_addresses(self.application):
                raise ValidationError(
                    _("This is the address of the nodal officer of another application for the same organisation: "
                      "the competent authority must be someone else."),
                    code="other_officer",
                )
        return address


PURPOSES = [
    ("otp_alerts", _("OTP and alerts")),
    ("messaging", _("Messaging")),
    ("broadcast", _("Broadcast")),
]
INTEGRATION_ROWS = 3


def _label_numbered(message, n: int) -> str:
    return str(message) % {"n": n}


# A numbered label translated when it is shown, not when the form is made: the summaries
# make each form once per process (summary.section_fields) and show it in every language.
_numbered = lazy(_label_numbered, str)


class IntegrationSectionForm(SectionForm):
    section = Section.INTEGRATION

    wants_integration = forms.ChoiceField(
        label=_("Will eGov applications send messages through Sandes?"),
        choices=[("yes", _("Yes")), ("no", _("No, people only"))],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    monthly_volume = CountField(label=_("Expected messages a month"), min_value=1, max_value=1_000_000_000,
                                required=False)
    tech_name = _text(_("Technical contact: name"), 150, required=False)
    tech_email = forms.EmailField(label=_("Technical contact: official email"), max_length=254, required=False)
    tech_mobile = _text(_("Technical contact: mobile"), 20, required=False, inputmode="tel")
    WANTED = ("wants_integration", "yes")
    monthly_volume.applies_when = tech_name.applies_when = tech_email.applies_when = tech_mobile.applies_when = WANTED

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(1, INTEGRATION_ROWS + 1):
            self.fields[f"app_{i}_name"] = forms.CharField(
                label=_numbered(_("Application %(n)s: name"), i), max_length=150, required=False,
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
            self.fields[f"app_{i}_purposes"] = forms.MultipleChoiceField(
                label=_numbered(_("Application %(n)s: used for"), i), choices=PURPOSES, required=False,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            )
            self.fields[f"app_{i}_name"].applies_when = self.fields[f"app_{i}_purposes"].applies_when = self.WANTED

    def clean_tech_email(self):
        value = self.cleaned_data["tech_email"]
        return validate_official_email(value, for_officer=False) if value else ""

    def clean_tech_mobile(self):
        value = self.cleaned_data["tech_mobile"]
        return clean_mobile(value) if value else ""

    def clean(self):
        data = super().clean()
        if data.get("wants_integration") != "yes":
            return data
        rows = 0
        for i in range(1, INTEGRATION_ROWS + 1):
            name, purposes = _answered(data.get(f"app_{i}_name")), data.get(f"app_{i}_purposes") or []
            if name and not purposes:
                self.require(f"app_{i}_purposes", _("Choose what this application will use Sandes for."))
            if purposes and not name:
                self.require(f"app_{i}_name", _("Enter the name of the application."))
            rows += bool(name)
        if not rows and "app_1_name" not in self.errors:
            self.require("app_1_name", _("Enter at least one application that will be connected."))
        for field, message in [
            ("monthly_volume", _("Enter the expected number of messages a month.")),
            ("tech_name", _("Enter the name of the technical contact.")),
            ("tech_email", _("Enter the technical contact's official email.")),
            ("tech_mobile", _("Enter the technical contact's mobile number.")),
        ]:
            if not _answered(data.get(field)) and field not in self.errors:
                self.require(field, message)
        return data


class DeclarationsSectionForm(SectionForm):
    section = Section.DECLARATIONS

    accept_notice = forms.BooleanField(
        label=_("I have read the portal's data protection notice."),
        error_messages={"required": _("Confirm that you have read the data protection notice.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in UNDERTAKINGS:
            self.fields[name] = forms.BooleanField(
                label=text, error_messages={"required": _("Tick this undertaking to continue.")},
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )


SECTION_FORMS = {
    Section.ORGANISATION: OrganisationSectionForm,
    Section.HIERARCHY: HierarchySectionForm,
    Section.NODAL_OFFICER: NodalOfficerSectionForm,
    Section.COMPETENT_AUTHORITY: CompetentAuthoritySectionForm,
    Section.INTEGRATION: IntegrationSectionForm,
    Section.DECLARATIONS: DeclarationsSectionForm,
}


DEFAULT_MAX_LINES = 10
# A choice, a number or an id: nothing longer is valid. A text field without a limit: this.
OTHER_MAX_LENGTH, TEXT_MAX_LENGTH = 100, 1000


def _bounded_value(field, value, max_lines):
    """(what the draft keeps of ``value``, messages saying what that changed)."""
    notes = []
    if isinstance(field.widget, forms.Textarea):
        kept = multi_line(value)
        if kept != composed(value.replace("\r\n", "\n")):  # composing takes nothing out: nothing to say
            notes.append(_("Control characters were removed from this answer. Check it."))
        lines = kept.split("\n")
        if len(lines) > max_lines:
            lines = [line for line in lines if line.strip()]
        if len(lines) > max_lines:
            lines = lines[: max_lines - 1] + [", ".join(line.strip() for line in lines[max_lines - 1 :])]
            notes.append(_("At most %(n)s lines are kept: the lines after that were joined onto the last one. Check this answer.")
                         % {"n": max_lines})
        kept = "\n".join(lines)
    else:
        kept = single_line(value)
        if kept != composed(value):
            notes.append(_("Line breaks, tabs and other control characters were removed from this answer. Check it."))
    if has_mark_pile(kept):  # drawn over the answers above or below it, in the PDF too
        kept = without_mark_piles(kept)
        notes.append(_("A letter of this answer carried more than %(n)s marks (accents, vowel signs): those after the "
                       "first %(n)s were removed. Check it.") % {"n": MARKS_ON_ONE_LETTER_MAX})
    limit = getattr(field, "max_length", None) or (TEXT_MAX_LENGTH if isinstance(field, forms.CharField) else OTHER_MAX_LENGTH)
    if len(kept) > limit:
        kept = kept[:limit]
        notes.append(_("Only the first %(n)s characters of this answer were kept. Check it.") % {"n": limit})
    return kept, notes if isinstance(field, forms.CharField) else []


def bounded_input(form_class, querydict, *, application=None):
    """(the values a person typed for a section, as stored in the draft, {field: messages}).

    The draft keeps what each field accepts: at most its max_length, no line break
    or control character in a single-line field, at most ``max_lines`` lines in a
    multi-line one. The messages say what was changed, to be shown at the field."""
    form = form_class(application=application)
    raw, changes = {}, {}
    for name, field in form.fields.items():
        if isinstance(field, forms.MultipleChoiceField):
            raw[name] = [single_line(str(v))[:OTHER_MAX_LENGTH] for v in querydict.getlist(name)][: len(field.choices)]
        elif isinstance(field, forms.BooleanField):
            raw[name] = querydict.get(name) in ("on", "true", "1", "True")
        else:
            raw[name], notes = _bounded_value(field, str(querydict.get(name, "")),
                                              form.max_lines.get(name, DEFAULT_MAX_LINES))
            if notes:
                changes[name] = notes
    return raw, changes


def raw_input(form_class, querydict, *, application=None):
    """The values a person typed for a section, as stored in the draft (``bounded_input``)."""
    return bounded_input(form_class, querydict, application=application)[0]


def counts_taken(form) -> list[str]:
    """The counts (CountField) a validated section form took: each is stored as the number
    it is, not as it was typed (grouped or not); one refused is kept as typed."""
    answers = getattr(form, "cleaned_data", {})
    return [name for name, field in form.fields.items()
            if isinstance(field, CountField) and answers.get(name) is not None]


class AttachmentForm(AccessibleForm):
    letter = forms.FileField(
        label=_("Authorisation letter signed by the competent authority"),
        help_text=_("PDF, PNG or JPEG, at most 5 MB."),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
        error_messages={"required": _("Choose the signed authorisation letter to upload."),
                        # 0 bytes: a scan that did not finish saving, a download cut short.
                        "empty": _("The file is empty: save the scan of the signed letter again and upload it.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit_file_size(self.fields["letter"], settings.ONBOARDING_UPLOAD_MAX_BYTES, letter_too_large(SIZE_PLACEHOLDER))


WITHDRAW_REASON_MAX = 500


class WithdrawReasonForm(AccessibleForm):
    """The withdrawal page's form (whose markup is its own): the reason, the one posted, or
    the one typed before a sign-in or sent with an expired token, kept and shown again as its
    initial value (``AccessibleForm``); and the box confirming the withdrawal, refused at the
    box when left unticked and, being named "confirm", never put back ticked
    (``portal.forms.confirming_keys``)."""

    # At most WITHDRAW_REASON_MAX characters, a line break counting as one (AccessibleForm's
    # boxes count them as the browser did).
    reason = forms.CharField(required=False, max_length=WITHDRAW_REASON_MAX, widget=forms.Textarea)
    confirm = forms.BooleanField(
        label=_("Yes, withdraw this application"),
        error_messages={"required": _("Tick the box to confirm that you want to withdraw the application.")},
    )

    def clean_reason(self):
        return multi_line(self.cleaned_data["reason"])


# The nodal officer's reply to the remarks a returned application came back with: as long
# as the remarks themselves (onboarding.approval.services.REMARKS_MAX).
REPLY_MAX = 4000


class ResubmitReplyForm(AccessibleForm):
    """Sending a returned application again: the nodal officer's reply to the remarks it
    was returned with (what they changed and why), which whoever decides next reads next
    to those remarks. Required; one of only invisible characters is none."""

    reply = forms.CharField(
        label=_("Your reply to the remarks"), max_length=REPLY_MAX, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Say what you changed and why. Whoever decides on the application reads it next to the remarks."),
        error_messages={"required": _("Reply to the remarks the application was returned with: say what you changed "
                                      "and why.")},
    )

    def clean_reply(self):
        reply = multi_line(self.cleaned_data["reply"]).strip()
        if not has_visible_characters(reply):  # only zero-width and other invisible characters: a blank
            raise ValidationError(self.fields["reply"].error_messages["required"], code="required")
        return reply
