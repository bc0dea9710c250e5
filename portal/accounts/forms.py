from django import forms
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import SuffixKind


class EmailRuleForm(forms.Form):
    suffix = forms.CharField(
        label=_("Domain suffix"),
        max_length=253,
        help_text=_("e.g. gov.in, or -external.gov.in for a label ending"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SuffixKind.choices, widget=forms.Select(attrs={"class": "form-select"}))
    note = forms.CharField(
        label=_("Note"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
