"""One settings module for every deployment; everything that differs comes from the environment.

DEBUG=1 is the development and demo mode. With DEBUG off the service is in production and
refuses to start without a real SECRET_KEY and explicit ALLOWED_HOSTS.
"""

from pathlib import Path

from csp.constants import NONCE, NONE, REPORT_SAMPLE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import (
    database_from_url,
    database_owner_from_url,
    encryption_keys,
    env_bool,
    env_int,
    env_list,
    env_str,
    redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

_DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-used-in-production"
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) needs a random secret of at least "
            "50 characters; set DEBUG=1 only for development."
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY
elif not DEBUG and (
    len(SECRET_KEY) < 50
    or SECRET_KEY.startswith("django-insecure")
    or SECRET_KEY == _DEVELOPMENT_SECRET_KEY
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for production: use at least 50 random characters."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the service's host names in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Secrets stored for tenants (GOV.UK Notify keys, single sign-on client secrets) are encrypted
# with these keys, newest first: the first encrypts, all of them decrypt (tenants/sealed.py).
# Development and the demo derive one from SECRET_KEY; production sets its own.
ENCRYPTION_KEYS = encryption_keys(
    "ENCRYPTION_KEYS", derived_from=SECRET_KEY if SECRET_KEY == _DEVELOPMENT_SECRET_KEY else None
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "csp",
    "govuk_frontend_django",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "guardian",
    "django_celery_beat",
    "tenants",
    "workflow",
    "plans",
    "notifications",
]

MIDDLEWARE = [
    # Outermost, so that every response carries the policy, the 413 below included; it reads
    # nothing of the request.
    "csp.middleware.CSPMiddleware",
    # Before anything that reads the body, so that an oversized one is refused unread.
    "tenants.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Inside WhiteNoise, which answers static files itself: they may be cached, nothing else.
    "tenants.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.SlidingSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.TenantScopeMiddleware",
]

ROOT_URLCONF = "config.urls"
# Form fields render as GOV.UK Frontend form groups from templates/django/forms/, which the
# default renderer would not look in.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "config.wsgi.application"

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
                "csp.context_processors.nonce",
                "tenants.context_processors.tenant",
                "tenants.context_processors.organisations",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'demo.sqlite3'}"
    )
}
# The role owning the tables: migrate, flush, createcachetable and database_application_role
# connect as it (tenants/postgresql/roles.py); everything else connects as DATABASE_URL's role,
# which owns nothing and so cannot get past row-level security. Unset, every command uses
# DATABASE_URL (the demo, or a database without the application role).
DATABASE_OWNER = database_owner_from_url(env_str("DATABASE_OWNER_URL"), DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Guardian's anonymous user would need a username; nobody anonymous holds permissions here.
ANONYMOUS_USER_NAME = None
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# Accounts (django-allauth): people sign in with their e-mail address; administrators create
# every account, so nobody signs up.
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# Signup is closed (see the adapter), but allauth's sign-in form asks for a password only while
# one is listed here.
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
# Administrators enter each address when they create the account; nobody claims an address by
# signing up, so there is nothing to verify.
ACCOUNT_EMAIL_VERIFICATION = "none"
# Every answer about an address reads the same whether or not someone signs in with it...
ACCOUNT_PREVENT_ENUMERATION = True
# ...and the service e-mails only the addresses it holds, never one typed by a stranger.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# No "remember me": the cookie ends with the browser, the session after SESSION_IDLE_SECONDS.
ACCOUNT_SESSION_REMEMBER = False
# Whoever changes their password has just proved they know it, so that session goes on; every
# other session of theirs ends (Django's session auth hash no longer matches).
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Safeguarding action plans: "
# A reset link works once and for this long; the reset e-mail and pages say 3 days.
PASSWORD_RESET_TIMEOUT = 3 * 24 * 60 * 60
ACCOUNT_FORMS = {
    "login": "tenants.forms.SignInForm",
    "reset_password": "tenants.forms.ResetPasswordForm",
    "reset_password_from_key": "tenants.forms.ResetPasswordKeyForm",
    "change_password": "tenants.forms.ChangePasswordForm",
    "reauthenticate": "tenants.forms.ConfirmPasswordForm",
}
# Rates are "amount/period/per", counted in the cache below. A council's staff often share one
# public IP address, and on the day their accounts are created many choose a first password at
# once: the per-IP limits are generous, the per-account and per-e-mail-address ones tight.
ACCOUNT_RATE_LIMITS = {
    # Any sign-in attempt, right or wrong.
    "login": "60/m/ip",
    # Failed sign-ins; over either limit even the right password is refused until the oldest
    # failure leaves the window. A completed password reset clears the account's count.
    "login_failed": "50/10m/ip,5/15m/key",
    # Requests for a reset e-mail: each address gets at most three an hour.
    "reset_password": "100/h/ip,3/h/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "10/15m/user",
    # Invitation links opened or accepted: their secrets are long enough that guessing is
    # hopeless, and this keeps anyone from trying.
    "invitation": "20/m/ip",
}
# A second factor (allauth.mfa): an authenticator app (TOTP), security keys and passkeys
# (WebAuthn), and recovery codes. Anyone may set one up; board members, tenant administrators
# and the operator must have one before they sign off, endorse or administer
# (tenants.rules.second_factor_refusal). Sign-in asks for it whenever one is set up.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# A passkey signs someone in on its own: it is both factors.
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Safeguarding action plans"
# One period either side, for a phone whose clock has drifted; a code still works only once.
MFA_TOTP_TOLERANCE = 1
# Browsers treat http://localhost as secure, so WebAuthn works in the demo without this; any
# other address needs HTTPS.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
MFA_ADAPTER = "tenants.adapters.SecondFactorAdapter"
MFA_FORMS = {
    "authenticate": "tenants.forms.SecondFactorForm",
    "reauthenticate": "tenants.forms.SecondFactorAgainForm",
    "activate_totp": "tenants.forms.AuthenticatorAppForm",
    "add_webauthn": "tenants.forms.SecurityKeyForm",
    "edit_webauthn": "tenants.forms.SecurityKeyNameForm",
}
# Wrong codes count as failed sign-ins to the account (ACCOUNT_RATE_LIMITS["login_failed"]).
# Single sign-on: each tenant's own OpenID Connect provider (Microsoft Entra ID above all), set
# up on its settings pages; allauth's social accounts carry the sign-in, and the adapter supplies
# the providers from the tenants' settings and matches people to their place in the tenant.
SOCIALACCOUNT_ADAPTER = "tenants.adapters.SingleSignOnAdapter"
# Nobody signs up: people are matched to a membership or an invitation, or refused.
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# The provider's tokens are not needed after sign-in, so they are not kept.
SOCIALACCOUNT_STORE_TOKENS = False
# Starting a sign-in is a POST from the service's own page, never a link another site can send.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
# A provider on this machine may answer over plain HTTP: development and the tests' own provider.
SINGLE_SIGN_ON_LOCAL_HTTP = env_bool("SINGLE_SIGN_ON_LOCAL_HTTP", DEBUG)

# In production a proxy terminates TLS (SECURE_PROXY_SSL_HEADER) and REMOTE_ADDR is the proxy's:
# rate limits count the visitor's address from X-Forwarded-For as the last proxy saw it, or every
# visitor would share one per-IP limit. Served directly, set 0 so the header cannot be forged.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0 if DEBUG else 1)

# Sessions end after this long without a request (a working day by default) and when the browser
# closes. tenants.middleware.SlidingSessionMiddleware moves the expiry on at most every few
# minutes rather than writing the session on every request.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 8 * 60 * 60, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_REFRESH_SECONDS = min(300, SESSION_IDLE_SECONDS // 10)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# An invitation's link works for this many days (and once).
INVITATION_DAYS = env_int("INVITATION_DAYS", 7, minimum=1)

# Evidence uploads: the size limit and the allowed types are a policy officers see on the form.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# The form fields of one request, files apart; more is refused (400) as it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A request body declared larger than one evidence file at its limit with the form around it is
# refused with 413 before it is read (tenants.middleware.RequestBodyLimitMiddleware).
REQUEST_BODY_MAX_BYTES = EVIDENCE_MAX_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE
# Every evidence file is scanned by ClamAV's daemon before it is accepted: CLAMD_URL is
# tcp://host:3310 or unix:///run/clamav/clamd.ctl. A file the scanner cannot check (down, slow,
# not configured) waits in quarantine, under QUARANTINE_ROOT, apart from the evidence; it is
# scanned again after QUARANTINE_RETRY_SECONDS (doubling each time, up to
# QUARANTINE_RETRIES tries) and by the scheduled scan of everything waiting (every 5 minutes, on
# the schedule kept in the database). It is never accepted unchecked.
CLAMD_URL = (env_str("CLAMD_URL") or "").strip()
CLAMD_TIMEOUT_SECONDS = env_int("CLAMD_TIMEOUT_SECONDS", 30, minimum=1)
QUARANTINE_ROOT = Path(env_str("QUARANTINE_ROOT") or BASE_DIR / "var" / "quarantine")
QUARANTINE_RETRY_SECONDS = env_int("QUARANTINE_RETRY_SECONDS", 60, minimum=1)
QUARANTINE_RETRIES = env_int("QUARANTINE_RETRIES", 5, minimum=0)
# Scanning is off (files accepted unchecked) only in development and the demo, which run no
# scanner: DEBUG=1 without CLAMD_URL. Production refuses to start with it off.
EVIDENCE_SCANNING = env_bool("EVIDENCE_SCANNING", bool(CLAMD_URL) or not DEBUG)
if not EVIDENCE_SCANNING and not DEBUG:
    raise ImproperlyConfigured(
        "EVIDENCE_SCANNING is off, which only development (DEBUG=1) allows: in production every "
        "evidence file is scanned. Set CLAMD_URL to the virus scanner's address."
    )
# A framework file checked but not yet imported waits this long for its confirmation; then the
# check is forgotten and the hourly clean-up removes the file.
IMPORT_HOLD_SECONDS = env_int("IMPORT_HOLD_SECONDS", 24 * 60 * 60, minimum=60)
# An action due within this many days and not yet evidenced is amber on the schedule.
RAG_DUE_SOON_DAYS = env_int("RAG_DUE_SOON_DAYS", 28, minimum=1)

# E-mail
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set at most one of EMAIL_USE_TLS and EMAIL_USE_SSL.")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "action-plans@localhost")
# An SMTP call that hangs must give up well before a claimed message counts as abandoned.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)

# The address people reach the service at: e-mails link back to it.
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("SITE_URL must start with http:// or https://.")

# GOV.UK Notify, for tenants that choose it; each tenant holds its own key and template.
NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")

# The outbox: attempts before a message is marked failed, the first retry delay (doubling each
# time, capped), how long a claimed message may stay "being sent" before it counts as abandoned
# by a lost worker, and how long a queued message may wait before the relay queues it again.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6, minimum=1)
OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 60, minimum=0)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600, minimum=0)
OUTBOX_CLAIM_TIMEOUT_SECONDS = env_int("OUTBOX_CLAIM_TIMEOUT_SECONDS", 300, minimum=1)
OUTBOX_REQUEUE_AFTER_SECONDS = env_int("OUTBOX_REQUEUE_AFTER_SECONDS", 300, minimum=1)
# Messages a delivery task takes at once, and sends over one connection.
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50, minimum=1)
if OUTBOX_CLAIM_TIMEOUT_SECONDS <= EMAIL_TIMEOUT:
    raise ImproperlyConfigured("OUTBOX_CLAIM_TIMEOUT_SECONDS must be longer than EMAIL_TIMEOUT.")

