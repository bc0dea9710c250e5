from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.forms import AccessibleForm, DayAndTimeField, records_day_allowed, refuse_invisible_only
from portal.privacy.breach import breach_period_too_long
from portal.privacy.models import REMINDED_KINDS, HoldTarget, PrivacyRequestKind, RetentionKind


class RetentionPolicyForm(AccessibleForm):
    days = forms.IntegerField(label=_("Days kept"), min_value=30, max_value=3650,
                              help_text=_("Between 30 and 3,650 days."))
    grace_days = forms.IntegerField(label=_("Days between the reminder and the erasure"), min_value=0, max_value=365,
                                    help_text=_("Drafts and returned applications only, from 1 to 365; "
                                                "0 for the other kinds."))
    enabled = forms.BooleanField(label=_("Applied by the daily run"), required=False)
    # Shown only when the change makes records due that the policy as it stands keeps (the view).
    confirm = forms.BooleanField(label=_("I understand that these records will be erased or reduced, "
                                         "which cannot be undone"), required=False)

    def __init__(self, *args, kind: str = "", **kwargs):
        """``kind``: the policy's; a draft or a returned application is reminded once left for
        the policy's days (not kept for them), and an application returned for correction is
        withdrawn after its reminder, not erased: the form says so."""
        super().__init__(*args, **kwargs)
        if kind in REMINDED_KINDS:  # reminded once left for these days, acted on the grace days later
            self.fields["days"].label = _("Days untouched before the reminder")
        if kind == RetentionKind.RETURNED_APPLICATION:
            self.fields["grace_days"].label = _("Days between the reminder and the withdrawal")
            self.fields["confirm"].label = _("I understand that these applications will be withdrawn, "
                                             "which cannot be undone")


class LegalHoldForm(AccessibleForm):
    target_type = forms.ChoiceField(label=_("What is held"), choices=HoldTarget.choices)
    target_id = forms.IntegerField(label=_("Record number"), min_value=1, max_value=2**62,
                                   help_text=_("The number of the account, application or verification record."))
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             validators=[refuse_invisible_only],
                             help_text=_("Why retention must not touch it, e.g. a court case or an appeal."))


class LegalHoldReleaseForm(AccessibleForm):
    reason = forms.CharField(label=_("Why the hold ends"), max_length=500, validators=[refuse_invisible_only])

    def __init__(self, *args, acts: bool = False, **kwargs):
        """``acts``: released, the hold lets the next daily run act on records past their
        retention time (the page lists them): the release is confirmed with a box."""
        super().__init__(*args, **kwargs)
        self.acts = acts
        if acts:
            self.fields["confirm"] = forms.BooleanField(
                label=_("I understand that the next daily run acts on these records as listed above, which cannot be "
                        "undone"), required=False)

    def clean(self):
        data = super().clean()
        if self.acts and not data.get("confirm"):
            self.add_error("confirm", _("Tick the box to release the hold all the same."))
        return data


class NoticeAcceptForm(AccessibleForm):
    accept = forms.BooleanField(label=_("I have read the data protection notice and accept it"))
    confirming_fields = ("accept",)  # an acceptance is recorded for good: given again by hand, never put back


class NoticePublishForm(AccessibleForm):
    version = forms.RegexField(label=_("Version"), max_length=20, regex=r"^[0-9A-Za-z._-]+$",
                               help_text=_("A new name for the new text, e.g. 2026.2 (letters, digits, dots, dashes)."),
                               error_messages={"invalid": _("Use only letters, digits, dots and dashes.")})
    body_en = forms.CharField(label=_("Notice in English"), max_length=20000, widget=forms.Textarea(attrs={"rows": 12}),
                              validators=[refuse_invisible_only], help_text=_("Paragraphs separated by an empty line."))
    body_hi = forms.CharField(label=_("Notice in Hindi"), max_length=20000, required=False,
                              widget=forms.Textarea(attrs={"rows": 6}), help_text=_("English is shown when empty."))
    body_mr = forms.CharField(label=_("Notice in Marathi"), max_length=20000, required=False,
                              widget=forms.Textarea(attrs={"rows": 6}), help_text=_("English is shown when empty."))
    # Published, a version is never changed, and everyone must accept it before going on.
    confirm = forms.BooleanField(
        label=_("I understand that a published version cannot be changed or withdrawn, and that everyone is asked "
                "to accept it at their next sign-in"),
        error_messages={"required": _("Tick the box to publish this version.")})


class CorrectionForm(AccessibleForm):
    full_name = forms.CharField(
        label=_("Your name"), max_length=150, validators=[refuse_invisible_only],
        help_text=_("While you are a verified government user, the directory and the verification API show the name "
                    "your organisation verified until its administrators accept the change."))


class PrivacyRequestForm(AccessibleForm):
    kind = forms.ChoiceField(label=_("What you ask"), choices=PrivacyRequestKind.choices,
                             widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    details = forms.CharField(label=_("Details"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                              validators=[refuse_invisible_only],
                              help_text=_("For a correction: which details are wrong and what they should be."))


class NomineeForm(AccessibleForm):
    name = forms.CharField(label=_("Nominee's name"), max_length=150, validators=[refuse_invisible_only])
    email = forms.EmailField(label=_("Nominee's email address"), max_length=254)
    relationship = forms.CharField(label=_("Relationship to you"), max_length=100, validators=[refuse_invisible_only])


class DecisionForm(AccessibleForm):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                                 choices=[("grant", _("Grant")), ("refuse", _("Refuse"))])
    reason = forms.CharField(label=_("Reason (the person reads it)"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}), validators=[refuse_invisible_only])

    def __init__(self, *args, erasure: bool = False, **kwargs):
        """``erasure``: granting it closes the account for good, once confirmed."""
        super().__init__(*args, **kwargs)
        self.erasure = erasure
        if erasure:
            self.fields["confirm"] = forms.BooleanField(
                label=_("I understand that granting this erasure closes the account for good"), required=False,
                help_text=_("Required to grant it."), widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
            self.fields["confirm"].required_when = True

    def clean(self):
        data = super().clean()
        if self.erasure and data.get("decision") == "grant" and not data.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm the erasure."))
        return data


class BreachForm(AccessibleForm):
    start = DayAndTimeField(label=pgettext_lazy("period", "From"),
                            help_text=_("e.g. 2026-11-30 18:00 or 30/11/2026 18:00 (day, month, year), "
                                        "Indian Standard Time"))
    end = DayAndTimeField(label=pgettext_lazy("period", "To"), help_text=_("At most 90 days after the start."))
    actor = forms.CharField(label=_("Actor's email address or account number"), max_length=254, required=False)
    ip = forms.GenericIPAddressField(label=_("Client address"), required=False)
    second_language = forms.ChoiceField(label=_("Second language of the notice"), initial="hi",
                                        choices=[("hi", _("Hindi")), ("mr", _("Marathi"))])

    def clean(self):
        cleaned = super().clean()
        for name in ("start", "end"):
            if cleaned.get(name) and not records_day_allowed(cleaned[name].date()):
                self.add_error(name, _("Enter a date between 2000 and next year."))
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end <= start:
                self.add_error("end", _("The end must be after the start."))
            elif breach_period_too_long(start, end):
                self.add_error("end", _("Choose at most 90 days."))
        return cleaned
