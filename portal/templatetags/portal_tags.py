import re
import secrets
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache

from django import template
from django.conf import settings
from django.forms import BaseForm, BoundField
from django.template.defaultfilters import date as date_filter
from django.template.defaulttags import CsrfTokenNode
from django.template.loader_tags import BlockNode
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone_name
from django.utils.translation import get_language, gettext

from portal.accounts.mail_limits import own_account
from portal.accounts.middleware import page_asked_for_before_setup
from portal.accounts.models import address_naming
from portal.accounts.official_email import classify_email, is_contractor_address
from portal.figures import counted, grouped
from portal.linked_language import language_marked
from portal.organisations.selectors import AddressChangeEnds, address_change_ends, admin_roles_named, roles_ended_by
from portal.text import inert as inert_text
from portal.text import inert_lines as inert_lines_text

register = template.Library()


@register.filter(name="own_account")
def own_account_filter(account, viewer):
    """{% with own=grant.user|own_account:user %}: "self", "mailbox" or "" (mail_limits.own_account)."""
    return own_account(account, viewer)


@register.filter
def warnings_of(form, name):
    return getattr(form, "warnings", {}).get(name, [])


@register.filter
def lang_attribute(language):
    """` lang="<language>"` for an element whose text is in ``language`` (a BCP 47 tag), when
    it is known; nothing when not (the element is in the page's language)."""
    return format_html(' lang="{}"', language) if language else ""


@register.filter
def figure(value):
    """A count as people read it in India, in every language of the portal: its digits
    grouped the Indian way, the last three then by twos ("1,25,000", "1,00,00,000").
    Anything but a whole number is left as it is. Only for figures shown to people:
    ids in links and form values, and CSV exports, keep their plain digits (which is why
    USE_THOUSAND_SEPARATOR stays off)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return grouped(value)


@register.filter(name="counted")
def counted_filter(value):
    """The whole number a plural message ({% blocktrans count %}) is chosen by for a number
    that may be a fraction (portal.figures.counted)."""
    return counted(value)


@register.filter
def in_this_language(url):
    """A link in one half of a bilingual mail, marked with the language the half is in
    (portal/linked_language.py): its page opens in that language, whatever the browser asks."""
    return language_marked(str(url))


@register.filter
def inert(value):
    """A typed name as plain-text mail shows it: one line, web addresses unlinkable."""
    return inert_text(value)


@register.filter
def inert_lines(value):
    """Remarks, grounds or a reason as plain-text mail shows them: lines kept, links broken."""
    return inert_lines_text(value)


_CSS_STRING_UNSAFE = frozenset("\\\"'<>&;{}")


@register.filter
def css_string(value):
    """``value`` for the inside of a double-quoted CSS string (a PDF's page footer): each
    character that could end the string, the rule or the <style> element, or that is not
    printable, written as a CSS escape (its code in hex and a space, which the escape
    takes as its end); the rest (Devanagari included) as it is."""
    return mark_safe("".join(
        f"\\{ord(character):x} " if character in _CSS_STRING_UNSAFE or not character.isprintable() else character
        for character in str(value)
    ))


@register.simple_tag(takes_context=True)
def error_before_title(context):
    """"Error: " when a form the page shows was sent and refused (a bound form of the
    context, or the form of a bound field it holds, with errors), else nothing: the page's
    title begins with it, the first thing a screen reader reads of a page. The errors are
    the ones the page shows (includes/form_errors.html reads the same ``form.errors``); a
    value's type is looked at before the value, so that a lazy one (the signed-in user) is
    not loaded for it."""
    for value in context.flatten().values():
        kind = type(value)
        if issubclass(kind, BoundField):
            value, kind = value.form, type(value.form)
        if issubclass(kind, BaseForm) and value.is_bound and value.errors:
            return gettext("Error:") + " "
    return ""


@register.simple_tag(takes_context=True)
def setup_next(context):
    """The page the two-factor set-up started from, when it is a page of this site (for the
    link that ends the set-up), else None."""
    request = context.get("request")
    return page_asked_for_before_setup(request) if request is not None else None


@register.simple_tag(takes_context=True)
def roles_ending(context, email):
    """The roles of the person signed in that ``email`` ends once it is their primary address
    (the page asking for the code that makes it so names them)."""
    request = context.get("request")
    return roles_ended_by(request.user, email) if request is not None else []


@register.simple_tag(takes_context=True)
def change_of_address_ends(context, email):
    """What ``email`` becoming the primary address of the person signed in ends as their other
    addresses leave (address_change_ends): ``lapsing``, their admin roles resting on a
    verification at one of them, named; ``suspended``, the organisations whose verification
    of them is suspended otherwise (the page asking for the code names them)."""
    request = context.get("request")
    ends = address_change_ends(request.user, email) if request is not None else AddressChangeEnds()
    return {"lapsing": admin_roles_named(ends.lapsing), "suspended": ends.suspended}


@register.filter(name="address_naming")
def address_naming_filter(user):
    """The address naming ``user`` on a page: "" for an erased account (address_naming),
    which the page says as someone whose details were erased."""
    return address_naming(user)


@register.filter
def officer_address(email):
    """Whether ``email`` may hold an officer's roles (official, not a contractor's): the roles
    ``roles_ending`` names then end because it is no address of their organisations."""
    return classify_email(email).eligible_as_officer


@register.filter
def contractor_address(email):
    """Whether ``email`` is a contractor's address (official mail that cannot hold the roles
    ``roles_ending`` names): said to be so, not to be not official."""
    return is_contractor_address(email)


@register.filter(expects_localtime=True)
def isoformat(value):
    """A date and time in the current time zone in ISO 8601, as ``date:'c'`` writes it (for
    ``<time datetime>``), without the date filter's format parser: for long lists."""
    return value.isoformat() if hasattr(value, "isoformat") else ""


