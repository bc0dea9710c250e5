from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.access import keep_held_back_input, page_held_back_from
from portal.apipath import API_PREFIX
from portal.privacy.notice import PENDING_KEY

# Signing in and out, the account's own pages, static files, the health check, the
# language, the notice itself; and the verification API's calls (a client's bearer token,
# no session: portal/apipath.py lets none of them reach this far anyway). The pages where
# an admin registers the API's clients are under "/api/" too, and ask for the notice.
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/", "/privacy/notice/", API_PREFIX)
SAFE_METHODS = ("GET", "HEAD")


class NoticeMiddleware:
    """Sends a person with a notice version still to accept (set at sign-in, in the
    session) to the acceptance page, and on to the page they were on once they accept
    (``next``). Reads only the session: no query on any request.

    Nothing is done in their name first: a form they send (any method but GET and HEAD)
    is not passed to its view. What they typed is kept for the page the form was on, in
    their session, as a form sent with an old token is (``access.keep_input``), and that
    page shows it again in its form once they have accepted, for them to check and send; a
    file cannot be kept, and they are told to choose it again. A part of a page htmx asks
    for (or a form htmx sends) is answered with htmx's ``HX-Redirect``: the acceptance page
    is loaded whole, coming back to the page the part is of, never put in place of the part.
    Checked once the URL is resolved and the form's CSRF token checked (``process_view``,
    after CsrfViewMiddleware's): a post another site made keeps nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        session = getattr(request, "session", None)
        if (session is None or PENDING_KEY not in session or request.path_info.startswith(EXEMPT_PREFIXES)
                or getattr(request, "user", None) is None or not request.user.is_authenticated):
            return None
        page = page_held_back_from(request)
        if request.method not in SAFE_METHODS:
            keep_held_back_input(
                request, page,
                file_again=_("Nothing was uploaded yet: accept the data protection notice first, then choose the "
                             "file again."),
                kept=_("Nothing was done yet: accept the data protection notice first. What you typed is kept: you "
                       "will find it on its page, to check and send again."),
                send_again=_("Nothing was done yet: accept the data protection notice first, then send it again."),
            )
        accept = f"{reverse('privacy_notice:accept')}?{urlencode({'next': page})}"
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = accept
            return response
        return redirect(accept)


