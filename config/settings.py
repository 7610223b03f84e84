"""Tessera settings, read from the environment (django-environ).

With nothing set, the app runs on the embedded default: SQLite under ``var/``, Celery tasks run
eagerly in-process, emails go to the console (and, as always, to the outbox page). Setting
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``EMAIL_URL`` turns it into a real deployment:
PostgreSQL, Redis-backed Celery workers, SMTP. ``docs/operations.md`` lists every variable.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
# A .env file beside manage.py (or at ENV_FILE) is read first; real environment variables win.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (for example "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL, used for links in emails (invitations, password resets).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_scopes",
    "import_export",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tenancy",
    "accounts",
    "messaging",
    "bookings",
    "contracts",
    "invitations",
    "imports",
    "sessions_roster",
    "regcodes",
    "packages_credits",
    "audit",
    "webhooks",
    "analytics",
    "api",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tenancy.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.tenancy",
            ],
        },
    },
]
FORM_RENDERER = "config.forms.TesseraFormRenderer"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend plus the row-level security settings sent with each statement (tenancy/rls.py).
    DATABASES["default"]["ENGINE"] = "tenancy.postgresql"
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Covering indexes (INCLUDE) are PostgreSQL's; on the embedded default they are plain indexes.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workspaces"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

LANGUAGE_CODE = "en"
# A workspace picks one (Tenant.language): its pages and emails take that language's formats and,
# where a translation exists (locale/), its words.
LANGUAGES = [
    ("en", "English"),
    ("en-gb", "English (United Kingdom)"),
    ("nl", "Nederlands"),
    ("de", "Deutsch"),
    ("fr", "Français"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the app folders when static files were not collected (runserver, tests).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# Security: cookies are Secure unless told otherwise (off by default only in DEBUG).
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "accounts.sessions"  # database sessions; a lost database while saving one is a 500, not a 400
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (tenancy/security_headers.py): no inline script anywhere; inline style only
# through the per-request nonce (the workspace's brand colour).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}
# Pages, by URL name, whose directives differ. Email previews show the email's HTML in a sandboxed
# <iframe srcdoc> (no script runs in it); it inherits the page's policy, and emails style with inline
# attributes, so these two pages allow inline style (never script).
CONTENT_SECURITY_POLICY_BY_VIEW = {
    "messaging:outbox_detail": {"style-src": ["'self'", "'unsafe-inline'"]},
    "messaging:template_edit": {"style-src": ["'self'", "'unsafe-inline'"]},
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)

# Email: console by default; EMAIL_URL=smtp+tls://user:password@host:587 for SMTP.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tessera <no-reply@tessera.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Outbox: attempts before a message is marked failed, and the first retry delay (doubled each time).
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=5)
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=30)
# A row left in "queued" past its due time, or in "sending" this long, is picked up by the sweeper.
OUTBOX_STALE_SECONDS = env.int("OUTBOX_STALE_SECONDS", default=120)
OUTBOX_SENDING_TIMEOUT_SECONDS = env.int("OUTBOX_SENDING_TIMEOUT_SECONDS", default=600)
STAFF_INVITATION_VALID_DAYS = env.int("STAFF_INVITATION_VALID_DAYS", default=7)

# How far ahead people can book, in days; the calendar and forms accept dates within these years.
BOOKING_HORIZON_DAYS = env.int("BOOKING_HORIZON_DAYS", default=365)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

# Wrong codes tried on the public booking page, per client address and workspace, per window.
CODE_ATTEMPT_LIMIT = env.int("CODE_ATTEMPT_LIMIT", default=20)
CODE_ATTEMPT_WINDOW_SECONDS = env.int("CODE_ATTEMPT_WINDOW_SECONDS", default=3600)
CODE_TENANT_ATTEMPT_LIMIT = env.int("CODE_TENANT_ATTEMPT_LIMIT", default=2000)  # wrong codes per workspace a window
# Rate limits against brute force (tenancy/ratelimit.py), counted in the shared cache (CACHE_URL).
SIGNIN_ATTEMPT_LIMIT = env.int("SIGNIN_ATTEMPT_LIMIT", default=30)  # failed sign-ins per client address
SIGNIN_ACCOUNT_ATTEMPT_LIMIT = env.int("SIGNIN_ACCOUNT_ATTEMPT_LIMIT", default=10)  # failed sign-ins per account
SIGNIN_ATTEMPT_WINDOW_SECONDS = env.int("SIGNIN_ATTEMPT_WINDOW_SECONDS", default=900)
PASSWORD_RESET_LIMIT = env.int("PASSWORD_RESET_LIMIT", default=20)  # reset requests per client address
PASSWORD_RESET_EMAIL_LIMIT = env.int("PASSWORD_RESET_EMAIL_LIMIT", default=5)  # reset requests per email typed
PASSWORD_RESET_WINDOW_SECONDS = env.int("PASSWORD_RESET_WINDOW_SECONDS", default=3600)
LINK_ATTEMPT_LIMIT = env.int("LINK_ATTEMPT_LIMIT", default=20)  # unknown links, wrong email codes: per address
LINK_TENANT_ATTEMPT_LIMIT = env.int("LINK_TENANT_ATTEMPT_LIMIT", default=300)  # per workspace; then one try each
LINK_ATTEMPT_WINDOW_SECONDS = env.int("LINK_ATTEMPT_WINDOW_SECONDS", default=3600)
RATE_LIMIT_REPORTS_PER_WINDOW = env.int("RATE_LIMIT_REPORTS_PER_WINDOW", default=50)  # rate_limit.hit audit lines
SEAT_INVITE_VALID_DAYS = env.int("SEAT_INVITE_VALID_DAYS", default=30)  # an emailed seat invitation link works
# How orders are paid; the default records the amount due and the buyer pays offline.
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="payments.providers.OfflineProvider")
# One-time codes that prove an invited email address: minutes valid, wrong tries allowed.
EMAIL_PROOF_MINUTES = env.int("EMAIL_PROOF_MINUTES", default=15)
EMAIL_PROOF_ATTEMPTS = env.int("EMAIL_PROOF_ATTEMPTS", default=5)
EMAIL_PROOF_CODES = env.int("EMAIL_PROOF_CODES", default=5)
# A booking paid with a package credit gives it back when cancelled at least this long before it starts.
PACKAGE_CREDIT_RETURN_HOURS = env.int("PACKAGE_CREDIT_RETURN_HOURS", default=24)
# The request header holding the client address when behind a proxy (e.g. HTTP_X_REAL_IP).
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="")
# Uploaded CSV files: the largest accepted, in bytes and in data rows.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)

# Celery: without a broker, tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"  # never contacted while tasks run eagerly
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "messaging.tasks.sweep_outbox", "schedule": 60.0},
    "code-batches-resume": {"task": "invitations.tasks.resume_code_batches", "schedule": 300.0},
    "imports-resume": {"task": "imports.tasks.resume_imports", "schedule": 300.0},
    "session-holds-expire": {"task": "sessions_roster.tasks.expire_holds", "schedule": 60.0},
    "webhooks-sweep": {"task": "webhooks.tasks.sweep_deliveries", "schedule": 60.0},
    "data-exports-sweep": {"task": "privacy.tasks.sweep_data_exports", "schedule": 3600.0},
}

# SMS (messaging/sms): the backend is chosen by URL — console:// (printed), outbox:// (kept on the
# Outbox page only), or an http(s):// provider endpoint with SMS_API_KEY.
SMS_URL = env.str("SMS_URL", default="console://")
SMS_API_KEY = env.str("SMS_API_KEY", default="")
SMS_FROM = env.str("SMS_FROM", default="Tessera")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10.0)

# Outgoing webhooks (webhooks/).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# Deployments refuse endpoints on loopback and private networks; development and tests allow them.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=DEBUG)

# JSON API (api/): Django REST framework and its OpenAPI schema.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/minute")  # per API key, on the shared cache
REST_FRAMEWORK = {
    # The API's own views name their authentication, permission and throttle (api/authentication.py);
    # these defaults keep any other DRF view closed and JSON-only.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "One workspace's codes, participants, bookings, sessions, packages and imports. "
    "Authenticate with an API key of the workspace: `Authorization: Bearer <key>` (see docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
