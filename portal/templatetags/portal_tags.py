from datetime import date
from functools import lru_cache

from django import template
from django.utils.formats import date_format
from django.utils.translation import get_language

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


@lru_cache(maxsize=4096)
def _day(language: str | None, year: int, month: int, number: int) -> str:
    return date_format(date(year, month, number), "j M Y")


@register.filter(expects_localtime=True)
def day(value):
    """A date (or a date and time, in the current time zone) as ``date:"j M Y"`` writes
    it ("2 Dec 2026", the month in the page's language), each day formatted once per
    process and language: the format parser costs more than the rest of a table's row."""
    if not isinstance(value, date):  # a datetime is a date too
        return ""
    return _day(get_language(), value.year, value.month, value.day)
