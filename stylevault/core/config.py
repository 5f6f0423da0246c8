"""Reads and checks the environment once, so a wrong value stops the process with a clear line.

Every setting of the product comes from here; settings.py only turns it into Django's names.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url

WEAK_SECRETS = {"", "changeme", "secret", "django-insecure", "development"}
MIN_SECRET_LENGTH = 50


class ConfigError(Exception):
    """Raised with one line per problem found in the environment."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Config:
    production: bool
    debug: bool
    data_dir: Path
    secret_key: str
    database: dict
    allowed_hosts: list[str]
    broker_url: str
    cache_url: str
    storage_url: str
    base_model: str
    rate_login: str
    rate_api: str
    rate_generation: str
    google_client_id: str
    google_client_secret: str
    log_format: str
    csrf_trusted_origins: list[str] = field(default_factory=list)
    trusted_proxies: list[str] = field(default_factory=list)
    rate_login_account: str = "10/15m"
    body_limits: dict = field(default_factory=dict)
    payments: dict = field(default_factory=dict)
    engine: dict = field(default_factory=dict)
    email_url: str = ""
    email_from: str = "StyleVault <no-reply@stylevault.local>"


# smtp: plain (or STARTTLS if the server offers none, Django's default); smtp+tls: STARTTLS;
# smtps: TLS from the first byte.
EMAIL_SCHEMES = {"smtp": (False, False), "smtp+tls": (True, False), "smtps": (False, True)}


def email_settings(url: str, data_dir: Path, sender: str) -> dict:
    """Django's e-mail settings from STYLEVAULT_EMAIL_URL (``smtp+tls://user:pass@host:587``);
    without one, each e-mail is written as a file under the data directory."""
    if not url:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(data_dir / "mail"),
            "DEFAULT_FROM_EMAIL": sender,
        }
    parts = urlparse(url)
    tls, ssl = EMAIL_SCHEMES[parts.scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if ssl else 587 if tls else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
        "EMAIL_TIMEOUT": 30,
        "DEFAULT_FROM_EMAIL": sender,
    }


