"""Forms of the role pages: finding a person by address, granting a role (with an
optional last day and a reason), and confirming a revocation."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.forms import AccessibleForm, DayField
from portal.organisations.models import PlatformRole
from portal.organisations.role_selectors import SEARCH_MAX_LENGTH, SEARCH_MIN_LENGTH
from portal.organisations.services import REASON_MAX_LENGTH
from portal.organisations.states import JURISDICTION_CHOICES

EVERYWHERE_CHOICE = ("", _("Everywhere: every state, union territory and the centre"))
LONGEST_TERM_YEARS = 10


def last_day_allowed(today: date) -> date:
    """The furthest last day a role may be given: the same date ``LONGEST_TERM_YEARS`` on
    (28 February for 29 February)."""
    try:
        return today.replace(year=today.year + LONGEST_TERM_YEARS)
    except ValueError:  # 29 February, that year not a leap year
        return today.replace(year=today.year + LONGEST_TERM_YEARS, day=28)


class EmailSearchForm(AccessibleForm):
    email = forms.CharField(
        label=_("Email address"), max_length=SEARCH_MAX_LENGTH, min_length=SEARCH_MIN_LENGTH,
        help_text=_("The whole address, or at least its first three characters."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"}),
    )


class _GrantForm(AccessibleForm):
    buttons = (("step", "review"), ("step", "confirm"), ("step", "edit"))  # templates/portal/roles/*_grant.html
    ends_on = DayField(
        label=_("Last day of the role"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty for a role that lasts until it is revoked. It ends at midnight after this day (India time)."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the role is given: it is kept in the audit log, and sent to them in the email that tells them. "
                    "At most 500 characters."),
    )

    def clean_ends_on(self):
        day = self.cleaned_data.get("ends_on")
        today = timezone.localdate()
        if day is not None and day < today:
            raise forms.ValidationError(_("The last day cannot be in the past."), code="past")
        if day is not None and day > last_day_allowed(today):
            raise forms.ValidationError(_("The last day can be at most ten years from today."), code="too_far")
        return day

    @property
    def ends_at(self):
        """The moment the role ends: midnight after the last day, in the portal's time zone."""
        day = self.cleaned_data.get("ends_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class PlatformGrantForm(_GrantForm):
    role = forms.ChoiceField(label=_("Role"), choices=PlatformRole.choices,
                             widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    jurisdiction = forms.ChoiceField(
        label=_("Where"), required=False, choices=[EVERYWHERE_CHOICE, *JURISDICTION_CHOICES],
        help_text=_("A state administrator: one state, union territory or the centre. An auditor: one of those, or "
                    "everywhere. A superadmin: everywhere."),
    )
    field_order = ["role", "jurisdiction", "ends_on", "reason"]

    def clean(self):
        cleaned = super().clean()
        role, jurisdiction = cleaned.get("role"), cleaned.get("jurisdiction") or ""
        if role == PlatformRole.SUPERADMIN and jurisdiction:
            self.add_error("jurisdiction", _("A superadmin's role covers everywhere: choose “Everywhere”."))
        if role == PlatformRole.STATE_ADMIN and not jurisdiction:
            self.add_error("jurisdiction", _("A state administrator's role covers one state, union territory or the "
                                             "centre: choose it."))
        return cleaned


class AdminGrantForm(_GrantForm):
    pass


class RevokeForm(AccessibleForm):
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the role is taken away: it is kept in the audit log, and sent to them in the email that tells "
                    "them. At most 500 characters."),
    )
    confirm = forms.BooleanField(label=_("I confirm that this role should end now"))
