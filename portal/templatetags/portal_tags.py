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


@register.filter(expects_localtime=True)
def isoformat(value):
    """A date and time in the current time zone in ISO 8601, as ``date:'c'`` writes it (for
    ``<time datetime>``), without the date filter's format parser: for long lists."""
    return value.isoformat() if hasattr(value, "isoformat") else ""
