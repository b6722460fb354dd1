"""Kreis settings: one file, driven by environment variables (see README, "Configuration")."""

from __future__ import annotations

import sys
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from kreis import config
from kreis.config import env, envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent
TESTING = "pytest" in sys.modules or envbool("KREIS_TESTING", False)

# --- Read and validate everything first; write nothing until all of it is sound. ---------
DATA_DIR = config.data_folder(env("KREIS_DATA", "./var"))
if TESTING and env("PYTEST_XDIST_WORKER"):  # parallel test processes never share a file
    DATA_DIR = config.data_folder(str(DATA_DIR / env("PYTEST_XDIST_WORKER")))
DATABASES = {"default": config.database(env("DATABASE_URL"), DATA_DIR)}
REDIS_URL = config.redis_url(env("REDIS_URL"))
DEBUG = envbool("DEBUG", False)
HTTPS = envbool("KREIS_HTTPS", False)
globals().update(config.email_settings(env("EMAIL_URL")))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Kreis <kreis@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Key(s) that encrypt stored passwords (kreis.core.crypto); empty: credentials.key in DATA_DIR.
KREIS_CREDENTIALS_KEY = env("KREIS_CREDENTIALS_KEY", "")
LANGUAGE_CODE = env("KREIS_LANGUAGE", "en")
if LANGUAGE_CODE not in {"en", "de"}:
    raise config.ConfigError("KREIS_LANGUAGE", f"expected 'en' or 'de', got {LANGUAGE_CODE!r}")
TIME_ZONE = env("KREIS_TIME_ZONE", "Europe/Berlin")
KREIS_CURRENCY = env("KREIS_CURRENCY", "EUR").upper()
# The analytics warehouse: an Ibis connection URL (postgres://…, pyspark://local[2]); empty means
# the embedded DuckDB file warehouse.duckdb in the data folder.
KREIS_WAREHOUSE = env("KREIS_WAREHOUSE", "")
KREIS_PHONE_REGION = env("KREIS_PHONE_REGION", "DE").upper()
# Largest file an import accepts (web, API, CLI, connectors), in MB.
KREIS_IMPORT_MAX_MB = envint("KREIS_IMPORT_MAX_MB", 200)
if KREIS_IMPORT_MAX_MB < 1:
    raise config.ConfigError("KREIS_IMPORT_MAX_MB", "expected at least 1 (MB)")
# Files of up to this many rows are checked (dry run) within the web request; bigger ones are
# checked as a job with a progress bar (0: always a job).
KREIS_IMPORT_CHECK_AT_ONCE = envint("KREIS_IMPORT_CHECK_AT_ONCE", 1000)
# Folders a connector may watch (comma-separated; the folder of each connector must lie inside
# one of them), so that an administrator in the web UI cannot import the server's own files.
KREIS_CONNECTOR_FOLDERS = [
    Path(folder).expanduser().resolve()
    for folder in envlist("KREIS_CONNECTOR_FOLDERS", str(DATA_DIR / "connectors"))
]
# Backups made in the web UI, the API and the nightly schedule go into this folder; the newest
# KREIS_BACKUP_KEEP of them are kept. KREIS_BACKUP_HOUR: the nightly backup's hour in UTC
# (before the 02:30 analytics), or "off".
KREIS_BACKUP_DIR = Path(env("KREIS_BACKUP_DIR", str(DATA_DIR / "backups"))).expanduser().resolve()
KREIS_BACKUP_KEEP = envint("KREIS_BACKUP_KEEP", 7)
if KREIS_BACKUP_KEEP < 1:
    raise config.ConfigError("KREIS_BACKUP_KEEP", "expected at least 1 (backups)")
KREIS_BACKUP_HOUR = env("KREIS_BACKUP_HOUR", "1").strip().lower()
if KREIS_BACKUP_HOUR != "off" and not (
    KREIS_BACKUP_HOUR.isdigit() and 0 <= int(KREIS_BACKUP_HOUR) <= 23
):
    raise config.ConfigError("KREIS_BACKUP_HOUR", "expected an hour 0-23 (UTC) or 'off'")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
LOGIN_ATTEMPTS = envint("KREIS_LOGIN_ATTEMPTS", 5)
LOGIN_WINDOW = envint("KREIS_LOGIN_WINDOW", 300)
API_BAD_KEYS = envint("KREIS_API_BAD_KEYS", 30)
API_BAD_KEY_WINDOW = envint("KREIS_API_BAD_KEY_WINDOW", 300)
# Proxies in front of Kreis that append to X-Forwarded-For: the client address the limits
# count is the one the outermost trusted proxy saw (0: REMOTE_ADDR).
ALLAUTH_TRUSTED_PROXY_COUNT = envint("KREIS_TRUSTED_PROXIES", 0)

config.ensure_folder(DATA_DIR)
SECRET_KEY = config.secret_key(DATA_DIR)

# --- Applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "kreis.core",
    "kreis.parties",
    "kreis.commerce",
    "kreis.sales",
    "kreis.leads",
    "kreis.activities",
    "kreis.marketing",
    "kreis.service",
    "kreis.feedback",
    "kreis.comms",
    "kreis.pricing",
    "kreis.analytics",
    "kreis.playbooks",
    "kreis.social",
    "kreis.channels",
    "kreis.mailings",
    "kreis.inbox",
    "kreis.calls",
    "kreis.migration",
    "kreis.automation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rules.apps.AutodiscoverRulesConfig",
    "huey.contrib.djhuey",
    "csp",
    "ninja",
    "simple_history",
]

MIDDLEWARE = [
    "kreis.core.middleware.RequestLogMiddleware",
    "kreis.core.middleware.ApiProblemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kreis.core.middleware.NoStoreForSignedInMiddleware",
    "kreis.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "kreis.core.idempotency.IdempotencyMiddleware",  # API POSTs with an Idempotency-Key
]

