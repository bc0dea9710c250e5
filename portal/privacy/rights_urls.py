from django.urls import path

from portal.privacy import rights_views

app_name = "privacy_rights"

urlpatterns = [
    path("", rights_views.my_data, name="my_data"),
    path("download/", rights_views.download, name="download"),
]
