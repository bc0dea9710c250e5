from django import forms
from django.utils.translation import gettext_lazy as _

from api.services import NAME_MAX
from portal.forms import AccessibleForm


class ApiClientForm(AccessibleForm):
    name = forms.CharField(
        label=_("Name of the client"), max_length=NAME_MAX,
        help_text=_("The application that will use the token, for example: e-Office, district HRMS."),
    )


class RevokeForm(AccessibleForm):
    pass
