"""What a list page says on paper only. Its filter form is not printed (portal.css: a
control does nothing on paper), so the paper says in words which filters the list shows:
``{% printed_filters form %}`` with the page's filter form, or ``{% printed_filters
_("Status") status_label _("Organisation") organisation.name %}`` with labels and values
in pairs, for a page whose filters are not a form. Written by includes/printed_filters.html,
hidden on screen, where the form says it."""

from datetime import date

from django import template
from django.forms import BaseForm, ChoiceField, ModelChoiceField
from django.utils.text import Truncator
from django.utils.translation import gettext

from portal.templatetags.portal_tags import day

register = template.Library()

# A value is said at most this long (a search is bounded by its field; a value in pairs by its page).
VALUE_MAX = 120


@register.inclusion_tag("includes/printed_filters.html")
def printed_filters(*asked):
    """The filters a list shows, as (label, value) in words: of a form, each field sent
    with a value it takes (a refused one does not filter the list: its page drops it, or
    lists nothing and says why at the field), a choice by its label, a box ticked as
    "Yes", a day as the pages write it; of pairs, each whose value is not empty."""
    if len(asked) == 1 and isinstance(asked[0], BaseForm):
        pairs = _of_form(asked[0])
    else:
        pairs = [(label, value) for label, value in zip(asked[::2], asked[1::2], strict=False)]
    return {"filters": [{"label": str(label), "value": Truncator(_said(value)).chars(VALUE_MAX)}
                        for label, value in pairs if _said(value)]}


def _of_form(form: BaseForm) -> list[tuple[str, object]]:
    if not form.is_bound:
        return []
    form.is_valid()  # (its errors are read once: the page shows them too)
    pairs = []
    for name, field in form.fields.items():
        sent = form.data.get(form.add_prefix(name))
        if field.widget.is_hidden or name in form.errors or not str(sent or "").strip():
            continue
        value = form.cleaned_data.get(name)
        if isinstance(value, bool):  # a box ticked (one not ticked filters nothing)
            value = gettext("Yes") if value else ""
        elif isinstance(value, str) and isinstance(field, ChoiceField) and not isinstance(field, ModelChoiceField):
            value = dict(field.choices).get(value, value)
        pairs.append((field.label, value))
    return pairs


def _said(value) -> str:
    if isinstance(value, date):
        return day(value)
    return " ".join(str(value if value is not None else "").split())