ROOT_URLCONF = "kreis.urls"
WSGI_APPLICATION = "kreis.wsgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "django.template.context_processors.i18n",
                "kreis.core.context_processors.shell",
            ],
        },
    }
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Cache, sessions, jobs ------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Shared by every server process on the machine, so login throttling holds across workers:
    # diskcache (SQLite shards in the data folder). Django's file cache lists its whole folder
    # on every write to cull it, which cost 15 ms per write at 5,000 entries (each web form
    # sent adds one; benchmarks/form_submissions.py).
    CACHES = {
        "default": {
            "BACKEND": "kreis.core.cache.DiskCache",
            "LOCATION": str(DATA_DIR / "diskcache"),
            "SHARDS": 4,
            "DATABASE_TIMEOUT": 0.25,
            # Sessions live here too; least recently stored entries go above 512 MB.
            "OPTIONS": {"size_limit": 2**29},
        }
    }

# Sessions are kept in the database and read from the cache: a request loads its session
# without a query (about 1 ms of CPU less per request, measured in-process on the small demo).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie.

HUEY = {
    "name": "kreis",
    "immediate": TESTING,
    "results": False,
    "utc": True,
    "consumer": {"workers": envint("KREIS_WORKERS", 2), "worker_type": "thread"},
}
if REDIS_URL:
    HUEY |= {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
else:
    HUEY |= {"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "jobs.sqlite3")}
# Mass mailings: the default send rate (messages per second), the parallel sending jobs of
# a mailing, and after how many seconds a worker's unfinished claim counts as abandoned.
MAILING_RATE = envint("KREIS_MAILING_RATE", 20)
MAILING_WORKERS = envint("KREIS_MAILING_WORKERS", 2)
MAILING_CLAIM_LEASE = envint("KREIS_MAILING_CLAIM_LEASE", 120)
# `kreis serve` runs one job worker beside the web server unless a separate `kreis worker`
# does the work: on by default with the embedded SQLite queue, off with Redis.
KREIS_EMBEDDED_WORKER = envbool("KREIS_EMBEDDED_WORKER", not REDIS_URL)
# A worker writes a heartbeat every KREIS_WORKER_HEARTBEAT seconds; one silent for
# KREIS_WORKER_TIMEOUT seconds counts as dead (health check fails, its runs are failed).
KREIS_WORKER_HEARTBEAT = envint("KREIS_WORKER_HEARTBEAT", 15)
KREIS_WORKER_TIMEOUT = envint("KREIS_WORKER_TIMEOUT", 120)
if KREIS_WORKER_HEARTBEAT < 1:
    raise config.ConfigError("KREIS_WORKER_HEARTBEAT", "expected at least 1 (seconds)")
if KREIS_WORKER_TIMEOUT < 2 * KREIS_WORKER_HEARTBEAT:
    raise config.ConfigError(
        "KREIS_WORKER_TIMEOUT", "expected at least twice KREIS_WORKER_HEARTBEAT (seconds)"
    )

# --- Internationalisation -------------------------------------------------------------------
USE_I18N = True
USE_TZ = True
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "kreis_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
config.ensure_folder(STATIC_ROOT)
WHITENOISE_USE_FINDERS = DEBUG or TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Accounts (django-allauth) --------------------------------------------------------------
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:dashboard"
ACCOUNT_ADAPTER = "kreis.core.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Failed logins: at most N per window per login name and IP (the adapter puts the IP in the
# key), then a pause. Nothing per IP alone: an office behind one address must be able to log
# in, however many colleagues do at once or mistype their own password.
ACCOUNT_RATE_LIMITS = {
    "login": "",
    "login_failed": f"{LOGIN_ATTEMPTS}/{LOGIN_WINDOW}s/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Kreis"

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_SSL_REDIRECT = envbool("KREIS_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("KREIS_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": ["'none'"],
        "base-uri": [SELF],
        "object-src": ["'none'"],
    }
}

# --- Logging: one JSON line per request, plus warnings and errors ---------------------------
LOG_LEVEL = env("KREIS_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "kreis.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "kreis": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "kreis.request": {
            "handlers": ["console"],
            "level": "WARNING" if TESTING else LOG_LEVEL,
            "propagate": False,
        },
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "huey": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

FORM_RENDERER = "kreis.core.forms.FormRenderer"

# --- Kreis ----------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = envint("KREIS_API_PAGE_SIZE", 50)
NINJA_MAX_PER_PAGE_SIZE = 500
# A webhook subscription failing this many attempts in a row, over at least this many hours,
# is disabled and its owner notified.
KREIS_WEBHOOK_DISABLE_AFTER = envint("KREIS_WEBHOOK_DISABLE_AFTER", 10)
KREIS_WEBHOOK_DISABLE_AFTER_HOURS = envint("KREIS_WEBHOOK_DISABLE_AFTER_HOURS", 24)
# Finished webhook deliveries (delivered, failed, not sent) older than this many days are
# deleted every night; pending ones and those still being retried stay.
KREIS_WEBHOOK_LOG_DAYS = envint("KREIS_WEBHOOK_LOG_DAYS", 30)
if KREIS_WEBHOOK_LOG_DAYS < 1:
    raise config.ConfigError("KREIS_WEBHOOK_LOG_DAYS", "expected at least 1 (days)")
# Automation rule runs older than this many days are deleted every night (those waiting for
# a retry stay).
KREIS_RULE_RUN_LOG_DAYS = envint("KREIS_RULE_RUN_LOG_DAYS", 90)
if KREIS_RULE_RUN_LOG_DAYS < 1:
    raise config.ConfigError("KREIS_RULE_RUN_LOG_DAYS", "expected at least 1 (days)")
