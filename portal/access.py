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
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from portal.permissions import RULES, SIGNED_OUT_RULES

PENDING_PREFIX = "pending_input:"
# The most of a form's input kept for a person who is signed out (urlencoded): the
# largest of the portal's forms, every field full of Devanagari, is about a third of it.
# Anyone can post to any page: what is kept is one form, of at most this size.
PENDING_MAX_CHARACTERS = 64 * 1024


def _keep_input_and_login(request):
    """Signed out (for example an expired session) while sending a form: keep what was
    typed in the session, so that the form shows it again after signing in: the last
    form only, and not one larger than any of the portal's (its sender retypes it)."""
    if request.method == "POST" and not request.FILES:
        # (An upload cannot be kept: the person chooses the file again.)
        data = request.POST.copy()
        data.pop("csrfmiddlewaretoken", None)
        encoded = data.urlencode()
        for key in [key for key in request.session.keys() if key.startswith(PENDING_PREFIX)]:
            del request.session[key]
        if len(encoded) <= PENDING_MAX_CHARACTERS:
            request.session[PENDING_PREFIX + request.path] = encoded
        next_url = request.path
    else:
        next_url = request.get_full_path()
    return redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")


def pop_pending_input(request):
    """What was typed into this page's form before signing in again (urlencoded), once; or None."""
    return request.session.pop(PENDING_PREFIX + request.path, None)


def rule(name):
    if name not in RULES:
        raise ValueError(f"unknown access rule {name!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if name not in SIGNED_OUT_RULES:
                if not request.user.is_authenticated:
                    return _keep_input_and_login(request)
                if not RULES[name](request.user):
                    raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.access_rule = name
        return wrapped

    return decorator
