"""What a page showed of what it edits, so that a save sent from a page opened before
someone else saved (another administrator, the same person in another tab or window) is
refused instead of putting back, unseen, the values that page showed.

The page sends back, in a hidden input (SHOWN_FIELD), the ``shown_digest`` of the values
it showed; the service compares it, under the row's lock, with the digest of the values
stored then, and raises ChangedMeanwhile, saving nothing, when they differ and the save
would change something. The view then shows the refusal above the form, what is stored
now at each field that differs (AccessibleForm.say_changed_meanwhile), and what was typed.
Input kept over a sign-in is shown again with the digest its page sent (``shown_on_page``)."""

import hashlib
import json

from portal import pending

SHOWN_FIELD = "shown_values"
_SENT_MAX = 64  # a digest is 32 characters: what a page sends back is kept no longer than that


class ChangedMeanwhile(Exception):
    """The values a page showed were changed since it was opened: nothing was saved, as the
    save would have replaced values the person did not see."""


def shown_digest(values: dict | None) -> str:
    """A short digest of the values a page shows (JSON values; dates as ISO text)."""
    text = json.dumps(values or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def shown_sent(data, field: str = SHOWN_FIELD) -> str | None:
    """The digest a page sent back (its ``field`` input, SHOWN_FIELD unless a page sends two),
    cut to a digest's length at most; None when it sent none (not checked)."""
    value = data.get(field)
    return None if value is None else value[:_SENT_MAX]


def shown_on_page(request, stored: str) -> str:
    """The digest a page sends back with its form, ``stored`` being that of the values
    stored now: on a post, the one its page sent (an answer with errors is still the page
    opened then); on a page showing again input kept over a sign-in (an ended session, a
    page older than the sign-in: portal.pending), the one sent by the page it was typed on,
    as that input was typed over what that page showed. With ``stored`` there, the next
    save would put back, unseen, what was saved meanwhile. Asked once the page's form is
    made (it takes the kept input)."""
    sent = request.POST if request.method == "POST" else pending.shown_input() or {}
    return shown_sent(sent) or stored


def check_shown(shown: str | None, stored: dict) -> None:
    """Raise ChangedMeanwhile when a page showed other values than ``stored`` (``shown``: its
    digest; None: not checked). Called under the lock of the row ``stored`` was read from,
    once the save is known to change something."""
    if shown is not None and shown != shown_digest(stored):
        raise ChangedMeanwhile
