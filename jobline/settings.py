"""Jobline settings: one module, driven by environment variables.

Development is the default so a fresh checkout runs; ``JOBLINE_ENV=production`` switches on
the hardened settings and refuses to start without ``DJANGO_SECRET_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


JOBLINE_ENV = env_str("JOBLINE_ENV", "development")
PRODUCTION = JOBLINE_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when JOBLINE_ENV=production "
            '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    # Only ever used on a developer's machine; production refuses to start without a key.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-jobline-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.forms",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "jobline.core",
    "jobline.accounts",
    "jobline.workspaces",
    "jobline.customers",
    "jobline.pipelines",
    "jobline.jobs",
    "jobline.approvals",
    "jobline.bookings",
    "jobline.followups",
    "jobline.quotes",
    "jobline.billing",
    "jobline.portal",
    "jobline.notifications",
    "jobline.home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "jobline.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "jobline.workspaces.middleware.CurrentWorkspaceMiddleware",
]

ROOT_URLCONF = "jobline.urls"
WSGI_APPLICATION = "jobline.wsgi.application"

TEMPLATES = [
    {
        # Every page, partial and e-mail: each app's jinja2/ folder (jobline/templating.py).
        "BACKEND": "jobline.templating.Jinja2",
        "DIRS": [BASE_DIR / "jobline" / "jinja2"],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "jobline.templating.environment",
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jobline.workspaces.context_processors.workspace",
                "jobline.notifications.context_processors.bell",
            ],
        },
    },
    {
        # Django's own templates: the admin (JOBLINE_ADMIN=1) and its widgets.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# Form widgets through the engines above: Django's Jinja2 widget templates (django.forms),
# found first; the admin's own widgets through Django's engine.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DEFAULT_SQLITE_PATH = BASE_DIR / "var" / "jobline.sqlite3"
if not os.environ.get("DATABASE_URL"):
    # The zero-setup database lives in var/ (ignored by git); a fresh clone has no var/ yet.
    DEFAULT_SQLITE_PATH.parent.mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
        # A kept-open connection is checked before a request uses it, so a database restart
        # costs no request (Django reconnects instead of failing the first one on each).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked". Write-ahead
    # logging lets pages read while a change commits, and with synchronous=NORMAL a commit
    # does not wait for the disk (SQLite's default journal fsyncs several times: ~19 ms per
    # change on the development VM, against 0.01 ms). The database stays consistent through
    # any crash; a power cut can lose the last moments of changes, never corrupt the file.
    # JOBLINE_SQLITE_SYNCHRONOUS=FULL waits for the disk on every commit (~4 ms here).
    sqlite_synchronous = env_str("JOBLINE_SQLITE_SYNCHRONOUS", "NORMAL").upper()
    if sqlite_synchronous not in {"NORMAL", "FULL", "EXTRA"}:
        raise ImproperlyConfigured("JOBLINE_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA.")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (f"PRAGMA journal_mode=WAL; PRAGMA synchronous={sqlite_synchronous};"),
        }
    )

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", True
):
    # Parameters travel apart from the SQL, and a statement a connection runs a second time
    # is prepared: PostgreSQL plans it once per connection instead of on every request
    # (planning the job page's ten queries took ~2 ms, longer than running them). Behind a
    # pooler in transaction mode that cannot keep prepared statements (PgBouncer before
    # 1.21, or without max_prepared_statements) set DATABASE_PREPARED_STATEMENTS=0.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 2}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# Failed sign-in throttling: counted in the database so every app server sees the same numbers.
# Counted per account and network address together (a typo or a guesser pauses only that pair),
# per network address (one address guessing many accounts), and per account from anywhere: that
# bar is far higher, so nobody can lock a real person out, and even then an e-mailed sign-in
# link still works. IPv6 addresses count per /64.
SIGNIN_FAILURE_WINDOW_SECONDS = env_int("JOBLINE_SIGNIN_WINDOW_SECONDS", 15 * 60)
SIGNIN_MAX_FAILURES_PER_PAIR = env_int("JOBLINE_SIGNIN_MAX_PER_PAIR", 5)
SIGNIN_MAX_FAILURES_PER_ADDRESS = env_int("JOBLINE_SIGNIN_MAX_PER_ADDRESS", 20)
SIGNIN_MAX_FAILURES_PER_ACCOUNT = env_int("JOBLINE_SIGNIN_MAX_PER_ACCOUNT", 100)

# The first backend checks passwords and gives full sessions (accounts/sessions.py); the last
# only marks the sessions that a customer-portal link opened, which reach the portal and
# nothing else.
AUTHENTICATION_BACKENDS = [
    # ModelBackend's checks; reading the signed-in person it also reads their memberships and
    # workspaces, in the same query. A wrong password stops here (checked once).
    "jobline.workspaces.auth.MemberBackend",
    # Sessions signed in before MemberBackend existed name this one: they keep working.
    "django.contrib.auth.backends.ModelBackend",
    "jobline.accounts.backends.PortalLinkBackend",
]

# One-time links sent by e-mail (staff and portal sign-in links, sign-up confirmations): how
# long a sign-in link works, and how many links an address may be sent, and a network address
# may ask for, in the window.
SIGNIN_LINK_VALID_MINUTES = 30
SIGNIN_LINKS_PER_EMAIL = env_int("JOBLINE_SIGNIN_LINKS_PER_EMAIL", 5)
SIGNIN_LINKS_PER_ADDRESS = env_int("JOBLINE_SIGNIN_LINKS_PER_ADDRESS", 20)
SIGNIN_LINK_WINDOW_SECONDS = 15 * 60
SIGNUP_LINK_VALID_HOURS = 24

INVITATION_VALID_DAYS = 7

# Django's admin site: off unless an operator switches it on. Its sign-in is the throttled
# staff sign-in (jobline/accounts/admin.py), never Django's own form.
JOBLINE_ADMIN = env_bool("JOBLINE_ADMIN", False)

# Uploads: the largest file accepted, in bytes (default 25 MB).
# Every prepared query (core/prepared.py) also compiles its plain queryset and raises when
# the two differ. The test suite turns it on; it would undo the saving in production.
JOBLINE_CHECK_PREPARED_QUERIES = env_bool("JOBLINE_CHECK_PREPARED_QUERIES", False)
JOBLINE_MAX_UPLOAD_BYTES = env_int("JOBLINE_MAX_UPLOAD_MB", 25) * 1024 * 1024
# Django must let such a request through to our own check, which gives the clear message.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The shared layout's assets live with the project package, not with an app.
STATICFILES_DIRS = [BASE_DIR / "jobline" / "static"]
# collectstatic fills this for production (make serve); development serves from the apps.
STATIC_ROOT = (
    Path(env_str("JOBLINE_STATIC_ROOT", str(BASE_DIR / "var" / "static"))) if PRODUCTION else None
)
# Outside production nothing is collected: WhiteNoise serves the apps' files as they are, with
# DEBUG off too (the bench, a trial run with DJANGO_DEBUG=0).
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("JOBLINE_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Jobline <no-reply@jobline.localhost>")

# Links in e-mails are built without a request (they are sent by background tasks).
JOBLINE_BASE_URL = env_str("JOBLINE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Customer e-mails wait this long, so several changes become one digest and a reply switched
# to internal in the meantime is never sent.
JOBLINE_EMAIL_DIGEST_SECONDS = env_int("JOBLINE_EMAIL_DIGEST_SECONDS", 5 * 60)
# A failed send is tried again after 1, 4, 16 and 64 minutes, then marked failed for admins.
JOBLINE_EMAIL_MAX_ATTEMPTS = env_int("JOBLINE_EMAIL_MAX_ATTEMPTS", 5)
JOBLINE_EMAIL_RETRY_BASE_SECONDS = env_int("JOBLINE_EMAIL_RETRY_BASE_SECONDS", 60)

# A mail server that stops answering cannot hold a worker (or a task's lease) for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)

# Background work: the Tasks API (django-tasks backport), stored in the database and run by
# `manage.py run_worker`; periodic jobs by `manage.py run_scheduler` (core/schedule.py). Make
# demo and make serve start both; docs/deploy.md has their systemd units.
TASKS = {
    "default": {
        "BACKEND": env_str("JOBLINE_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# How often a worker and a scheduler say they are alive.
JOBLINE_HEARTBEAT_SECONDS = env_int("JOBLINE_HEARTBEAT_SECONDS", 10)
# A task whose worker has been silent this long is handed back and run again; longer than any
# task runs (an e-mail send gives up after EMAIL_TIMEOUT).
JOBLINE_TASK_LEASE_SECONDS = env_int("JOBLINE_TASK_LEASE_SECONDS", 5 * 60)
# A worker or scheduler silent this long: /health/ answers 503 and the delivery page warns.
JOBLINE_BACKGROUND_STALE_SECONDS = env_int("JOBLINE_BACKGROUND_STALE_SECONDS", 3 * 60)
# ...and this long: every Admin gets a bell notification (once per outage).
JOBLINE_BACKGROUND_ALERT_SECONDS = env_int("JOBLINE_BACKGROUND_ALERT_SECONDS", 15 * 60)

# A shared cache, when one is configured (JOBLINE_CACHE_URL=redis://host:6379/0): sessions are
# then read from it and written through to the database (Django's cached_db), so every app
# server sees a sign-out at once and a cache flush or restart signs nobody out; if the cache
# is unreachable, sessions fall back to the database. Without one, sessions stay in the
# database alone: a per-process cache would let a signed-out session live on in the other
# workers.
SESSION_ENGINE = "jobline.accounts.session_store"
CACHE_URL = env_str("JOBLINE_CACHE_URL", "")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("JOBLINE_CACHE_URL must be a redis://, rediss:// or unix:// URL")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "jobline",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Security baseline. Cookies are HttpOnly everywhere (htmx reads the CSRF token from the page,
# not from the cookie) and Secure in production. JOBLINE_SECURE_COOKIES=0 lets production
# settings run over plain HTTP on loopback (the HTTP benchmark); never turn it off on a server.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("JOBLINE_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("JOBLINE_SSL_REDIRECT", True)
    # A load balancer or monitor on the same network may ask over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_HSTS_SECONDS = env_int("JOBLINE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("JOBLINE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("JOBLINE_HSTS_PRELOAD", True)
    if env_bool("JOBLINE_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("JOBLINE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # WeasyPrint (quote PDFs) narrates every step of every document at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
