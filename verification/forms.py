"""Forms of verification: asking to be verified, deciding, suspending and revoking,
and the organisation's automatic verification."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.forms import AccessibleForm, DayField, refuse_invisible_only
from portal.organisations.models import Organisation
from portal.organisations.states import State
from verification.models import ADMIN_END_REASONS, VerificationStatus
from verification.selectors import MEMBER_QUERY_MAX, MEMBER_QUERY_MIN, EndsElsewhere
from verification.services import PROFILE_FIELDS, REASON_MAX, JoinDecision, clean_reason
from verification.validators import check_official_address, check_superannuation_not_too_late, clean_mobile
from verification.visibility.rules import has_searchable_word, normalise_search


class OrganisationSearchForm(AccessibleForm):
    q = forms.CharField(label=_("Name or short code"), required=False, max_length=100,
                        help_text=_("At least two letters of the name, or the exact short code."))
    state = forms.ChoiceField(label=_("State / UT"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("Any"))] + list(State.choices)


def ending_confirmation(organisation: Organisation, ends: EndsElsewhere | None) -> forms.BooleanField | None:
    """The box a person ticks to say they know that being verified by ``organisation`` at
    once ends their verification elsewhere or, with none, their admin role elsewhere
    (``ends``: selectors.ends_elsewhere); None when it ends neither (a request waiting
    elsewhere, which it withdraws, is said on the page and needs no box: the person may ask
    there again)."""
    ending = [profile.organisation.name for profile in ends.ending] if ends else []
    roles_ending = [role.organisation.name for role in ends.roles_ending] if ends else []
    if not (ending or roles_ending):
        return None
    values = {"organisation": organisation.name, "ending": ", ".join(ending), "roles": ", ".join(roles_ending)}
    if ending:
        label = _("I understand that being verified by %(organisation)s ends my verification in %(ending)s")
        required = _("Tick the box to confirm that being verified here ends your verification in %(ending)s.")
    else:
        label = _("I understand that being verified by %(organisation)s ends my admin role in %(roles)s")
        required = _("Tick the box to confirm that being verified here ends your admin role in %(roles)s.")
    return forms.BooleanField(label=label % values, error_messages={"required": required % values},
                              widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))


class JoinRequestForm(AccessibleForm):
    designation = forms.CharField(label=_("Designation"), max_length=PROFILE_FIELDS["designation"],
                                  validators=[refuse_invisible_only],
                                  help_text=_("For example: Section Officer, District Agriculture Officer."))
    office = forms.CharField(label=_("Office or unit"), max_length=PROFILE_FIELDS["office"],
                             validators=[refuse_invisible_only],
                             help_text=_("The office, division or unit you work in."))
    employee_code = forms.CharField(label=_("Employee code"), max_length=PROFILE_FIELDS["employee_code"],
                                    validators=[refuse_invisible_only])
    official_email = forms.EmailField(label=_("Official email address"), max_length=PROFILE_FIELDS["official_email"],
                                      help_text=_("Your address on a government domain, for example name@dept.gov.in: "
                                                  "one of your account's addresses that you have confirmed."))
    mobile = forms.CharField(label=_("Mobile number"), max_length=PROFILE_FIELDS["mobile"],
                             help_text=_("A 10-digit Indian mobile number."),
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    superannuation_date = DayField(
        label=_("Date of superannuation"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The date you retire, if you know it."),
    )

    def __init__(self, *args, organisation: Organisation, ends: EndsElsewhere | None = None, automatic: bool = False,
                 **kwargs):
        """``organisation``: the one asked (an address is official for it or not). ``ends``:
        what being verified here ends elsewhere (selectors.ends_elsewhere). When the
        organisation may verify them at once (``automatic``), the request is sent only once a
        box says they know it (ending_confirmation), as an admin verifying them ticks one
        (DecisionForm)."""
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        box = ending_confirmation(organisation, ends) if automatic else None
        if box is not None:
            self.fields["confirm"] = box

    def clean_official_email(self):
        address = self.cleaned_data["official_email"].strip().lower()
        check_official_address(address, self.organisation)
        return address

    def clean_mobile(self):
        return clean_mobile(self.cleaned_data["mobile"])

    def clean_superannuation_date(self):
        value = self.cleaned_data.get("superannuation_date")
        if value is not None and value <= timezone.localdate():
            raise ValidationError(_("The date of superannuation must be in the future."), code="past")
        if value is not None:
            check_superannuation_not_too_late(value)
        return value


class DecisionForm(AccessibleForm):
    decision = forms.ChoiceField(
        label=_("Your decision"), widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        # Verbs, as the error and the reason's hint name them: not the application's Decision "Reject"
        # (in Hindi and Marathi the status, "rejected").
        choices=[(JoinDecision.VERIFY, pgettext_lazy("verification decision", "Verify")),
                 (JoinDecision.REJECT, pgettext_lazy("verification decision", "Reject"))],
        error_messages={"required": _("Choose verify or reject."), "invalid_choice": _("Choose verify or reject.")},
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you reject: the person is sent it."),
    )
    reason.required_when = True  # neither "optional" nor starred: the hint says when
    confirm = forms.BooleanField(
        label=_("I have checked this request"), required=False,
        help_text=_("Required to reject it, or to verify someone verified in another organisation or holding an admin "
                    "role there (that verification, or that role, ends)."),
    )
    confirm.required_when = True

    def __init__(self, *args, moving: bool = False, **kwargs):
        """``moving``: the person is verified in another organisation, or holds an admin role,
        which verifying them here ends."""
        super().__init__(*args, **kwargs)
        self.moving = moving

    def clean_reason(self):
        return clean_reason(self.cleaned_data["reason"])  # as the service stores it: control characters alone are no reason

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        if decision == JoinDecision.REJECT and not data.get("reason") and "reason" not in self.errors:
            self.add_error("reason", _("Give the reason for rejecting: the person is sent it."))
        needs_confirming = decision == JoinDecision.REJECT or (decision == JoinDecision.VERIFY and self.moving)
        if needs_confirming and not data.get("confirm") and "confirm" not in self.errors:
            self.add_error("confirm", _("Tick the box to confirm the decision."))
        return data


class BulkDecisionForm(DecisionForm):
    """The same decision on the requests chosen in the queue, once confirmed."""

    confirm = forms.BooleanField(label=_("I have checked each request listed above"),
                                 error_messages={"required": _("Tick the box to confirm the decision.")})


class QueueChoiceForm(forms.Form):
    """The requests ticked in the queue's table for one decision (a box in each row, the
    table's own). When none of them still waits, the queue comes back with the refusal
    summed up, its link going to the first box (``error_target``), and said above the boxes."""

    profile = forms.Field(label=_("Requests"), required=False)

    def refuse_nothing_chosen(self, first_box_id):
        self.is_valid()
        self.fields["profile"].error_target = first_box_id
        self.add_error("profile", ValidationError(_("Choose at least one waiting request."), code="required"))


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=VerificationStatus.choices)
    organisation = forms.IntegerField(required=False, widget=forms.HiddenInput)


class MembersFilterForm(AccessibleForm):
    """Finding members by name or address, leaving out the suspended ones, and keeping only
    those at a domain no longer the organisation's."""

    q = forms.CharField(label=_("Name or email address"), required=False, max_length=MEMBER_QUERY_MAX,
                        help_text=_("A word of at least three letters or digits of a name or an email address."))
    verified_only = forms.BooleanField(label=_("Verified only (leave out suspended)"), required=False)
    off_domain = forms.BooleanField(
        label=_("Only those at a domain no longer the organisation's"), required=False,
        help_text=_("Their official address is on a domain removed from the organisation or from one above it, "
                    "and not official for it since."))

    def clean_q(self):
        """A search shorter than MEMBER_QUERY_MIN, or without a word of that many letters
        or digits (which would search nothing: has_searchable_word), is refused here, said
        at the field, as the directory's is; an empty one is no search."""
        query = self.cleaned_data["q"]
        if query and len(normalise_search(query)) < MEMBER_QUERY_MIN:
            raise ValidationError(_("Type at least %(min)s characters to search."), code="too_short",
                                  params={"min": MEMBER_QUERY_MIN})
        if query and not has_searchable_word(query):
            raise ValidationError(_("Type a word of at least %(min)s letters or digits to search: a part of a name "
                                    "or an email address."), code="no_word", params={"min": MEMBER_QUERY_MIN})
        return query


