from django import template

from portal.text import inert as inert_text

register = template.Library()


@register.filter
def warnings_of(form, name):
    return getattr(form, "warnings", {}).get(name, [])


@register.filter
def inert(value):
    """A typed name as plain-text mail shows it: one line, web addresses unlinkable."""
    return inert_text(value)
