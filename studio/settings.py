"""Studio's settings: an embedded default that runs with nothing set, and real parts
(PostgreSQL, Redis, the real provider, any storage) chosen by environment variables.

Every variable is listed in README.md. `DEBUG=0` is a production configuration: it
refuses to start without a real SECRET_KEY and STUDIO_ENCRYPTION_KEY and never runs
the sandbox.
"""

import base64
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from studio.database import check_lent_connection
from studio.env import (
    env_bool,
    env_email,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
PORT = env_int("PORT", 8000)

# --- secrets -----------------------------------------------------------------------

DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production-" + "x" * 20
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0 (a long random string).")
    SECRET_KEY = DEV_SECRET_KEY
elif not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be a real secret of at least 50 characters.")

# Fernet keys for the team's provider API keys. Several, comma-separated: the first one
# encrypts, all of them decrypt (so the key can be rotated).
STUDIO_ENCRYPTION_KEYS = env_list("STUDIO_ENCRYPTION_KEY", [])
if not STUDIO_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "STUDIO_ENCRYPTION_KEY must be set when DEBUG=0. Make one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    # Development only: a key derived from the development secret, stable across runs.
    STUDIO_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]
for _key in STUDIO_ENCRYPTION_KEYS:
    try:
        if len(base64.urlsafe_b64decode(_key.encode())) != 32:
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(
            "STUDIO_ENCRYPTION_KEY holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The load balancers and proxies in front of Studio (addresses and networks). Only
# connections from them may say, in X-Forwarded-For and X-Forwarded-Proto, who the client
# is and whether it used HTTPS (studio/security/proxies.py). Empty: nobody may.
STUDIO_TRUSTED_PROXIES = env_networks("STUDIO_TRUSTED_PROXIES")

# --- mail (password resets, invites) ------------------------------------------------

# One URL says where mail goes (studio/env.py). In development console:// prints each
# mail on standard output, where `make run` shows a password reset's link; in production
# the default is Django's own, an SMTP server on this machine. A request that sends mail
# waits at most the URL's `timeout` (10 s by default) for the server.
MAILERS = {"default": env_email("EMAIL_URL", "console://" if DEBUG else "smtp://localhost")}
if not DEBUG and MAILERS["default"]["BACKEND"] != "django.core.mail.backends.smtp.EmailBackend":
    raise ImproperlyConfigured(
        "EMAIL_URL must be an smtp:// URL when DEBUG=0: other backends print, file or drop "
        "mail, and password reset links would land in the logs or nowhere."
    )
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Studio <studio@localhost>")
# One password reset mail per account per this long, however often it is asked for.
PASSWORD_RESET_MAIL_GAP_SECONDS = env_int("PASSWORD_RESET_MAIL_GAP_SECONDS", 5 * 60)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- the provider and the sandbox --------------------------------------------------

# Where this Studio is reachable from the provider; webhook URLs are built on it. When it
# is empty no webhook is requested and polling alone finishes every job.
STUDIO_PUBLIC_URL = env_str(
    "STUDIO_PUBLIC_URL", f"http://127.0.0.1:{PORT}" if DEBUG else ""
).rstrip("/")

SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", False)
if SANDBOX_ENABLED and not DEBUG:
    raise ImproperlyConfigured(
        "SANDBOX_ENABLED is refused in a production configuration (DEBUG=0): the sandbox "
        "emulates the provider and would make free, fake images."
    )
# Seconds per step of a sandbox task (pending, progress steps, completed); 0 is instant.
SANDBOX_STEP_SECONDS = env_float("SANDBOX_STEP_SECONDS", 1.0)
# How many drawn images the sandbox keeps (PNG bytes, up to ~0.4 MB each) so that a
# second fetch of a URL is served, not drawn again; benches raise it to measure Studio,
# not the sandbox's drawing.
SANDBOX_IMAGE_CACHE = env_int("SANDBOX_IMAGE_CACHE", 48)
# Whether the sandbox draws a task's images while the task runs (a thread each), and
# completes it only once they are drawn, as a provider has them ready when it reports
# them, instead of drawing them when they are first fetched.
SANDBOX_DRAW_AHEAD = env_bool("SANDBOX_DRAW_AHEAD", False)
# How long the sandbox's image URLs stay valid, like the provider's temporary URLs.
SANDBOX_URL_TTL_SECONDS = env_int("SANDBOX_URL_TTL_SECONDS", 7 * 24 * 3600)
# Behaviours applied to every sandbox task, e.g. "drop_webhooks" (see studio/sandbox).
SANDBOX_BEHAVIOURS = env_list("SANDBOX_BEHAVIOURS", [])
# How late the sandbox answers a create marked [sandbox:slow-create].
SANDBOX_SLOW_CREATE_SECONDS = env_float("SANDBOX_SLOW_CREATE_SECONDS", 40.0)
# Whether the sandbox's LegNext accounts may use /v1/edit; LegNext keeps it for
# whitelisted accounts and answers others 403 (the default), as the sandbox does.
SANDBOX_LEGNEXT_EDIT_WHITELISTED = env_bool("SANDBOX_LEGNEXT_EDIT_WHITELISTED", False)

PIAPI_BASE_URL = env_str(
    "PIAPI_BASE_URL",
    f"http://127.0.0.1:{PORT}/sandbox" if SANDBOX_ENABLED else "https://api.piapi.ai",
).rstrip("/")
PIAPI_SERVICE_MODE = env_str("PIAPI_SERVICE_MODE", "public")
# LegNext's API (a key's own base URL, if it has one, wins over either default).
LEGNEXT_BASE_URL = env_str(
    "LEGNEXT_BASE_URL",
    f"http://127.0.0.1:{PORT}/sandbox/legnext/api"
    if SANDBOX_ENABLED
    else "https://api.legnext.ai/api",
).rstrip("/")
PROVIDER_TIMEOUT_SECONDS = env_float("PROVIDER_TIMEOUT_SECONDS", 30.0)
# A call the provider refused for now (429, no connection) is tried again after this,
# doubling up to PROVIDER_RETRY_MAX_SECONDS, through the task queue (never slept in a
# worker), until the job's deadline.
PROVIDER_BACKOFF_SECONDS = env_float("PROVIDER_BACKOFF_SECONDS", 1.0)
PROVIDER_RETRY_MAX_SECONDS = env_float("PROVIDER_RETRY_MAX_SECONDS", 5.0)

# A job with no news for this long is read with GET; a job not finished by the
# deadline fails with a reason.
JOB_POLL_AFTER_SECONDS = env_float("JOB_POLL_AFTER_SECONDS", 15.0)
JOB_DEADLINE_SECONDS = env_float("JOB_DEADLINE_SECONDS", 30 * 60.0)
# A job without news for this long gives its slot in the team's queue up.
JOB_SLOT_TIMEOUT_SECONDS = env_float("JOB_SLOT_TIMEOUT_SECONDS", 300.0)
# How often the worker looks for stale jobs.
WORKER_SWEEP_SECONDS = env_float("WORKER_SWEEP_SECONDS", 5.0)
WORKER_INTERVAL_SECONDS = env_float("WORKER_INTERVAL_SECONDS", 0.2)
# Tasks one worker process runs at once (threads: most of their time is spent waiting
# on the provider).
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 4)
# A worker silent for this long is dead: the tasks it was running are run again.
WORKER_DEAD_AFTER_SECONDS = env_float("WORKER_DEAD_AFTER_SECONDS", 30.0)
# Finished tasks (done or failed, for an operator to look into) and the records of
# webhooks already handled are kept this many days, then deleted by the workers.
RECORDS_KEPT_DAYS = env_float("RECORDS_KEPT_DAYS", 14.0)

