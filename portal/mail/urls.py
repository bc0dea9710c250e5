from django.urls import path

from portal.mail import views

app_name = "mail"

urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("<int:pk>/", views.outbox_message, name="outbox_message"),
    path("unknown/<int:pk>/lift/", views.unknown_mailbox, name="unknown_mailbox"),
]
