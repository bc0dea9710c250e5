import logging
import os
import threading
import time
import uuid
from pathlib import Path

from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django.views.i18n import set_language

from portal.access import form_page, input_returns_to, keep_input, page_to_return_to, rule
from portal.apipath import is_api_call

logger = logging.getLogger(__name__)


@rule("public")
@require_http_methods(["GET"])
def home(request):
    if request.user.is_authenticated:
        return redirect("onboarding:my_applications")
    return render(request, "portal/home.html")


@rule("public")
@require_http_methods(["GET", "HEAD", "POST"])
def language_set(request):
    """Django's set_language (the language form in every page's header). A signed-in
    person's choice is kept on their account too: the language mail to them is written in
    when they are not on a page (people_known_languages). A GET sets nothing, as Django's."""
    response = set_language(request)
    language = request.POST.get("language") if request.method == "POST" else None
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        get_user_model().objects.filter(pk=request.user.pk).exclude(language=language).update(language=language)
    return response


def _database_ok():
    """Whether the database answers, in one round trip: the connection's own check
    (``is_usable``, a SELECT 1, asked of the server whatever the kept connection's socket
    says), once more on a new connection when the kept one no longer answers (the server
    restarted, a proxy dropped it)."""
    try:
        for _attempt in range(2):
            connection.ensure_connection()
            if connection.is_usable():
                return True
            connection.close()
        return False
    except Exception:  # any database error means unhealthy
        return False


# Seconds the broker's probe may wait for each step: the TCP connection, then each exchange
# after it (Redis's PING, AMQP's handshake), so that a broker that accepts connections and
# never answers is down in seconds (/readyz holds its lock meanwhile).
BROKER_PROBE_SECONDS = 2
# Redis's socket_timeout, AMQP's read and write timeouts (each transport takes its own).
BROKER_PROBE_OPTIONS = dict.fromkeys(("socket_timeout", "read_timeout", "write_timeout"), BROKER_PROBE_SECONDS)


def _broker_connect():
    """Open and close a connection to the broker, one attempt, each step of it at most
    BROKER_PROBE_SECONDS; raises when it fails. No retry: a probe is asked again by whoever
    asked it, and waiting to retry would outlast a probe's timeout instead of answering that
    the broker is down."""
    from portal.celery import app

    with app.connection_for_write(connect_timeout=BROKER_PROBE_SECONDS,
                                  transport_options=BROKER_PROBE_OPTIONS) as conn:
        conn.ensure_connection(max_retries=0)


# /healthz is asked every few seconds by every load balancer: the broker's answer is
# kept this long per process (and per broker URL) instead of a new connection per call.
BROKER_CHECK_SECONDS = 5.0
_broker_checked: dict[str, tuple[float, bool]] = {}
_broker_lock = threading.Lock()


def _broker_ok():
    from portal.celery import app

    url = str(app.conf.broker_url)
    now = time.monotonic()
    checked = _broker_checked.get(url)
    if checked and now - checked[0] < BROKER_CHECK_SECONDS:
        return checked[1]
    with _broker_lock:
        try:
            _broker_connect()
            ok = True
        except Exception:  # any broker error means unhealthy
            ok = False
        _broker_checked[url] = (time.monotonic(), ok)
    return ok


