"""The portal's URLs (and its error handlers) and one more, /crash/, whose view fails: what a reader
sees of an unexpected error."""

from django.urls import path

from portal.urls import handler400, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_patterns


def crash(request):
    raise RuntimeError("an unexpected error in a view")


urlpatterns = [path("crash/", crash), *portal_patterns]
