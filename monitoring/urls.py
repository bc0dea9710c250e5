from django.urls import path

from monitoring import tracker_views, views

app_name = "monitoring"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("organisations.csv", views.dashboard_export, name="dashboard_export"),
    path("audit/", views.audit_log, name="audit_log"),
    path("adoption/", tracker_views.tracker, name="tracker"),
    path("adoption/new/", tracker_views.office_edit, name="office_new"),
    path("adoption/upload/", tracker_views.office_upload, name="office_upload"),
    path("adoption/<int:pk>/edit/", tracker_views.office_edit, name="office_edit"),
    path("adoption/<int:pk>/delete/", tracker_views.office_delete, name="office_delete"),
    path("adoption/<int:pk>/remind/", tracker_views.office_remind, name="office_remind"),
]
