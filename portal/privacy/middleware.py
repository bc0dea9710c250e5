from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from portal.privacy.notice import PENDING_KEY

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/", "/privacy/notice/", "/api/")


class NoticeMiddleware:
    """Sends a person with a notice version still to accept (set at sign-in, in the
    session) to the acceptance page, keeping the page they asked for as ``next``.
    Reads only the session: no query on any request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (session is not None and PENDING_KEY in session and request.method in ("GET", "HEAD")
                and not request.path_info.startswith(EXEMPT_PREFIXES)
                and getattr(request, "user", None) is not None and request.user.is_authenticated):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('privacy_notice:accept')}?{query}")
        return self.get_response(request)
