"""Read settings from the environment; a bad value is refused with a message naming it."""

import base64
import hashlib
import os
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}."
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, name: str = "DATABASE_URL") -> dict:
    """Parse DATABASE_URL; only PostgreSQL and SQLite are supported backends."""
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name} must start with postgres:// or sqlite://; got scheme {scheme!r}."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} could not be read: {exc}") from None
    if config["ENGINE"].endswith("postgresql"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} names no database (postgres://host/NAME).")
        # Django's backend, telling the database the tenant scope inside each transaction, which
        # row-level security reads (tenants/postgresql/).
        config["ENGINE"] = "tenants.postgresql"
    if config["ENGINE"].endswith("sqlite3"):
        # The demo's web server, worker and beat share one SQLite file: a writer waits for the
        # lock instead of failing, and takes it when its transaction begins, not halfway.
        config.setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    return config


def redis_url(name: str) -> str | None:
    url = os.environ.get(name)
    if not url:
        return None
    if urlsplit(url).scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(f"{name} must start with redis:// or rediss://; got {url!r}.")
    return url


def database_owner_from_url(url: str | None, application: dict) -> dict | None:
    """DATABASE_OWNER_URL: the role that owns the tables, for migrate and the few commands that
    change the schema or empty tables. It must reach the same PostgreSQL database as
    DATABASE_URL under another role."""
    if not url:
        return None
    owner = database_from_url(url, "DATABASE_OWNER_URL")
    if not application["ENGINE"] == owner["ENGINE"] == "tenants.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL is for PostgreSQL, with DATABASE_URL naming the same database."
        )
    if owner["NAME"] != application["NAME"]:
        raise ImproperlyConfigured(
            f"DATABASE_OWNER_URL names database {owner['NAME']!r}, DATABASE_URL "
            f"{application['NAME']!r}: they must name the same one."
        )
    if owner["USER"] == application["USER"]:
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL and DATABASE_URL name the same role: the application must "
            "connect as a role that owns nothing (README, operations)."
        )
    return owner


def encryption_keys(name: str, *, derived_from: str | None) -> list[str]:
    """The keys that encrypt stored secrets, newest first. Without the variable, development
    derives one from ``derived_from`` (its SECRET_KEY), so the demo and the tests need nothing
    set; production has none, and ``manage.py check --deploy`` says so."""
    from cryptography.fernet import Fernet

    keys = env_list(name, [])
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a key the service can use. Each key is 32 random "
                "bytes in URL-safe base64 (44 characters), as 'manage.py encryption_key' prints; "
                "separate keys with commas, newest first."
            ) from None
    if not keys and derived_from:
        digest = hashlib.sha256(f"encryption-keys:{derived_from}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return keys
