"""Settings for the onboarding and verification portal.

Configuration comes from environment variables only (DESIGN §6). Every variable
left unset means the embedded default: SQLite, mail printed to the console and
kept in the outbox, Celery on a local filesystem broker.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from portal import formats

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_number(name, default, low, high, *, kind=int, why=""):
    """The number in the environment variable ``name`` (``default`` when unset), from ``low`` to
    ``high``: anything else refuses the start, naming the variable and what it may be. A
    negative, zero or huge count of days or rows would start the portal, then fail in a beat
    job or in a person's request (or quietly do something else: everything escalated at once)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:  # NaN too: it compares with nothing
        what = "a whole number" if kind is int else "a number"
        raise ImproperlyConfigured(f"{name} must be {what} from {low} to {high}{why}; it is {raw!r}.")
    return value


DEBUG = env_bool("DJANGO_DEBUG", True)
TESTING = env_bool("PORTAL_TESTING", False)

# Production (DJANGO_DEBUG=0) starts only with these set: no embedded default stands in
# for a secret, the host names or the database. Every one missing is named at once.
# SITE_URL too: every link the portal mails (an authority's single-use link, an
# invitation) is built on it, and must reach the portal over HTTPS. EMAIL_HOST too: without
# a relay the worker's transport would be the console backend, which prints every mail (its
# single-use links included) to the journal and counts it as sent.
REQUIRED_IN_PRODUCTION = ("DJANGO_SECRET_KEY", "AUDIT_HMAC_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "SITE_URL",
                          "EMAIL_HOST")
if not DEBUG:
    _problems = [f"{name} must be set when DJANGO_DEBUG is off." for name in REQUIRED_IN_PRODUCTION
                 if not os.environ.get(name, "").strip()]
    # Django's check --deploy (W009) wants 50 characters; the example's placeholder (which is
    # that long) must be replaced, not kept: anyone who read the example could sign sessions.
    _secret_key = os.environ.get("DJANGO_SECRET_KEY", "").strip()
    if 0 < len(_secret_key) < 50:
        _problems.append("DJANGO_SECRET_KEY must be at least 50 characters long.")
    if _secret_key.startswith(("change-me", "django-insecure-")):
        _problems.append("DJANGO_SECRET_KEY is still the placeholder of deploy/portal.env.example: "
                         "put 50 or more random characters there (deploy/README.md shows how).")
    if 0 < len(os.environ.get("AUDIT_HMAC_KEY", "").strip()) < 32:
        _problems.append("AUDIT_HMAC_KEY must be at least 32 characters long.")
    if os.environ.get("AUDIT_HMAC_KEY", "").strip().startswith("change-me"):
        _problems.append("AUDIT_HMAC_KEY is still the placeholder of deploy/portal.env.example: put 64 random "
                         "characters there, kept outside the database and its backups.")
    if os.environ.get("SITE_URL", "").strip() and not os.environ["SITE_URL"].strip().startswith("https://"):
        _problems.append("SITE_URL must start with https:// when DJANGO_DEBUG is off (the links mailed carry tokens).")
    if _problems:
        raise ImproperlyConfigured(
            " ".join(_problems) + " (README.md, Running in production, lists the variables.)"
        )

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "embedded-default-insecure-key-for-local-use-only-0123456789abcdef"

# The key of the audit log's HMAC chain (portal/audit). Kept out of the database,
# so that someone who can write to the database cannot recompute the chain.
AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", "")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY must be set when DJANGO_DEBUG is off.")
    AUDIT_HMAC_KEY = "embedded-default-audit-key-for-local-use-only-0123456789abcdef"
elif len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters long.")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
if not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL] if SITE_URL.startswith("https://") else []
# A form sent with an expired token: back to its page with what was typed, or a page in the person's language.
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

INSTALLED_APPS = [
    "portal.adminsite.PortalAdminConfig",  # django.contrib.admin, its site refusing NUL (portal/adminsite.py)
    "portal",  # before django.contrib.auth: its createsuperuser is the one manage.py runs
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "django_htmx",
    "portal.accounts",
    "portal.audit",
    "portal.mail",
    "portal.organisations",
    "portal.privacy",
    "onboarding",
    "verification",
    "verification.rosters",
    "verification.visibility",
    "monitoring",
    "api",
]

MIDDLEWARE = [
    # First: a request id and one log line for every request, whatever answers it.
    "portal.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # The language (from the cookie or Accept-Language: not from the session) and the
    # headers every answer carries, the verification API's too.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A call of the verification API (/api/v1/, a bearer token) goes from here to its view:
    # what follows serves people in a browser (portal/apipath.py).
    "portal.apipath.ApiPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every answer to a signed-in person marked to be kept by no browser or proxy (unless it says otherwise).
    "portal.private_pages.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.accounts.middleware.SignedInAsCookieMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.accounts.middleware.MfaEnforcementMiddleware",
    # After sign-in: a new version of the data protection notice to accept (reads the session only).
    "portal.privacy.middleware.NoticeMiddleware",
]

