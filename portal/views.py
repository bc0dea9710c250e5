from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.access import rule


@rule("public")
@require_http_methods(["GET"])
def home(request):
    if request.user.is_authenticated:
        return redirect("onboarding:my_applications")
    return render(request, "portal/home.html")


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:  # any database error means unhealthy
        return False


def _broker_ok():
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any broker error means unhealthy
        return False


@rule("public")
@never_cache
@require_http_methods(["GET"])
def healthz(request):
    """For load balancers and monitoring, open to anyone: whether the portal and each
    thing it needs answer, and nothing else (no settings, no error names or versions)."""
    components = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(components.values())
    body = {"status": "ok" if healthy else "unavailable"} | {
        name: "ok" if ok else "down" for name, ok in components.items()
    }
    return JsonResponse(body, status=200 if healthy else 503)
