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
    (for patterns with a language prefix). The memos below are keyed by it."""
    return get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), get_language()


@lru_cache(maxsize=256)
def _fixed(name: str, urlconf: str, script_prefix: str, language: str | None) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def fixed_url(name):
    """``{% url name %}`` for a URL without arguments (the navigation's), reversed once per
    process: a page's layout reversed some twenty on every request."""
    return _fixed(name, *_url_context())


@lru_cache(maxsize=512)
def _around_pk(name: str, urlconf: str | None, script_prefix: str, language: str | None) -> tuple[str, str] | None:
    """What the URL named ``name`` has before and after its one integer argument, or None
    when it cannot be told that way (the sentinel is not written exactly once)."""
    url = reverse(name, args=[_SENTINEL], urlconf=urlconf)
    before, found, after = url.partition(str(_SENTINEL))
    if not found or str(_SENTINEL) in after:
        return None
    return before, after


@register.filter
def pk_url(pk, name):
    """``{% url name pk %}`` for an integer ``pk`` (``{{ step.pk|pk_url:"onboarding:queue_step" }}``):
    the URL reversed once per process with a stand-in number, then the number put in its
    place. For the rows of long tables: reversing a URL cost a fifth of a queue page's
    rendering."""
    if not isinstance(pk, int) or isinstance(pk, bool) or pk < 0:
        return reverse(name, args=[pk])
    try:
        around = _around_pk(name, *_url_context())
    except NoReverseMatch:
        around = None
    if around is None:
        return reverse(name, args=[pk])
    return f"{around[0]}{pk}{around[1]}"
