"""Calls of the verification API (``/api/v1/``) skip the middleware that serves people in a browser.

An API call carries a client's bearer token (``api/auth.py``): it has no session, no
CSRF cookie, no signed-in user, no messages, no second factor to set up and no notice
to accept. ``ApiPathMiddleware`` stands in ``settings.MIDDLEWARE`` between the
middleware every response needs (the request log, security and CSP headers, static
files, the language, common, X-Frame-Options) and the browser's (sessions, CSRF,
authentication, messages, allauth, htmx, the second-factor and notice checks): a path
under ``API_PREFIX`` (or that prefix without its slash) goes from it straight to Django's URL resolution and the view, as
the handler takes a request after its last middleware. Every other path goes on
through the rest of the list.

What it saves is the browser middleware's work on every call (a tenth to a fifth of an
API call's processor time in one process; bench/api_throughput.py)."""

from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse

from portal.downloads import kept_out_of_caches

API_PREFIX = "/api/v1/"


def is_api_call(request: HttpRequest) -> bool:
    """Whether ``request`` is a call of the verification API: a path under API_PREFIX, or
    API_PREFIX without its slash (answered as the API answers its root, in JSON, not
    redirected by CommonMiddleware: the API's root view is marked ``no_append_slash``)."""
    path = request.path_info
    return path.startswith(API_PREFIX) or path == API_PREFIX[:-1]


class _ViewHandler(BaseHandler):
    """Django's request handler without middleware: resolve the URL, call the view (its
    exceptions turned into responses as the handler does for each middleware)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._middleware_chain(request)


class ApiPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.api = _ViewHandler()
        self.api.load_middleware()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_call(request):
            # An answer names a person, a refusal says how a client fares: neither is kept
            # in a cache, as PrivatePagesMiddleware (which these calls skip) keeps pages out.
            return kept_out_of_caches(self.api(request))
        return self.get_response(request)
