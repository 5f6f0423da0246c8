"""Django settings: every value comes from the environment through stylevault.core.config."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from stylevault.core import config as _config

CONFIG = _config.load()
BASE_DIR = _config.Path(__file__).resolve().parent
DATA_DIR = CONFIG.data_dir
DATA_DIR.mkdir(parents=True, exist_ok=True)
(DATA_DIR / "static").mkdir(exist_ok=True)

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
PRODUCTION = CONFIG.production
ALLOWED_HOSTS = CONFIG.allowed_hosts
CSRF_TRUSTED_ORIGINS = CONFIG.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "stylevault.web",
    "stylevault.accounts",
    "stylevault.ledger",
    "stylevault.billing",
    "stylevault.jobs",
    "stylevault.provenance",
    "stylevault.verification",
    "stylevault.styles",
    "stylevault.generation",
    "stylevault.photos",
    "stylevault.community",
    "stylevault.notifications",
    "stylevault.campaigns",
    "stylevault.mail",
    "stylevault.ops",
]

MIDDLEWARE = [
    "stylevault.ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "stylevault.ops.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "stylevault.ops.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "stylevault.web.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "stylevault.urls"
ASGI_APPLICATION = "stylevault.asgi.application"
WSGI_APPLICATION = None
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Cache: Redis when configured (distributed), else the database (embedded, shared by processes).
if CONFIG.cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.cache_url,
            # A stalled Redis fails a request after seconds instead of hanging it (and, for
            # the inline API reads, the whole event loop).
            "OPTIONS": {"socket_timeout": 5, "socket_connect_timeout": 5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "stylevault_cache",
        }
    }

# Storage: the local data directory, or S3-compatible storage through django-storages.
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"  # never routed: every file is served through an authorising view
if CONFIG.storage_url.startswith("s3://"):
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": _config.s3_options(CONFIG.storage_url),
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "file_permissions_mode": 0o600},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

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
AUTHENTICATION_BACKENDS = [
    "stylevault.accounts.backends.LoginLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "stylevault.accounts.backends.OperatorPermissionsBackend",
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

# Google sign-in through allauth; the button shows only when credentials are configured.
GOOGLE_SIGNIN_ENABLED = bool(CONFIG.google_client_id and CONFIG.google_client_secret)
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": (
            [{"client_id": CONFIG.google_client_id, "secret": CONFIG.google_client_secret}]
            if GOOGLE_SIGNIN_ENABLED
            else []
        ),
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
        "FETCH_USERINFO": True,
    }
}
SOCIALACCOUNT_ADAPTER = "stylevault.accounts.adapters.SocialAccountAdapter"
ACCOUNT_ADAPTER = "stylevault.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"

# Sessions: HttpOnly cookie for two weeks, Secure in production.
SESSION_COOKIE_AGE = 14 * 24 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_FAILURE_VIEW = "stylevault.web.views.csrf_failure"

# Security headers.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https://accounts.google.com"],
    }
}

# Languages: English and Korean, URL prefixes /en/ and /ko/.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR.parent / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 120

RATE_LOGIN = CONFIG.rate_login
RATE_API = CONFIG.rate_api
RATE_GENERATION = CONFIG.rate_generation
RATE_LOGIN_ACCOUNT = CONFIG.rate_login_account
# Request bodies refused with 413 before they are read (stylevault.asgi), by route class.
STYLEVAULT_BODY_LIMITS = CONFIG.body_limits
STYLEVAULT_TRUSTED_PROXIES = CONFIG.trusted_proxies

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "stylevault.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["stylevault.core.api.ApiRateThrottle"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["stylevault.core.api.JSONRenderer"],
    "EXCEPTION_HANDLER": "stylevault.core.api.exception_handler",
    "DEFAULT_METADATA_CLASS": "stylevault.core.api.Metadata",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "stylevault.core.api.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "StyleVault API",
    "DESCRIPTION": "Licensed drawing styles, generation with provenance, credits and royalties.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: no CDN, and no inline script for the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

STYLEVAULT_BROKER_URL = CONFIG.broker_url
STYLEVAULT_REDIS_URL = CONFIG.cache_url

# Payments and royalties (billing and ledger apps).
STYLEVAULT_STRIPE_SECRET_KEY = CONFIG.payments["stripe_secret_key"]
STYLEVAULT_STRIPE_WEBHOOK_SECRET = CONFIG.payments["stripe_webhook_secret"]
STYLEVAULT_STRIPE_API_BASE = CONFIG.payments["stripe_api_base"]
STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET = CONFIG.payments["lemonsqueezy_webhook_secret"]
STYLEVAULT_LEMONSQUEEZY_API_KEY = CONFIG.payments["lemonsqueezy_api_key"]
STYLEVAULT_LEMONSQUEEZY_STORE_ID = CONFIG.payments["lemonsqueezy_store_id"]
STYLEVAULT_LEMONSQUEEZY_VARIANT_ID = CONFIG.payments["lemonsqueezy_variant_id"]
STYLEVAULT_LEMONSQUEEZY_API_URL = CONFIG.payments["lemonsqueezy_api_url"]
STYLEVAULT_TOSS_CLIENT_KEY = CONFIG.payments["toss_client_key"]
STYLEVAULT_TOSS_SECRET_KEY = CONFIG.payments["toss_secret_key"]
STYLEVAULT_TOSS_API_URL = CONFIG.payments["toss_api_url"]
# E-mail (stylevault.mail): SMTP from STYLEVAULT_EMAIL_URL, else files in the data dir.
globals().update(_config.email_settings(CONFIG.email_url, DATA_DIR, CONFIG.email_from))
STYLEVAULT_CREDIT_PACKS = CONFIG.payments["credit_packs"]  # None: the SPEC defaults
STYLEVAULT_SUBSCRIPTION_TIERS = CONFIG.payments["subscription_tiers"]
STYLEVAULT_PLATFORM_FEE_PERCENT = CONFIG.payments["platform_fee_percent"]
STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS = CONFIG.payments["payout_minimum_usd_cents"]
STYLEVAULT_PAYOUT_USD_CENTS_PER_CREDIT = CONFIG.payments["payout_usd_cents_per_credit"]
STYLEVAULT_BASE_MODEL = CONFIG.base_model
STYLEVAULT_TRAINING = CONFIG.engine["training"]  # overrides of the training defaults
STYLEVAULT_STYLE_CHECKS = CONFIG.engine["checks"]
STYLEVAULT_JOB_TIME_LIMITS = CONFIG.engine["job_time_limits"]  # overrides of the kinds' limits
STYLEVAULT_LORA_CACHE_SIZE = CONFIG.engine["lora_cache_size"]
STYLEVAULT_MAX_LORA_BYTES = CONFIG.engine["max_lora_bytes"]
# Generation jobs one worker claims and renders together (1: one at a time), how long a lone
# one waits for companions (0: never, batching off), torch threads per worker (0: automatic).
STYLEVAULT_BATCH_SIZE = CONFIG.engine["batch_size"]
STYLEVAULT_BATCH_WAIT_MS = CONFIG.engine["batch_wait_ms"]
# 0: batched images may round differently from the same request alone (faster, docs/batching.md).
STYLEVAULT_BATCH_EXACT = CONFIG.engine["batch_exact"]
STYLEVAULT_TORCH_THREADS = CONFIG.engine["torch_threads"]
STYLEVAULT_GENERATION_EXPIRY_MINUTES = CONFIG.engine["generation_expiry_minutes"]
# Photo studio: img2img strength and steps of the variants, the face rule, the safety hook.
STYLEVAULT_PHOTO_STRENGTH = 0.6
STYLEVAULT_PHOTO_STEPS = 20
STYLEVAULT_PHOTO_FACE_RULES = {"accept": 0.7, "reject": 0.4, "min_fraction": 0.1}
STYLEVAULT_SAFETY_CLASSIFIER = ""  # "module:function" scoring a PIL image; see photos.safety
STYLEVAULT_SAFETY_THRESHOLD = 0.5
# The site's address as seen from outside, for links written into files (certificates).
STYLEVAULT_PUBLIC_URL = CONFIG.engine["public_url"]
STYLEVAULT_BLOCKED_TERMS = CONFIG.engine["blocked_terms"]
STYLEVAULT_NSFW_TERMS = CONFIG.engine["nsfw_terms"]
STYLEVAULT_PROMPT_CLASSIFIER = CONFIG.engine["prompt_classifier"]
# Campaign copy (docs/campaigns.md): an OpenAI-compatible endpoint, or the template writer.
STYLEVAULT_LLM_URL = CONFIG.engine["llm_url"]
STYLEVAULT_LLM_API_KEY = CONFIG.engine["llm_api_key"]
STYLEVAULT_LLM_MODEL = CONFIG.engine["llm_model"]
STYLEVAULT_LLM_TIMEOUT = CONFIG.engine["llm_timeout"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if CONFIG.log_format == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"level": "ERROR"},
    },
}
