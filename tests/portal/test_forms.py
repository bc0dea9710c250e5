"""What every form of the portal does to a text answer before checking it (portal.forms)."""

import importlib
import pkgutil
import re

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation

from portal.forms import AccessibleForm


class Example(AccessibleForm):
    name = forms.CharField(max_length=20)
    remarks = forms.CharField(max_length=12, required=False, widget=forms.Textarea)
    password = forms.CharField(required=False, widget=forms.PasswordInput)


@pytest.mark.parametrize("name", ["Ports\u202eTNEMTRAPED", "Ports\x1b[31m", "Ports\nDept", "Ports\tDept", "Ports\x85Dept"])
def test_a_one_line_answer_with_a_control_character_is_refused_at_its_field(name):
    form = Example({"name": name})
    assert not form.is_valid()
    assert form.errors["name"] == ["Line breaks, tabs and other control characters are not accepted here: type the "
                                   "answer on one line."]


def test_a_box_counts_a_line_break_as_one_character_as_the_browser_did():
    """Twelve characters as typed (the box's maxlength let them in), thirteen as sent."""
    form = Example({"name": "Ports", "remarks": "ab\r\ncd\r\nefghij", "password": "a\tb"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["remarks"] == "ab\ncd\nefghij"
    assert form.cleaned_data["password"] == "a\tb"  # a password is taken as typed
    form = Example({"name": "Ports", "remarks": "ab\r\ncd\r\nefghijk"})
    assert form.errors["remarks"] == ["Ensure this value has at most 12 characters (it has 13)."]


STORED_TWICE = ("Letters typed as one character that are stored as two (such as “ज़”) count twice: stored, this answer "
                "has {count} characters, more than the {limit} allowed. Shorten it.")


def test_an_answer_is_measured_as_it_is_stored_composed():
    """"ज़" typed as one character (U+095B, as text converted from a legacy font has it) is
    stored composed as two (ज + nukta): an answer the box took as within its length but
    longer once composed is refused at its field, never cut later by what stores it; a
    password is taken as typed."""
    nukta = "\u095b"
    form = Example({"name": nukta * 11, "remarks": nukta * 7, "password": nukta})
    assert form.errors == {"name": [STORED_TWICE.format(count=22, limit=20)],
                           "remarks": [STORED_TWICE.format(count=14, limit=12)]}
    # Too long as typed already: said as every field says it.
    assert Example({"name": nukta * 21}).errors["name"] == ["Ensure this value has at most 20 characters (it has 42)."]
    form = Example({"name": nukta * 10, "remarks": f"{nukta}\r\n{nukta}", "password": nukta})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"name": "\u091c\u093c" * 10, "remarks": "\u091c\u093c\n\u091c\u093c", "password": nukta}


@pytest.mark.parametrize("mark", ["\u030d", "\u0329", "\u093c"], ids=["above", "below", "nukta"])
def test_a_pile_of_marks_on_one_letter_is_refused_at_its_field(mark):
    """Each mark is drawn beyond the one before: a hundred drawn over the lines above or below
    hide them. Eight on a letter are more than any script writes, and taken."""
    message = ["A letter of this answer carries more than 8 marks (accents, vowel signs): remove the extra marks."]
    form = Example({"name": f"Central{mark * 9}", "remarks": f"P{mark * 9}"})
    assert form.errors == {"name": message, "remarks": message}
    form = Example({"name": f"Central{mark * 8}", "remarks": "क़्षेत्र"})
    assert form.is_valid(), form.errors


def test_each_form_has_its_own_copy_of_the_fields_checks():
    """The check is added to the form's copy of a field, once, never to the class's."""
    from portal.forms import refuse_control_characters

    for _ in range(3):
        Example({"name": "Ports"}).is_valid()
    assert refuse_control_characters not in Example.base_fields["name"].validators
    assert Example().fields["name"].validators.count(refuse_control_characters) == 1


PACKAGES = ("portal", "onboarding", "verification", "monitoring", "api")
LATIN_WORDS = re.compile(r"[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)+")  # "IPv4 or IPv6", "Enter a valid"


class Numbers(dict):
    """Parameters for any message: 2 for every placeholder (a plural form, a limit)."""

    def __missing__(self, key):
        return 2


def portal_forms():
    for package in PACKAGES:
        for module in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)
    found, pending = [], [forms.BaseForm]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.split(".")[0] in PACKAGES and subclass not in found:
                found.append(subclass)
    return found