@lru_cache(maxsize=8192)
def _formatted(language: str | None, format_: str, moment: tuple[int, ...]) -> str:
    """``moment`` (year, month, day[, hour, minute]) in ``format_``, once per process and
    language: the date filter's format parser costs more than the rest of a table's row."""
    return date_format(datetime(*moment) if len(moment) > 3 else date(*moment), format_)


@register.filter(expects_localtime=True)
def day(value):
    """A date (or a date and time, in the current time zone) as ``date:"j M Y"`` writes
    it ("2 Dec 2026", the month in the page's language), each day formatted once per
    process and language."""
    if not isinstance(value, date):  # a datetime is a date too
        return ""
    return _formatted(get_language(), "j M Y", (value.year, value.month, value.day))


@register.filter(expects_localtime=True)
def day_time(value):
    """A date and time (in the current time zone) as ``date:"j M Y, H:i"`` writes it ("2 Dec
    2026, 14:05"), each minute formatted once per process and language; anything else as
    the date filter writes it."""
    if not isinstance(value, datetime):
        return date_filter(value, "j M Y, H:i")
    return _formatted(get_language(), "j M Y, H:i", (value.year, value.month, value.day, value.hour, value.minute))


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


# {% memo %} and {% fresh %} -------------------------------------------------------------

_recording: ContextVar[list | None] = ContextVar("memo_recording", default=None)
_HOLE = f"\x00memo-{secrets.token_hex(8)}-"
_HOLES = re.compile(re.escape(_HOLE) + r"(\d+)\x00")
_MEMO_KEYS_MAX = 64  # combinations kept per memo: its keys are meant to take a few values (flags, the language)
_MEMO_KEEP_MAX = 10_000  # the most a memo of a list's rows (keep=N) may keep
# The most characters one memo keeps (at most 4 bytes each: 16 MB a memo, per process).
# What it encloses may show what people typed (a summary of answers, 47 KB with every
# field full): without it a memo's N entries could hold N times the largest of them.
_MEMO_CHARACTERS_MAX = 4_000_000


