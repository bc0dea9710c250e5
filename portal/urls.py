from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.i18n import set_language

from portal import views
from portal.access import rule

# The Django admin signs in through allauth (so MFA applies), never its own form.
admin.site.login = login_required(admin.site.login)
admin.site.site_header = "Sandes onboarding portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", rule("public")(set_language), name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("portal/", include("portal.accounts.urls")),
    path("portal/outbox/", include("portal.mail.urls")),
    path("onboarding/", include("onboarding.urls")),
    path("admin/", admin.site.urls),
]
