from django.urls import path

from verification.rosters import views

# Included by verification/urls.py (namespace "verification").
urlpatterns = [
    path("rosters/template.csv", views.template_csv, name="roster_template_csv"),
    path("rosters/template.xlsx", views.template_xlsx, name="roster_template_xlsx"),
    path("organisations/<int:pk>/rosters/", views.rosters, name="rosters"),
    path("rosters/<int:pk>/", views.roster, name="roster"),
    path("rosters/<int:pk>/progress/", views.roster_progress, name="roster_progress"),
    path("rosters/<int:pk>/refused-rows.csv", views.roster_refusals, name="roster_refusals"),
    path("rosters/<int:pk>/apply/", views.roster_apply, name="roster_apply"),
    path("organisations/<int:pk>/invitations/", views.invitations, name="invitations"),
    path("invitations/<int:pk>/resend/", views.invitation_resend_view, name="invitation_resend"),
    path("invitations/<int:pk>/cancel/", views.invitation_cancel_view, name="invitation_cancel"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
