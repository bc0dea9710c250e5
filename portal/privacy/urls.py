from django.urls import path

from portal.privacy import notice_views, rights_views, views

app_name = "privacy"

urlpatterns = [
    path("retention/", views.retention, name="retention"),
    path("holds/", views.legal_holds, name="legal_holds"),
    path("holds/<int:pk>/release/", views.legal_hold_end, name="legal_hold_release"),
    path("notice/", notice_views.publish, name="notice_publish"),
    path("requests/", rights_views.requests_queue, name="requests"),
    path("breach/", views.breach, name="breach"),
    path("requests/<int:pk>/", rights_views.request_decide, name="request_decide"),
]
