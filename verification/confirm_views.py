"""The yearly confirmation of the official address, from the link mailed to it: no
account needed (holding the link proves the address reaches the person). The link's
token is kept in the session (its hash) and the browser sent on without it, as for
the competent authority's link, so the token leaves the address bar, the history and
every later request's log line and Referer. A link that no longer works says why."""

from functools import wraps

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.tokens import token_digest
from verification import lifecycle
from verification.lifecycle import LinkState

SESSION_LINK = "verification_confirm_link"
LINK_PAGES = {
    LinkState.UNKNOWN: ("verification/confirm/link_unknown.html", 404),
    LinkState.EXPIRED: ("verification/confirm/link_expired.html", 410),
    LinkState.USED: ("verification/confirm/link_used.html", 410),
    LinkState.CLOSED: ("verification/confirm/link_closed.html", 410),
}


def _no_referrer(view):
    """Nothing these pages answer sends their address to another page in a Referer
    header (the redirect away from the link: "no-referrer"; pages with a form:
    "same-origin", under which the browser's own form posts still pass Django's CSRF check)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.setdefault("Referrer-Policy", "same-origin")
        return response

    return wrapped


def _link_page(request, state, row):
    template, status = LINK_PAGES[state]
    return render(request, template, {"link": row, "profile": row.profile if row else None}, status=status)


@rule("token")
@never_cache
@_no_referrer
@require_http_methods(["GET"])
def confirm_link(request, token):
    """The link from the email, its token in the path."""
    digest = token_digest(token)
    row = lifecycle.confirmation_of(digest)
    state = lifecycle.link_state(row)
    if state != LinkState.VALID:
        # A page with a form (the header's language switch): "same-origin" (_no_referrer),
        # under "no-referrer" the browser posts "Origin: null", which the CSRF check refuses.
        return _link_page(request, state, row)
    request.session[SESSION_LINK] = digest
    response = redirect("verification:confirm")
    response["Referrer-Policy"] = "no-referrer"
    return response


@rule("token")
@never_cache
@_no_referrer
@require_http_methods(["GET", "POST"])
def confirm(request):
    """The page to confirm (a button, so that a mail scanner opening the link confirms
    nothing), and the confirmation."""
    digest = request.session.get(SESSION_LINK)
    if not digest:
        return render(request, "verification/confirm/link_missing.html", status=404)
    if request.method == "POST":
        state, row = lifecycle.address_confirm(digest=digest, request=request)
        if state == LinkState.VALID:
            request.session.pop(SESSION_LINK, None)
            return render(request, "verification/confirm/confirmed.html", {
                "profile": row.profile, "next_due": lifecycle.next_confirmation_due(row.profile),
            })
        return _link_page(request, state, row)
    row = lifecycle.confirmation_of(digest)
    state = lifecycle.link_state(row)
    if state != LinkState.VALID:
        return _link_page(request, state, row)
    return render(request, "verification/confirm/confirm.html", {"link": row, "profile": row.profile})
