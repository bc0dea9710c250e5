"""The portal's URLs plus the bare Django JSON view bench/pages.py compares every page
with (served by the same gunicorn: bench/pages_wsgi.py)."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.urls import urlpatterns as portal_urlpatterns


@rule("public")
@require_http_methods(["GET"])
def bare(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("bench/bare", bare), *portal_urlpatterns]
