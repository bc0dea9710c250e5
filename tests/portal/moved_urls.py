"""The portal's URLs under /moved/: a URL configuration of its own, for the template filters' tests."""

from django.urls import include, path

urlpatterns = [path("moved/", include("portal.urls"))]
