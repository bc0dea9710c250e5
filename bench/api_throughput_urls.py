"""The portal's URLs plus a bare Django JSON view, for bench/api_throughput.py only
(never the production URLs): the verification API and the bare view are served by the
same gunicorn workers (bench/api_throughput_wsgi.py)."""

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