class FreshNode(template.Node):
    """What ``{% fresh %}`` encloses: rendered at every request, inside a memo too."""

    child_nodelists = ("nodelist",)

    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        holes = _recording.get()
        if holes is None:
            return self.nodelist.render(context)
        holes.append(self)
        return f"{_HOLE}{len(holes) - 1}\x00"


class MemoNode(template.Node):
    # Opaque to get_nodes_by_type, which {% extends %} runs over the whole parent template at
    # every render to find its blocks: a memo holds none (refused when it is read).
    child_nodelists = ()

    def __init__(self, nodelist, keys, keep=None):
        self.nodelist = nodelist
        self.keys = keys
        self.keep = keep  # None: the first _MEMO_KEYS_MAX combinations kept; N: the last N, the oldest dropped first
        self.kept: dict[tuple, tuple[tuple[str, ...], tuple[FreshNode, ...]]] = {}
        self.kept_characters = 0  # of the texts kept (approximate under threads: a bound, not an account)

    def render(self, context):
        if _recording.get() is not None:  # inside another memo's first rendering: part of it
            return self.nodelist.render(context)
        return mark_safe(self._written(context, (*_environment(), *self._values(context))))

    def _values(self, context) -> tuple:
        return tuple(expression.resolve(context) for expression in self.keys)

    def _written(self, context, key: tuple) -> str:
        """The enclosed part for ``key``: as kept, its fresh parts rendered now; the first
        time, rendered and kept."""
        found = self.kept.get(key)
        if found is None:
            holes: list[FreshNode] = []
            token = _recording.set(holes)
            try:
                recorded = self.nodelist.render(context)
            finally:
                _recording.reset(token)
            parts = _HOLES.split(recorded)
            texts = tuple(parts[0::2])
            if any('name="csrfmiddlewaretoken"' in text for text in texts):
                raise template.TemplateSyntaxError("a {% csrf_token %} inside {% memo %} must be inside {% fresh %}")
            found = (texts, tuple(holes[int(index)] for index in parts[1::2]))
            size = sum(map(len, texts))
            if self.keep is None:
                if len(self.kept) < _MEMO_KEYS_MAX and self.kept_characters + size <= _MEMO_CHARACTERS_MAX:
                    self.kept[key] = found
                    self.kept_characters += size
            elif size <= _MEMO_CHARACTERS_MAX:
                while self.kept and (len(self.kept) >= self.keep
                                     or self.kept_characters + size > _MEMO_CHARACTERS_MAX):
                    try:  # the oldest first
                        dropped = self.kept.pop(next(iter(self.kept)))
                    except (RuntimeError, StopIteration, KeyError):  # another thread dropped one first
                        continue
                    self.kept_characters -= sum(map(len, dropped[0]))
                self.kept[key] = found
                self.kept_characters += size
        texts, holes = found
        if not holes:
            return texts[0]
        out = [texts[0]]
        for hole, text in zip(holes, texts[1:], strict=True):
            out.append(hole.nodelist.render(context))
            out.append(text)
        return "".join(out)


def _environment() -> tuple:
    """What every memo's key holds besides its own keys: the URL configuration, the prefix,
    the language (``_url_context``) and the current time zone."""
    return (*_url_context(), get_current_timezone_name())


class MemoEachNode(MemoNode):
    """``{% memo_each item in items by key ... keep=N %}``: a ``{% for %}`` whose every
    pass is a ``{% memo key ... keep=N %}``, the language, time zone and URL configuration
    read once for the whole list instead of once a row (a queue page's 50 rows). No
    ``forloop`` inside: a row is written by its keys alone."""

    def __init__(self, nodelist, loopvar, sequence, keys, keep):
        super().__init__(nodelist, keys, keep)
        self.loopvar = loopvar
        self.sequence = sequence

    def render(self, context):
        items = self.sequence.resolve(context, ignore_failures=True) or ()
        recording = _recording.get() is not None  # inside another memo's first rendering: part of it
        environment = None if recording else _environment()
        out = []
        with context.push():
            for item in items:
                context[self.loopvar] = item
                if recording:
                    out.append(self.nodelist.render(context))
                else:
                    out.append(self._written(context, (*environment, *self._values(context))))
        return mark_safe("".join(out))