PROMPT_MAX_LENGTH = 2500
# Input images (describe, blend, references): Studio's own limits.
INPUT_IMAGE_MAX_BYTES = env_int("INPUT_IMAGE_MAX_BYTES", 25 * 1024 * 1024)
INPUT_IMAGE_MIN_SIDE = 256
INPUT_IMAGE_MAX_SIDE = 4096
INPUT_FETCH_TIMEOUT_SECONDS = env_float("INPUT_FETCH_TIMEOUT_SECONDS", 15.0)
# Host names pinned to an address and exempt from the public-address check, as
# `name=address,…`: for tests and local trials only (a webhook receiver or an image
# server on this machine under a made-up name). Never set it in production.
FETCH_PINNED_HOSTS = dict(
    item.split("=", 1) for item in env_list("FETCH_PINNED_HOSTS", []) if "=" in item
)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Django ------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_tasks_db",
    "studio.accounts",
    "studio.projects",
    "studio.generation",
    "studio.inputs",
    "studio.billing",
    "studio.security",
    "studio.gallery",
    "studio.sharing",
    "studio.api",
    "studio.sandbox",
    "studio.realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "studio.security.middleware.RequestSizeLimitMiddleware",
    # Provider webhooks skip the pages' middleware below (studio/generation/middleware.py).
    "studio.generation.middleware.WebhooksDirectMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.security.middleware.RefusalsInPlaceMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "projects:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'studio.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # Web, worker and sandbox threads share the file: WAL lets readers and a writer
        # work at once, IMMEDIATE takes the write lock up front so that two transactions
        # never deadlock upgrading their locks.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that the test suite's server processes share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Each process keeps a pool of connections (psycopg's, through Django) that requests,
    # websocket consumers and worker threads borrow and give back, so a process never
    # holds more than DATABASE_POOL_MAX_SIZE. Persistent per-thread connections
    # (CONN_MAX_AGE) kept every thread's connection open under ASGI, where each request
    # runs in a thread of its own, and 3 busy processes ran PostgreSQL out of connections.
    # Django requires CONN_MAX_AGE=0 with a pool: closing a connection returns it.
    DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 2)
    DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10)
    # Seconds a request waits for a free connection before it fails.
    DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10.0)
    if not 0 <= DATABASE_POOL_MIN_SIZE <= DATABASE_POOL_MAX_SIZE or DATABASE_POOL_MAX_SIZE < 1:
        raise ImproperlyConfigured(
            "DATABASE_POOL_MAX_SIZE must be at least 1 and at least DATABASE_POOL_MIN_SIZE "
            f"(got {DATABASE_POOL_MIN_SIZE} and {DATABASE_POOL_MAX_SIZE})."
        )
    if DATABASE_POOL_TIMEOUT <= 0:
        raise ImproperlyConfigured("DATABASE_POOL_TIMEOUT must be a positive number of seconds.")
    DATABASE_PREPARE_THRESHOLD = env_int("DATABASE_PREPARE_THRESHOLD", 5)
    if DATABASE_PREPARE_THRESHOLD < 0:
        raise ImproperlyConfigured("DATABASE_PREPARE_THRESHOLD must be 0 (off) or more.")
    # A worker's task threads and its sweep each keep a connection between turns.
    if DATABASE_POOL_MAX_SIZE < WORKER_CONCURRENCY + 1:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MAX_SIZE ({DATABASE_POOL_MAX_SIZE}) must be at least "
            f"WORKER_CONCURRENCY + 1 ({WORKER_CONCURRENCY + 1}): each worker thread holds one."
        )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        # Parameters bound by the server, so psycopg prepares a statement that ran
        # DATABASE_PREPARE_THRESHOLD times on a connection and PostgreSQL plans it once:
        # a card push's read of a job with its six relations took 1.8–3.0 ms (EXPLAIN:
        # 2.2 ms planning, 0.3 executing); prepared, 0.4–0.5 ms. 0: nothing is prepared
        # (a PgBouncer in transaction mode older than 1.21 cannot keep them).
        "server_side_binding": True,
        "prepare_threshold": DATABASE_PREPARE_THRESHOLD or None,
        "pool": {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
            # A round trip only for a connection the server spoke on (studio.database).
            "check": check_lent_connection,
        },
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A socket's group memberships last this long in the channel layer (both layers' default):
# a group_send skips members that joined earlier, silently.
CHANNEL_GROUP_EXPIRY_SECONDS = 24 * 60 * 60
# So a socket lives at most this long: the consumer then closes it with RECONNECT, the page
# reconnects at once, and the new socket rejoins its groups, checks access again
# and resyncs the page. Without it a page left open for a day would go quiet (its groups
# expired) or be closed by daphne's 24 h websocket_timeout with 1000, which htmx does not
# reconnect. An hour also bounds how long a change of access made outside Studio's pages
# and admin (a shell) leaves a socket open.
WEBSOCKET_MAX_AGE_SECONDS = env_int("WEBSOCKET_MAX_AGE_SECONDS", 60 * 60)
if not 0 < WEBSOCKET_MAX_AGE_SECONDS < CHANNEL_GROUP_EXPIRY_SECONDS:
    raise ImproperlyConfigured(
        f"WEBSOCKET_MAX_AGE_SECONDS must be between 1 and {CHANNEL_GROUP_EXPIRY_SECONDS - 1}."
    )