@rule("public")
@never_cache
@require_http_methods(["GET"])
def healthz(request):
    """For load balancers and monitoring, open to anyone: whether the portal and each
    thing it needs answer, and nothing else (no settings, no error names or versions).
    The quick liveness answer: the broker's state may be a few seconds old."""
    components = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(components.values())
    body = {"status": "ok" if healthy else "unavailable"} | {
        name: "ok" if ok else "down" for name, ok in components.items()
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _cache_check():
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not give back what was stored")
    finally:
        cache.delete(key)


def _storage_check():
    """The file storage answers: the object store lists its top level (a missing bucket,
    wrong credentials or an unreachable store fail), the local folder is writable."""
    if isinstance(default_storage, FileSystemStorage):
        location = Path(default_storage.location)
        location.mkdir(parents=True, exist_ok=True)
        if not os.access(location, os.W_OK):
            raise PermissionError("the files folder is not writable")
        return
    default_storage.listdir("")


def _database_check():
    if not _database_ok():
        raise RuntimeError("the database did not answer")


# Each component and the function (by name, looked up at each call) that checks it.
READINESS_CHECKS = {"database": "_database_check", "cache": "_cache_check", "broker": "_broker_connect",
                    "storage": "_storage_check"}
# Anyone may ask, and a check costs a broker connection, a listing of the object store
# (a paid request, up to its timeout) and cache writes: each process checks at most once
# in this many seconds, one check at a time, and gives that answer meanwhile.
READINESS_CHECK_SECONDS = 2.0
_readiness_kept: dict[str, tuple[float, dict]] = {}
_readiness_lock = threading.Lock()


def _readiness() -> dict:
    checks, failed = {}, []
    for name, check in READINESS_CHECKS.items():
        started = time.perf_counter()
        try:
            globals()[check]()
            status = "ok"
        except Exception as exc:  # any failure of the component means not ready
            logger.warning("Readiness: %s failed: %s", name, f"{type(exc).__name__}: {exc}"[:300])
            status = "down"
            failed.append(name)
        checks[name] = {"status": status, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}


@rule("public")
@never_cache
@require_http_methods(["GET"])
def readyz(request):
    """For an orchestrator deciding whether to send this process requests: the database,
    the cache (sessions, rate limits), the broker and the file storage, each checked now
    with its own status and time in milliseconds; 503 naming what failed. Open to anyone,
    so it says nothing else (no error, host name or version); the errors are logged.
    The answer may be READINESS_CHECK_SECONDS old."""
    with _readiness_lock:
        kept = _readiness_kept.get("answer")
        if kept is None or time.monotonic() - kept[0] >= READINESS_CHECK_SECONDS:
            kept = _readiness_kept["answer"] = (time.monotonic(), _readiness())
    body = kept[1]
    return JsonResponse(body, status=503 if body["failed"] else 200)


def csrf_failure(request, reason=""):
    """A form sent without the security token this session expects (CSRF_FAILURE_VIEW):
    most often a page left open while its session ended and the person signed in again
    elsewhere (which renews the token). Nothing was done. When the form was on a page of
    this site that shows kept input (a signed-in person's page), sent from this site, what
    was typed is kept (no password) and the person is taken back to that page to send it
    again; otherwise (a post from another site, a sign-in or password page, a link's page)
    a page says so, in the person's language and the portal's layout."""
    # The page the form was on; for a confirmation (the answer to a post, at an address that
    # only takes posts) the page its view names to come back to.
    page = page_to_return_to(request, form_page(request))
    origin = request.headers.get("Origin")
    same_origin = origin is None or origin == f"{request.scheme}://{request.get_host()}"
    if request.method == "POST" and page and same_origin and hasattr(request, "session"):
        if keep_input(request, page, said=True):
            messages.warning(request, _("The form could not be sent: the page had been open since before you signed in "
                                        "again. Nothing was done: check what you typed and send it again."))
            return redirect(page)
        if request.FILES and input_returns_to(request, page):
            # A file is never kept: back to the upload's page, to choose it again.
            messages.warning(request, _("The form could not be sent: the page had been open since before you signed in "
                                        "again. Nothing was done: choose the file again and send it."))
            return redirect(page)
    return render(request, "403_csrf.html", status=403)


# Error handlers (portal/urls.py): a page in the portal's layout, except for a call of the
# verification API (portal/apipath.py), whose client reads JSON: {"detail": "..."}, as
# the API's own errors (api/v1.py).

def bad_request(request, exception):
    if is_api_call(request):
        return JsonResponse({"detail": _("The request could not be understood")}, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if is_api_call(request):
        return JsonResponse({"detail": _("The API has nothing at this address: its OpenAPI document lists what it "
                                         "has.")}, status=404)
    return defaults.page_not_found(request, exception)


# The limits of ACCOUNT_RATE_LIMITS (portal/settings.py) on mail to one address, by the URL
# name of allauth's page they refuse (429) and the action they count: the sentence the 429
# page adds when that limit is the one reached. Any other refusal (requests from one client
# address or account) gets the page's general sentences only.
MAIL_LIMITS = {
    "account_reset_password": ("reset_password", gettext_lazy(
        "A password reset can be asked for the same address at most five times an hour and ten times a day.")),
    "account_signup": ("confirm_email", gettext_lazy(
        "A code that confirms an address, or the notice that it has an account already, is mailed to one address "
        "at most three times in ten minutes, five times an hour and ten times a day, whoever asks.")),
}
MAIL_LIMITS["account_email"] = MAIL_LIMITS["account_signup"]


# The email page's own limit on one account (ACCOUNT_RATE_LIMITS "manage_email"): each address
# added there is mailed a code, so one account could otherwise mail a new stranger every few seconds.
ACCOUNT_EMAIL_LIMIT = gettext_lazy(
    "One account can add, remove or change its addresses on this page at most ten times a minute and twenty "
    "times a day: each address added is mailed a code.")


def mail_limit_reached(request):
    """The sentence of MAIL_LIMITS for the address a refused page was sent, when its limit is
    the one reached (asked of allauth without counting), or ACCOUNT_EMAIL_LIMIT when the email
    page's limit on the account is; None otherwise."""
    match = getattr(request, "resolver_match", None)
    url_name = match.url_name if match else None
    action, sentence = MAIL_LIMITS.get(url_name, (None, None))
    if action is None or request.method != "POST":
        return None
    if url_name == "account_email" and not ratelimit.consume(request, action="manage_email", dry_run=True):
        return ACCOUNT_EMAIL_LIMIT
    try:
        email = get_adapter(request).clean_email(request.POST.get("email", ""))
    except ValidationError:
        return None
    return None if ratelimit.consume(request, action=action, key=email.lower(), dry_run=True) else sentence


def too_many_requests(request):
    """The page of allauth's 429s (allauth renders ``ROOT_URLCONF.handler429``), in the portal's
    layout: it names the limit on mail to one address that refused the page, where that is
    the one reached, rather than the password reset's for every refusal."""
    return render(request, "429.html", {"mail_limit": mail_limit_reached(request)}, status=429)


# The 500 page when even templates/500.html cannot be rendered (its template or a static
# file missing, a broken catalogue): fixed, in the portal's three languages.
SERVER_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Something went wrong · त्रुटि · त्रुटी · Sandes onboarding portal</title></head>
<body><main>
<h1>Something went wrong on our side</h1>
<p>The error has been recorded. Nothing you saved before has been lost; please try again in a few minutes.</p>
<p lang="hi">हमारी ओर से कोई त्रुटि हुई है। त्रुटि दर्ज कर ली गई है। आपका पहले सहेजा गया कुछ भी नष्ट नहीं हुआ है; कृपया कुछ
मिनट बाद फिर प्रयास करें।</p>
<p lang="mr">आमच्या बाजूने काहीतरी चूक झाली. त्रुटीची नोंद झाली आहे. तुम्ही आधी जतन केलेले काहीही गमावलेले नाही; कृपया काही
मिनिटांनी पुन्हा प्रयत्न करा.</p>
<p><a href="/">Start page · मुख्य पृष्ठ · मुख्य पृष्ठ</a></p>
</main></body></html>
"""


def server_error(request):
    """An unexpected error, in the reader's language as the other error pages. It asks nothing
    that may itself have failed: no database, session or signed-in person (templates/500.html
    is rendered without the request's context), only the request's own language cookie or
    Accept-Language, read here because the error may have come before LocaleMiddleware chose
    it (another request's language may still be active), and the catalogues in memory."""
    try:
        with translation.override(translation.get_language_from_request(request)):
            if is_api_call(request):
                return JsonResponse({"detail": _("Something went wrong on our side; the error has been recorded. Try "
                                                 "again in a few minutes.")}, status=500)
            return HttpResponseServerError(loader.render_to_string("500.html"))
    except Exception:  # the page must not fail: the fixed one
        logger.exception("The 500 page could not be rendered")
        return HttpResponseServerError(SERVER_ERROR_PAGE)