# Celery: Redis when REDIS_URL is set, otherwise kombu's file-system transport so the demo
# needs no services.
REDIS_URL = redis_url("REDIS_URL")
CELERY_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR") or BASE_DIR / "var" / "broker")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# Two queues, and every worker takes from both in turn unless started with -Q: "celery" for
# deliveries and the rest, "schedule" for the outbox relay and the escalation sweep, which beat
# starts. A backlog of thousands of deliveries then never holds up the relay behind it.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in ("celery", "schedule"))
CELERY_TASK_ROUTES = {
    "notifications.outbox_relay": {"queue": "schedule"},
    "notifications.escalation_sweep": {"queue": "schedule"},
}
# A worker keeps its database connection from task to task (CONN_MAX_AGE and the health checks
# in config/env.py decide when to replace it; config/celery.py asks them around every task)
# rather than having Celery's Django fix-up close it after each one. The fix-up still closes it
# after this many tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A web request whose commit queues a message must not hang on a broker that is down: give up
# quickly and leave the message pending for the relay.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# The cache holds the sign-in and reset rate limits, so every web process must share it: a
# per-process cache would let each gunicorn worker count failures on its own. Redis when there is
# one (CACHE_URL, else the broker's server with the keys prefixed), otherwise a table in the
# database, which every process and host already shares (created by "manage.py createcachetable").
CACHE_URL = redis_url("CACHE_URL") or REDIS_URL
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "cache",
            # A Redis that is down must fail a sign-in quickly rather than hold the worker.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }
