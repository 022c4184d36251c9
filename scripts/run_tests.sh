#!/usr/bin/env bash
# Run the test suite against the best services available here.
#
# Without DATABASE_URL / REDIS_URL it uses PostgreSQL and Redis on 127.0.0.1 when they answer and
# says plainly when it falls back to SQLite or the file-system broker. With REQUIRE_SERVICES=1
# (CI) a missing service is an error, never a silent fallback.
#
# Usage: scripts/run_tests.sh [pytest args...]
#   PYTEST_WORKERS=N  run pytest-xdist with N workers (default: none; the PostgreSQL
#                     concurrency tests want a quiet database)
set -uo pipefail

cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
export REQUIRE_SERVICES="${REQUIRE_SERVICES:-0}"

started=$SECONDS
report_elapsed() {
    local status=$?
    local elapsed=$((SECONDS - started))
    printf 'Test run finished in %dm %02ds (exit %d)\n' $((elapsed / 60)) $((elapsed % 60)) "$status"
}
trap report_elapsed EXIT

fail() {
    echo "ERROR: $*" >&2
    exit 1
}

[[ -x "$PY" ]] || fail "$PY not found; run 'make test' to create the virtualenv first."

services_required() {
    [[ "$REQUIRE_SERVICES" == "1" ]]
}

# On failure PROBE_ERROR holds the reason on one line, so the message says why, not just "no".
probe() {
    PROBE_ERROR=$("$PY" -c "
import sys
try:
    $1
except Exception as exc:
    sys.exit(type(exc).__name__ + ': ' + ' '.join(str(exc).split()))
" 2>&1)
}

xdist=()
if [[ -n "${PYTEST_WORKERS:-}" ]]; then
    [[ "$PYTEST_WORKERS" =~ ^[1-9][0-9]*$ ]] \
        || fail "PYTEST_WORKERS must be a positive whole number; got '$PYTEST_WORKERS'."
    xdist=(-n "$PYTEST_WORKERS")
fi

mkdir -p var

PG_PROBE_URL="postgresql://postgres@127.0.0.1:5432/postgres"
if [[ -z "${DATABASE_URL:-}" ]]; then
    if probe "import psycopg; psycopg.connect('$PG_PROBE_URL', connect_timeout=3).close()"; then
        export DATABASE_URL="postgres://postgres@127.0.0.1:5432/safeguarding"
        echo "Database: PostgreSQL at 127.0.0.1:5432 (tests run in test_safeguarding)"
    elif services_required; then
        fail "REQUIRE_SERVICES=1 but PostgreSQL is not reachable at 127.0.0.1:5432 as user" \
            "postgres: $PROBE_ERROR"
    else
        echo "PostgreSQL not reachable at 127.0.0.1:5432: falling back to SQLite;" \
            "tests that need PostgreSQL will be skipped"
        export DATABASE_URL="sqlite:///var/test.sqlite3"
    fi
else
    echo "Database: DATABASE_URL from the environment (${DATABASE_URL%%:*})"
fi

REDIS_PROBE_URL="redis://127.0.0.1:6379/15"
if [[ -z "${REDIS_URL:-}" ]]; then
    if probe "import redis; redis.Redis.from_url('$REDIS_PROBE_URL', socket_connect_timeout=2).ping()"; then
        export REDIS_URL="$REDIS_PROBE_URL"
        echo "Redis: 127.0.0.1:6379, database 15"
    elif services_required; then
        fail "REQUIRE_SERVICES=1 but Redis is not reachable at 127.0.0.1:6379: $PROBE_ERROR"
    else
        echo "Redis not reachable at 127.0.0.1:6379: falling back to the file-system Celery" \
            "broker; tests that need Redis will be skipped"
    fi
else
    echo "Redis: REDIS_URL from the environment"
fi

echo "REQUIRE_SERVICES=$REQUIRE_SERVICES"

# The browser tests check every page with axe-core, installed from assets/ (git-ignored).
if [[ -d tests/browser && ! -f assets/node_modules/axe-core/axe.min.js ]]; then
    if command -v npm >/dev/null 2>&1; then
        echo "Installing axe-core for the browser tests (npm ci in assets/)..."
        (cd assets && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
            || fail "npm ci in assets/ failed, so axe-core is missing for the browser tests."
    elif services_required; then
        fail "REQUIRE_SERVICES=1 but npm is not installed: the browser tests need axe-core," \
            "installed from assets/ with npm (apt-get install npm)."
    else
        echo "npm not found: axe-core is not installed, so the accessibility checks will be skipped"
    fi
fi

# The single sign-on tests sign in through a real OpenID Connect provider, the oidc-provider npm
# package run by Node.js, installed in tests/oidc (git-ignored node_modules).
if [[ -f tests/oidc/package-lock.json && ! -d tests/oidc/node_modules/oidc-provider ]]; then
    if command -v npm >/dev/null 2>&1; then
        echo "Installing oidc-provider for the single sign-on tests (npm ci in tests/oidc)..."
        (cd tests/oidc && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
            || fail "npm ci in tests/oidc failed, so the single sign-on tests have no provider."
    elif services_required; then
        fail "REQUIRE_SERVICES=1 but npm is not installed: the single sign-on tests need" \
            "oidc-provider, installed from tests/oidc with npm (apt-get install nodejs npm)."
    else
        echo "npm not found: oidc-provider is not installed, so the single sign-on tests" \
            "will be skipped"
    fi
fi

# Migration drift does not depend on the database, so check it against an in-memory one:
# the real database may not exist yet (pytest-django creates only test_safeguarding).
echo "Checking that models and migrations agree..."
if ! DJANGO_SETTINGS_MODULE=config.test_settings DATABASE_URL="sqlite://:memory:" \
    "$PY" manage.py makemigrations --check --dry-run; then
    fail "models and migrations differ (or the project does not load): run" \
        "'manage.py makemigrations' and commit the result."
fi

echo "Running ruff check..."
"$VENV/bin/ruff" check . || fail "ruff check found problems (try 'make format')."

"$PY" -m pytest -p no:cacheprovider ${xdist[@]+"${xdist[@]}"} "$@"
status=$?
if [[ $status -eq 5 ]]; then
    echo "ERROR: pytest collected no tests; a run that tests nothing is a failure." >&2
fi
exit "$status"
