"""Settings refuse bad environments with a message naming what is wrong."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k3Y-" + "Zq8rT1vB6nM0pL5x" * 4


def load_settings(code: str = "import config.settings", **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "REDIS_URL",
            "CACHE_URL",
            "SESSION_IDLE_SECONDS",
            "TRUSTED_PROXY_COUNT",
            "EMAIL_USE_TLS",
            "EMAIL_USE_SSL",
            "EMAIL_PORT",
            "SECURE_COOKIES",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "DJANGO_SETTINGS_MODULE",
            "ENCRYPTION_KEYS",
        }
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_a_real_secret_key_and_hosts():
    result = load_settings(DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="actions.example.org")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY is not set"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "too weak"),
        ({"DEBUG": "0", "SECRET_KEY": "django-insecure-" + "a1b2c3" * 10}, "too weak"),
        ({"DEBUG": "0", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS must list"),
        ({"DEBUG": "maybe"}, "DEBUG must be one of"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://db/x"}, "DATABASE_URL must start with"),
        ({"DEBUG": "1", "DATABASE_URL": "postgres://db"}, "names no database"),
        ({"DEBUG": "1", "REDIS_URL": "http://redis"}, "REDIS_URL must start with"),
        ({"DEBUG": "1", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number"),
        ({"DEBUG": "1", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "at most one of"),
        ({"DEBUG": "1", "CACHE_URL": "memcached://cache"}, "CACHE_URL must start with"),
        ({"DEBUG": "1", "SESSION_IDLE_SECONDS": "8h"}, "SESSION_IDLE_SECONDS must be a whole"),
        ({"DEBUG": "1", "SESSION_IDLE_SECONDS": "5"}, "SESSION_IDLE_SECONDS must be at least"),
        ({"DEBUG": "1", "TRUSTED_PROXY_COUNT": "one"}, "TRUSTED_PROXY_COUNT must be a whole"),
    ],
)
def test_bad_environment_is_refused_with_a_clear_message(env, message):
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


CACHE = (
    "from config.settings import CACHES; "
    "print(CACHES['default']['BACKEND'], CACHES['default']['LOCATION'])"
)


@pytest.mark.parametrize(
    ("env", "backend", "location"),
    [
        ({}, "db.DatabaseCache", "django_cache"),
        ({"REDIS_URL": "redis://redis:6379/0"}, "redis.RedisCache", "redis://redis:6379/0"),
        (
            {"REDIS_URL": "redis://redis:6379/0", "CACHE_URL": "redis://redis:6379/1"},
            "redis.RedisCache",
            "redis://redis:6379/1",
        ),
    ],
)
def test_the_cache_every_web_process_shares_comes_from_the_environment(env, backend, location):
    result = load_settings(CACHE, DEBUG="1", **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"django.core.cache.backends.{backend}", location]


PAGES_CACHE = "from config.settings import CACHES; print(CACHES['pages']['BACKEND'])"


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({"DEBUG": "1", "REDIS_URL": "redis://redis:6379/0"}, "redis.RedisCache"),
        ({"DEBUG": "1"}, "locmem.LocMemCache"),
        # Several workers, each with pages of its own, would serve what another changed.
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "example.org"}, "dummy.DummyCache"),
    ],
)
def test_kept_pages_are_shared_by_every_process_or_not_kept(env, backend):
    result = load_settings(PAGES_CACHE, **{"DEBUG": "0", **env})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"django.core.cache.backends.{backend}"]


def test_idle_session_length_comes_from_the_environment():
    code = (
        "from config import settings as s; print(s.SESSION_COOKIE_AGE, s.SESSION_REFRESH_SECONDS)"
    )
    assert load_settings(code, DEBUG="1").stdout.split() == ["28800", "300"]
    assert load_settings(code, DEBUG="1", SESSION_IDLE_SECONDS="600").stdout.split() == [
        "600",
        "60",
    ]


HTTPS = (
    "from config import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE)"
)
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "actions.example.org"}


def test_production_redirects_to_https_and_sends_hsts_for_a_year():
    result = load_settings(HTTPS, **PRODUCTION)
    assert result.stdout.split() == ["True", "31536000", "True"], result.stderr


def test_a_stack_served_over_plain_http_neither_redirects_nor_sends_hsts():
    assert load_settings(HTTPS, **PRODUCTION, SECURE_COOKIES="0").stdout.split() == [
        "False",
        "0",
        "False",
    ]
    assert load_settings(HTTPS, DEBUG="1").stdout.split() == ["False", "0", "False"]


def test_hsts_length_comes_from_the_environment():
    result = load_settings(HTTPS, **PRODUCTION, SECURE_HSTS_SECONDS="600")
    assert result.stdout.split() == ["True", "600", "True"]
    refused = load_settings(HTTPS, **PRODUCTION, SECURE_HSTS_SECONDS="a year")
    assert "SECURE_HSTS_SECONDS must be a whole number" in refused.stderr


def readme_production_environment() -> dict[str, str]:
    """The variables of the README's production environment block, the placeholders of the secret
    key and the encryption key replaced by keys made as the README says to make them."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production environment", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    env = {}
    for line in block.splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            env[name] = value
    assert env["SECRET_KEY"].startswith("<")
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    assert env["ENCRYPTION_KEYS"].startswith("<")
    env["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    return env


def test_check_deploy_reports_nothing_with_the_readme_production_environment():
    env = readme_production_environment()
    assert env["DEBUG"] == "0"
    # Only the README's variables and the means to run Python: nothing of the test run's own.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
