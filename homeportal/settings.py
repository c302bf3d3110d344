"""One settings module for every profile; the environment chooses.

Defaults are the embedded development profile of `make run`: SQLite under var/, kombu's
filesystem broker, locmem cache, files under var/media, mail and SMS into the dev outbox.
Setting DATABASE_URL / REDIS_URL / S3_BUCKET / EMAIL_URL switches to real services.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("HOMEPORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)  # optional, never committed

TESTING = env.bool("HOMEPORTAL_TESTING", default=False)
# Unset means production. `make run`, the test profile (HOMEPORTAL_TESTING=1) and the Procfile set
# DEBUG=True themselves; compose sets False. In production homeportal/checks.py refuses to start
# on a missing or known development secret and on the development mail/SMS backends.
DEBUG = env.bool("DEBUG", default=TESTING)
# Staging only: lets DEBUG=False run with the dev mail/SMS backends and the demo KZhK key of the
# test PKI (a warning instead of an error). Never lifts the secrets' checks. docs/security.md.
STAGING_ALLOW_DEV_BACKENDS = env.bool("STAGING_ALLOW_DEV_BACKENDS", default=False)
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-" + "x" * 32
# Production without SECRET_KEY gets "" : the system check homeportal.E001 and the startup of
# web and worker (homeportal.checks.refuse_to_start) report it by name.
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL: what QR codes, e-mail links and the eGov mobile API point at.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "homeportal.apps.HomeportalConfig",
    "cabinets",
    "signing",
    "bpms_bridge",
    "applications",
    "appeals",
    "uploads",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "homeportal.uploads.UploadLimitMiddleware",  # must precede CSRF: it reads the body first
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "homeportal.middleware.SecurityHeadersMiddleware",
    "homeportal.middleware.IdleTimeoutMiddleware",
    "homeportal.ratelimits.RateLimitMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "homeportal.urls"
WSGI_APPLICATION = "homeportal.wsgi.application"
ASGI_APPLICATION = "homeportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cabinets.context_processors.portal",
            ],
            # `date` with the same output, faster for the portal's numeric formats (issue #18).
            "builtins": ["homeportal.templatetags.fast_date"],
        },
    }
]

# Django's template renderer for forms, with <input> widgets written in Python (homeportal/form_renderer.py).
FORM_RENDERER = "homeportal.form_renderer.PortalFormRenderer"

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'homeportal.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # a transaction per service call instead
# Persistent connections (a new PostgreSQL connection per request cost ×1.5–1.9 in req/s), checked
# before reuse so a restarted server never hands a request a dead connection.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The embedded demo runs web, worker and beat on one file: WAL lets readers go on while one
    # writes, and IMMEDIATE transactions take the write lock up front, so two processes never
    # deadlock upgrading a read lock ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
if env.str("TEST_DATABASE_NAME", default=""):
    # Lets parallel test runs on one machine use separate test databases.
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "cabinets.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "cabinets.backends.BinPasswordBackend",
    "django.contrib.auth.backends.ModelBackend",  # the admin's login; sessions recorded before the next one
    "cabinets.backends.CabinetSessionBackend",  # what a cabinet login records: user + organization in one query
]
LOGIN_URL = "cabinets:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "cabinets.passwords.PortalPasswordValidator"},
]

# --- Redis: broker, cache, rate limits --------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes ./control/
        "store_processed": False,
    }
else:
    # Countdowns must stay below this, or Redis redelivers the message a second time.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False  # opted in per idempotent task
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = "Asia/Almaty"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Periodic tasks: each app adds its own entries below (one beat process runs them all).
CELERY_BEAT_SCHEDULE: dict = {}
# bpms_bridge: re-send stale outbox rows; pull the BPMS status feed (the webhook is the fast path).
CELERY_BEAT_SCHEDULE["bpms-outbox-sweep"] = {"task": "bpms_bridge.outbox_sweep", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["bpms-feed-pull"] = {
    "task": "bpms_bridge.feed_pull", "schedule": env.float("BPMS_FEED_PULL_SECONDS", default=5.0),
    "options": {"expires": 60},
}
# cabinets: drop old one-time codes, login challenges and abandoned registrations.
CELERY_BEAT_SCHEDULE["cabinets-purge-auth-records"] = {"task": "cabinets.tasks.purge_auth_records", "schedule": 24 * 3600.0}
# signing: expire abandoned signing requests (drop their document copy), delete old QR sessions.
CELERY_BEAT_SCHEDULE["signing-purge-records"] = {"task": "signing.tasks.purge_signing_records", "schedule": 24 * 3600.0}
CELERY_BEAT_SCHEDULE["signing-archive-retimestamp"] = {"task": "signing.tasks.archive_retimestamp", "schedule": 24 * 3600.0}
# uploads: abandoned resumable uploads expire (S3 multipart uploads are aborted).
CELERY_BEAT_SCHEDULE["uploads-purge-expired"] = {"task": "uploads.tasks.purge_expired_uploads", "schedule": 3600.0}
# audit: time-stamp the history chain head (RFC 3161) and verify the chain (docs/history.md).
CELERY_BEAT_SCHEDULE["audit-anchor-and-verify"] = {
    "task": "audit.tasks.anchor_and_verify", "schedule": env.float("HISTORY_ANCHOR_SECONDS", default=3600.0),
    "options": {"expires": 3000},
}
# appeals, applications: KZhK documents a status brings (issued on the worker) whose task was lost.
CELERY_BEAT_SCHEDULE["appeals-documents-issue-pending"] = {"task": "appeals.documents_issue_pending", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["applications-documents-issue-pending"] = {
    "task": "applications.documents_issue_pending", "schedule": 60.0}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A signed-in page is served again to the same session, for this many seconds at most, while no
# table it read has been written (homeportal/page_cache.py, docs/performance.md#page-cache). Off
# without Redis: the table versions must be shared by every web and worker process.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60) if REDIS_URL else 0
PAGE_CACHE_PREFIX = env.str("PAGE_CACHE_PREFIX", default="pc")

# With Redis, sessions are read from the cache and written through to the database (cached_db):
# no session query per request, and a Redis restart logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
# The idle-timeout middleware writes "last seen" into the session at most this often.
SESSION_LAST_SEEN_RESOLUTION = env.int("SESSION_LAST_SEEN_RESOLUTION", default=60)
# /healthz (readiness) answers from a cache this many seconds old at most; /livez checks nothing.
HEALTHZ_CACHE_SECONDS = env.int("HEALTHZ_CACHE_SECONDS", default=0 if TESTING else 5)
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- django-axes: BIN/password lockout ---------------------------------------------------------
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# The login view renders the «БИН/Пароль» tab with the lockout message itself.
AXES_LOCKOUT_CALLABLE = "cabinets.views.axes_lockout_response"
# Lockout is per BIN, as the cabinet's rule says; an IP-wide lockout would lock out every
# company behind one proxy, so axes' advice to add ip_address is declined on purpose.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_CLIENT_IP_CALLABLE = "homeportal.ratelimits.axes_client_ip"

# --- Abuse limits per client IP and per account (homeportal/ratelimits.py, docs/security.md) ----
# The client IP is REMOTE_ADDR unless the portal stands behind this many reverse proxies that
# each append to X-Forwarded-For (then the N-th address from the right); 0 = no trusted proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATE_LIMIT_STORAGE_URI = env.str("RATE_LIMIT_STORAGE_URI", default=REDIS_URL or "memory://")
RATE_LIMITS = {
    # every credential try on the login page (password, e-mail code, key, QR start) from one IP
    "login-ip": "30/15minutes",
    # one-time code requests (login, reset, registration, profile) from one IP / to one recipient
    "otp-send-ip": "20/hour",
    "otp-send-account": "5/hour",
    # wrong one-time codes for one recipient and purpose, across codes: then locked for an hour
    "otp-fail-account": {"rate": "10/hour", "lock": "1/hour"},
    # password reset tries (code + new password, ЭЦП) from one IP
    "reset-ip": "20/hour",
    # registration tries (key, contacts, codes, password) from one IP; starts per BIN
    "register-ip": "30/hour",
    "register-account": "10/hour",
    # wrong passwords of one key file (login, reset, registration by ЭЦП): then locked for an hour
    # the public verifier (page and API) per IP and per signed-in user
    "verify-ip": "20/10minutes",
    "verify-account": "20/10minutes",
}

# --- i18n -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("kk", _("Kazakh"))]
# App catalogues first, the project's last: makemessages files each string under the first
# locale dir whose parent contains the source file (templates/ and homeportal/ -> locale/).
LOCALE_PATHS = [BASE_DIR / app / "locale" for app in ("cabinets", "applications", "appeals", "signing", "bpms_bridge")]
LOCALE_PATHS.append(BASE_DIR / "locale")
LANGUAGE_COOKIE_NAME = "homeportal_language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
TIME_ZONE = "Asia/Almaty"  # UTC+5 for the whole of Kazakhstan since 2024-03-01
USE_I18N = True
USE_TZ = True

# --- Static and private files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
# No MEDIA_URL route exists: private files are served only by views that check ownership.
MEDIA_URL = "/private-files-are-not-served-here/"


def s3_storage(*, bucket: str, endpoint_url=None, access_key=None, secret_key=None, region=None,
               addressing_style=None) -> dict:
    """The STORAGES entry for private files in an S3 bucket (django-storages); the test
    suite's `s3_storage` fixture builds its entry with this too."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket, "endpoint_url": endpoint_url, "access_key": access_key,
            "secret_key": secret_key, "region_name": region, "addressing_style": addressing_style,
            "default_acl": "private", "querystring_auth": True, "file_overwrite": False,
        },
    }