if not DEBUG and not TESTING:
    # Production serves static files from the app servers (runserver and the
    # test server serve them themselves), right after SecurityMiddleware.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# Database -------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0 if TESTING else 60,
        conn_health_checks=True,
    )
}
# Seconds a new connection to the database may take to open, and the check of a kept one
# (portal/postgresql.py) to be answered: a server that accepts connections and never answers
# fails the request (and /healthz, /readyz) in seconds, not at psycopg's 130 or TCP's timeout.
DATABASE_CONNECT_TIMEOUT = env_number("DATABASE_CONNECT_TIMEOUT", 5, 2, 120)  # 2: libpq's least
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's, with a check of a kept connection that needs no round trip while it is quiet.
    DATABASES["default"]["ENGINE"] = "portal.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: allauth keeps rate-limit counters and used TOTP codes here, and the PDF
# renders their locks, so it must be shared between processes and hosts: Redis
# (REDIS_URL, or CACHE_URL, else the broker when it is Redis), else the database.
# The database's cache (without Redis) culls a third of its entries, live ones too, once it
# holds more than MAX_ENTRIES (Django's default: 300): a person's kept form, a rate limit's
# counters and the beat lock would go with them. Its entries end by their own timeouts,
# and the table is counted on each write, which stays cheap at this size.
DATABASE_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache",
                  "OPTIONS": {"MAX_ENTRIES": 50_000}}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
REDIS_CACHE_URL = (
    os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL")
    or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
)
if REDIS_CACHE_URL:
    CACHES = {"default": {
        "BACKEND": "portal.rediscache.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        # A Redis that stops answering fails a request (and the readiness answer) in
        # seconds, not at the operating system's TCP timeout.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5, "health_check_interval": 30},
    }}
    # Sessions read from Redis (no database query per request) and written through to
    # the database, so a Redis restart signs nobody out. Any web host continues any session.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": DATABASE_CACHE}

# Authentication -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "portal.accounts.backends.ModelBackend",
    "portal.accounts.backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "portal.accounts.adapter.PortalAccountAdapter"
# Reverse proxies in front of the portal whose X-Forwarded-For is trusted: the
# client's address (audit rows, rate limits, allauth's own) is read through them.
ALLAUTH_TRUSTED_PROXY_COUNT = env_number("PORTAL_TRUSTED_PROXY_COUNT", 0, 0, 10)
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
# Adding, removing or making primary an email address (which roles and verifications rest
# on) asks for the password again, or an authenticator code where the account has one,
# unless given in the last five minutes: a browser left signed in (sessions last 8 hours)
# is not enough. A sign-in is not a reauthentication. The second factor's own pages ask
# the same (allauth's MFA_REAUTHENTICATION_REQUIRED, on by default).
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# A sign-in, and a reset (counted against its rate limit), is asked for by the mailbox's address;
# a sign-up hashes the password whether or not the address has an account (as long either way);
# the code that confirms an address has the accounts holding it unconfirmed give it up first.
ACCOUNT_FORMS = {"login": "portal.accounts.forms.LoginForm", "reset_password": "portal.accounts.forms.ResetPasswordForm",
                 "signup": "portal.accounts.forms.SignupForm",
                 "confirm_email_verification_code": "portal.accounts.forms.ConfirmEmailVerificationCodeForm"}
# Each address counted ("key") is a counter of its own in the cache, living as long as its
# longest limit (a day): a client's own limits come first (allauth stops at the first
# refused) and bound how many it makes, a minute's and a day's, so that one client cannot fill
# the database cache (MAX_ENTRIES) with counters of made-up addresses, culling live entries.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    # A sign-up mails a code (confirm_email, three counters of the address): 400 a day per
    # client, enough for an office behind one address signing its staff up in a day.
    "signup": "20/m/ip,400/d/ip",
    # "key": the mailbox, however its address is written (portal/accounts/mail_limits.py).
    # Per address: a code that confirms it (sign-up, signing in before it is confirmed, an
    # address added), or the notice that it has an account already, mailed at most 3 times in
    # 10 minutes, 5 times an hour and 10 times a day (as a reset, below), whoever asks.
    # The code lives in the session that asked, so allauth refuses (429) a sign-up past the
    # limit and calls a sign-in past it "too many failed login attempts": one mail (someone
    # else adding the address, or the sign-up itself) must leave room for the owner's next.
    "confirm_email": "3/10m/key,5/h/key,10/d/key",
    # Per address: a reset (or, for an address with no account, the "unknown account"
    # notice) mailed to it at most 5 times an hour and 10 times a day, whoever asks from however
    # many addresses.
    "reset_password": "20/m/ip,200/d/ip,5/h/key,10/d/key",
    "reset_password_from_key": "20/m/ip",
    # Per account, every change on the email page (allauth's "manage_email": adding an address,
    # which mails it a code, sending the code again, removing one, making one primary): at most 10
    # a minute (allauth's own) and 20 a day, so that one account cannot mail stranger after stranger.
    "manage_email": "10/m/user,20/d/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Sandes onboarding portal"
