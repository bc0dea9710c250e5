from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django.shortcuts import redirect
from django.urls import reverse

from portal.permissions import needs_second_factor

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/")


def requires_mfa(user):
    # Whoever holds a platform role, and staff, who can reach the Django admin.
    return needs_second_factor(user)


def has_mfa(user):
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class MfaEnforcementMiddleware:
    """Platform roles (state admins, auditors, superadmins) and staff must set up a second factor before doing anything
    else, the Django admin included (allauth enforces no enrolment by itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(EXEMPT_PREFIXES) and requires_mfa(request.user) and not has_mfa(request.user):
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