# Rendered parts of the busiest pages (plans/page_cache.py), kept until the organisation's data
# changes. Every process must see every other's changes, so: Redis when there is one; without
# it, this process's memory in development and the demo (one web process), and nothing kept in
# production, where several workers would each hold their own stale copies.
if CACHE_URL:
    CACHES["pages"] = {**CACHES["default"], "KEY_PREFIX": "pages"}
elif DEBUG:
    CACHES["pages"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
else:
    CACHES["pages"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}

# Cookies travel only over HTTPS in production; a local stack served over plain HTTP turns this off.
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None
# Served over HTTPS (SECURE_COOKIES on, as in production), plain HTTP is redirected to HTTPS and
# browsers are told to use nothing else for a year (HSTS, sent only on HTTPS responses). A stack
# served over plain HTTP (the demo, docker-compose on localhost) turns SECURE_COOKIES off, and
# with it both of these.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60 if SECURE_COOKIES else 0, minimum=0
)
# The service's host name and any below it; preload lets browsers ship it in their HTTPS list
# once the operator submits the domain (nothing is submitted by sending the header).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp): scripts, styles, images and fonts come only from the
# service itself, never from inline code or attributes, so an injected tag or attribute does
# nothing even if escaping were ever missed. A template that must run a script of its own
# marks it with the request's nonce (nonce="{{ CSP_NONCE }}"); none does today. Nothing may
# frame a page, and forms post only back to the service.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, REPORT_SAMPLE],
        "style-src": [SELF, REPORT_SAMPLE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        # tenants.views.policy_report logs what browsers report refusing.
        "report-uri": "/csp-report/",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint reports each step of drawing every PDF at INFO; its warnings still show.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}
