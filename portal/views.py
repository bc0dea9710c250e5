from django.conf import settings
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
        return True, "ok"
    except Exception as exc:  # any database error means unhealthy
        return False, type(exc).__name__


def _broker_ok():
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # any broker error means unhealthy
        return False, type(exc).__name__


@rule("public")
@never_cache
@require_http_methods(["GET"])
def healthz(request):
    db_ok, db_detail = _database_ok()
    broker_ok, broker_detail = _broker_ok()
    healthy = db_ok and broker_ok
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": db_detail,
        "broker": broker_detail,
        "debug": settings.DEBUG,
    }
    return JsonResponse(body, status=200 if healthy else 503)