# The set-up page shows the same secret until it is activated (another language, a reload).
MFA_FORMS = {"activate_totp": "portal.accounts.forms.ActivateTOTPForm"}

# Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("hi", _("Hindi")), ("mr", _("Marathi"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True
# Dates are typed as ISO or day first (30/11/2026), never month first, in every language.
FORMAT_MODULE_PATH = ["portal.formats"]
DATE_INPUT_FORMATS = formats.DATE_INPUT_FORMATS
DATETIME_INPUT_FORMATS = formats.DATETIME_INPUT_FORMATS

# Static files and uploaded files ---------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("PORTAL_STATIC_ROOT", BASE_DIR / "staticfiles"))
# whitenoise (production): hashed names are cached for ten years by whitenoise itself (its "immutable" files); the
# few files without a hash in their name (of the pages, only nginx's for a body too large,
# static/errors/request-too-large.html, links them) for an hour.
WHITENOISE_MAX_AGE = 3600
# Uploaded and generated files are never served under a public URL: only the
# views that check permission stream them (MEDIA_URL stays unused).
MEDIA_ROOT = VAR_DIR / "files"
# With STORAGE_S3_BUCKET set they go to that bucket of an S3-compatible object store
# instead (django-storages), private: no public-read ACL, and no URL of the store is
# ever given out, since the views read the object and stream it.
STORAGE_S3_BUCKET = os.environ.get("STORAGE_S3_BUCKET", "")
if STORAGE_S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    DEFAULT_FILE_STORAGE_CONFIG = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            "endpoint_url": os.environ.get("STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("STORAGE_S3_REGION") or None,
            # Unset: boto3's own chain (AWS_* variables, an instance role, ~/.aws).
            "access_key": os.environ.get("STORAGE_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
            "location": os.environ.get("STORAGE_S3_PREFIX", "").strip("/"),
            "default_acl": None,
            "file_overwrite": False,
            # A store that stops answering fails the request (and readiness) in seconds.
            "client_config": _BotoConfig(
                s3={"addressing_style": os.environ.get("STORAGE_S3_ADDRESSING_STYLE") or "auto"},
                signature_version="s3v4", connect_timeout=3, read_timeout=20,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        },
    }
else:
    DEFAULT_FILE_STORAGE_CONFIG = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": "/nowhere/"},
    }
