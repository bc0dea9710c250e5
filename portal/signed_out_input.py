"""A form posted while signed out (an ended session), kept for the account that typed it
(``pending.typed_by``: the one the browser's signed cookie says signed in last on it) in
ONE slot per account of the shared cache, not in a session: a session made for each such
post (a post without a session cookie makes a new one) would let anyone holding that
cookie store up to a form (``pending.MAX_CHARACTERS``) for each request, for a session's
whole life, in the session store (in production the Redis that is also Celery's broker).
A post replaces what the account's slot held (the last form only), which lives as long as
a session would (SESSION_COOKIE_AGE), is bound to the browser it was typed on (the very
cookie it was sent with), and is moved into the session of that account's next sign-in on
that browser (``access.restore_signed_out_input``), to be shown on its page as before. One
client's network may have SIGNED_OUT_INPUT_KEPT_PER_HOUR posts kept an hour (slots of
accounts it holds cookies of); past that the post is not kept, and the account's slot holds
a note of a few bytes in its place, so that the person is told at their next sign-in there
that what they sent was not kept."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from portal import pending
from portal.client import client_network
from portal.limits import hourly_slot_take

SLOT_PREFIX = "signed_out_input:"
LIMIT_KIND = "signed_out_input_kept"


def _slot_key(user_pk: int) -> str:
    return f"{SLOT_PREFIX}{user_pk}"


def _browser(request: HttpRequest) -> str | None:
    """The browser a post came from, as its cookie of who signed in last names it (a
    digest of the cookie as sent: a new one at each sign-in on it); None without one."""
    raw = request.COOKIES.get(pending.PERSON_COOKIE)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest() if raw else None


def keep(request: HttpRequest, path: str, kept: dict) -> bool:
    """Keep ``kept`` (with ``by``, the account that typed it) for the page at ``path``, in
    place of whatever that account's slot held. Returns whether it was kept: not past the
    client's hourly limit. Past it, the slot holds in its place a note that it was not kept
    (``not_kept``: what the slot held is older than this post), said after signing in."""
    key = _slot_key(kept["by"])
    if hourly_slot_take(LIMIT_KIND, client_network(request) or "unknown",
                        settings.SIGNED_OUT_INPUT_KEPT_PER_HOUR) is not None:
        # A few bytes in the account's one slot: bounded as the slots are, limit or not.
        cache.set(key, {"page": path, "browser": _browser(request), "kept": {"not_kept": True, "by": kept["by"]}},
                  timeout=settings.SESSION_COOKIE_AGE)
        return False
    cache.set(key, {"page": path, "browser": _browser(request), "kept": kept}, timeout=settings.SESSION_COOKIE_AGE)
    return True


def forget(user_pk: int) -> None:
    """Empty ``user_pk``'s slot: a later post of theirs keeps nothing (a secret's, a page's
    that shows no kept input), or they signed out."""
    cache.delete(_slot_key(user_pk))


def take(request: HttpRequest, user_pk: int) -> tuple[str, dict] | None:
    """What ``user_pk`` typed signed out on this browser, (the page's path, what was kept),
    taken out of its slot; None when nothing is kept for them here. Asks the cache only on a
    browser someone signed in on before."""
    browser = _browser(request)
    if browser is None:
        return None
    key = _slot_key(user_pk)
    slot = cache.get(key)
    if not (isinstance(slot, dict) and slot.get("browser") == browser and isinstance(slot.get("page"), str)
            and isinstance(slot.get("kept"), dict) and slot["kept"].get("by") == user_pk):
        return None
    cache.delete(key)
    return slot["page"], slot["kept"]