# S3 (or any S3-compatible store): S3_BUCKET switches it on; S3_ENDPOINT_URL for a non-AWS
# endpoint (MinIO, Ceph, moto), S3_ADDRESSING_STYLE "path" where virtual-host names don't resolve.
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    _default_storage = s3_storage(
        bucket=S3_BUCKET, endpoint_url=env.str("S3_ENDPOINT_URL", default=None),
        access_key=env.str("S3_ACCESS_KEY", default=None), secret_key=env.str("S3_SECRET_KEY", default=None),
        region=env.str("S3_REGION", default=None), addressing_style=env.str("S3_ADDRESSING_STYLE", default=None),
    )
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}
# Uploads stream to a temporary file in chunks; nothing large is ever held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)
FILE_UPLOAD_HANDLERS = ["homeportal.uploads.LimitedTemporaryFileUploadHandler"]
UPLOAD_MAX_BYTES = 700 * 1024 * 1024  # the largest any field allows (appeals); fields narrow it
# Resumable uploads (tus 1.0.0, uploads/tus.py; docs/uploads.md).
TUS_EXPIRY_SECONDS = env.int("TUS_EXPIRY_SECONDS", default=24 * 3600)  # unfinished uploads expire
TUS_MAX_ACTIVE_PER_ORGANIZATION = env.int("TUS_MAX_ACTIVE_PER_ORGANIZATION", default=20)
TUS_CHUNK_SIZE = env.int("TUS_CHUNK_SIZE", default=32 * 1024 * 1024)  # one PATCH from the widget (docs/uploads.md: sizing)
TUS_S3_PART_SIZE = env.int("TUS_S3_PART_SIZE", default=8 * 1024 * 1024)  # >= 5 MiB (S3's minimum)

