from django.conf import settings

from portal.organisations.selectors import is_superadmin, state_admin_jurisdictions


def portal(request):
    user = getattr(request, "user", None)
    return {
        "PORTAL_NAME": "Sandes",
        "DEBUG": settings.DEBUG,
        "is_superadmin": bool(user and user.is_authenticated and is_superadmin(user)),
        "is_state_admin": bool(user and user.is_authenticated and state_admin_jurisdictions(user)),
    }
