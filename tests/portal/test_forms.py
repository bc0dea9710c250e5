"""What every form of the portal does to a text answer before checking it (portal.forms)."""

import pytest
from django import forms

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


def test_each_form_has_its_own_copy_of_the_fields_checks():
    """The check is added to the form's copy of a field, once, never to the class's."""
    from portal.forms import refuse_control_characters

    for _ in range(3):
        Example({"name": "Ports"}).is_valid()
    assert refuse_control_characters not in Example.base_fields["name"].validators
    assert Example().fields["name"].validators.count(refuse_control_characters) == 1
