"""Huikuan settings, driven by the environment.

DATABASE_URL    sqlite:///path or postgres://user@host:port/name (default: var/huikuan.sqlite3)
REDIS_URL       redis://host:6379/0 — cache, API throttles and sign-in limits shared by every process
HUIKUAN_SECRET_KEY, HUIKUAN_DEBUG, HUIKUAN_DEMO, HUIKUAN_ALLOWED_HOSTS, HUIKUAN_DATA_DIR, HUIKUAN_EXPORT_KEEP_DAYS
HUIKUAN_HTTPS, HUIKUAN_SECURE_COOKIES, HUIKUAN_SSL_REDIRECT, HUIKUAN_HSTS_SECONDS, HUIKUAN_HSTS_INCLUDE_SUBDOMAINS,
HUIKUAN_HSTS_PRELOAD, HUIKUAN_PROXY_SSL_HEADER, HUIKUAN_PROXY_COUNT, HUIKUAN_CSRF_TRUSTED_ORIGINS (README, Production)
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("HUIKUAN_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str, default: str = "") -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


# The built-in key is for the demo and development only: `huikuan serve` refuses to start with it unless
# HUIKUAN_DEMO=1 or HUIKUAN_DEBUG=1, and `check --deploy` reports it (huikuan.common.checks).
DEFAULT_SECRET_KEY = "dev-insecure-huikuan-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("HUIKUAN_SECRET_KEY") or DEFAULT_SECRET_KEY
DEBUG = _flag("HUIKUAN_DEBUG")
HUIKUAN_DEMO = _flag("HUIKUAN_DEMO")
ALLOWED_HOSTS = _list("HUIKUAN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

# Production behind HTTPS (README, "Production"): HUIKUAN_HTTPS=1 turns on secure cookies, the SSL redirect
# and HSTS at once; each can still be set on its own. Behind a reverse proxy that terminates TLS, set
# HUIKUAN_PROXY_SSL_HEADER=1 (the proxy sends X-Forwarded-Proto) and HUIKUAN_PROXY_COUNT to the number of
# proxies in front (client addresses for sign-in limits are then taken from X-Forwarded-For).
HTTPS = _flag("HUIKUAN_HTTPS")
SESSION_COOKIE_SECURE = _flag("HUIKUAN_SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _flag("HUIKUAN_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("HUIKUAN_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("HUIKUAN_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = _flag("HUIKUAN_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if _flag("HUIKUAN_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = _flag("HUIKUAN_USE_X_FORWARDED_HOST")
# e.g. https://ar.example.com — the origins a browser may post forms from (needed behind a proxy on
# another host name or port)
CSRF_TRUSTED_ORIGINS = _list("HUIKUAN_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_tasks_db",
    "huikuan.common",
    "huikuan.accounts",
    "huikuan.customers",
    "huikuan.ledger",
    "huikuan.statements",
    "huikuan.credit",
    "huikuan.collections",
    "huikuan.dunning",
    "huikuan.banking",
    "huikuan.insight",
    "huikuan.prediction",
    "huikuan.imports",
    "huikuan.onboarding",
    "huikuan.integrations",
    "huikuan.web",
    "huikuan.api",
    "huikuan.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "huikuan.common.middleware.RejectControlCharacters",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "huikuan.accounts.middleware.ActiveCompanyMiddleware",
    "huikuan.accounts.middleware.OneTimePasswordMiddleware",
    "huikuan.accounts.middleware.RecordPermissionDenied",
    "axes.middleware.AxesMiddleware",
    "huikuan.common.middleware.ErrorsAsClientErrors",
    "huikuan.portal.middleware.PortalSessionMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huikuan.web.context.shell",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'huikuan.sqlite3'}"),
        # Persistent connections (seconds; 0 closes after each request): a new PostgreSQL connection costs
        # a backend fork, several milliseconds on every API call otherwise (docs/PERFORMANCE.md, API load).
        conn_max_age=int(os.environ.get("HUIKUAN_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock when a transaction
    # starts, so two clerks never deadlock upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # Tests use a file (HUIKUAN_TEST_SQLITE) rather than memory when set, so live-server threads of the
    # browser journeys get their own connections instead of sharing the test's one.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["HUIKUAN_TEST_SQLITE"]} if os.environ.get("HUIKUAN_TEST_SQLITE") else {}
else:
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("HUIKUAN_TEST_DB", "test_huikuan")}
    # No JIT: short OLTP statements gain nothing, and the aging's per-row sub-select made the planner
    # JIT-compile it for ~0.8 s — more than running it (docs/PERFORMANCE.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering index of open instalments (INCLUDE columns) is PostgreSQL-only; SQLite builds it without them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "huikuan.accounts.ratelimit.AddressLimitBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("HUIKUAN_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
# failed sign-ins from one address, whatever the usernames (password spraying; huikuan.accounts.ratelimit)
HUIKUAN_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("HUIKUAN_LOGIN_FAILURES_PER_ADDRESS", "20"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False
# Behind N reverse proxies the client address is the N-th from the right in X-Forwarded-For; with none
# (the default) X-Forwarded-For is ignored, so a client cannot pick its own address to dodge a limit.
HUIKUAN_PROXY_COUNT = int(os.environ.get("HUIKUAN_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "huikuan.accounts.ratelimit.client_address"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
if os.environ.get("HUIKUAN_FAST_HASHER") == "1":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "huikuan" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
# large exports written by the worker (DATA_DIR / "exports") are deleted this many days after they were written
EXPORT_KEEP_DAYS = int(os.environ.get("HUIKUAN_EXPORT_KEEP_DAYS", "7"))
MEDIA_URL = "media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
HUIKUAN_IMPORT_MAX_BYTES = int(os.environ.get("HUIKUAN_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
HUIKUAN_UPLOAD_MAX_BYTES = int(os.environ.get("HUIKUAN_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))

# Outbound webhooks (huikuan.integrations): loopback/private targets are refused unless allowed here;
# an endpoint is disabled after this many failed attempts in a row.
HUIKUAN_WEBHOOK_ALLOW_PRIVATE = os.environ.get("HUIKUAN_WEBHOOK_ALLOW_PRIVATE", "0") == "1"
HUIKUAN_WEBHOOK_DISABLE_AFTER = int(os.environ.get("HUIKUAN_WEBHOOK_DISABLE_AFTER", "15"))

TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}

EMAIL_BACKEND = os.environ.get(
    "HUIKUAN_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if os.environ.get("HUIKUAN_EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
# SMTP for dunning emails (huikuan.dunning); without HUIKUAN_EMAIL_HOST mails go to the console (demo)
EMAIL_HOST = os.environ.get("HUIKUAN_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("HUIKUAN_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("HUIKUAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HUIKUAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("HUIKUAN_EMAIL_TLS", "0") == "1"
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("HUIKUAN_EMAIL_FROM", "huikuan@localhost")
# SMS provider for dunning: file (demo, var/outbox/sms.log) | aliyun | tencent | twilio
HUIKUAN_SMS = {
    "provider": os.environ.get("HUIKUAN_SMS_PROVIDER", "file"),
    "access_key": os.environ.get("HUIKUAN_SMS_ACCESS_KEY", ""),
    "secret": os.environ.get("HUIKUAN_SMS_SECRET", ""),
    "sign_name": os.environ.get("HUIKUAN_SMS_SIGN_NAME", ""),
    "app_id": os.environ.get("HUIKUAN_SMS_APP_ID", ""),
    "from": os.environ.get("HUIKUAN_SMS_FROM", ""),
    "region": os.environ.get("HUIKUAN_SMS_REGION", ""),
    **({"endpoint": os.environ["HUIKUAN_SMS_ENDPOINT"]} if os.environ.get("HUIKUAN_SMS_ENDPOINT") else {}),
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "huikuan.api.schema.AutoSchema",
    # JSON only: the API's writes are declared (and accepted) as application/json, never form/multipart.
    "DEFAULT_PARSER_CLASSES": ["huikuan.api.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "huikuan.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "huikuan.api.permissions.JsonBodiesOnly",  # 415 for form/multipart writes
    ],
    "EXCEPTION_HANDLER": "huikuan.api.errors.handle",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # the same client address as sign-in limits (DRF's default would trust any X-Forwarded-For)
    "NUM_PROXIES": HUIKUAN_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("HUIKUAN_API_ANON_RATE", "60/min"),
        "user": os.environ.get("HUIKUAN_API_USER_RATE", "3000/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Huikuan API",
    "DESCRIPTION": "Receivables and trade credit. Amounts are decimal strings; send Idempotency-Key on POSTs.",
    "VERSION": "1.0.0",
    "SERVERS": [{"url": os.environ.get("HUIKUAN_API_SERVER", "/"),
                 "description": "This Huikuan installation (paths start with /api/v1/)"}],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "DocumentKindEnum": "huikuan.ledger.models.DocumentKind",
        "CreditKindEnum": "huikuan.ledger.models.CreditKind",
        "LedgerStatusEnum": "huikuan.ledger.models.Status",
        "CustomerStatusEnum": "huikuan.customers.models.CustomerStatus",
        "PaymentMethodEnum": "huikuan.ledger.models.Method",
        "BillStatusEnum": "huikuan.ledger.models.BillStatus",
        "ChequeStatusEnum": "huikuan.ledger.models.ChequeStatus",
        "ActivityKindEnum": "huikuan.collections.models.ActivityKind",
        "ActivityOutcomeEnum": ["reached", "no_answer", "promised", "disputed", "wrong_contact", "refuses"],
        "TaskKindEnum": "huikuan.collections.models.TaskKind",
        "CaseKindEnum": "huikuan.collections.models.CaseKind",
        "CreditRequestKindEnum": "huikuan.credit.models.RequestKind",
    },
}

# Throttle counters, sign-in limits and other caches: Redis when configured (several processes or machines
# share them), else in-process. REDIS_URL is the documented name; HUIKUAN_REDIS_URL is still read.
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("HUIKUAN_REDIS_URL") or ""
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": os.environ.get("HUIKUAN_CACHE_PREFIX", "huikuan")}}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_on_one_line": {"()": "huikuan.common.logs.ForbiddenOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["forbidden_on_one_line"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUIKUAN_LOG_LEVEL", "WARNING")},
}

# Where customers reach this installation (the customer portal's sign-in links in e-mails and SMS),
# e.g. https://huikuan.example.cn; without it the origin of the portal address under reminder settings.
HUIKUAN_PUBLIC_URL = os.environ.get("HUIKUAN_PUBLIC_URL", "")

HUIKUAN_ROLE_LABELS = {
    "admin": _("Administrator"),
}

# Static assets (htmx, charts, CSS) are served by WhiteNoise straight from the installed packages.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
FORMAT_MODULE_PATH = ["config.formats"]
