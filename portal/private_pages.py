"""No answer to a signed-in person stays in a cache.

Pages shown to a signed-in person carry their details or other people's: a request to be
verified, the queue, an organisation's members, an application, a dashboard. Without a
``Cache-Control`` header a browser keeps them (the back button shows them again after a
decision, or after signing out on a shared computer) and a proxy on the way may too.
``PrivatePagesMiddleware`` marks every answer to a signed-in session ``Cache-Control:
no-store, private``, as the downloads are marked (``portal.downloads.kept_out_of_caches``),
unless the view set its own (a download, a ``never_cache`` page): that one is kept. So are
allauth's pages to someone signed out: some show what their session holds before anyone is
signed in (a sign-up waiting for its code names the address it went to). Any other answer
to someone signed out keeps what it had; static files are served before this
middleware (whitenoise, or the development server's handler) and keep their long caching.
With nothing stored there is no conditional request to answer: no page here sends an ETag.
"""

from django.http import HttpRequest, HttpResponse

from portal.downloads import kept_out_of_caches
from portal.requestlog import user_id_of


class PrivatePagesMiddleware:
    """After AuthenticationMiddleware: whether the session is signed in is read from the
    user or the session the request loaded (``user_id_of``), never at the cost of a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and (user_id_of(request) is not None or _accounts_page(request)):
            kept_out_of_caches(response)
        return response


def _accounts_page(request: HttpRequest) -> bool:
    """Whether ``request`` was answered by one of allauth's views (sign-up, its code, sign-in
    and its stages, password reset)."""
    match = getattr(request, "resolver_match", None)
    return match is not None and getattr(match.func, "__module__", "").startswith("allauth.")
