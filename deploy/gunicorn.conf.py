"""gunicorn's configuration for the portal: `make serve` and deploy/portal-web.service.

Every value can be changed through the environment (or gunicorn's own command line,
which wins over this file):

    PORTAL_BIND               address to listen on                127.0.0.1:8000
    WEB_CONCURRENCY           worker processes                    2
    GUNICORN_TIMEOUT          seconds a request may take          60 (a PDF render is stopped at 10)
    GUNICORN_CONTROL_SOCKET   gunicorn's control socket           $PORTAL_VAR_DIR/gunicorn.ctl
    PORTAL_PROXY_IPS          addresses of the reverse proxy      127.0.0.1,::1

The portal writes one JSON line per request itself (portal/requestlog.py), so
gunicorn's access log stays off; gunicorn's own messages are JSON lines too.

The application is loaded once, by the master, and each worker is a fork of it
(``preload_app``): a worker replaced after ``max_requests`` starts serving at once instead
of importing Django and the portal again (about 1.5 s of processor time on a 2-core host,
taken from the other worker's requests). The master also does what each worker would
otherwise do at its first requests (``portal.preload.warm``: the URL configuration, the
templates, the translations: 0.45 s of processor time at a new worker's first requests,
its first login page most of it). Neither opens a database, cache or object store connection
(tests/production/test_profile.py checks the master holds none), so no connection is
shared across the fork. A new version of the code needs a restart
(``systemctl restart portal-web``); a reload (HUP) starts new workers from the code the
master already holds.
"""

import os
from pathlib import Path

_var = Path(os.environ.get("PORTAL_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")

bind = [address.strip() for address in os.environ.get("PORTAL_BIND", "127.0.0.1:8000").split(",") if address.strip()]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (a little memory growth never accumulates;
# the portal's own per-process memos are bounded). Not much more often: a new worker starts
# its PDF render server (WeasyPrint's import and a first layout, about 1 s of processor
# time) and prepares its statements again; at 5,000 a busy worker was replaced every 10 to
# 20 s, a few per cent of the host's processor time.
max_requests = 50_000
max_requests_jitter = 5_000
preload_app = True
# One control socket per instance (gunicorn 27 would put every instance's at ~/.gunicorn/gunicorn.ctl).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(_var / "gunicorn.ctl")
# X-Forwarded-Proto is believed only from the reverse proxy.
forwarded_allow_ips = os.environ.get("PORTAL_PROXY_IPS", "127.0.0.1,::1")
# Bodies over the upload limit are refused by the reverse proxy (client_max_body_size);
# these bound what reaches gunicorn directly.
limit_request_line = 8190
limit_request_fields = 100

accesslog = None
errorlog = "-"
loglevel = "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "portal.logformat.JsonFormatter"}},
    "filters": {"redact_secrets": {"()": "portal.logfilters.RedactSecrets"}},
    "handlers": {
        "error_console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json",
                          "filters": ["redact_secrets"]},
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "root": {"level": "WARNING", "handlers": ["error_console"]},
}


def on_starting(server):
    _var.mkdir(parents=True, exist_ok=True)


def when_ready(server):
    """In the master, once the application is loaded, before the first worker is forked."""
    if server.cfg.preload_app:
        from portal.preload import warm  # noqa: PLC0415  (the application is loaded now)

        server.log.info("Preloaded for the workers: the URLs, %d templates, the translations", warm())


def post_worker_init(worker):
    """Each worker starts its PDF render server (WeasyPrint's import and a first layout,
    about a second) before it serves, not at its first download."""
    from onboarding.application.pdf import render_server_start  # noqa: PLC0415  (the application is loaded now)

    render_server_start(wait=30)