STORAGES = {
    "default": DEFAULT_FILE_STORAGE_CONFIG,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Over that size an upload goes to a temporary file whose name stays short whatever the
# uploaded name's extension (Django's own could be longer than a disk allows).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "portal.upload_handlers.ShortNamedTemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Mail: every message goes to the outbox table inside the caller's transaction
# ("default"); a Celery task hands it to the real transport ("transport").
# Without EMAIL_HOST (debug only: production refuses to start) mail is printed to the console.
EMAIL_HOST_ENV = os.environ.get("EMAIL_HOST", "").strip()
# Read (and bounded) with or without EMAIL_HOST: a wrong port refuses the start now, not on
# the day a relay is set.
EMAIL_PORT_ENV = env_number("EMAIL_PORT", 25, 1, 65535)
EMAIL_TIMEOUT_ENV = env_number("EMAIL_TIMEOUT", 20, 1, 120)
if EMAIL_HOST_ENV:
    TRANSPORT_MAILER = {
        "BACKEND": "portal.mail.transport.SMTPTransport",
        "OPTIONS": {
            "host": EMAIL_HOST_ENV,
            "port": EMAIL_PORT_ENV,
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "timeout": EMAIL_TIMEOUT_ENV,
        },
    }
else:
    TRANSPORT_MAILER = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
MAILERS = {
    "default": {"BACKEND": "portal.mail.backends.OutboxEmailBackend"},
    "transport": TRANSPORT_MAILER,
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Sandes Onboarding <noreply-onboarding@sandes.gov.in>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Attempts the mail server refuses for good (5xx) before a message is given up.
OUTBOX_MAX_ATTEMPTS = 8
# Hours a message is tried again (at most half an hour apart) while the mail server cannot be
# reached or answers "later" (4xx), from its first failure: then it is given up too.
OUTBOX_GIVE_UP_HOURS = env_number("OUTBOX_GIVE_UP_HOURS", 72, 1, 720)
# Days the outbox keeps a message after it was written, once sent or given up (a daily job).
OUTBOX_KEEP_DAYS = env_number("OUTBOX_KEEP_DAYS", 90, 1, 3650)

# Celery: reliable delivery settings (DESIGN §5 and §9).
# A task is handed to the broker after the commit of the request that wrote it (mail, a
# roster's import): a Redis that takes connections and answers nothing (frozen, failing
# over, packets dropped after the handshake) must not hold the request until the web
# worker is killed. Each socket gives up within seconds and a publish is tried twice; what
# was not handed over is taken up by the beat's sweeps. (A worker's wait for tasks, BRPOP,
# lasts a second, within these limits; other transports ignore these keys.)
_BROKER_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 3}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"  # its folders are made when Celery is configured (portal/celery.py)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        **_BROKER_TIMEOUTS,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, **_BROKER_TIMEOUTS}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_IGNORE_RESULT = True
# Every worker consumes every queue named here (none is started with -Q): the default one, and
# that of mass mail's tasks (portal.mail.tasks.BULK_QUEUE), taken in turn with it.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in ("celery", "outbox_bulk")]
CELERY_TIMEZONE = TIME_ZONE
# Daily jobs at a fixed hour of the night, India time (crontab, in CELERY_TIMEZONE), one after
# another: a day's interval would run them a day after beat first started with its schedule
# file (a new one in each container), and all at that one moment, in office hours as likely.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "portal.mail.tasks.outbox_sweep", "schedule": timedelta(minutes=1)},
    "deadline-sweep": {"task": "onboarding.tasks.deadline_sweep", "schedule": timedelta(minutes=15)},
    # Steps nobody could decide (no administrator who may), told to the first appointed who may.
    "undecided-steps-assign": {"task": "onboarding.tasks.undecided_steps_assign", "schedule": timedelta(minutes=15)},
    "rejections-finalise": {"task": "onboarding.tasks.rejections_finalise", "schedule": timedelta(hours=1)},
    "approval-letters-issue": {"task": "onboarding.tasks.approval_letters_issue", "schedule": timedelta(minutes=15)},
    # The audit chain's head, written outside the database (log and superadmins' mail).
    "audit-head-publish": {"task": "portal.audit.tasks.audit_head_publish", "schedule": crontab(hour=3, minute=30)},
    # Retention policies applied (portal/privacy): reminders, erasures, reductions; counts only.
    "retention-run": {"task": "portal.privacy.tasks.retention_run", "schedule": crontab(hour=2, minute=0)},
    "privacy-requests-sweep": {"task": "portal.privacy.tasks.privacy_requests_sweep",
                               "schedule": timedelta(hours=1)},
    # Stored files whose rows went but whose removal failed then (portal/stored_files.py).
    "files-left-remove": {"task": "portal.privacy.tasks.files_left_remove", "schedule": timedelta(hours=1)},
    # Roles past their end date (already without effect) recorded in the audit log, once each.
    "role-expiries-record": {"task": "portal.organisations.tasks.role_expiries_record", "schedule": timedelta(minutes=15)},
    # Verifications lapsing at superannuation; the yearly confirmation of the official address.
    "verification-superannuation-lapse": {"task": "verification.tasks.superannuation_lapse",
                                          "schedule": timedelta(hours=1)},
    "verification-address-reconfirmation": {"task": "verification.tasks.address_reconfirmation",
                                            "schedule": timedelta(hours=1)},
    # Monitoring: users per organisation (a scan of every profile) and the audit chain's check.
    "monitoring-figures-refresh": {"task": "monitoring.tasks.figures_refresh", "schedule": timedelta(minutes=15)},
    "monitoring-audit-chain-check": {"task": "monitoring.tasks.audit_chain_check", "schedule": crontab(hour=3, minute=0)},
    # Roster imports whose task was lost (a broker down when it was queued, a worker that died)
    # queued again once idle for 10 minutes.
    "verification-roster-applies-resume": {"task": "verification.rosters.tasks.roster_applies_resume",
                                           "schedule": timedelta(minutes=5)},
    # Invitations made but not mailed (the address had had the day's invitation mails), mailed
    # once it is under the limit.
    "verification-held-invitations-send": {"task": "verification.rosters.tasks.held_invitations_send",
                                           "schedule": timedelta(hours=1)},
    # Rosters' rows (people's details as uploaded) removed ROSTER_ROWS_KEEP_DAYS after use.
    "verification-roster-rows-remove": {"task": "verification.rosters.tasks.roster_rows_remove",
                                        "schedule": crontab(hour=1, minute=45)},
    # Sent mail removed from the outbox OUTBOX_KEEP_DAYS after it was written.
    "outbox-old-remove": {"task": "portal.mail.tasks.outbox_old_remove", "schedule": crontab(hour=1, minute=30)},
    # Expired sessions removed (Django leaves them in the table).
    "sessions-clear": {"task": "portal.accounts.tasks.sessions_clear", "schedule": crontab(hour=1, minute=15)},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if not DEBUG:
    # The worker and beat log through LOGGING (JSON lines), not Celery's own format.
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Onboarding ------------------------------------------------------------------
ONBOARDING_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
ONBOARDING_UPLOAD_MAX_PAGES = 20
# Most pixels of a letter uploaded as an image (decoded whole to check it): an A4 page
# scanned at 600 dpi has 34.8 million.
ONBOARDING_UPLOAD_MAX_PIXELS = 36_000_000
# Days a stage has (to the end of the day in India's time); the reminder comes on a day after
# the one a stage opens, so at most the shortest stage's days less one before it is due.
ONBOARDING_AUTHORITY_DUE_DAYS = env_number("ONBOARDING_AUTHORITY_DUE_DAYS", 7, 1, 365)
ONBOARDING_STATE_DUE_DAYS = env_number("ONBOARDING_STATE_DUE_DAYS", 10, 1, 365)
ONBOARDING_APPEAL_DUE_DAYS = env_number("ONBOARDING_APPEAL_DUE_DAYS", 14, 1, 365)
ONBOARDING_APPEAL_WINDOW_DAYS = env_number("ONBOARDING_APPEAL_WINDOW_DAYS", 30, 1, 365)
ONBOARDING_REMINDER_DAYS_BEFORE = env_number(
    "ONBOARDING_REMINDER_DAYS_BEFORE", 2, 0,
    min(ONBOARDING_AUTHORITY_DUE_DAYS, ONBOARDING_STATE_DUE_DAYS, ONBOARDING_APPEAL_DUE_DAYS) - 1,
    why=" (a day before the shortest of ONBOARDING_AUTHORITY_DUE_DAYS, ONBOARDING_STATE_DUE_DAYS and "
        "ONBOARDING_APPEAL_DUE_DAYS: no stage is reminded of on the day it opens)")
ONBOARDING_TOKEN_TTL_DAYS = env_number("ONBOARDING_TOKEN_TTL_DAYS", 7, 1, 365)
# Times one application may be returned for correction, by its competent authority and the
# state administrators together: after that it is approved or rejected (a rejection may be
# appealed to the superadmins), never handed back and forth without end.
ONBOARDING_RETURNS_MAX = env_number("ONBOARDING_RETURNS_MAX", 3, 1, 20)
# Submissions (and resubmissions) one nodal officer may make in 24 hours, from every
# account of their mailbox ("+tag" addresses and all): each mails the competent authority
# they named.
ONBOARDING_SUBMISSIONS_PER_DAY = env_number("ONBOARDING_SUBMISSIONS_PER_DAY", 10, 1, 100)
# New links for the competent authority ("Send the competent authority a new link") one
# nodal officer may ask for in 24 hours, over all their applications and every account of
# their mailbox: each mails the official address they named (a step takes one every 10
# minutes at most).
ONBOARDING_LINK_RESENDS_PER_DAY = env_number("ONBOARDING_LINK_RESENDS_PER_DAY", 5, 1, 100)
# Requests for a decision (the competent authority's link: a submission, a new link asked
# for; not the deadline sweep's reminders) one authority's mailbox may be sent in 24 hours,
# whoever named it: past them a submission or a new link naming it is refused. The limits
# above are each officer's; without this one many officers could flood one gov.in mailbox,
# and NIC's mail servers then block the portal's relay.
ONBOARDING_AUTHORITY_MAILS_PER_DAY = env_number("ONBOARDING_AUTHORITY_MAILS_PER_DAY", 20, 1, 1000)
# Of those, the most one nodal officer's submissions and new links (from every account of
# their mailbox) may take: one officer alone cannot use the mailbox's day and lock every
# other officer naming that authority out.
ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY = env_number(
    "ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY", min(5, ONBOARDING_AUTHORITY_MAILS_PER_DAY), 1,
    ONBOARDING_AUTHORITY_MAILS_PER_DAY,
    why=" (at most ONBOARDING_AUTHORITY_MAILS_PER_DAY: an officer's share of a mailbox's day)")
# Applications one nodal officer (every account of their mailbox, "+tag" and all) may
# start in 24 hours, withdrawn ones included: each keeps its row, permissions and audit
# rows, and a withdrawal mails the officer.
ONBOARDING_STARTS_PER_DAY = env_number("ONBOARDING_STARTS_PER_DAY", 20, 1, 100)
# Drafts one nodal officer (every account of their mailbox, "+tag" and all) may have open
# at once (each may hold a letter of up to ONBOARDING_UPLOAD_MAX_BYTES): what one person
# can make the portal store.
ONBOARDING_OPEN_DRAFTS_MAX = env_number("ONBOARDING_OPEN_DRAFTS_MAX", 10, 1, 100)
# Requests per minute from one IP address to the competent authority's link pages.
ONBOARDING_TOKEN_RATE_PER_MINUTE = env_number("ONBOARDING_TOKEN_RATE_PER_MINUTE", 30, 1, 1_000_000_000)
# Most reminders (and most escalations) the deadline sweep sends in one transaction.
ONBOARDING_SWEEP_BATCH = env_number("ONBOARDING_SWEEP_BATCH", 10000, 1, 100_000)
# PDFs (the filled form, the approval letter) are rendered in a child process that is
# stopped at this wall-clock and processor time and this much address space; a second
# request for the same document waits this long for the first one's PDF. Both happen inside
# a web request (a download), so each is bounded well under the web worker's timeout
# (deploy/gunicorn.conf.py, 60 s), which would end the request unanswered (a 502 from nginx)
# instead of telling the person on the page they came from.
_IN_REQUEST_SECONDS_MAX = 50
_IN_REQUEST_WHY = " (well under the web worker's timeout, GUNICORN_TIMEOUT: 60 seconds)"
PDF_RENDER_TIMEOUT_SECONDS = env_number("PDF_RENDER_TIMEOUT_SECONDS", 10.0, 1, _IN_REQUEST_SECONDS_MAX, kind=float,
                                        why=_IN_REQUEST_WHY)
PDF_RENDER_MEMORY_MB = env_number("PDF_RENDER_MEMORY_MB", 512, 128, 16384)
PDF_RENDER_WAIT_SECONDS = env_number("PDF_RENDER_WAIT_SECONDS", 3.0, 0, _IN_REQUEST_SECONDS_MAX, kind=float,
                                     why=_IN_REQUEST_WHY)
# PDFs of the filled form one account may have rendered afresh in an hour (a PDF already
# stored is served without counting): each save of a section is a new version, and each
# reader's download renders again, so one person could otherwise keep a render running.
PDF_RENDERS_PER_HOUR = env_number("PDF_RENDERS_PER_HOUR", 30, 1, 1000)
# CSV exports of the monitoring dashboard's organisations one account may have in an hour:
# each reads the whole of its scope again.
MONITORING_EXPORTS_PER_HOUR = env_number("MONITORING_EXPORTS_PER_HOUR", 20, 1, 1000)
# Adoption reminders (monitoring's tracker) one administrator may send in 24 hours: each office
# and each mailbox is reminded at most once a week, but a list may hold thousands of offices,
# each with its own mailbox, and each reminder mails one.
ADOPTION_REMINDERS_PER_DAY = env_number("ADOPTION_REMINDERS_PER_DAY", 50, 1, 10_000)
# An uploaded PDF letter is read (page count, scripts, attached files) in such a child
# too, stopped at this wall-clock and processor time and PDF_RENDER_MEMORY_MB; a letter
# that needs more is refused as too complex to check. A signed letter takes well under
# a second. Inside the upload's web request: bounded as the render is.
LETTER_CHECK_SECONDS = env_number("LETTER_CHECK_SECONDS", 5.0, 1, _IN_REQUEST_SECONDS_MAX, kind=float, why=_IN_REQUEST_WHY)
# Letters one account may have checked in an hour, refused ones included (counted before
# the check): uploading a letter made to be costly to read, again and again, would keep a
# child process busy without end.
LETTER_CHECKS_PER_HOUR = env_number("LETTER_CHECKS_PER_HOUR", 30, 1, 1000)
# Forms posted while signed out that are kept, in an hour, for people on one client's
# network (portal/signed_out_input.py: one slot per account, up to 64 KB each): past it
# nothing more is kept, so that one client with the cookies of many accounts does not
# write form after form to the cache. An office behind one address rarely has many
# sessions end as forms are sent.
SIGNED_OUT_INPUT_KEPT_PER_HOUR = env_number("SIGNED_OUT_INPUT_KEPT_PER_HOUR", 60, 1, 100_000)

# Roster imports (verification/rosters) --------------------------------------------
# Largest roster file and most rows one file may have; days an invitation's link works;
# rows applied in one transaction (the progress bar moves once a batch).
ROSTER_MAX_BYTES = 10 * 1024 * 1024
ROSTER_MAX_ROWS = 100_000
ROSTER_INVITATION_TTL_DAYS = env_number("ROSTER_INVITATION_TTL_DAYS", 30, 1, 365)
ROSTER_APPLY_BATCH = 5000
# Days a roster's rows (every person's details as uploaded) are kept after it was applied
# or, never applied, uploaded; then a daily job removes them (the counts stay).
ROSTER_ROWS_KEEP_DAYS = env_number("ROSTER_ROWS_KEEP_DAYS", 30, 1, 3650)
# Rosters one organisation may have checked in 24 hours (each stages every row it holds).
ROSTER_UPLOADS_PER_DAY = env_number("ROSTER_UPLOADS_PER_DAY", 20, 1, 100)
# Invitations one administrator may send again in 24 hours, whichever (each mails a person).
INVITATION_RESENDS_PER_DAY = env_number("INVITATION_RESENDS_PER_DAY", 100, 1, 10_000)
# Invitation mails one mailbox may receive in 24 hours, from every organisation together (a
# roster's, or one sent again): a further invitation is made but not mailed.
INVITATION_MAILS_PER_ADDRESS_PER_DAY = env_number("INVITATION_MAILS_PER_ADDRESS_PER_DAY", 3, 1, 20)
# Seconds the web request may spend reading, checking and staging a roster file (a 100,000-row
# roster takes a few): past them the file is refused at its field, well before the web
# worker's timeout (deploy/gunicorn.conf.py, 60 s) would end the request unanswered.
ROSTER_CHECK_SECONDS = env_number("ROSTER_CHECK_SECONDS", 20.0, 1, _IN_REQUEST_SECONDS_MAX, kind=float, why=_IN_REQUEST_WHY)

# Requests to be verified (by any organisation) one person may make in 24 hours:
# each waits in an organisation's queue.
VERIFICATION_REQUESTS_PER_DAY = env_number("VERIFICATION_REQUESTS_PER_DAY", 10, 1, 100)
# Requests one person may have waiting for a decision at once (the daily limit alone
# would let one account, asking over several days, fill a department's queue).
VERIFICATION_WAITING_MAX = env_number("VERIFICATION_WAITING_MAX", 3, 1, 100)
# Suspensions and reinstatements (together) of one person's verification by its
# administrators in 24 hours: each mails the person, with the administrator's note.
# Even, so that the last one allowed can undo a suspension.
VERIFICATION_SUSPENSIONS_PER_DAY = env_number("VERIFICATION_SUSPENSIONS_PER_DAY", 4, 2, 100)
# Grants, new end dates and removals of one person's roles by people in 24 hours: each
# mails the person, with the granter's note. Counted apart for the admin roles (in every
# organisation) and the platform roles; a further grant or new end date is refused, a
# removal never (portal/organisations/services.py).
ROLE_CHANGES_PER_DAY = env_number("ROLE_CHANGES_PER_DAY", 4, 1, 100)

# Verification API (api/) ---------------------------------------------------------
# Requests a minute each API client may make (counted in the cache, shared by every worker).
API_RATE_PER_MINUTE = env_number("API_RATE_PER_MINUTE", 600, 1, 1_000_000_000)
# Clients (not revoked) one organisation may have at once: each has its own
# API_RATE_PER_MINUTE, so more clients would multiply the organisation's limit.
API_CLIENTS_PER_ORGANISATION = env_number("API_CLIENTS_PER_ORGANISATION", 5, 1, 100)
# Requests a minute from one client address whose token is refused (none, malformed,
# unknown, revoked): past it, 429, and no token from there is looked up until the minute ends.
API_REFUSED_PER_MINUTE = env_number("API_REFUSED_PER_MINUTE", 30, 1, 1_000_000)

# The directory of people (verification/visibility) ----------------------------------
# Searches a minute from one client address (an IPv6 client's /64 network), signed out or
# not verified, counted in the cache: the directory is open to everyone and each search
# costs the database (bench/README.md); past it, 429 until the minute ends. A verified
# government user signed in is counted on their own account instead (the people of an
# office share its address), up to DIRECTORY_SEARCHES_PER_MINUTE_VERIFIED.
DIRECTORY_SEARCHES_PER_MINUTE = env_number("DIRECTORY_SEARCHES_PER_MINUTE", 30, 1, 1_000_000)
DIRECTORY_SEARCHES_PER_MINUTE_VERIFIED = env_number("DIRECTORY_SEARCHES_PER_MINUTE_VERIFIED", 60, 1, 1_000_000)
# People's pages (/people/<id>/, open to everyone, one person each: their ids follow one
# another) opened a minute, counted the same way: without it the directory could be read out
# whole by id, whatever the searches' limit.
DIRECTORY_PEOPLE_PER_MINUTE = env_number("DIRECTORY_PEOPLE_PER_MINUTE", 60, 1, 1_000_000)
DIRECTORY_PEOPLE_PER_MINUTE_VERIFIED = env_number("DIRECTORY_PEOPLE_PER_MINUTE_VERIFIED", 120, 1, 1_000_000)

# Verification lifecycle (verification/lifecycle.py) ---------------------------
# Each verified person confirms every VERIFICATION_RECONFIRM_DAYS that their official
# address still reaches them: one reminder this many days before the grace period
# ends, and suspension once it has ended without a confirmation (it ends with the day,
# in India's time, GRACE_DAYS after the request: the date the mails give).
VERIFICATION_RECONFIRM_DAYS = env_number("VERIFICATION_RECONFIRM_DAYS", 365, 1, 3650)
VERIFICATION_RECONFIRM_GRACE_DAYS = env_number("VERIFICATION_RECONFIRM_GRACE_DAYS", 30, 1, 365)
VERIFICATION_RECONFIRM_REMINDER_DAYS = env_number(
    "VERIFICATION_RECONFIRM_REMINDER_DAYS", 7, 0, VERIFICATION_RECONFIRM_GRACE_DAYS - 1,
    why=" (a day before the grace period, VERIFICATION_RECONFIRM_GRACE_DAYS, ends)")
# Most profiles one transaction of those beat jobs changes (and mails).
VERIFICATION_SWEEP_BATCH = env_number("VERIFICATION_SWEEP_BATCH", 1000, 1, 100_000)

# Security ---------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 8
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Load balancers and orchestrators ask these over plain HTTP, straight at gunicorn.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# Secrets in paths (the competent authority's link, portal/redaction.py) never reach
# a log line: the filter redacts them on the loggers that write request paths (the
# development server, django.request and the CSRF refusals, gunicorn's access and
# error logs) and on every handler. Naming a logger here replaces the handlers it had:
# django.server keeps Django's own format, and gunicorn (in its workers, once the
# portal is loaded) writes its access log to standard output and its errors to
# standard error through these.
#
# One JSON line a request (portal.requests, portal/requestlog.py) and a task
# (portal.tasks, portal/celery.py) on standard output, each with its request id; in
# production (debug off) every other line is JSON too. PORTAL_REQUEST_LOG=0/1 turns
# the request and task lines off or on (on by default in production only).
REQUEST_LOG = env_bool("PORTAL_REQUEST_LOG", not DEBUG)
# The request lines also go to this file when it is set (one file per host, written by every
# process of the host; deploy/logrotate-portal rotates it and keeps PRIVACY_LOG_RETENTION_DAYS
# days). The breach report (portal/privacy/breach_reads.py) reads it and its rotations.
REQUEST_LOG_FILE = os.environ.get("PORTAL_REQUEST_LOG_FILE", "")
_LINE_FORMAT = {} if DEBUG else {"formatter": "json"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "portal.logfilters.RedactSecrets"},
        "request_id": {"()": "portal.logformat.RequestIdFilter"},
    },
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
        "json": {"()": "portal.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets", "request_id"]} | _LINE_FORMAT,
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact_secrets"]},
        "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "filters": ["redact_secrets"]} | _LINE_FORMAT,
        "json": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json",
                 "filters": ["redact_secrets", "request_id"]},
    } | ({"request_file": {"class": "logging.handlers.WatchedFileHandler", "filename": REQUEST_LOG_FILE,
                           "encoding": "utf-8", "formatter": "json", "filters": ["redact_secrets", "request_id"],
                           # Opened at the first request line: a process that writes none (Celery,
                           # manage.py) starts where the file's folder is missing or read-only.
                           "delay": True}}
         if REQUEST_LOG_FILE else {}),
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "portal.requests": {"handlers": ["json", "request_file"] if REQUEST_LOG_FILE else ["json"],
                            "level": "INFO" if REQUEST_LOG else "WARNING", "propagate": False},
        "portal.tasks": {"handlers": ["json"], "level": "INFO" if REQUEST_LOG else "WARNING", "propagate": False},
        # Named so that the handlers Django's default configuration put on it go (its console's
        # copy of every line below, django.request's included, printed each of them a second time
        # in debug; its mail to ADMINS, which the portal has none of): its lines reach the root's.
        "django": {"level": "INFO"},
        "portal": {"level": "INFO"},
        "onboarding": {"level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False, "filters": ["redact_secrets"]},
        "django.request": {"filters": ["redact_secrets"]},
        "django.security.csrf": {"filters": ["redact_secrets"]},
        "django.db.backends": {"filters": ["redact_secrets"]},  # SQL, when someone turns it on
        # With the request log on (production), its JSON line is the access log: gunicorn's own
        # (the full request line, query string included) stays off.
        "gunicorn.access": {"handlers": ["access"], "level": "WARNING" if REQUEST_LOG else "INFO", "propagate": False,
                            "filters": ["redact_secrets"]},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False, "filters": ["redact_secrets"]},
    },
}