# --- Mail and SMS --------------------------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(environ.Env.email_url_config(EMAIL_URL))
elif TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    # Development: every message lands in the dev outbox page (/dev/outbox/) and the console.
    EMAIL_BACKEND = "cabinets.messaging.DevOutboxEmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="КЖК <no-reply@khc.kz>")
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="cabinets.messaging.LocmemSmsBackend" if TESTING else "cabinets.messaging.DevOutboxSmsBackend",
)
# The dev outbox (a page with every message, one-time codes in clear) exists only with DEBUG.
DEV_OUTBOX_ENABLED = DEBUG and env.bool("DEV_OUTBOX_ENABLED", default=True)

# --- Signing / PKI / BPMS (details in docs/signing.md and docs/bpms-api.md) -----------------------
PKI_DIR = Path(env.str("PKI_DIR", default=str(VAR_DIR / "pki")))
# Trusted time and live revocation (docs/signing.md §7). The stand-in `nca_services` (make run,
# tests, compose dev profile) by default; the real NCA: SIGNING_TSA_URL=http://tsp.pki.gov.kz,
# SIGNING_OCSP_URL=http://ocsp.pki.gov.kz (empty: the certificate's AIA), SIGNING_CRL_BASE_URL
# empty (the certificate's CDP, http://crl.pki.gov.kz/...).
NCA_SERVICES_URL = env.str("NCA_SERVICES_URL", default="http://127.0.0.1:8092")
SIGNING_TSA_URL = env.str("SIGNING_TSA_URL", default=NCA_SERVICES_URL.rstrip("/") + "/tsp")
SIGNING_OCSP_URL = env.str("SIGNING_OCSP_URL", default="")
SIGNING_CRL_BASE_URL = env.str("SIGNING_CRL_BASE_URL", default="")
SIGNING_TRUST_TIMEOUT = env.float("SIGNING_TRUST_TIMEOUT", default=5.0)  # seconds per HTTP call
SIGNING_TSA_ATTEMPTS = env.int("SIGNING_TSA_ATTEMPTS", default=3)
SIGNING_ARCHIVE_RENEW_DAYS = env.int("SIGNING_ARCHIVE_RENEW_DAYS", default=365)  # before the TSA cert expires
# NCALayer on the user's machine (docs/signing.md, NCALayer): the page's WebSocket goes there. The real
# NCALayer listens on wss://127.0.0.1:13579/; `make run` and the tests start ncalayer_emulator on it.
NCALAYER_URL = env.str("NCALAYER_URL", default="wss://127.0.0.1:13579/")
BPMS_BASE_URL = env.str("BPMS_BASE_URL", default="http://127.0.0.1:8090")
# The dev defaults are what the mock uses; production refuses them (homeportal.E002/E003).
BPMS_API_TOKEN = env.str("BPMS_API_TOKEN", default="dev-bpms-token" if DEBUG else "")
BPMS_WEBHOOK_SECRET = env.str("BPMS_WEBHOOK_SECRET", default="dev-bpms-webhook-secret" if DEBUG else "")
# KZhK's organization key (PKCS#12) that signs the PDFs KZhK issues. Unset: the demo key of the
# test PKI (var/pki/keys/kzhk_sign.p12), which production refuses (homeportal.E004).
SIGNING_KZHK_P12 = env.str("SIGNING_KZHK_P12", default="")
SIGNING_KZHK_P12_PASSWORD = env.str("SIGNING_KZHK_P12_PASSWORD", default="")
# bpms_bridge reads these from settings only (docs/bpms-api.md).
BPMS_HTTP_TIMEOUT = env.float("BPMS_HTTP_TIMEOUT", default=10.0)
BPMS_HTTP_RETRIES = env.int("BPMS_HTTP_RETRIES", default=2)  # connection attempts retried by the transport
BPMS_OUTBOX_LEASE_SECONDS = env.float("BPMS_OUTBOX_LEASE_SECONDS", default=120.0)
BPMS_OUTBOX_BACKOFF_BASE = env.float("BPMS_OUTBOX_BACKOFF_BASE", default=2.0)
BPMS_OUTBOX_BACKOFF_CAP = env.float("BPMS_OUTBOX_BACKOFF_CAP", default=1800.0)
# A message is retried (capped backoff) until it is this old, then it becomes a dead letter;
# 0 attempts = no count limit (#10 item 9: 15 attempts had made dead letters of a 2-hour outage).
BPMS_OUTBOX_RETRY_HOURS = env.float("BPMS_OUTBOX_RETRY_HOURS", default=72.0)
BPMS_OUTBOX_MAX_ATTEMPTS = env.int("BPMS_OUTBOX_MAX_ATTEMPTS", default=0)
BPMS_FEED_LOCK_SECONDS = env.int("BPMS_FEED_LOCK_SECONDS", default=300)
# Extra case kinds for benches that run their own worker: "kind=dotted.path.apply_event[,...]".
BPMS_EXTRA_CASE_KINDS = env.str("BPMS_EXTRA_CASE_KINDS", default="")

# --- Security headers -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie


def content_security_policy(ncalayer_url: str) -> str:
    """The CSP; connect-src: the page itself and NCALayer's WebSocket (nothing else; no CDN)."""
    from urllib.parse import urlsplit

    parts = urlsplit(ncalayer_url or "")
    nca = f" {parts.scheme}://{parts.netloc}" if parts.scheme in ("ws", "wss") and parts.netloc else ""
    return ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            f"connect-src 'self'{nca}; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'")


CONTENT_SECURITY_POLICY = content_security_policy(NCALAYER_URL)
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},  # a line per request (the feed pull runs every 5 s)
    },
}
