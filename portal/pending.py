"""What a person typed into a form while signed out (an expired session), shown again
in that form once they have signed in: ``access.rule`` keeps the input for its author
(signed out, in that account's one slot, ``signed_out_input``, which their next sign-in on
that browser moves into the session) under the page the form was on and, at that page's
next request, hands it from the session to this
module for the request; the first of the page's forms with a field of that input
shows it (``forms.AccessibleForm``: as its initial values, so that nothing is said
wrong before the person sends it again), or a view takes it itself (``take``)."""

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

# Not put back ticked: a box that confirms an irreversible action is ticked again by hand. A
# form names its own (``forms.ShowsKeptInput.confirming_fields``: "end_roles"); a box named
# so, or so after a form's prefix ("closed_application-confirm"), is one in any form.
NOT_RESTORED = ("csrfmiddlewaretoken", "confirm", "confirmed")
# Never kept at all (a secret has no place in a session or the cache): fields whose names hold one of
# these, or are one of those (a one-time code, a key).
SECRET_NAME_PARTS = ("password", "secret", "token")
SECRET_NAMES = {"code", "key", "otp", "otp_code", "recovery_code", "totp"}

# Who signed in last on this browser (a signed cookie set at each sign-in): kept input is
# shown only to the account that typed it, not to the next person who signs in on the
# same browser (a shared computer); and it is kept in that account's one slot, not in a
# session made for each post (portal.signed_out_input).
PERSON_COOKIE = "portal_person"
PERSON_COOKIE_SALT = "portal.pending.person"
PERSON_COOKIE_MAX_AGE = 30 * 24 * 3600
# The most kept of one form, in characters of its field names and values as posted (what
# the forms' limits count; a session stores them as JSON, at most 6 characters for one):
# more than the largest of the portal's forms holds, the data protection notice (three
# texts of 20,000 characters, privacy.forms.NoticePublishForm: 60,000 and a version). A
# larger post is not kept, and its sender is told so after signing in again (they retype it).
MAX_CHARACTERS = 64 * 1024


def keepable(name: str) -> bool:
    """Whether a posted field may be kept to be shown again."""
    lowered = name.lower()
    return lowered not in SECRET_NAMES and not any(part in lowered for part in SECRET_NAME_PARTS)


def typed_by(request: HttpRequest) -> int | None:
    """The account that typed a form posted now: the one signed in, else the one that
    last signed in on this browser; None when unknown."""
    if request.user.is_authenticated:
        return request.user.pk
    value = request.get_signed_cookie(PERSON_COOKIE, default=None, salt=PERSON_COOKIE_SALT,
                                      max_age=PERSON_COOKIE_MAX_AGE)
    return int(value) if value and value.isascii() and value.isdigit() else None


@dataclass
class _Pending:
    request: HttpRequest
    encoded: object  # as ``encode`` made it
    said: bool  # the person was told already why the form is shown again
    own_page: bool = False  # it was posted to the page it was typed on (not to another address)
    to_button: bool = False  # it was posted to an address that only takes posts (a button's)
    taken: bool = False
    told_not_shown: bool = False  # the person was told that no form of the page showed it
    # Of the page's forms made so far (``bind``): the keys of their boxes confirming an action,
    # and their buttons (name, value): what a button sends is the page's, nobody's typing.
    confirming: set[str] = field(default_factory=set)
    buttons: set[tuple[str, str]] = field(default_factory=set)


_current: ContextVar[_Pending | None] = ContextVar("pending_input", default=None)


def encode(fields: Iterable[tuple[str, list[str]]]) -> dict[str, list[str]] | None:
    """``fields`` (name, values) as kept in a session: each name with its values as posted
    (stored as JSON by the session), or None when they hold more than MAX_CHARACTERS
    characters. Counted as the forms count them: a letter of Devanagari is one, not the
    nine it takes URL-encoded."""
    kept, size = {}, 0
    for name, values in fields:
        values = [str(value) for value in values]
        size += len(name) + sum(len(value) for value in values)
        if size > MAX_CHARACTERS:
            return None
        kept[name] = values
    return kept


def decode(encoded: object) -> QueryDict:
    """Input kept by ``encode`` as the QueryDict a form is bound to (mutable). A session
    kept before input was stored this way holds it urlencoded."""
    if isinstance(encoded, str):
        return QueryDict(encoded, mutable=True)
    data = QueryDict(mutable=True)
    for name, values in (encoded.items() if isinstance(encoded, dict) else ()):
        if isinstance(name, str) and isinstance(values, list):
            data.setlist(name, [value for value in values if isinstance(value, str)])
    return data


def is_kept_input(value: object) -> bool:
    """Whether ``value`` (from a session) is input as ``encode`` kept it."""
    return isinstance(value, (str, dict))


