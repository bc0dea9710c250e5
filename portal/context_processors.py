from django.conf import settings

from portal import pending
from portal.permissions import is_auditor, is_state_admin, is_superadmin, may_manage_roles, may_read_role_report


def portal(request):
    # Input kept over a sign-in that no form of this page showed: the page says so (its
    # forms are made before it is rendered; the messages are read after this).
    pending.say_if_not_shown()
    # Both selectors answer no for a signed-out user, and read the roles once per request.
    user = getattr(request, "user", None)
    roles = {
        "is_superadmin": user is not None and is_superadmin(user),
        "is_state_admin": user is not None and is_state_admin(user),
        "is_auditor": user is not None and is_auditor(user),
        # The roles pages (read with the platform roles: no query of their own).
        "may_manage_roles": user is not None and may_manage_roles(user),
        "may_read_role_report": user is not None and may_read_role_report(user),
    }
    return {
        "DEBUG": settings.DEBUG,
        **roles,
        # Everything the layout's navigation depends on, the key it is kept by in each process
        # (templates/base.html, {% memo %}): signed in or not, and each flag above.
        "navigation_key": (user is not None and user.is_authenticated, *roles.values()),
    }
