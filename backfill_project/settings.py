"""Settings: every knob is read from the environment here, with a safe local default.

Every read goes through one helper per type (`env_str`, `env_int`, `env_float`, `env_bool`,
`env_list`, `env_path`), and this file is the only place a default is given: code reads
`settings.X`, never `getattr(settings, "X", default)`.

The README's "Configuration" section lists each variable; keep the two in step.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from backfill_project.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    local_secret_key,
    secret_key_problem,
)

BASE_DIR = Path(__file__).resolve().parent.parent


VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")


DEBUG = env_bool("DEBUG", False)
# A deployment sets SECRET_KEY (docker-compose.yml and the image refuse to start without one);
# a local run does not, and gets a key of its own under VAR_DIR.
DEPLOYED = "SECRET_KEY" in os.environ
SECRET_KEY = os.environ["SECRET_KEY"] if DEPLOYED else local_secret_key(VAR_DIR / "secret_key")
if not DEBUG and (problem := secret_key_problem(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"SECRET_KEY {problem}: with DEBUG off, set it to a long random string, e.g. the output "
        "of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")

# HTTPS (`manage.py check --deploy` clean): on by default for a deployment with DEBUG off, which
# sits behind a proxy that terminates TLS and sets X-Forwarded-Proto; off for local runs
# (plain HTTP on 127.0.0.1). Each can be set on its own.
HTTPS = DEPLOYED and not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
# The header the TLS-terminating proxy sets ("" when there is no proxy: Django then trusts no
# header for the scheme).
_PROXY_SSL_HEADER = env_str(
    "SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO" if HTTPS else ""
).strip()
SECURE_PROXY_SSL_HEADER = (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files for /api/docs/, served from here (no CDN: the page works offline).
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "django_prometheus",
    "districts",
    "snapshots",
    "backfill",
    "analytics",
    "website",
    "monitoring",
    "alerts",
    "simulator",
]

MIDDLEWARE = [
    # /healthz and /readyz answer first: no HTTPS redirect, host check or session for a probe.
    "alerts.health.middleware.HealthCheckMiddleware",
    # First and last but for the probes: django-prometheus times every request and counts it by
    # view and status.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS and scripts) however the web process is started, DEBUG or not.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "backfill_project.urls"
WSGI_APPLICATION = "backfill_project.wsgi.application"

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
            ],
        },
    },
]

# SQLite under var/ when DATABASE_URL is unset; PostgreSQL (or anything dj-database-url reads)
# when it is set.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'backfill.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
# django-prometheus's wrapper of the same backend counts queries, errors and their durations for
# /metrics (the serving process's; see monitoring/).
if DATABASES["default"]["ENGINE"] in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
        "django.db.", "django_prometheus.db."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Serve from the apps' static folders too, so a web process started without `collectstatic`
# (runserver, a test server) is styled; `collectstatic` still fills STATIC_ROOT for production.
WHITENOISE_USE_FINDERS = True

# Every line a unit logs carries its job, unit, date and district (backfill_project/log_context.py);
# LOG_FORMAT=json writes one JSON object per line for log shippers. Celery's workers and beat keep
# their own setup, with the same filter and format added (backfill_project/celery.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be `plain` or `json`, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"unit": {"()": "backfill_project.log_context.UnitContextFilter"}},
    "formatters": {
        "plain": {
            "()": "backfill_project.log_context.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "backfill_project.log_context.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["unit"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a request without credentials then gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backfill_project.exceptions.api_exception_handler",
    # DRF's JSON parser with bounds: over-deep nesting and over-long integers are 400s.
    "DEFAULT_PARSER_CLASSES": ["backfill_project.parsers.JSONParser"],
    # camelCase like every field name.
    "NON_FIELD_ERRORS_KEY": "nonFieldErrors",
    # Only the write endpoints carry a throttle scope (backfill.api). DRF's throttles are
    # advisory (the cache is per process here): they stop a runaway script, not an attacker.
    "DEFAULT_THROTTLE_RATES": {"backfill-write": env_str("API_WRITE_RATE", "30/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Backfill API",
    "DESCRIPTION": "Unified backfill of the Toastmasters district dashboard.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several fields are called `status`; each vocabulary gets its own enum name.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "backfill.models.JobStatus",
        "SnapshotStatusEnum": "snapshots.models.SnapshotStatus",
        "LegacyStatusEnum": "backfill.api.legacy_serializers.LEGACY_STATUS_WORDS",
        "LegacyDistrictStatusEnum": "backfill.api.legacy_serializers.LEGACY_DISTRICT_STATUS_WORDS",
        "JobPriorityEnum": "backfill.api.job_serializers.PRIORITY_WORDS",
    },
    # The schema and its docs page are for staff, like the API they describe.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    # additionalProperties: false, startDate's rule, path patterns, links (see the module).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backfill_project.schema.postprocess",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Redis and Celery ---------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660)
# A unit may legitimately wait on the rate limiter for a long time; the visibility timeout must
# exceed the task time limit or Redis redelivers tasks that are still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- The dashboard and the snapshot store --------------------------------------------------
DASHBOARD_BASE_URL = env_str("DASHBOARD_BASE_URL", "https://dashboards.toastmasters.org")
DASHBOARD_USER_AGENT = env_str(
    "DASHBOARD_USER_AGENT",
    "BackfillBot/1.0 (district statistics backfill; +https://github.com/district-stats/backfill)",
)
DASHBOARD_CONNECT_TIMEOUT = env_float("DASHBOARD_CONNECT_TIMEOUT", 5.0)
DASHBOARD_READ_TIMEOUT = env_float("DASHBOARD_READ_TIMEOUT", 30.0)
DASHBOARD_MAX_RESPONSE_BYTES = env_int("DASHBOARD_MAX_RESPONSE_BYTES", 5 * 1024 * 1024)
DASHBOARD_MAX_ATTEMPTS = env_int("DASHBOARD_MAX_ATTEMPTS", 4)
# Extra closing dates (JSON file in the registry's format) merged over the shipped registry.
CLOSING_DATES_FILE = env_str("CLOSING_DATES_FILE", "")

SNAPSHOT_ROOT = env_path("SNAPSHOT_ROOT", VAR_DIR / "snapshots")
# Where the snapshot store lives: `filesystem` (SNAPSHOT_ROOT, one host) or `s3` (a bucket that
# workers on several hosts share; credentials come from the standard AWS variables or roles).
SNAPSHOT_STORAGE = env_str("SNAPSHOT_STORAGE", "filesystem").strip().lower()
SNAPSHOT_S3_BUCKET = env_str("SNAPSHOT_S3_BUCKET", "")
SNAPSHOT_S3_PREFIX = env_str("SNAPSHOT_S3_PREFIX", "").strip("/")
SNAPSHOT_S3_ENDPOINT_URL = env_str("SNAPSHOT_S3_ENDPOINT_URL", "")
SNAPSHOT_S3_REGION = env_str("SNAPSHOT_S3_REGION", "")
SNAPSHOT_S3_ADDRESSING_STYLE = env_str("SNAPSHOT_S3_ADDRESSING_STYLE", "")
# The per-date lock of a non-filesystem store lives in Redis with this lease, renewed while its
# holder lives: a killed holder blocks its date for at most this long.
SNAPSHOT_LOCK_LEASE_SECONDS = env_int("SNAPSHOT_LOCK_LEASE_SECONDS", 10)
# A filesystem store refuses writes that would leave less than this free (the disk is then
# "nearly full": nothing is dispatched until twice this is free again); 0 turns it off.
SNAPSHOT_MIN_FREE_BYTES = env_int("SNAPSHOT_MIN_FREE_BYTES", 16 * 1024 * 1024)


def snapshot_storage(
    *,
    kind: str,
    root: Path,
    bucket: str = "",
    prefix: str = "",
    endpoint_url: str = "",
    region: str = "",
    addressing_style: str = "",
) -> dict:
    """The `snapshots` entry of STORAGES: a FileSystemStorage at `root` or an S3Storage."""
    if kind == "filesystem":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        }
    if kind != "s3":
        raise ImproperlyConfigured(f"SNAPSHOT_STORAGE must be `filesystem` or `s3`, not {kind!r}")
    if not bucket:
        raise ImproperlyConfigured("SNAPSHOT_STORAGE=s3 needs SNAPSHOT_S3_BUCKET")
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": prefix,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            # One put replaces an object atomically; never save under another name.
            "file_overwrite": True,
            "default_acl": None,  # the bucket's own policy decides
            "client_config": Config(
                s3={"addressing_style": addressing_style or None},
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=5,
                read_timeout=30,
            ),
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "snapshots": snapshot_storage(
        kind=SNAPSHOT_STORAGE,
        root=SNAPSHOT_ROOT,
        bucket=SNAPSHOT_S3_BUCKET,
        prefix=SNAPSHOT_S3_PREFIX,
        endpoint_url=SNAPSHOT_S3_ENDPOINT_URL,
        region=SNAPSHOT_S3_REGION,
        addressing_style=SNAPSHOT_S3_ADDRESSING_STYLE,
    ),
}

# --- Backfill jobs --------------------------------------------------------------------------
BACKFILL_MAX_ACTIVE_JOBS = env_int("BACKFILL_MAX_ACTIVE_JOBS", 1)
# Units in flight at once of jobs that only read and write the snapshot store (analytics,
# re-normalizing the raw archive); the dashboard's units are bounded by the rate-limit config.
BACKFILL_STORE_MAX_CONCURRENT = env_int("BACKFILL_STORE_MAX_CONCURRENT", 16)
# A store-bound job's slot holds a batch of units (backfill/services/batches.py): at most this
# many units, run one after another by one task, for at most about this many seconds of work.
BACKFILL_STORE_BATCH_UNITS = env_int("BACKFILL_STORE_BATCH_UNITS", 128)
BACKFILL_STORE_BATCH_SECONDS = env_float("BACKFILL_STORE_BATCH_SECONDS", 1.0)
BACKFILL_MAX_RANGE_DAYS = env_int("BACKFILL_MAX_RANGE_DAYS", 366)
# The fastest rate an operator may configure (the dashboard is a public site).
BACKFILL_MAX_REQUESTS_PER_MINUTE = env_int("BACKFILL_MAX_REQUESTS_PER_MINUTE", 60)
# A job plans at most this many units (days x districts for per-district collection).
BACKFILL_MAX_JOB_UNITS = env_int("BACKFILL_MAX_JOB_UNITS", 50_000)
BACKFILL_STALE_AFTER_SECONDS = env_int("BACKFILL_STALE_AFTER_SECONDS", 600)
BACKFILL_JOB_RETENTION_DAYS = env_int("BACKFILL_JOB_RETENTION_DAYS", 30)
# Stored (date, district) pairs re-fetched per audit run (backfill/services/audits.py).
BACKFILL_AUDIT_SAMPLE_SIZE = env_int("BACKFILL_AUDIT_SAMPLE_SIZE", 5)
# A data-collection job that ends having stored something queues an analytics-generation job
# over those dates (unless its request says updateAnalytics: false).
BACKFILL_FOLLOW_UP_ANALYTICS = env_bool("BACKFILL_FOLLOW_UP_ANALYTICS", True)
# Unit-level retries of transient failures (on top of the HTTP client's own retries).
BACKFILL_UNIT_MAX_ATTEMPTS = env_int("BACKFILL_UNIT_MAX_ATTEMPTS", 3)
BACKFILL_UNIT_RETRY_BASE_SECONDS = env_float("BACKFILL_UNIT_RETRY_BASE_SECONDS", 5.0)
# A running unit's lease: renewed every third of it while the unit runs; a unit whose lease
# expired (or whose worker no longer answers a ping) is dispatched again.
BACKFILL_UNIT_LEASE_SECONDS = env_float("BACKFILL_UNIT_LEASE_SECONDS", 30.0)
BACKFILL_WORKER_PING_TIMEOUT_SECONDS = env_float("BACKFILL_WORKER_PING_TIMEOUT_SECONDS", 1.0)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "backfill")

# --- Protecting the dashboard (backfill/limits) ---------------------------------------------
# Redis keys of the rate limiter, breaker and response cache start with this prefix.
BACKFILL_LIMITS_KEY_PREFIX = env_str("BACKFILL_LIMITS_KEY_PREFIX", "backfill")
# The longest Retry-After a worker waits through; a longer one fails the unit (retryable) while
# the shared cooldown still holds every worker for the full value.
BACKFILL_MAX_RETRY_AFTER_SECONDS = env_float("BACKFILL_MAX_RETRY_AFTER_SECONDS", 300.0)
BACKFILL_BREAKER_FAILURES = env_int("BACKFILL_BREAKER_FAILURES", 5)
BACKFILL_BREAKER_COOLDOWN_SECONDS = env_float("BACKFILL_BREAKER_COOLDOWN_SECONDS", 30.0)
BACKFILL_CACHE_TTL_SECONDS = env_int("BACKFILL_CACHE_TTL_SECONDS", 3600)
BACKFILL_CACHE_MAX_ENTRIES = env_int("BACKFILL_CACHE_MAX_ENTRIES", 1000)
BACKFILL_CACHE_MAX_BYTES = env_int("BACKFILL_CACHE_MAX_BYTES", 50 * 1024 * 1024)
# The share of each rate-limit window only priority jobs (daily refresh, urgent) may use: other
# jobs' requests stop at max_requests x (1 - share), so a long backfill never starves the daily
# run. 0 turns the reservation off.
BACKFILL_PRIORITY_RESERVED_SHARE = env_float("BACKFILL_PRIORITY_RESERVED_SHARE", 0.2)
if not 0.0 <= BACKFILL_PRIORITY_RESERVED_SHARE < 1.0:
    raise ImproperlyConfigured("BACKFILL_PRIORITY_RESERVED_SHARE must be in [0, 1).")

# --- Operations: /metrics (monitoring/) --------------------------------------------------
# A scraper is let in with `Authorization: Bearer <METRICS_TOKEN>` or from an address of
# METRICS_ALLOWED_IPS (addresses or networks, `127.0.0.1,10.0.0.0/8`); anything else gets 403.
# Neither set: /metrics answers 403 to everybody.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
for _entry in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_entry!r} is not an address or network"
        ) from _exc
# Each scrape's database queries stop after this long (PostgreSQL statement_timeout); a section
# that did not answer is reported in backfill_scrape_errors instead of failing the scrape.
METRICS_QUERY_TIMEOUT_MS = env_int("METRICS_QUERY_TIMEOUT_MS", 2000)

# --- Legacy routes (/api/districts/backfill...) ---------------------------------------------
# Announced in their Deprecation and Sunset headers (RFC 9745, RFC 8594).
LEGACY_API_DEPRECATED_AT = env_str("LEGACY_API_DEPRECATED_AT", "2026-12-01")
LEGACY_API_SUNSET_AT = env_str("LEGACY_API_SUNSET_AT", "2027-06-30")

# --- Health checks and alerts (alerts/) -----------------------------------------------------
# Workers write a heartbeat this often; /readyz counts a worker alive while its last one is at
# most HEALTH_WORKER_STALE_SECONDS old, and beat while it sent a task (its 10 s reclaim) within
# HEALTH_BEAT_STALE_SECONDS.
HEARTBEAT_INTERVAL_SECONDS = env_float("HEARTBEAT_INTERVAL_SECONDS", 5.0)
HEALTH_WORKER_STALE_SECONDS = env_float("HEALTH_WORKER_STALE_SECONDS", 20.0)
HEALTH_BEAT_STALE_SECONDS = env_float("HEALTH_BEAT_STALE_SECONDS", 35.0)
# /readyz fails when a filesystem store has less than this share of its disk free.
HEALTH_STORE_MIN_FREE_RATIO = env_float("HEALTH_STORE_MIN_FREE_RATIO", 0.05)
# E-mail of alerts: Django's mail settings; rules without their own list go to ADMINS
# ("Name <a@b>, c@d").
ADMINS = [
    (address.split("<")[0].strip() or address, address.split("<")[-1].rstrip(">").strip())
    for address in env_list("ADMINS")
]
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
SERVER_EMAIL = env_str("SERVER_EMAIL", "backfill@localhost")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", SERVER_EMAIL)
# Webhook deliveries: the request's timeout, and how often a failed one is tried (backoff
# ALERT_WEBHOOK_RETRY_BASE_SECONDS x 2^attempt between tries).
ALERT_WEBHOOK_TIMEOUT_SECONDS = env_float("ALERT_WEBHOOK_TIMEOUT_SECONDS", 5.0)
ALERT_WEBHOOK_MAX_ATTEMPTS = env_int("ALERT_WEBHOOK_MAX_ATTEMPTS", 5)
ALERT_WEBHOOK_RETRY_BASE_SECONDS = env_float("ALERT_WEBHOOK_RETRY_BASE_SECONDS", 10.0)
# Beat evaluates the alert rules this often (alerts/beat.py).
ALERT_EVALUATE_SECONDS = env_float("ALERT_EVALUATE_SECONDS", 30.0)
EMAIL_SUBJECT_PREFIX = env_str("EMAIL_SUBJECT_PREFIX", "[Backfill] ")
# --- Publishing to the district-statistics site (website/) ----------------------------------
# Where `publish_site` and the publish jobs write the site's file tree: `file:///srv/cdn`,
# `s3://bucket/prefix` or `gs://bucket/prefix` (website/destinations.py). Empty: no destination.
PUBLISH_DESTINATION = env_str("PUBLISH_DESTINATION", "").strip()
# Another S3-compatible service for an `s3://` destination (MinIO, R2, moto); empty: AWS.
PUBLISH_S3_ENDPOINT_URL = env_str("PUBLISH_S3_ENDPOINT_URL", "")
# The Google Cloud project of a `gs://` destination; empty: the credentials' own.
PUBLISH_GCS_PROJECT = env_str("PUBLISH_GCS_PROJECT", "")
# A collection (or the analytics job following it) that stored something queues a publish job
# to PUBLISH_DESTINATION (backfill/services/follow_up.py); off when no destination is set.
PUBLISH_AFTER_COLLECTION = env_bool("PUBLISH_AFTER_COLLECTION", True)
