from django.urls import path

from portal.organisations import role_views as views

app_name = "roles"

urlpatterns = [
    path("", views.home, name="home"),
    path("platform/grant/", views.platform_grant, name="platform_grant"),
    path("platform/<int:pk>/revoke/", views.platform_revoke, name="platform_revoke"),
    path("organisations/<int:pk>/", views.organisation, name="organisation"),
    path("organisations/<int:pk>/grant/", views.organisation_grant, name="organisation_grant"),
    path("organisations/<int:pk>/revoke/", views.organisation_revoke, name="organisation_revoke"),
    path("report/", views.report, name="report"),
    path("report.csv", views.report_download, name="report_download"),
]