def _outside_fresh(nodelist, kind):
    """The nodes of ``kind`` in ``nodelist`` and below, but not inside a ``{% fresh %}``."""
    for node in nodelist:
        if isinstance(node, kind):
            yield node
        if isinstance(node, FreshNode):
            continue
        for attr in node.child_nodelists:  # an {% if %}'s "nodelist" is every branch's nodes
            yield from _outside_fresh(getattr(node, attr, None) or [], kind)


@register.tag
def memo(parser, token):
    """``{% memo key ... %}…{% endmemo %}``: the enclosed part rendered once per process for
    each combination of the keys' values (and of the language, the URL configuration and
    the prefix the portal is mounted at), then written as it was, except its ``{% fresh
    %}…{% endfresh %}`` parts, which are rendered at every request (in the memo's context:
    not inside a loop of the memo). For the layout, the same for everyone with the same
    roles but for its forms' CSRF tokens and the page's own address: its navigation cost
    a signed-in page about a millisecond. The keys must name everything the enclosed part
    depends on; a ``{% block %}`` cannot be inside (each page fills it), nor a
    ``{% csrf_token %}`` outside a ``{% fresh %}``. The first 64 combinations are kept;
    ``{% memo key ... keep=N %}`` keeps the last N instead (the oldest dropped first), for
    keys that take many values: a list's row, keyed by every value it shows, is the same
    row as long as they are (a queue's rows, each some 15 variables and filters).
    The current time zone is part of the key, like the language."""
    bits = token.split_contents()[1:]
    keep = _keep(bits)
    keys = [parser.compile_filter(bit) for bit in bits]
    return MemoNode(_memo_body(parser, "endmemo"), keys, keep)


def _keep(bits: list[str]) -> int | None:
    """The ``keep=N`` at the end of a memo's arguments (taken out of ``bits``), or None."""
    if not (bits and bits[-1].startswith("keep=")):
        return None
    try:
        keep = int(bits.pop()[len("keep="):])
    except ValueError:
        keep = 0
    if not 0 < keep <= _MEMO_KEEP_MAX:
        raise template.TemplateSyntaxError(f"{{% memo ... keep=N %}}: N from 1 to {_MEMO_KEEP_MAX}")
    return keep


def _memo_body(parser, end: str):
    nodelist = parser.parse((end,))
    parser.delete_first_token()
    if any(True for _ in _outside_fresh(nodelist, BlockNode)):
        raise template.TemplateSyntaxError("{% memo %} cannot hold a {% block %}: each page fills it")
    if any(True for _ in _outside_fresh(nodelist, CsrfTokenNode)):
        raise template.TemplateSyntaxError("a {% csrf_token %} inside {% memo %} must be inside {% fresh %}")
    return nodelist


@register.tag
def memo_each(parser, token):
    """``{% memo_each row in rows by row.key ... keep=N %}…{% endmemo_each %}``: each row
    written as ``{% for row in rows %}{% memo row.key ... keep=N %}…{% endmemo %}{% endfor %}``
    writes it, for less (see MemoEachNode). ``keep=N`` is required: a list's rows take many values."""
    bits = token.split_contents()[1:]
    keep = _keep(bits)
    if keep is None or len(bits) < 5 or bits[1] != "in" or bits[3] != "by":
        raise template.TemplateSyntaxError("{% memo_each item in items by key ... keep=N %}")
    keys = [parser.compile_filter(bit) for bit in bits[4:]]
    return MemoEachNode(_memo_body(parser, "endmemo_each"), bits[0], parser.compile_filter(bits[2]), keys, keep)


@register.tag
def fresh(parser, token):
    """``{% fresh %}…{% endfresh %}``: inside a ``{% memo %}``, rendered at every request;
    elsewhere, as if the tags were not there."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("{% fresh %} takes no arguments")
    nodelist = parser.parse(("endfresh",))
    parser.delete_first_token()
    return FreshNode(nodelist)