class EndForm(AccessibleForm):
    """Suspending or revoking a verified profile."""

    reason_code = forms.ChoiceField(
        label=_("Reason"), choices=ADMIN_END_REASONS, widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": _("Choose the reason."), "invalid_choice": _("Choose the reason.")},
    )
    reason = forms.CharField(label=_("Note"), required=False, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("What happened, for the record. The person is sent it."))
    confirm = forms.BooleanField(error_messages={"required": _("Tick the box to confirm.")})

    def __init__(self, *args, confirm_label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = confirm_label


class ReinstateForm(AccessibleForm):
    reason = forms.CharField(label=_("Note"), required=False, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Why the suspension ends, for the record. The person is sent it."))
    confirm = forms.BooleanField(label=_("Yes, verify this person again"),
                                 error_messages={"required": _("Tick the box to confirm.")})


class WithdrawForm(AccessibleForm):
    """The person withdraws their waiting request: it cannot be taken back, and it counts
    against the requests they may make in a day (services._check_request_rate)."""

    confirm = forms.BooleanField(
        label=_("Yes, withdraw this request"),
        error_messages={"required": _("Tick the box to confirm that you want to withdraw this request.")},
    )


class AutoVerificationForm(AccessibleForm):
    auto_verify_official_domain = forms.BooleanField(
        label=_("Verify automatically whoever asks with a confirmed address on one of our verified domains"), required=False,
    )
