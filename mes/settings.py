"""Settings, read from the environment.

Defaults give the embedded configuration (SQLite in var/, a file-system Celery broker, no
external services). Production sets DATABASE_URL (PostgreSQL) and REDIS_URL.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MES_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once into var/ and reused."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Write-then-rename so two processes starting together never read a half-written key.
        tmp = key_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        if not key_file.exists():
            tmp.replace(key_file)
        else:
            tmp.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "mes",
    "planning",
    "execution",
    "quality",
    "alerts",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mes.middleware.LoginRequiredMiddleware",  # (htmx requests: 401, not a redirect)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mes.middleware.RequestIdMiddleware",
]

ROOT_URLCONF = "mes.urls"
ASGI_APPLICATION = "mes.asgi.application"
WSGI_APPLICATION = "mes.wsgi.application"

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
                "mes.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "mes.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("MES_DB_POOL", True):
        # Web threads, event streams and Celery tasks take a connection per request or task
        # from psycopg's pool, a bounded set per process, and give it back at the end.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            # One connection per web thread (mes/asgi.py), and a few for the event streams.
            "min_size": 1, "max_size": int(os.environ.get(
                "MES_DB_POOL_SIZE", int(os.environ.get("MES_WEB_THREADS", "4")) + 4)),
            "timeout": 10,
        }
        # Django's backend with a pool that, on finding one dead connection, drops every other
        # one that died with it (a database restart) at once, instead of backing off 1, 2, 4 …
        # s per dead connection: the first request after a restart succeeds.
        DATABASES["default"]["ENGINE"] = "mes.postgresql"
    # Parameters bound by the server and repeated statements prepared: psycopg prepares a
    # statement on its 5th run on a connection (Django leaves that off unless asked), and
    # PostgreSQL then stops planning it on every run: half of PostgreSQL's CPU per scan
    # report was planning (BENCHMARKS.md, scan report). Off behind a transaction-pooling
    # PgBouncer, which cannot keep a connection's prepared statements.
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool(
            "MES_DB_SERVER_SIDE_BINDING", True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5)
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": SQLITE_PATH}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web server read while the worker writes; IMMEDIATE takes the write
            # lock at BEGIN so two writers queue instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
    )
    # A file (not memory) so that other processes (worker, browser tests' server) share it.
    # One file per test run, so that runs side by side do not trample each other.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# Check a connection before handing it out (with the pool: in mes.postgresql's pool), so that
# after a database restart requests do not get connections that died idle in the pool.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Shared by every web process and worker (the login throttle counts here): Redis when there is
# one, else a table in the database (made by `migrate`: see MesConfig.ready). Short timeouts:
# an unreachable Redis costs a sign-in about a second, and the throttle then lets it through
# (logging a warning) rather than failing it.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mes",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "mes_cache",
            "KEY_PREFIX": "mes",
            # A full table is culled (locks too): keep it roomy.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "mes.User"
AUTHENTICATION_BACKENDS = ["mes.auth_backends.CapabilityBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("MES_TEST_FAST_HASHER", False):
    # Test runs only: thousands of users are made; real hashing would dominate the run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Compressed, not hashed: the vendored files carry their version in their names.
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage",
    },
}
# Serve straight from the finders when collectstatic has not been run (tests, development).
WHITENOISE_USE_FINDERS = True
# Files looked up again on every request (a style sheet edited while `make run` runs is served
# whole; without it, at the size it had when the server started: cut off, or an error):
# `make run` and DEBUG, not a production server (its files do not change while it runs).
WHITENOISE_AUTOREFRESH = env_bool("MES_STATIC_AUTOREFRESH", DEBUG)

# --- Redis, Celery, live events -------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # A request that enqueues work while Redis is down or does not answer gives up after one
    # immediate retry and the 1 s socket timeouts (mes.celery.enqueue_on_commit), instead of
    # retrying for seconds or hanging. (max_retries/interval_*: kombu's connect retries when
    # publishing; a worker's own reconnection loop has its own, broker_connection_max_retries.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_timeout": 1,
                                       "socket_connect_timeout": 1, "max_retries": 1,
                                       "interval_start": 0, "interval_step": 0.2}
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
else:
    # Embedded: kombu's file-system transport. Messages are files in var/broker, so web server,
    # worker and beat share a queue without any server process.
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    # kombu's transport, writing each message whole before the worker can see it (mes.broker)
    CELERY_BROKER_TRANSPORT = "mes.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        # Exchange tables (kombu's default: ./control, wherever the process was started).
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        # The worker lists the queue folder this often (kombu's default, 1 s, alone took half
        # of the 2 s that an alert may take from the event to an open board).
        "polling_interval": 0.1,
    }
    CELERY_RESULT_BACKEND = f"file://{(VAR_DIR / 'celery-results').as_posix()}"
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
# Connecting to the broker: give up an attempt after 1 s (Celery's default: 4 s).
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# One result backend per process, not per thread: web requests each run in a new thread, and
# building a backend per request costs more than the enqueue itself (both backends here are
# thread safe: redis-py's connection pool, plain files).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies mid-run is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}

# Live stream: how often an SSE stream polls the outbox when Redis is not there to wake it.
MES_EVENT_POLL_SECONDS = float(os.environ.get("MES_EVENT_POLL_SECONDS", "1.0"))
MES_EVENT_HEARTBEAT_SECONDS = 15.0
MES_EVENT_CHANNEL = os.environ.get("MES_EVENT_CHANNEL", "mes:events")
# Seconds a web or worker process waits after a commit for others to join before it sends what
# they queued for Redis (stream wake-ups, alert subjects) in one round trip (mes.redis); 0 sends
# each commit's at once, in the committing thread.
MES_REDIS_SEND_DELAY = float(os.environ.get("MES_REDIS_SEND_DELAY", "0.02"))
# A gap in outbox ids younger than this may be a transaction that has not committed yet;
# streams wait for it before moving past. Older gaps are rolled-back transactions.
MES_EVENT_GAP_GRACE_SECONDS = 5.0

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_ENGINE = "mes.sessions"  # the database backend, read with a precompiled query
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if not DEBUG:
    # Production (DATABASE_URL set) runs behind TLS. The embedded default serves plain HTTP on
    # the plant LAN; MES_INSECURE_HTTP overrides either way.
    _https = not env_bool("MES_INSECURE_HTTP", not DATABASE_URL)
    SESSION_COOKIE_SECURE = _https
    CSRF_COOKIE_SECURE = _https
    SECURE_SSL_REDIRECT = _https and env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if _https else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
    SECURE_HSTS_PRELOAD = _https
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_errors": {"()": "mes.log_filters.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["client_errors"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Shop floor rules ------------------------------------------------------------------------
# A report entered more than this long after the work ended is a late entry (补报).
MES_REPORT_GRACE_MINUTES = int(os.environ.get("MES_REPORT_GRACE_MINUTES", "30"))
# Operators may only report at work centers they are assigned to (work centers with no
# assigned operators accept anyone).
MES_ENFORCE_OPERATOR_ASSIGNMENT = env_bool("MES_ENFORCE_OPERATOR_ASSIGNMENT", True)

# Scheduling: tasks starting within this many minutes stay where they are when re-planning.
MES_FROZEN_MINUTES = int(os.environ.get("MES_FROZEN_MINUTES", "120"))
MES_SCHEDULER_WORKERS = int(os.environ.get("MES_SCHEDULER_WORKERS", "2"))

# The benchmark's baseline view (a bare one-row insert): only when benchmarking.
MES_BENCH_VIEWS = env_bool("MES_BENCH_VIEWS", False)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MES API",
    "DESCRIPTION": "Closed-loop production task management: plans, orders, work, quality, alerts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}
