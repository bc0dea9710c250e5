"""What a person typed into a form while signed out (an expired session), shown again
in that form once they have signed in: ``access.rule`` keeps the input in the session
under the page the form was on and, at that page's next request, hands it to this
module for the request; the first of the page's forms with a field of that input
shows it (``forms.AccessibleForm``: as its initial values, so that nothing is said
wrong before the person sends it again), or a view takes it itself (``take``)."""

from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

# Not put back ticked: a box that confirms an irreversible action is ticked again by hand.
NOT_RESTORED = ("csrfmiddlewaretoken", "confirm", "confirmed")


@dataclass
class _Pending:
    request: HttpRequest
    encoded: str
    said: bool  # the person was told already why the form is shown again
    taken: bool = False


_current: ContextVar[_Pending | None] = ContextVar("pending_input", default=None)


def begin(request: HttpRequest, encoded: str, *, said: bool = False):
    """The kept input of this request's page, for the view about to run; returns the
    token ``end`` takes."""
    return _current.set(_Pending(request=request, encoded=encoded, said=said))


def end(token) -> None:
    _current.reset(token)


def take() -> str | None:
    """The kept input (urlencoded) for a view that binds its form itself, once; or None."""
    pending = _current.get()
    if pending is None or pending.taken:
        return None
    pending.taken = True
    return pending.encoded


def bind(field_names) -> QueryDict | None:
    """The kept input for a form with ``field_names`` when it holds one of them (once,
    for the first such form), with the person told; else None."""
    pending = _current.get()
    if pending is None or pending.taken:
        return None
    data = QueryDict(pending.encoded, mutable=True)
    for name in NOT_RESTORED:
        data.pop(name, None)
    if not set(data) & set(field_names):
        return None
    pending.taken = True
    if not pending.said:
        messages.info(pending.request, _("Your session had ended. We kept what you typed: check it and send it again."))
    return data
