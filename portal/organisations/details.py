"""An organisation's details as people type them: its name in English and in Hindi or the
state's language, its short code and its district. One set of rules for the onboarding form,
which asks them first (onboarding.application.forms builds its fields here), and for
changing them once the organisation is on Sandes (organisation_details_change and its
page): the same fields (labels, limits, hints), the same refusals, the same short code
rule (unique on Sandes, letters in any case, as final approval checks it again)."""

import re
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.forms import refuse_control_characters, text_field
from portal.organisations.models import Level, Organisation, OrganisationStatus
from portal.organisations.selectors import short_code_holder
from portal.organisations.states import local_name_language
from portal.text import has_visible_characters, single_line

# The details an organisation's page changes, in the order the form asks them.
DETAILS = ("name", "name_local", "short_code", "district")
LIMITS = {key: Organisation._meta.get_field(key).max_length for key in DETAILS}
SHORT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,19}$")
DISTRICT_LEVELS = (Level.DISTRICT, Level.SUB_DISTRICT)


def _hint_with_example(message, example, language):
    """A hint whose example is in another language than the page's (the Hindi name on an
    English page): the example marked with its own, for a screen reader's voice reading the
    page's language cannot read it, and kept out of the translated text."""
    marked = format_html('<span lang="{}">{}</span>', language, example)
    return mark_safe(conditional_escape(str(message)) % {"example": marked})  # both parts escaped


# Translated when it is shown, not when the form is made.
with_example = lazy(_hint_with_example, SafeString)


def name_field():
    return text_field(gettext_lazy("Name of the organisation (in English)"), LIMITS["name"], autocomplete="organization")


def name_local_field():
    return text_field(
        gettext_lazy("Name in Hindi or the state's language"), LIMITS["name_local"],
        help_text=with_example(gettext_lazy("As it appears on your letterhead, e.g. %(example)s"), "गृह मंत्रालय", "hi"),
    )


def short_code_field():
    return text_field(gettext_lazy("Short code"), LIMITS["short_code"],
                      help_text=gettext_lazy("The abbreviation your organisation uses, e.g. MHA"))


def district_field():
    field = text_field(gettext_lazy("District"), LIMITS["district"], required=False,
                       help_text=gettext_lazy("Required for district and sub-district offices."))
    field.required_when = True  # required on a condition the hint states: neither "optional" nor starred
    return field


def details_fields() -> dict[str, forms.Field]:
    """A fresh field for each of DETAILS."""
    return {"name": name_field(), "name_local": name_local_field(), "short_code": short_code_field(),
            "district": district_field()}


def clean_short_code(value):
    value = (value or "").strip()
    if not SHORT_CODE_RE.match(value):
        raise ValidationError(
            _("Use 2 to 20 letters, digits or hyphens, starting with a letter or digit, for example MHA or DOP-KA."),
            code="short_code",
        )
    return value.upper()


def short_code_taken(code: str, *, exclude_id: int | None) -> str:
    """Why ``code`` cannot be the short code of the organisation ``exclude_id`` (None: one
    not made yet): another organisation has it, in any case. "" when it is free. An active
    organisation is named (its name is public); another one is not."""
    holder = short_code_holder(code, exclude_id=exclude_id)
    if holder is None:
        return ""
    if holder.status == OrganisationStatus.ACTIVE:
        return _("%(code)s is already the short code of %(name)s on Sandes. Choose another.") % {
            "code": code, "name": holder.name}
    return _("%(code)s is already the short code of another organisation. Choose another.") % {"code": code}


def short_code_held(code: str, *, exclude_id: int | None) -> str:
    """That another organisation has ``code`` (``short_code_taken``'s problem, named as it
    names it), said to whoever decides on a form naming it rather than to whoever chooses
    it: without "Choose another" (the caller says what the decider can do). "" when free."""
    holder = short_code_holder(code, exclude_id=exclude_id)
    if holder is None:
        return ""
    if holder.status == OrganisationStatus.ACTIVE:
        return _("%(code)s is already the short code of %(name)s on Sandes.") % {"code": code, "name": holder.name}
    return _("%(code)s is already the short code of another organisation.") % {"code": code}


def district_required(level: str) -> bool:
    """Whether an organisation of ``level`` must name its district."""
    return level in DISTRICT_LEVELS


def district_missing() -> str:
    return _("Enter the district of a district or sub-district office.")


def details_clean(values: dict, *, organisation: Organisation) -> dict[str, str]:
    """``values`` (DETAILS: what was typed) as ``organisation``'s details are stored, checked
    as the onboarding form checks them: each field's limit, required, not only invisible
    characters, no control character, the short code's form (upper case) and, when it is
    not the one it has, free on Sandes; the district of a district or sub-district office.
    Text composed (portal.text), as the searches compose what is typed. ValidationError,
    by field, for each that will not do."""
    cleaned, errors = {}, {}
    for key, field in details_fields().items():
        try:
            value = field.clean(str(values.get(key) or ""))
            refuse_control_characters(value)
            cleaned[key] = clean_short_code(value) if key == "short_code" else single_line(value)
        except ValidationError as error:
            errors[key] = error
    if "district" not in errors and district_required(organisation.level) \
            and not has_visible_characters(cleaned["district"]):
        errors["district"] = ValidationError(district_missing(), code="required")
    code = cleaned.get("short_code")
    if code and code != organisation.short_code:
        problem = short_code_taken(code, exclude_id=organisation.pk)
        if problem:
            errors["short_code"] = ValidationError(problem, code="short_code_taken")
    if errors:
        raise ValidationError(errors)
    return cleaned


class DetailChange(NamedTuple):
    """One detail changed: its field's label (in the language it is shown in), what it was,
    what it is ("" for none); ``state``: the organisation's, by which the language of a name
    in the state's language is known (old_language, new_language: the names' lang)."""

    key: str
    label: str
    old: str
    new: str
    state: str = ""

    def _language(self, value: str) -> str | None:
        if not value:
            return None
        if self.key == "name":
            return "en"  # the name in English
        return local_name_language(value, self.state) if self.key == "name_local" else None

    @property
    def old_language(self) -> str | None:
        return self._language(self.old)

    @property
    def new_language(self) -> str | None:
        return self._language(self.new)


def details_changes(changed: dict[str, tuple[str, str]], *, state: str = "") -> list[DetailChange]:
    """``changed`` ({field: (old, new)}, any of DETAILS) in the form's order, each with its
    label; ``state``: the organisation's (DetailChange)."""
    fields = details_fields()
    return [DetailChange(key, fields[key].label, *changed[key], state=state) for key in DETAILS if key in changed]