# channels_redis 4.3 waits for a socket's next message with a blocking BZPOPMIN of 5 s
# (RedisChannelLayer.brpop_timeout). redis-py 8 reads every reply with a 5 s socket_timeout
# by default (None before 8.0), so that read timed out on every idle socket and the consumer
# died with 1011 every ~5 s (django/channels_redis#422, redis/redis-py#4091). The read
# timeout must outlast the blocking wait; a finite one still ends a socket whose Redis hangs
# (a vanished Redis is found sooner, by redis-py's TCP keepalive), and the browser reconnects.
# Set here rather than by pinning redis<8: it holds for both, and for channels_redis's fix.
REDIS_SOCKET_TIMEOUT_SECONDS = 15
# How many Redis connections a process's channel layer opens at most; past that, a caller
# waits (up to REDIS_POOL_WAIT_SECONDS) for one to be free (studio/realtime/layer.py).
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 50)
REDIS_POOL_WAIT_SECONDS = 20
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    if "socket_timeout" in parse_qs(urlsplit(REDIS_URL).query):
        # redis-py lets the URL's options override the ones given here.
        raise ImproperlyConfigured("REDIS_URL must leave socket_timeout to Studio's settings.")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "studio.realtime.layer.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS}],
                "prefix": env_str("REDIS_PREFIX", "studio"),
                "group_expiry": CHANNEL_GROUP_EXPIRY_SECONDS,
                # A browser takes each push as it comes: 100 waiting or a minute old means
                # its socket is gone or hopelessly behind, and a reconnect resyncs it.
                "capacity": 100,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": CHANNEL_GROUP_EXPIRY_SECONDS},
        }
    }

