"""The language a link in a bilingual mail opens its page in.

Mail to people the portal knows no language of (the competent authority, who has no
account; a person invited from a roster) is in English and then a second language, each
half with its own link. The link of a half not in English carries ``?language=<code>``
(``language_marked``, the ``in_this_language`` filter of the mail templates); their
browser may ask for another language (an office computer set to English). The page such
a link opens (a view decorated with ``opens_in_linked_language``) takes the marker once:
it sets that language as the portal's language switch does (its cookie) and sends the
browser on to the same address without the marker, so the page's own language switch
still changes the language afterwards. A marker that is none of the portal's languages
is ignored: the view answers as if it were not there.
"""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils.cache import add_never_cache_headers
from django.utils.encoding import escape_uri_path
from django.utils.translation import get_language

LANGUAGE_PARAMETER = "language"


def language_marked(url: str, language: str | None = None) -> str:
    """``url`` for the half of a mail in ``language`` (the one active by default): with
    its marker, except in the portal's default language (what a page opens in anyway)."""
    language = language or get_language()
    if language == settings.LANGUAGE_CODE or language not in dict(settings.LANGUAGES):
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({LANGUAGE_PARAMETER: language})}"


def linked_language(request) -> str | None:
    """The language the address's marker names, when it is one of the portal's; else None."""
    value = request.GET.get(LANGUAGE_PARAMETER, "")
    return value if value in dict(settings.LANGUAGES) else None


def opens_in_linked_language(view):
    """For a page that a bilingual mail links to and that is read without signing in: a
    GET whose address carries a valid marker sets that language (the language switch's
    cookie) and is sent on to the same address without the marker; the view answers that.
    The address may hold a secret (a link's token): the redirect is kept by no cache and
    names its address to no one."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        language = linked_language(request) if request.method == "GET" else None
        if language is None:
            return view(request, *args, **kwargs)
        rest = request.GET.copy()
        rest.pop(LANGUAGE_PARAMETER)
        response = HttpResponseRedirect(escape_uri_path(request.path) + (f"?{rest.urlencode()}" if rest else ""))
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapped
