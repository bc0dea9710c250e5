"""Access rules for views. Every view carries exactly one explicit rule
(``@rule("...")``), which a test checks for every URL pattern.

Rules:
- ``public``: anyone, no account.
- ``token``: anyone holding a valid single-use link (checked by the view).
- ``authenticated``: any signed-in user.
- ``nodal_officer_of_application`` / ``viewer_of_application``: signed in; the
  view fetches the object through a selector scoped to the viewer (404 otherwise).
- ``superadmin``, ``state_admin``: signed in with that platform role (403 otherwise).
"""

from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from portal import pending, signed_out_input
from portal.permissions import RULES, SIGNED_OUT_RULES

PENDING_PREFIX = "pending_input:"
# The most of a form's input kept for a person who is signed out, in characters (as the
# forms count them): more than the largest of the portal's forms, the data protection
# notice, holds (pending.MAX_CHARACTERS). Anyone can post to any page: what is kept is one
# form, of at most this size, per account signed out (signed_out_input) and per session.
PENDING_MAX_CHARACTERS = pending.MAX_CHARACTERS


def page_of_this_site(request, address: str) -> str | None:
    """The path (and query) of ``address`` when it is a page of this site other than the
    sign-in page, else None."""
    if not address or not url_has_allowed_host_and_scheme(address, allowed_hosts={request.get_host()},
                                                          require_https=request.is_secure()):
        return None
    parts = urlsplit(address)
    # A path that a browser would read as another host's ("//host/...", "/\\host") is not a page here.
    if not parts.path.startswith("/") or parts.path.startswith(("//", "/\\")) or parts.path == reverse(settings.LOGIN_URL):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def restores_input(path: str) -> bool:
    """Whether the page at ``path`` shows kept input again: a page of one of the portal's
    views for signed-in people (``rule``), where the input waits for that person."""
    try:
        view = resolve(path).func
    except Resolver404:
        return False
    name = getattr(view, "access_rule", None)
    return name is not None and name not in SIGNED_OUT_RULES


def _keep_input_and_login(request, return_to=None):
    """Signed out (for example an expired session) while sending a form: keep what was
    typed for the account that typed it (``signed_out_input``: one slot per account, not a
    session), so that the form shows it again after signing in: the last form only, and
    not one larger than any of the portal's (its sender retypes it).
    After signing in the person goes back to the page the form was on (the Referer:
    a form may post to an address that shows nothing, or need its page's query), and
    from a part of a page htmx asked for, to the page itself. A file cannot be kept: the
    page says, after signing in, that nothing was uploaded (``note_upload_lost``); nor can
    more than any form holds: the page says, after signing in, that it was not kept."""
    if request.headers.get("HX-Request"):
        page = page_of_this_site(request, request.headers.get("HX-Current-URL", "")) or "/"
        response = HttpResponse(status=204)
        response["HX-Redirect"] = f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': page})}"
        return response
    if request.method == "POST":
        next_url = page_to_return_to(request, form_page(request) or request.path, return_to)
        keep_input(request, next_url, note_too_large=True) or note_upload_lost(request, next_url)
    else:
        next_url = request.get_full_path()
    return redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")


def page_to_return_to(request, page: str | None, return_to=None) -> str | None:
    """The page to come back to with a form posted from ``page`` (the page it was on; the
    posted address itself when it is not known): that page, except when it is the address the
    form posts to and that view only takes posts (the form was on the answer to a post, a
    confirmation, or the browser sent no Referer): then the page ``return_to`` (the view's,
    see ``rule``; looked up from the posted address when not given) names, or the page
    signing in leads to when it names none (an address that only takes posts is never the
    next one: a blank 405 after signing in)."""
    if not page or urlsplit(page).path != request.path:
        return page
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return page
    return_to = return_to or getattr(match.func, "return_to", None)
    if return_to:
        return _page_named(request, return_to, match.kwargs) or resolve_url(settings.LOGIN_REDIRECT_URL)
    return page if answers_get(match.func) else resolve_url(settings.LOGIN_REDIRECT_URL)


def _page_named(request, return_to, kwargs: dict) -> str | None:
    """The page ``return_to`` names for a post to an address of ``kwargs``: a URL name,
    reversed with those arguments when it takes them (the application's page of its
    "resend the link"), else with none; or a function of the request and those arguments
    giving the page (None when it cannot say)."""
    if callable(return_to):
        return return_to(request, **kwargs)
    try:
        return reverse(return_to, kwargs=kwargs)
    except NoReverseMatch:
        return reverse(return_to)


def answers_get(view) -> bool:
    """Whether ``view`` (a URL pattern's) shows a page: False when Django's
    ``require_http_methods`` (``require_POST``) wrapped in it allows no GET, read from the
    methods it was given (the only record of them it keeps)."""
    while view is not None:
        names = getattr(getattr(view, "__code__", None), "co_freevars", ())
        for name, cell in zip(names, getattr(view, "__closure__", None) or (), strict=False):
            if name == "request_method_list":
                return "GET" in cell.cell_contents
        view = getattr(view, "__wrapped__", None)
    return True


def peek_pending_input(request):
    """What was typed into this page's form before signing in again (a QueryDict), not
    taken: the first of the page's forms with one of its fields still shows it (and says
    so). For a view that chooses which form to show by what was kept; or None."""
    return pending.peek()


def form_page(request) -> str | None:
    """The page of this site a posted form was on (path and query), from the Referer; None
    when it is missing, another site's or the sign-in page."""
    return page_of_this_site(request, request.headers.get("Referer", ""))


def page_held_back_from(request) -> str:
    """The page to come back to once a step asked of the person first is taken (a second
    factor, a notice to accept), the request not passed to its view: the page asked for; for
    a form sent, the page it was on (page_to_return_to); for a part of a page htmx asks for,
    the page it is a part of."""
    if request.headers.get("HX-Request"):
        return page_of_this_site(request, request.headers.get("HX-Current-URL", "")) or "/"
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    return page_to_return_to(request, form_page(request) or request.get_full_path()) or "/"


def keep_held_back_input(request, page: str, *, file_again: str, kept: str, send_again: str) -> None:
    """A form sent before a step asked of the person first, not passed to its view: what was
    typed is kept for ``page`` when that page can show it again (keep_input), and the person
    told which of ``file_again`` (a file was chosen: it cannot be kept), ``kept`` or
    ``send_again`` holds."""
    if request.FILES:
        messages.warning(request, file_again)
    elif keep_input(request, page, said=True):
        messages.warning(request, kept)
    else:
        messages.warning(request, send_again)


def keep_input(request, page: str, *, said: bool = False, note_too_large: bool = False) -> bool:
    """Keep what was posted (``_keep``: in the session, or signed out in the account's slot)
    for the form of ``page`` (its path), shown there
    again at its next visit: the last form only, and not one larger than any of the
    portal's (its sender retypes it). An upload cannot be kept: the person chooses the
    file again; nor can a secret (a password, a code), or input whose author is unknown, or
    for a page that does not show it again. Returns whether it was kept. ``said``: the
    caller tells the person why the form is shown again. ``note_too_large``: input larger
    than any form is replaced by a note, and the page says at its next visit, once signed
    in, that it was not kept (the caller does not tell the person now)."""
    if request.FILES or not input_returns_to(request, page):
        return False
    encoded = pending.encode((name, values) for name, values in request.POST.lists()
                              if name != "csrfmiddlewaretoken" and pending.keepable(name))
    if encoded is None:
        if note_too_large:
            _keep(request, page, too_large=True)
        elif request.user.is_authenticated:
            _forget_kept_input(request)
        else:
            signed_out_input.forget(pending.typed_by(request))
        return False
    # Posted to the page it was on (a form of that page posting to itself), or elsewhere (a
    # button posting to an address of its own): a post of nothing but unticked boxes is that
    # page's form of boxes only in the first case (pending.bind).
    # And posted to an address that only takes posts (a button's: what it sends, a hidden
    # value at most, is nobody's typing), said not done when no form shows it (pending).
    return _keep(request, page, input=encoded, said=said, own_page=urlsplit(page).path == request.path,
                 to_button=not _answers_get_at(request.path_info))


def _answers_get_at(path: str) -> bool:
    try:
        return answers_get(resolve(path).func)
    except Resolver404:
        return True


def note_upload_lost(request, page: str) -> bool:
    """A post with a file, sent signed out (an ended session): the file cannot be kept, so
    the person is told at ``page``'s next visit, once signed in, that nothing was uploaded
    (else the page shows the earlier upload as if nothing had happened). In place of any
    input kept before: the last form only. Returns whether the note was left."""
    if not request.FILES or not input_returns_to(request, page):
        return False
    return _keep(request, page, upload_lost=True)


def _keep(request, page: str, **kept) -> bool:
    """Keep ``kept`` (input, or a note of what could not be kept) for ``page``'s next visit,
    with who typed it, in place of whatever was kept before: the last form only. Signed in
    (a form sent with an old token: ``views.csrf_failure``), in that person's session;
    signed out, in the one slot of the account that typed it (``signed_out_input``: a
    session made for each post would grow without bound), moved into the session at that
    account's next sign-in on this browser. Returns whether it was kept (past the client
    network's hourly limit, signed out, only a note that it was not, said after signing in)."""
    kept = {**kept, "by": pending.typed_by(request)}
    if not request.user.is_authenticated:
        return signed_out_input.keep(request, urlsplit(page).path, kept)
    _forget_kept_input(request)
    request.session[PENDING_PREFIX + urlsplit(page).path] = kept
    return True