TASKS = {
    "default": {
        "BACKEND": "studio.generation.task_backend.WakingDatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTHENTICATION_BACKENDS = ["studio.security.throttle.ThrottledModelBackend"]
# Five failed logins for an account (or twenty from one address) lock it for 15 minutes.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCK_SECONDS = env_int("LOGIN_LOCK_SECONDS", 15 * 60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Form fields (a Vary Region mask is the largest) and whole requests (uploads included).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
REQUEST_MAX_BYTES = INPUT_IMAGE_MAX_BYTES * 5 + 1024 * 1024  # a blend of five images
# Studio's own API (studio/api): a request body's limit (a Vary Region mask is the
# largest thing sent), and how long the links to results in a task object work.
API_REQUEST_MAX_BYTES = env_int("API_REQUEST_MAX_BYTES", 8 * 1024 * 1024)
API_FILE_URL_SECONDS = env_int("API_FILE_URL_SECONDS", 7 * 24 * 3600)
# Webhooks to API callers (config.webhook_config): a delivery not answered 2xx is sent
# again after BACKOFF × 4^(attempts − 1) (5 s, 20 s, 80 s, …), API_WEBHOOK_ATTEMPTS times
# in all; each POST may take API_WEBHOOK_TIMEOUT_SECONDS.
API_WEBHOOK_BACKOFF_SECONDS = env_float("API_WEBHOOK_BACKOFF_SECONDS", 5.0)
API_WEBHOOK_ATTEMPTS = env_int("API_WEBHOOK_ATTEMPTS", 6)
API_WEBHOOK_TIMEOUT_SECONDS = env_float("API_WEBHOOK_TIMEOUT_SECONDS", 10.0)
if API_WEBHOOK_ATTEMPTS < 1 or API_WEBHOOK_BACKOFF_SECONDS < 0 or API_WEBHOOK_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured(
        "API_WEBHOOK_ATTEMPTS must be at least 1, API_WEBHOOK_BACKOFF_SECONDS at least 0 and "
        "API_WEBHOOK_TIMEOUT_SECONDS more than 0."
    )

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

if not DEBUG:
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone. The
    # scheme comes from the connection, or from a trusted proxy (STUDIO_TRUSTED_PROXIES).
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "redact": {"()": "studio.security.logging.RedactSecrets"},
        "refusals": {"()": "studio.security.logging.ExpectedRefusalsInOneLine"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
    },
}
