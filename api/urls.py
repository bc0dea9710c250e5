from django.urls import path

from api import views
from api.v1 import api, not_found

app_name = "api"

urlpatterns = [
    path("v1/", api.urls),
    # An organisation's admins
    path("organisations/<int:pk>/clients/", views.client_list, name="clients"),
    path("organisations/<int:pk>/clients/new/", views.client_create, name="client_create"),
    path("clients/<int:pk>/token/", views.client_token, name="client_token"),
    path("clients/<int:pk>/revoke/", views.client_revoke, name="client_revoke"),
    # Last: any other address under the API's prefix, and the prefix without its slash, a
    # JSON 404 (with DEBUG on too, when Django would answer its HTML page).
    path("v1", not_found, name="not_found_root"),
    path("v1/<path:rest>", not_found, name="not_found"),
]
