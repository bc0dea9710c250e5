"""The portal's URLs plus the bare Django JSON view bench/pages.py compares every page
with (served by the same gunicorn: bench/pages_wsgi.py), and two views that tell the
shared cost of a signed-in page (bench/pages_profile.py): the bare view for a signed-in
user (session, user, roles, second factor: the middleware's and access rule's work)
and the base layout with nothing in it."""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.urls import urlpatterns as portal_urlpatterns


@rule("public")
@require_http_methods(["GET"])
def bare(request):
    return JsonResponse({"status": "ok"})


@rule("authenticated")
@require_http_methods(["GET"])
def bare_signed_in(request):
    return JsonResponse({"status": "ok"})


@rule("authenticated")
@require_http_methods(["GET"])
def layout_signed_in(request):
    return render(request, "base.html")


urlpatterns = [
    path("bench/bare", bare),
    path("bench/bare-signed-in", bare_signed_in),
    path("bench/layout-signed-in", layout_signed_in),
    *portal_urlpatterns,
]
