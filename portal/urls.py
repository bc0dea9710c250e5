from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from portal import views
from portal.accounts import views as account_views


def admin_login(request, extra_context=None):
    """The Django admin signs in through allauth (so MFA applies), never its own
    form: not even for someone already signed in, who could otherwise post
    another (staff) account's password to it and skip that account's second factor."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.is_active and request.user.is_staff:
        return redirect("admin:index")
    raise PermissionDenied


def admin_password_change(request, extra_context=None):
    """The admin's link to change one's own password leads to allauth's page, as every
    change of one's password goes: audited, its guesses of the current password limited
    (Django's own page did neither)."""
    return redirect("account_change_password")


admin.site.login = admin_login
admin.site.password_change = admin_password_change
admin.site.password_change_done = admin_password_change
admin.site.site_header = _("Sandes onboarding portal")
admin.site.site_title = _("Sandes onboarding portal")  # each page's title in the browser's tab, after the page's own

handler400 = views.bad_request
handler404 = views.page_not_found
handler500 = views.server_error
handler429 = views.too_many_requests  # not Django's: allauth renders it for its rate limits

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Near the top: Django tries the patterns in order, and the verification API is the
    # most called path (eGov applications); nothing else starts with "api/".
    path("api/", include("api.urls")),
    path("i18n/setlang/", views.language_set, name="set_language"),
    # allauth's email page, with the roles' rules (before allauth's URLs, which it replaces).
    path("accounts/email/", account_views.email, name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("portal/", include("portal.accounts.urls")),
    path("portal/outbox/", include("portal.mail.urls")),
    path("portal/organisations/", include("portal.organisations.urls")),
    path("portal/privacy/", include("portal.privacy.urls")),
    path("privacy/notice/", include("portal.privacy.notice_urls")),
    path("privacy/my-data/", include("portal.privacy.rights_urls")),
    path("portal/roles/", include("portal.organisations.role_urls")),
    path("onboarding/", include("onboarding.urls")),
    path("verification/", include("verification.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("people/", include("verification.visibility.urls")),
    path("admin/", admin.site.urls),
]
