"""Settings for the test suite: the same module as production, with test-friendly defaults.

The database still comes from DATABASE_URL (PostgreSQL in CI); only what tests cannot provide
is defaulted here.
"""

import base64
import hashlib
import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x7Qp2Lm9" * 6)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Tasks run in-process unless a test starts a real worker (tests/notifications/conftest.py).
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Stored secrets are encrypted with a key derived from the test SECRET_KEY.
os.environ.setdefault(
    "ENCRYPTION_KEYS",
    base64.urlsafe_b64encode(
        hashlib.sha256(f"encryption-keys:{os.environ['SECRET_KEY']}".encode()).digest()
    ).decode(),
)

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
QUARANTINE_ROOT = BASE_DIR / "var" / "test-quarantine"
# Most tests upload evidence with no virus scanner; the scanner's own tests start a real clamd
# and turn scanning on (tests/plans/scanning/). Production cannot turn it off (config/settings.py).
EVIDENCE_SCANNING = False
# Tests never run collectstatic; an empty root keeps the static middleware from warning.
STATIC_ROOT = BASE_DIR / "var" / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Each test process counts rate limits in its own memory: pytest-xdist workers, or another
# checkout using the same Redis, would otherwise add to each other's failed sign-ins, and clearing
# a Redis cache between tests would flush its whole database. tests/test_settings.py checks the
# cache chosen outside tests.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
}
# The single sign-on tests run their OpenID Connect provider on localhost over plain HTTP.
SINGLE_SIGN_ON_LOCAL_HTTP = True
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_PROXY_SSL_HEADER = None
# The live and test servers speak plain HTTP; tests of the HTTPS settings override these.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
