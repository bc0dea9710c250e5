from django.urls import path

from verification import admin_views, confirm_views, views
from verification.rosters import urls as roster_urls

app_name = "verification"

urlpatterns = [
    # A person asking to be verified
    path("", views.mine, name="mine"),
    path("organisations/", views.organisation_search, name="organisation_search"),
    path("organisations/<int:pk>/join/", views.join, name="join"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    # The yearly confirmation of the official address (the link mailed to it)
    path("confirm/<str:token>/", confirm_views.confirm_link, name="confirm_link"),
    path("confirm/", confirm_views.confirm, name="confirm"),
    # An organisation's admins
    path("queue/", admin_views.queue, name="queue"),
    path("queue/decide/", admin_views.queue_decide, name="queue_decide"),
    path("profiles/<int:pk>/", admin_views.profile_detail, name="profile"),
    path("profiles/<int:pk>/suspend/", admin_views.profile_suspend, name="profile_suspend"),
    path("profiles/<int:pk>/revoke/", admin_views.profile_revoke, name="profile_revoke"),
    path("profiles/<int:pk>/reinstate/", admin_views.profile_reinstate, name="profile_reinstate"),
    path("profiles/<int:pk>/accept-name/", admin_views.profile_name_accept, name="profile_name_accept"),
    path("organisations/<int:pk>/members/", admin_views.members, name="members"),
    path("organisations/<int:pk>/settings/", admin_views.organisation_settings, name="organisation_settings"),
]

# Roster imports and invitations (verification/rosters)
urlpatterns += roster_urls.urlpatterns
