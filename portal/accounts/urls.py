from django.urls import path

from portal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("email-rules/", views.email_rules, name="email_rules"),
    path("email-rules/<int:pk>/", views.email_rule_edit, name="email_rule_edit"),
]
