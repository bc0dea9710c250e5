from django.urls import path

from verification.visibility import views

app_name = "visibility"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("export.csv", views.export, name="export"),
    path("<int:pk>/", views.person, name="person"),
    path("visibility/", views.my_visibility, name="mine"),
    path("visibility/organisations/<int:pk>/", views.organisation_visibility, name="organisation"),
]