# Data protection (portal/privacy) ------------------------------------------------------------
# Records a retention batch erases or reduces in one transaction.
PRIVACY_RETENTION_BATCH = env_number("PRIVACY_RETENTION_BATCH", 500, 1, 100_000)
# Days the request log and the audit log are kept at least (CERT-In's directions: 180 days; the
# portal keeps a year). Retention never erases either; the log rotation keeps this many days.
PRIVACY_LOG_RETENTION_DAYS = env_number("PRIVACY_LOG_RETENTION_DAYS", 365, 1, 3650)  # a check refuses < 180
# Lines of the request log one breach report reads at most (the command may be given more).
PRIVACY_BREACH_LOG_MAX_LINES = env_number("PRIVACY_BREACH_LOG_MAX_LINES", 5_000_000, 1, 100_000_000)
# Seconds the breach report page reads the request log inside its web request (a line of a
# search no actor or address narrows costs some 25 to 45 microseconds: the lines above would
# take minutes): past them it says its findings are incomplete and that the breach_report
# command, which has no time limit, gives the whole answer. Well under the web worker's
# timeout (deploy/gunicorn.conf.py, 60 s), which would end the request with a 502.
PRIVACY_BREACH_PAGE_LOG_SECONDS = env_number("PRIVACY_BREACH_PAGE_LOG_SECONDS", 20.0, 1, _IN_REQUEST_SECONDS_MAX,
                                             kind=float, why=_IN_REQUEST_WHY)
# Days a data protection request (erasure, correction) has before it is overdue and escalated
# to every superadmin, and the reminder before that.
PRIVACY_REQUEST_DUE_DAYS = env_number("PRIVACY_REQUEST_DUE_DAYS", 30, 1, 365)
PRIVACY_REQUEST_REMINDER_DAYS_BEFORE = env_number(
    "PRIVACY_REQUEST_REMINDER_DAYS_BEFORE", 5, 0, PRIVACY_REQUEST_DUE_DAYS - 1,
    why=" (a day before PRIVACY_REQUEST_DUE_DAYS)")