def refusals(field):
    """The errors a field of Django's (its own messages and its validators') may refuse a value with."""
    errors = [ValidationError(message, params=Numbers(n=2)) for message in field.error_messages.values()]
    for validator in field.validators:
        if getattr(validator, "message", None) is not None:
            errors.append(ValidationError(validator.message, params=Numbers(n=2)))
            continue
        try:  # a function (validate_ipv46_address): its error for a value it refuses
            validator("\x01 not a value \x01")
        except ValidationError as error:
            errors.append(error)
        except Exception:  # a validator of files or dates: not for this text
            continue
    return errors


def test_every_error_of_the_portals_form_fields_is_in_hindi_and_marathi():
    """Django's Hindi and Marathi lack some of its fields' messages (the breach report's
    client address, a GenericIPAddressField, said "Enter a valid IPv4 or IPv6 address."
    in English): every form field of the portal is walked, each message in each language."""
    untranslated, fields = [], 0
    for form_class in portal_forms():
        for name, field in form_class.base_fields.items():
            fields += 1
            for error in refusals(field):
                with translation.override("en"):
                    english = " ".join(error)
                for language in ("hi", "mr"):
                    with translation.override(language):
                        text = " ".join(error)
                    if text == english or LATIN_WORDS.search(text):
                        untranslated.append((f"{form_class.__module__}.{form_class.__name__}.{name}", language, text))
    assert fields > 100
    assert untranslated == [], "\n".join(map(str, untranslated))


def portal_date_fields():
    """Every date and date-and-time field of the portal's forms, by where it is declared."""
    return [(f"{form_class.__module__}.{form_class.__name__}.{name}", field)
            for form_class in portal_forms() for name, field in form_class.base_fields.items()
            if isinstance(field, forms.DateField | forms.DateTimeField)]


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_every_date_field_reads_a_day_first_date_as_india_writes_it(language):
    """05/12/2025 is the 5th of December in India; Django's English formats read it as
    12 May (month first). Every date field of the portal (the breach report's period, the
    audit log's From and To, a role's last day, ...) reads ISO and day-first dates, in
    every language of the page, and nothing else."""
    from datetime import date, datetime

    fields = portal_date_fields()
    assert len(fields) >= 7
    with translation.override(language):
        for where, field in fields:
            moment = isinstance(field, forms.DateTimeField)
            suffix = " 18:00" if moment else ""
            for typed in ("05/12/2025", "05-12-2025", "2025-12-05"):
                value = field.clean(typed + suffix)
                day = value.date() if isinstance(value, datetime) else value
                assert day == date(2025, 12, 5), (where, typed, value)
            for typed in ("12/25/2025", "05/12/25", "Dec 5 2025", "5 December 2025"):
                with pytest.raises(ValidationError) as refused:
                    field.clean(typed + suffix)
                assert refused.value.code == "invalid", (where, typed)


def test_a_date_in_a_form_the_field_does_not_take_is_told_with_the_forms_it_takes():
    """On the portal's pages (the administration site's forms keep Django's own messages)."""
    pages = [(where, field) for where, field in portal_date_fields() if ".admin." not in where]
    assert len(pages) >= 7
    for where, field in pages:
        moment = isinstance(field, forms.DateTimeField)
        with pytest.raises(ValidationError) as refused:
            field.clean("12/25/2025 18:00" if moment else "12/25/2025")
        expected = ("Enter a valid date and time, as 2026-11-30 18:00 or 30/11/2026 18:00 (day, month, year)."
                    if moment else "Enter a valid date, as 2026-11-30 or 30/11/2026 (day, month, year).")
        assert refused.value.messages == [expected], where