def restore_signed_out_input(request, user) -> None:
    """At a sign-in (Django's ``user_logged_in``): what ``user`` typed signed out on this
    browser, kept in their slot, is put in the session for its page, in place of anything
    kept there before (the last form only)."""
    taken = signed_out_input.take(request, user.pk)
    if taken is not None:
        page, kept = taken
        _forget_kept_input(request)
        request.session[PENDING_PREFIX + page] = kept


def _forget_kept_input(request):
    for key in [key for key in request.session.keys() if key.startswith(PENDING_PREFIX)]:
        del request.session[key]


def input_returns_to(request, page: str) -> bool:
    """Whether what is posted now could be shown again on ``page`` (a page of this site):
    its author is known and the page shows kept input (``restores_input``)."""
    return pending.typed_by(request) is not None and restores_input(urlsplit(page).path)


def pop_pending_input(request):
    """What was typed into this page's form before signing in again (a QueryDict), once; or
    None. For a view that binds its form itself; an AccessibleForm binds itself."""
    return pending.take()


def _with_pending_input(request, view, *args, **kwargs):
    """Run the view with the input kept for its page, if any (taken from the session)."""
    kept = request.session.pop(PENDING_PREFIX + request.path, None) if request.method == "GET" else None
    if not isinstance(kept, dict) or kept.get("by") != request.user.pk:  # only to whoever typed it
        return view(request, *args, **kwargs)
    # Taken for good, even if the page then fails (a response of 500 saves no session): the
    # same input would otherwise be put back, and fail the page, at every visit.
    request.session.save()
    if kept.get("upload_lost"):
        messages.warning(request, _("Nothing was uploaded: your session had ended. Choose the file again."))
        return view(request, *args, **kwargs)
    if kept.get("not_kept"):
        messages.warning(request, _("What you sent when your session had ended was not kept: more forms than the "
                                    "portal keeps in an hour were sent from your network as sessions ended. Nothing "
                                    "was saved: type it again."))
        return view(request, *args, **kwargs)
    if kept.get("too_large"):
        messages.warning(request, _("What you sent when your session had ended was not kept: it was longer than any "
                                    "form of the portal takes. Nothing was saved: type it again."))
        return view(request, *args, **kwargs)
    if not pending.is_kept_input(kept.get("input")):
        return view(request, *args, **kwargs)
    with pending.shown(request, kept["input"], said=bool(kept.get("said")), own_page=bool(kept.get("own_page")),
                       to_button=bool(kept.get("to_button"))):
        response = view(request, *args, **kwargs)
        pending.say_if_not_shown()  # no form took it: said on this page, or on the next after a redirect
        return response


def rule(name, *, return_to=None):
    """``return_to``: for a view that only takes posts (a button's, or a confirmation answering
    a post with a page of its own), the page to come back to after signing in: a URL name
    (reversed with the posted address's arguments when it takes them), or a function of the
    request and those arguments giving the page, or None when it cannot say (see
    ``page_to_return_to``). Every such view of a signed-in person names one (a test checks)."""
    if name not in RULES:
        raise ValueError(f"unknown access rule {name!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if name not in SIGNED_OUT_RULES:
                if not request.user.is_authenticated:
                    return _keep_input_and_login(request, return_to)
                if not RULES[name](request.user):
                    raise PermissionDenied
                return _with_pending_input(request, view, *args, **kwargs)
            return view(request, *args, **kwargs)

        wrapped.access_rule = name
        wrapped.return_to = return_to
        return wrapped

    return decorator


# What a browser says (Sec-Fetch-Site) of a request the person made on this site: from one
# of its own pages ("same-origin"), or typed in the address bar or opened from a bookmark
# ("none"). Any other value is a link, a form or a redirect of another site (or of another
# host of the same site), which the session cookie (SameSite=Lax) goes with.
ASKED_ON_THIS_SITE = frozenset({"same-origin", "none"})


def asked_on_this_site(back_to, *, when=None):
    """For a view that answers a GET by doing something in the signed-in person's name that
    stays (an export or a download audited and counted against an hourly limit, a report
    drafted and audited): a request the browser says another site sent is refused before
    anything is counted, read or recorded, and sent to the page the view belongs to,
    ``back_to`` (a URL name, reversed with the view's arguments, or a function of the
    request and those arguments giving the page: one without this decorator, whose
    request the browser says came from elsewhere too), saying to press the link there again. A request without the header
    (an older browser, a script) is served as before. ``when``: a function of the request
    saying whether it asks for that work at all (a page that does it only with a query)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            site = request.headers.get("Sec-Fetch-Site")
            if site is not None and site.lower() not in ASKED_ON_THIS_SITE and (when is None or when(request)):
                messages.warning(request, _("You came here by a link from another site, so nothing was done in your "
                                            "name. If you want it, press the link or button again on this page."))
                return redirect(_page_named(request, back_to, kwargs))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
