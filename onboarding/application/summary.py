"""The application's answers as label/value rows, for review pages, the PDF and emails."""

from django import forms
from django.utils.translation import gettext

from onboarding.application.forms import SECTION_FORMS
from onboarding.models import Section
from portal.organisations.models import Organisation


def display_value(field, value):
    if isinstance(field, forms.BooleanField):
        return gettext("Yes") if value else gettext("No")
    if isinstance(field, forms.ModelChoiceField):
        if not value:
            return ""
        try:
            return str(Organisation.objects.only("name").get(pk=int(value)))
        except (Organisation.DoesNotExist, TypeError, ValueError):
            return ""
    choices = dict((str(k), v) for k, v in getattr(field, "choices", []) or [])
    if isinstance(value, list):
        return ", ".join(str(choices.get(str(v), v)) for v in value)
    if choices:
        return str(choices.get(str(value), value))
    return "" if value is None else str(value)


def section_rows(application, section, data=None):
    form = SECTION_FORMS[section](application=application)
    stored = application.section_data(section) if data is None else data.get(section.value, {})
    rows = []
    for name, field in form.fields.items():
        value = stored.get(name)
        if isinstance(field, forms.BooleanField) or value not in (None, "", []):
            rows.append({"name": name, "label": field.label, "value": display_value(field, value)})
    return rows


def application_summary(application, data=None):
    return [
        {"section": section, "rows": section_rows(application, section, data)}
        for section in Section
        if section in SECTION_FORMS
    ]
