"""The application's answers as label/value rows, for review pages, the PDF and emails."""

from functools import cache

from django import forms
from django.utils.translation import gettext

from onboarding.application.forms import SECTION_FORMS, applies
from onboarding.models import Section
from portal.forms import CountField
from portal.organisations.models import Organisation
from portal.organisations.states import local_name_language


@cache
def section_fields(section) -> tuple:
    """The section's fields as its form has them, in order, as (name, field, its choices by
    their value as text): built once per process (a form's fields depend on no application;
    their labels and choices are translated when shown). Making the six forms for every
    summary cost a review page about 1.5 ms."""
    return tuple((name, field, _choices(field)) for name, field in SECTION_FORMS[section]().fields.items())


def _choices(field) -> dict:
    if isinstance(field, forms.ModelChoiceField):
        return {}  # read from the database when shown
    return {str(k): v for k, v in getattr(field, "choices", []) or []}


def display_value(field, value, choices=None):
    """``value`` as the summary shows it; ``choices``: the field's, as section_fields gives them."""
    if isinstance(field, forms.BooleanField):
        return gettext("Yes") if value else gettext("No")
    if isinstance(field, forms.ModelChoiceField):
        if not value:
            return ""
        # Only the organisations the field accepts (active ones, whose names are public): the
        # draft keeps an id the field refused, which may be a pending or suspended one's.
        try:
            return str(field.queryset.only("name").get(pk=int(value)))
        except (Organisation.DoesNotExist, TypeError, ValueError):
            return gettext("Not an organisation that can be chosen")
    if value is None or value == "":
        return ""  # no answer (a choice not taken, in the list of changes): not "None" or "Choose…"
    if isinstance(field, CountField):
        return field.shown(value)  # grouped, as the portal writes counts
    if choices is None:
        choices = _choices(field)
    if isinstance(value, list):
        return ", ".join(str(choices.get(str(v), v)) for v in value)
    if choices:
        return str(choices.get(str(value), value))
    return "" if value is None else str(value)


def section_rows(application, section, data=None):
    stored = application.section_data(section) if data is None else data.get(section.value, {})
    rows = []
    for name, field, choices in section_fields(section):
        if not applies(field, stored):
            continue
        value = stored.get(name)
        if isinstance(field, forms.BooleanField) or value not in (None, "", []):
            rows.append({"name": name, "label": field.label, "value": display_value(field, value, choices),
                         "lang": _language(section, name, value, stored)})
    return rows


def _language(section, name, value, stored) -> str | None:
    """The language of an answer that names the organisation in a known one (its lang where
    shown): its name in English, its name in Hindi or the state's language; None for others."""
    if section != Section.ORGANISATION or not isinstance(value, str) or not value:
        return None
    if name == "name":
        return "en"
    return local_name_language(value, str(stored.get("state") or "")) if name == "name_local" else None


def application_summary(application, data=None):
    return [
        {"section": section, "rows": section_rows(application, section, data)}
        for section in Section
        if section in SECTION_FORMS
    ]


def summary_key(summary) -> tuple:
    """Everything ``summary`` shows but its labels (which depend on the field and the
    language only), as a hashable value: the summary's HTML is kept by it."""
    return tuple((block["section"].value, tuple((row["name"], row["value"], row.get("lang")) for row in block["rows"]))
                 for block in summary)