def _flag(env: dict[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(env: dict[str, str], name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env.get(name, default).split(",") if item.strip()]


def _embedded_secret(data_dir: Path) -> str:
    """In embedded mode a secret is generated once into the data directory (mode 0600)."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


def _database(env: dict[str, str], data_dir: Path, problems: list[str]) -> dict:
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return sqlite_database(data_dir / "stylevault.sqlite3")
    try:
        parsed = dj_database_url.parse(url)
    except ValueError as exc:
        problems.append(
            f"DATABASE_URL is not a database URL ({exc}); use postgres://... or sqlite:///..."
        )
        return sqlite_database(data_dir / "stylevault.sqlite3")
    engine = parsed.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        return sqlite_database(Path(parsed["NAME"]))
    if not engine.endswith("postgresql"):
        problems.append(f"DATABASE_URL must point to PostgreSQL or SQLite, not {engine or url!r}")
        return parsed
    # A process-wide psycopg pool: connections are shared by every thread of the process.
    pool_size = int(env.get("STYLEVAULT_DB_POOL_SIZE", "10"))
    parsed["CONN_MAX_AGE"] = 0
    parsed.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": 20}
    return parsed


def sqlite_database(path: Path) -> dict:
    """SQLite tuned for several processes: WAL, IMMEDIATE write transactions, a busy timeout.

    Connections persist per thread: the web reuses its request threads (stylevault.asgi), so
    their number is bounded, and opening one (with its PRAGMAs) cost a fifth of an API call.
    """
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "CONN_MAX_AGE": 300,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        },
        "TEST": {"NAME": str(path.with_name(path.stem + "-test.sqlite3"))},
    }


def _check_url(env: dict[str, str], name: str, schemes: set[str], problems: list[str]) -> str:
    value = env.get(name, "").strip()
    scheme = urlparse(value).scheme
    if value and scheme not in schemes:
        allowed = ", ".join(sorted(f"{s}://" for s in schemes))
        # Only the scheme is echoed: the rest of such a URL may hold a password.
        problems.append(f"{name} must start with one of {allowed}, got {scheme or 'none'}://")
    return value


def _check_rate(env: dict[str, str], name: str, default: str, problems: list[str]) -> str:
    # settings import this module; core.ratelimit is loaded only when a rate is checked.
    from stylevault.core.ratelimit import parse_rate

    value = env.get(name, default)
    try:
        parse_rate(value)
    except ValueError:
        problems.append(f"{name} must look like 5/5m or 100/m (count/period), got {value!r}")
        return default
    return value


def load(env: dict[str, str] | None = None) -> Config:
    """Builds the configuration, raising ConfigError with every problem at once."""
    env = dict(os.environ if env is None else env)
    problems: list[str] = []
    production = env.get("STYLEVAULT_ENV", "development").strip().lower() == "production"
    data_dir = Path(env.get("STYLEVAULT_DATA_DIR", "./var")).resolve()

    secret = env.get("STYLEVAULT_SECRET_KEY", "").strip()
    if production:
        if not secret:
            problems.append("STYLEVAULT_SECRET_KEY is required in production")
        elif len(secret) < MIN_SECRET_LENGTH or secret.lower() in WEAK_SECRETS:
            problems.append(
                f"STYLEVAULT_SECRET_KEY is too weak: use at least {MIN_SECRET_LENGTH} random characters"
            )
    elif not secret:
        secret = _embedded_secret(data_dir)

    allowed_hosts = _list(
        env, "STYLEVAULT_ALLOWED_HOSTS", "" if production else "127.0.0.1,localhost"
    )
    if production and not allowed_hosts:
        problems.append(
            "STYLEVAULT_ALLOWED_HOSTS is empty: list the host names this site answers to"
        )

    config = Config(
        production=production,
        debug=_flag(env, "STYLEVAULT_DEBUG") and not production,
        data_dir=data_dir,
        secret_key=secret,
        database=_database(env, data_dir, problems),
        allowed_hosts=allowed_hosts,
        broker_url=_check_url(env, "STYLEVAULT_BROKER_URL", {"amqp", "redis"}, problems),
        cache_url=_check_url(env, "STYLEVAULT_REDIS_URL", {"redis"}, problems),
        storage_url=_check_url(env, "STYLEVAULT_STORAGE_URL", {"s3", "file"}, problems),
        base_model=env.get("STYLEVAULT_BASE_MODEL", "tiny").strip() or "tiny",
        rate_login=_check_rate(env, "STYLEVAULT_RATE_LOGIN", "5/5m", problems),
        rate_api=_check_rate(env, "STYLEVAULT_RATE_API", "100/m", problems),
        rate_generation=_check_rate(env, "STYLEVAULT_RATE_GENERATION", "10/m", problems),
        google_client_id=env.get("STYLEVAULT_GOOGLE_CLIENT_ID", ""),
        google_client_secret=env.get("STYLEVAULT_GOOGLE_CLIENT_SECRET", ""),
        log_format=env.get("STYLEVAULT_LOG_FORMAT", "json"),
        csrf_trusted_origins=_list(env, "STYLEVAULT_CSRF_TRUSTED_ORIGINS"),
        trusted_proxies=_trusted_proxies(env, problems),
        rate_login_account=_check_rate(env, "STYLEVAULT_RATE_LOGIN_ACCOUNT", "10/15m", problems),
        body_limits=_body_limits(env, problems),
        payments=_payments(env, problems),
        email_url=_check_url(env, "STYLEVAULT_EMAIL_URL", set(EMAIL_SCHEMES), problems),
        email_from=env.get("STYLEVAULT_EMAIL_FROM", "").strip() or Config.email_from,
        engine=_engine(env, problems),
    )
    if problems:
        raise ConfigError(problems)
    return config


def _trusted_proxies(env: dict[str, str], problems: list[str]) -> list[str]:
    """Addresses (or networks) of the proxies whose X-Forwarded-For is believed; none by
    default, so a client cannot choose the address its rate limits are counted under."""
    import ipaddress

    proxies = _list(env, "STYLEVAULT_TRUSTED_PROXIES")
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.append(
                "STYLEVAULT_TRUSTED_PROXIES must list IP addresses or networks "
                f"(10.0.0.5, 10.0.0.0/8), got {proxy!r}"
            )
    return proxies


# Request bodies by route class, in MB: what the largest legitimate request of each needs.
BODY_LIMIT_DEFAULTS = {"json": "2", "upload": "1100", "verify": "21"}


def _body_limits(env: dict[str, str], problems: list[str]) -> dict[str, int]:
    """Bytes a request body may have per route class (STYLEVAULT_MAX_<CLASS>_MB)."""
    return {
        kind: int(
            Decimal(
                _number_setting(
                    env, f"STYLEVAULT_MAX_{kind.upper()}_MB", default, 0.001, 65536, problems
                )
            )
            * 1024
            * 1024
        )
        for kind, default in BODY_LIMIT_DEFAULTS.items()
    }


def _json_setting(env: dict[str, str], name: str, kind: type, problems: list[str]):

    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        problems.append(f"{name} is not valid JSON ({exc})")
        return None
    if not isinstance(value, kind):
        problems.append(f"{name} must be a JSON {'list' if kind is list else 'object'}")
        return None
    return value


def _number_setting(
    env: dict[str, str], name: str, default: str, low: float, high: float, problems: list[str]
) -> str:

    value = env.get(name, "").strip() or default
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not low <= number <= high:
        problems.append(f"{name} must be a number from {low} to {high}, got {value!r}")
        return default
    return value


def _payments(env: dict[str, str], problems: list[str]) -> dict:
    """Payment providers, credit packs, subscription tiers, platform fee and payout rules."""
    stripe_key = env.get("STYLEVAULT_STRIPE_SECRET_KEY", "").strip()
    stripe_webhook = env.get("STYLEVAULT_STRIPE_WEBHOOK_SECRET", "").strip()
    if stripe_key and not stripe_webhook:
        problems.append(
            "STYLEVAULT_STRIPE_WEBHOOK_SECRET is required with STYLEVAULT_STRIPE_SECRET_KEY: "
            "payments are credited from signed webhooks only"
        )
    packs = _json_setting(env, "STYLEVAULT_CREDIT_PACKS", list, problems)
    for pack in packs or []:
        ok = (
            isinstance(pack, dict)
            and isinstance(pack.get("id"), str)
            and pack["id"].strip()
            and isinstance(pack.get("credits"), int)
            and pack["credits"] > 0
            and isinstance(pack.get("prices"), dict)
            and pack["prices"]
            and all(
                isinstance(c, str) and len(c) == 3 and isinstance(a, int) and a > 0
                for c, a in pack["prices"].items()
            )
        )
        if not ok:
            problems.append(
                "STYLEVAULT_CREDIT_PACKS: each pack needs an id, credits (a positive whole "
                'number) and prices in minor units by currency, e.g. {"id": "pack-100", '
                f'"credits": 100, "prices": {{"KRW": 10000, "USD": 750}}}}; got {pack!r}'
            )
    tiers = _json_setting(env, "STYLEVAULT_SUBSCRIPTION_TIERS", dict, problems)
    if tiers and not all(isinstance(v, dict) for v in tiers.values()):
        problems.append("STYLEVAULT_SUBSCRIPTION_TIERS must map tier names to JSON objects")
        tiers = None
    return {
        "stripe_secret_key": stripe_key,
        "stripe_webhook_secret": stripe_webhook,
        "stripe_api_base": _check_url(
            env, "STYLEVAULT_STRIPE_API_BASE", {"http", "https"}, problems
        ),
        "lemonsqueezy_webhook_secret": env.get(
            "STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET", ""
        ).strip(),
        "lemonsqueezy_api_key": env.get("STYLEVAULT_LEMONSQUEEZY_API_KEY", "").strip(),
        "lemonsqueezy_store_id": env.get("STYLEVAULT_LEMONSQUEEZY_STORE_ID", "").strip(),
        "lemonsqueezy_variant_id": env.get("STYLEVAULT_LEMONSQUEEZY_VARIANT_ID", "").strip(),
        "lemonsqueezy_api_url": _check_url(
            env, "STYLEVAULT_LEMONSQUEEZY_API_URL", {"http", "https"}, problems
        )
        or "https://api.lemonsqueezy.com",
        "toss_client_key": env.get("STYLEVAULT_TOSS_CLIENT_KEY", "").strip(),
        "toss_secret_key": env.get("STYLEVAULT_TOSS_SECRET_KEY", "").strip(),
        "toss_api_url": _check_url(env, "STYLEVAULT_TOSS_API_URL", {"http", "https"}, problems)
        or "https://api.tosspayments.com",
        "credit_packs": packs,
        "subscription_tiers": tiers or {},
        "platform_fee_percent": _number_setting(
            env, "STYLEVAULT_PLATFORM_FEE_PERCENT", "0", 0, 100, problems
        ),
        "payout_minimum_usd_cents": int(
            _number_setting(env, "STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS", "2000", 0, 10**9, problems)
        ),
        "payout_usd_cents_per_credit": _number_setting(
            env, "STYLEVAULT_PAYOUT_USD_CENTS_PER_CREDIT", "0.5", 0, 10**6, problems
        ),
    }


def s3_options(storage_url: str) -> dict:
    """s3://bucket?endpoint_url=http://host:port&region_name=... → django-storages options."""
    parsed = urlparse(storage_url)
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    options = {
        "bucket_name": parsed.netloc,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
        "location": parsed.path.strip("/"),
    }
    for key in ("endpoint_url", "region_name", "addressing_style"):
        if key in query:
            options[key] = query[key]
    return options


TRAINING_KEYS = {"rank", "steps", "learning_rate", "resolution", "batch_size"}
CHECK_KEYS = {"reference_steps", "reference_size", "reference_prompts"}


def _engine(env: dict[str, str], problems: list[str]) -> dict:
    """Training and check parameters (JSON overrides), the LoRA cache and upload limits."""
    training = _json_setting(env, "STYLEVAULT_TRAINING", dict, problems) or {}
    checks = _json_setting(env, "STYLEVAULT_STYLE_CHECKS", dict, problems) or {}
    for name, value, allowed in (
        ("STYLEVAULT_TRAINING", training, TRAINING_KEYS),
        ("STYLEVAULT_STYLE_CHECKS", checks, CHECK_KEYS),
    ):
        unknown = sorted(set(value) - allowed)
        if unknown:
            problems.append(f"{name} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    return {
        "training": training,
        "checks": checks,
        "lora_cache_size": int(
            _number_setting(env, "STYLEVAULT_LORA_CACHE_SIZE", "8", 1, 256, problems)
        ),
        "batch_size": int(_number_setting(env, "STYLEVAULT_BATCH_SIZE", "8", 1, 256, problems)),
        "batch_wait_ms": float(
            _number_setting(env, "STYLEVAULT_BATCH_WAIT_MS", "20", 0, 10000, problems)
        ),
        "batch_exact": _flag(env, "STYLEVAULT_BATCH_EXACT", True),
        "torch_threads": int(
            _number_setting(env, "STYLEVAULT_TORCH_THREADS", "0", 0, 1024, problems)
        ),
        "max_lora_bytes": int(
            _number_setting(env, "STYLEVAULT_MAX_LORA_MB", "400", 1, 4096, problems)
        )
        * 1024
        * 1024,
        "blocked_terms": env.get("STYLEVAULT_BLOCKED_TERMS", ""),
        "nsfw_terms": env.get("STYLEVAULT_NSFW_TERMS", ""),
        "prompt_classifier": env.get("STYLEVAULT_PROMPT_CLASSIFIER", "").strip(),
        "public_url": env.get("STYLEVAULT_PUBLIC_URL", "http://127.0.0.1:8000").strip(),
        "generation_expiry_minutes": int(
            _number_setting(env, "STYLEVAULT_GENERATION_EXPIRY_MINUTES", "30", 1, 1440, problems)
        ),
        "job_time_limits": _job_time_limits(env, problems),
        # Campaign copy: an OpenAI-compatible base URL (unset: the built-in template writer).
        "llm_url": env.get("STYLEVAULT_LLM_URL", "").strip(),
        "llm_api_key": env.get("STYLEVAULT_LLM_API_KEY", "").strip(),
        "llm_model": env.get("STYLEVAULT_LLM_MODEL", "").strip(),
        "llm_timeout": float(
            _number_setting(env, "STYLEVAULT_LLM_TIMEOUT", "20", 1, 300, problems)
        ),
    }


def _job_time_limits(env: dict[str, str], problems: list[str]) -> dict[str, dict[str, float]]:
    """STYLEVAULT_JOB_TIME_LIMITS: {"kind": {"seconds": S, "per_item": P}} (or {"kind": S}),
    the longest one attempt of a job of that kind may run: S + P × its items (images)."""
    name = "STYLEVAULT_JOB_TIME_LIMITS"
    limits: dict[str, dict[str, float]] = {}
    for kind, value in (_json_setting(env, name, dict, problems) or {}).items():
        spec = value if isinstance(value, dict) else {"seconds": value}
        numbers = [spec.get("seconds"), spec.get("per_item", 0)]
        if set(spec) - {"seconds", "per_item"} or not all(
            isinstance(n, int | float) and not isinstance(n, bool) and n >= 0 for n in numbers
        ):
            problems.append(
                f"{name}: {kind!r} needs seconds (and optionally per_item), numbers ≥ 0"
            )
            continue
        limits[kind] = {"seconds": float(numbers[0]), "per_item": float(numbers[1])}
    return limits


DEFAULT_STOP_GRACE_SECONDS = 8.0


def stop_grace_seconds() -> float:
    """STYLEVAULT_STOP_GRACE_SECONDS: how long a stopping process may take to end its requests,
    streams (SSE) and jobs before it is stopped hard. 8 s by default; a spot GPU worker with a
    two-minute warning can take 100."""
    raw = os.environ.get("STYLEVAULT_STOP_GRACE_SECONDS", "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_STOP_GRACE_SECONDS
    except ValueError:
        return DEFAULT_STOP_GRACE_SECONDS