def restorable(data: QueryDict, confirming: Iterable[str] = ()) -> QueryDict:
    """``data`` (kept input, decoded) without what is never put back: the keys
    ``confirming`` (boxes a form says confirm an irreversible action) and those named so
    in any form (NOT_RESTORED)."""
    confirming = set(confirming)
    for name in list(data):
        if never_restored(name, confirming):
            data.pop(name)
    return data


def never_restored(key: str, confirming: set[str]) -> bool:
    """Whether the posted ``key`` is never put back: one of ``confirming`` (boxes a form says
    confirm an irreversible action), or named as NOT_RESTORED names after any form prefix."""
    return key in confirming or key.rsplit("-", 1)[-1] in NOT_RESTORED


def _typed(pending: _Pending) -> QueryDict:
    """The kept input without what is never put back (``restorable``) nor what a button of
    the page's forms sends: a name one of them declares (``ShowsKeptInput.buttons``) with
    none but values of its buttons. Anything else under that name, or beside it, is typing."""
    data = restorable(decode(pending.encoded), pending.confirming)
    for name in list(data):
        if all((name, value) in pending.buttons for value in data.getlist(name)):
            data.pop(name)
    return data


@contextmanager
def shown(request: HttpRequest, encoded: object, *, said: bool = False, own_page: bool = False,
          to_button: bool = False):
    """Within it, ``encoded`` (kept input of this request's page) is what the page's first
    form with one of its fields shows (``bind``) or a view takes (``take``). ``own_page``:
    it was posted to this page's own address (see ``bind``); ``to_button``: to an address
    that only takes posts (see ``say_if_not_shown``)."""
    token = _current.set(_Pending(request=request, encoded=encoded, said=said, own_page=own_page,
                                  to_button=to_button))
    try:
        yield
    finally:
        _current.reset(token)


def take() -> QueryDict | None:
    """The kept input for a view that binds its form itself, once; or None."""
    pending = _current.get()
    if pending is None or pending.taken:
        return None
    pending.taken = True
    return decode(pending.encoded)


def peek() -> QueryDict | None:
    """The kept input, when no form or view took it yet, without taking it; or None."""
    pending = _current.get()
    return None if pending is None or pending.taken else decode(pending.encoded)


def bind(field_keys, box_keys=(), confirming_keys=(), buttons=()) -> QueryDict | None:
    """The kept input for a form whose fields are posted as ``field_keys`` (their names with
    the form's prefix), of which ``box_keys`` are boxes (a browser sends nothing for one
    unticked) and ``confirming_keys`` boxes confirming an irreversible action (never put back,
    as NOT_RESTORED), posted with its ``buttons`` ((name, value): not typing, ``_typed``),
    once, for the first form it is for, with the person told; else None. It is
    for a form when it holds one of its fields (other than those never put back), or, when it holds
    none of anything (all of it unticked), for a form made only of boxes when it was posted
    to the page's own address (a box form posting there: a button posting elsewhere, at the
    same page, sends nothing either, and ticks off nothing)."""
    pending = _current.get()
    if pending is None or pending.taken:
        return None
    pending.confirming.update(confirming_keys)
    pending.buttons.update((name, value) for name, value in buttons if name not in field_keys)
    data = _typed(pending)
    keys = {key for key in field_keys if not never_restored(key, pending.confirming)}
    boxes_only = bool(keys) and keys <= set(box_keys)
    if not (set(data) & keys or (not data and boxes_only and pending.own_page)):
        return None
    pending.taken = True
    if not pending.said:
        messages.info(pending.request, _("Your session had ended. We kept what you typed: check it and send it again."))
    return data


def shown_input() -> QueryDict | None:
    """The kept input as it was posted, hidden inputs included (what the page it was typed
    on showed: portal.shown), once a form of this page shows it (or its view took it);
    else None."""
    pending = _current.get()
    return decode(pending.encoded) if pending is not None and pending.taken else None


def say_if_not_shown() -> None:
    """Tell the person, once, when no form of the page showed the input kept for it (nor
    did its view take it). When it held something to show again (anything but a box
    confirming an action, the form's token, and boxes left unticked: bind): what it was for
    changed meanwhile (a request decided, a role ended) and the page has no form for it
    now. When it held nothing to show again (a confirmation, a button of one of the page's
    forms, ``_typed``, a form of boxes
    posting elsewhere), or was posted to an address that only takes posts (a button's, whose
    hidden value nobody typed): that the session had ended and nothing was done, to be sent again,
    unless the person was told already (``said``). Asked as the page is rendered (the
    layout's context, before its messages are shown) and again once its view returned."""
    pending = _current.get()
    if pending is None or pending.taken or pending.told_not_shown:
        return
    pending.told_not_shown = True
    if pending.to_button or not _typed(pending):
        if not pending.said:
            messages.warning(pending.request, _("Your session had ended: nothing was done. Send it again."))
        return
    messages.warning(pending.request, _("What you typed could not be shown again: what it was for changed meanwhile, and "
                                        "this page has no form for it now. Nothing was done with it."))
