from django.urls import path

from api import views
from api.v1 import api

app_name = "api"

urlpatterns = [
    path("v1/", api.urls),
    # An organisation's admins
    path("organisations/<int:pk>/clients/", views.client_list, name="clients"),
    path("organisations/<int:pk>/clients/new/", views.client_create, name="client_create"),
    path("clients/<int:pk>/revoke/", views.client_revoke, name="client_revoke"),
]
