from datetime import date
from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
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


_SENTINEL = 987_654_321_012


def _url_context() -> tuple[str, str, str | None]:
    """What a reversed URL depends on besides its name and arguments: the URL configuration
    (the request's, else the settings'), the prefix the portal is mounted at, the language
    (for patterns with a language prefix). The memo below is keyed by it."""
    return get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), get_language()


@lru_cache(maxsize=512)
def _split_url(name: str, takes_pk: bool, urlconf: str, script_prefix: str, language: str | None) -> tuple[str, str] | None:
    """The URL named ``name`` as (what comes before its one integer argument, what comes
    after), reversed with a stand-in number; without an argument, (the URL, ""). None when
    the number cannot be told apart that way (the stand-in not written exactly once)."""
    if not takes_pk:
        return reverse(name, urlconf=urlconf), ""
    url = reverse(name, args=[_SENTINEL], urlconf=urlconf)
    before, found, after = url.partition(str(_SENTINEL))
    if not found or str(_SENTINEL) in after:
        return None
    return before, after


@register.simple_tag
def url_once(name, pk=None):
    """``{% url name %}`` or ``{% url name pk %}`` (an integer pk), the URL reversed once per
    process and the pk put in its place: the layout's navigation reversed some twenty URLs
    on every page, and a table's rows one each (a fifth of a queue page's rendering).
    Anything else (not an integer, negative) is reversed as the url tag would."""
    if pk is None:
        return _split_url(name, False, *_url_context())[0]
    if not isinstance(pk, int) or isinstance(pk, bool) or pk < 0:
        return reverse(name, args=[pk])
    try:
        split = _split_url(name, True, *_url_context())
    except NoReverseMatch:
        split = None
    if split is None:
        return reverse(name, args=[pk])
    return f"{split[0]}{pk}{split[1]}"
