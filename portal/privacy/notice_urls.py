from django.urls import path

from portal.privacy import notice_views

app_name = "privacy_notice"

urlpatterns = [
    path("", notice_views.notice, name="notice"),
    path("accept/", notice_views.accept, name="accept"),
]
