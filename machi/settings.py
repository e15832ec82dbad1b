"""machi settings: everything comes from environment variables (docs/configuration.md).

Zero variables give a working local site on SQLite under ./var/.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from machi.lib.env import env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent

MACHI_ENV = env_str("MACHI_ENV", "development")
if MACHI_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"MACHI_ENV must be development or production, not {MACHI_ENV!r}")
PRODUCTION = MACHI_ENV == "production"

DATA_DIR = Path(env_str("MACHI_DATA_DIR", "var")).resolve()

_DEFAULT_SECRET_KEY = "machi-development-key-not-for-production"
SECRET_KEY = env_str("SECRET_KEY", _DEFAULT_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == _DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production"
    )

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
SITE_URL = env_str("MACHI_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Listed so the API docs page serves its own copy of Swagger UI, not a CDN one.
    "ninja",
    "django_otp",
    "machi.apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp
    "machi.accounts",
    "machi.audit",
    "machi.catalog",
    "machi.datastore",
    "machi.developers",
    "machi.publish",
    "machi.ask",
    "machi.geo",
    "machi.ckan_compat",
    "django_tasks",
    "machi.apps.BackgroundTasksConfig",  # django_tasks_db
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before rate limits: preflights are answered, and refusals readable, cross-origin.
    "machi.lib.http.PublicReadCorsMiddleware",
    "machi.lib.http.HeadAsGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After LocaleMiddleware so a 429 speaks the client's language.
    "machi.developers.middleware.RateLimitMiddleware",
    "machi.lib.http.UploadLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "machi.accounts.middleware.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "machi.lib.http.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "machi.urls"
WSGI_APPLICATION = "machi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "machi.catalog.context_processors.site",
            ],
        },
    },
]

_SQLITE_DEFAULT = f"sqlite:///{DATA_DIR / 'machi.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_DEFAULT))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers go on while a writer commits; IMMEDIATE avoids
    # "database is locked" when two writers upgrade their locks at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-machi.sqlite3")}
# Connections stay open between requests. On SQLite this also spares the
# checkpoint (an fsync) that closing the last connection to a WAL file does.
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Published tables live apart from the main database (accounts, audit, personal
# data), so no query on open data can reach those: a SQLite file of their own,
# or the `datastore` schema of PostgreSQL (machi/datastore/engine.py).
_DATASTORE_URL = env_str("DATASTORE_URL", "")
if _DATASTORE_URL:
    DATABASES["datastore"] = dj_database_url.parse(_DATASTORE_URL)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["datastore"] = dj_database_url.parse(f"sqlite:///{DATA_DIR / 'datastore.sqlite3'}")
else:
    DATABASES["datastore"] = dict(DATABASES["default"])
if DATABASES["datastore"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tables of millions of rows are read far more than written: reading the
    # file through a memory map (address space, not resident memory) skips a
    # copy per page; a 64 MB page cache per connection keeps indexes warm.
    DATABASES["datastore"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA busy_timeout=5000; PRAGMA mmap_size=4294967296; PRAGMA cache_size=-65536;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["datastore"]["TEST"] = {"NAME": str(DATA_DIR / "test-datastore.sqlite3")}
else:
    DATABASES["datastore"]["OPTIONS"] = {"options": "-c search_path=datastore"}
DATABASES["datastore"]["CONN_MAX_AGE"] = 600
DATABASES["datastore"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["machi.datastore.routers.DatastoreRouter"]

# Datastore query limits (docs/configuration.md).
DATASTORE_TIME_LIMIT_MS = env_int("DATASTORE_TIME_LIMIT_MS", 1000)
DATASTORE_SQL_ROW_LIMIT = env_int("DATASTORE_SQL_ROW_LIMIT", 10000)
DATASTORE_COUNT_TIME_LIMIT_MS = env_int("DATASTORE_COUNT_TIME_LIMIT_MS", 50)
DATASTORE_SQL_ROLE = env_str("DATASTORE_SQL_ROLE", "machi_datastore_reader")
# Processes that analyse a large table's text for its full-text index (background task,
# datastore.engine.fill_search); 1 analyses in the task's own process.
DATASTORE_SEARCH_PROCESSES = min(os.cpu_count() or 1, 8)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache is shared by every process: Redis when REDIS_URL is set (several
# workers at scale), else the main database (table machi_cache, made by the
# developers app's migration). Never per-process memory.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "machi",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "machi_cache",
        }
    }

# Public API (/api/): requests per minute per anonymous client (IP address)
# and per API key (machi/developers/limits.py).
# Background work (conversions, loads, refreshes): "database" queues tasks in the main
# database for `machi worker` (which `machi serve` starts); "immediate" runs them inline.
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
MACHI_TASKS = env_str("MACHI_TASKS", "database")
if MACHI_TASKS not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"MACHI_TASKS must be one of {', '.join(_TASK_BACKENDS)}")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[MACHI_TASKS]}}
# The largest file the publish pipeline reads (uploads are also capped by MACHI_MAX_UPLOAD_MB).
PUBLISH_MAX_FILE_BYTES = env_int("MACHI_PUBLISH_MAX_MB", 1024) * 1024 * 1024
# Scheduled refreshes read drop folders only under this one: staff name a folder in the
# back office, and must not be able to publish files from anywhere else on the server.
PUBLISH_DROP_ROOT = Path(env_str("MACHI_DROP_ROOT", str(DATA_DIR / "drop"))).resolve()
# Processes that convert a large file's records side by side (machi/publish/pipeline.py);
# 1 converts in the task's own process. Default: one per processor, at most 8.
PUBLISH_PROCESSES = env_int("MACHI_CONVERT_PROCESSES", min(os.cpu_count() or 1, 8))
# Harvesting other catalogs (machi/catalog/harvest.py): the largest response read from a
# source, and how long to wait for one.
HARVEST_MAX_BYTES = env_int("MACHI_HARVEST_MAX_MB", 50) * 1024 * 1024
HARVEST_TIMEOUT = env_int("MACHI_HARVEST_TIMEOUT", 60)

# Resident Q&A (machi/ask, docs/ask.md): below this confidence the chatbot says it does not
# know and gives a contact instead of a wrong answer (a percentage, so the variable is an
# integer); the contact when no department fits.
ASK_MIN_CONFIDENCE = env_int("MACHI_ASK_MIN_CONFIDENCE", 50) / 100
ASK_PLACES_FAQ_CONFIDENCE = 0.8  # an FAQ answer shown beside places must be this sure
ASK_FALLBACK_CONTACT = env_str("MACHI_ASK_FALLBACK_CONTACT", "03-3812-7111")
# LINE Messaging API (the chatbot on LINE): the channel's secret checks X-Line-Signature,
# the channel access token sends replies to the reply endpoint.
LINE_CHANNEL_SECRET = env_str("MACHI_LINE_CHANNEL_SECRET", "")
LINE_CHANNEL_ACCESS_TOKEN = env_str("MACHI_LINE_CHANNEL_ACCESS_TOKEN", "")
LINE_REPLY_URL = env_str("MACHI_LINE_REPLY_URL", "https://api.line.me/v2/bot/message/reply")

MACHI_RATE_LIMIT_ANON = env_int("MACHI_RATE_LIMIT_ANON", 120)
MACHI_RATE_LIMIT_KEY = env_int("MACHI_RATE_LIMIT_KEY", 1200)
if min(MACHI_RATE_LIMIT_ANON, MACHI_RATE_LIMIT_KEY) < 1:
    raise ImproperlyConfigured("MACHI_RATE_LIMIT_ANON and MACHI_RATE_LIMIT_KEY must be at least 1")
# Proxies (addresses or networks) whose X-Forwarded-For names the client.
MACHI_TRUSTED_PROXIES = env_list("MACHI_TRUSTED_PROXIES", [])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_URL = "/files/"
MEDIA_ROOT = DATA_DIR / "files"
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
# Outside production the app serves static files straight from the source tree.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGIN_URL = "admin:login"

# Uploads: refused before they are stored when larger than this.
MACHI_MAX_UPLOAD_BYTES = env_int("MACHI_MAX_UPLOAD_MB", 100) * 1024 * 1024

# The map (machi.geo, docs/geo.md): background tiles from a URL (GSI standard map by default),
# or served by the app from a folder of z/x/y.png or an MBTiles file (staff networks offline).
GEO_TILE_URL = env_str("MACHI_TILE_URL", "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png")
GEO_TILES_DIR = env_str("MACHI_TILES_DIR", "")
GEO_MBTILES = env_str("MACHI_MBTILES", "")
# PostGIS narrows spatial queries on PostgreSQL when present ("auto"); "off" keeps the btree.
MACHI_GEO_POSTGIS = env_str("MACHI_GEO_POSTGIS", "auto")
if MACHI_GEO_POSTGIS not in {"auto", "off"}:
    raise ImproperlyConfigured(f"MACHI_GEO_POSTGIS must be auto or off, not {MACHI_GEO_POSTGIS!r}")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

MACHI_REQUIRE_2FA = env_bool("MACHI_REQUIRE_2FA", PRODUCTION)
OTP_TOTP_ISSUER = env_str("MACHI_SITE_NAME", "文京区オープンデータ")
MACHI_SITE_NAME = OTP_TOTP_ISSUER
MACHI_SITE_NAME_EN = env_str("MACHI_SITE_NAME_EN", "Bunkyo City Open Data")
# The municipality that runs the site: publisher of the DCAT catalog, parent of the
# departments. The code is the 6-digit 全国地方公共団体コード (with its check digit).
MACHI_MUNICIPALITY_NAME = env_str("MACHI_MUNICIPALITY_NAME", "文京区")
MACHI_MUNICIPALITY_NAME_EN = env_str("MACHI_MUNICIPALITY_NAME_EN", "Bunkyo City")
MACHI_MUNICIPALITY_CODE = env_str("MACHI_MUNICIPALITY_CODE", "131059")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("MACHI_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("MACHI_LOG_LEVEL", "INFO")},
}
