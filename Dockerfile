FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Pango draws the PDF reports (WeasyPrint); the fonts give it a sans-serif face to draw with.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not invalidate the install layer.
COPY requirements/lock.txt requirements/lock.txt
RUN pip install --require-hashes -r requirements/lock.txt

COPY . .

# collectstatic runs with production settings (DEBUG=0) because only then is the manifest
# storage used, and the running service (DEBUG=0) needs its manifest to resolve {% static %}.
# The throwaway SECRET_KEY exists only for this command and is not kept in the image.
RUN mkdir -p static var /data/media /data/quarantine \
    && DEBUG=0 ALLOWED_HOSTS=build \
       SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
       python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app --no-create-home app \
    && chown app:app var /data/media /data/quarantine

USER app

EXPOSE 8000

# Before starting the web service, run "manage.py migrate", "manage.py database_application_role"
# and "manage.py createcachetable" (the cache table is used only when neither CACHE_URL nor
# REDIS_URL is set) with DATABASE_OWNER_URL set, as the migrate service in docker-compose.yml
# does; the web service, worker and beat need only DATABASE_URL, the application's role.

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
