"""Forms of profile visibility: the directory's search, an organisation's policy, a
person's own choices."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.forms import AccessibleForm
from verification.visibility.models import Audience, ProfileField
from verification.visibility.rules import SEARCH_MAX, SEARCH_MIN, has_searchable_word, normalise_search


class DirectorySearchForm(AccessibleForm):
    q = forms.CharField(
        label=_("Search people"), required=False, max_length=SEARCH_MAX,
        # Formatted when shown (in the viewer's language), not when the class is made.
        help_text=lazy(lambda: gettext(
            "At least %(n)s characters of a name, designation, organisation, office, address, mobile number or "
            "employee code. Only what you may see is searched. When very many people match, some of them are "
            "shown: search for more of the text to narrow it.") % {"n": SEARCH_MIN}, str)(),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def clean_q(self):
        """A search shorter than SEARCH_MIN once its spaces are normalised, or without a
        word of that many letters or digits (has_searchable_word), is refused here, said
        at the field, rather than answered with nothing; an empty one is no search."""
        query = self.cleaned_data["q"]
        if query and len(normalise_search(query)) < SEARCH_MIN:
            raise ValidationError(_("Type at least %(min)s characters to search."), code="too_short",
                                  params={"min": SEARCH_MIN})
        if query and not has_searchable_word(query):
            raise ValidationError(_("Type a word of at least %(min)s letters or digits to search: a part of a name, "
                                    "a designation, an address or a number."), code="no_word", params={"min": SEARCH_MIN})
        return query


def _audience_choices():
    return [(str(value), label) for value, label in Audience.choices]


class VisibilityPolicyForm(AccessibleForm):
    """One choice of audience for each field of the organisation's people."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ProfileField:
            self.fields[name.value] = forms.TypedChoiceField(
                label=name.label, choices=_audience_choices(), coerce=int,
                error_messages={"required": _("Choose who may see this field."),
                                "invalid_choice": _("Choose who may see this field.")},
            )
            self.fields[name.value].widget.attrs["class"] = "form-select"

    def audiences(self) -> dict:
        return {name: self.cleaned_data[name.value] for name in ProfileField}


class PersonalVisibilityForm(AccessibleForm):
    """The person's own choice for each field: their organisation's, or narrower. A
    stored choice the organisation has since narrowed its own below (or to) is offered
    too, as having no effect for now, so that saving the form keeps it: the narrower of
    the two applies again when the organisation widens its own. ``current``: the stored
    choices (by field), also the form's initial values."""

    def __init__(self, *args, policy: dict | None, current: dict | None = None, **kwargs):
        kwargs.setdefault("initial", {ProfileField(name).value: value for name, value in (current or {}).items()})
        super().__init__(*args, **kwargs)
        self.policy = policy
        self.current = {name: value for name, value in (current or {}).items() if value is not None}
        for name in ProfileField:
            widest = policy[name] if policy else Audience.PUBLIC
            label = (_("As my organisation chose: %(audience)s") % {"audience": widest.label} if policy
                     else _("As my organisation chooses"))
            kept = self.current.get(name)
            choices = [("", label)]
            if kept is not None and kept >= widest:
                choices.append((str(kept), _("%(audience)s (your choice, kept: no effect while your organisation's "
                                             "is the same or narrower)") % {"audience": Audience(kept).label}))
            choices += [(str(value), text) for value, text in Audience.choices if value < widest]
            self.fields[name.value] = forms.TypedChoiceField(
                label=name.label, choices=choices, coerce=int, required=False, empty_value=None,
                error_messages={"invalid_choice": _("You may only narrow who sees this field, not widen it.")},
            )
            self.fields[name.value].widget.attrs["class"] = "form-select"

    def choices(self) -> dict:
        return {name: self.cleaned_data[name.value] for name in ProfileField}

    def clean(self):
        data = super().clean()
        for name in ProfileField:
            value = data.get(name.value)
            if value is not None and self.policy and value >= self.policy[name] and value != self.current.get(name):
                self.add_error(name.value, ValidationError(_("You may only narrow who sees this field, not widen it."),
                                                           code="wider"))
        return data
