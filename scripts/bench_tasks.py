"""A task that does nothing but count itself, for measuring Celery's own cost per task.

Loaded into a benchmark worker with ``celery -A config worker -I scripts.bench_tasks``; see
``scripts/bench_delivery.py``. The count is one Redis INCR per task, so the benchmark can tell
when every task has run without a result backend.
"""

import redis
from celery import shared_task
from django.conf import settings

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    # One connection per worker process, opened on first use (after the pool has forked).
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


@shared_task(name="bench.noop")
def noop(counter_key: str) -> None:
    _redis().incr(counter_key)
