"""Page costs as a plan grows: queries and render time of the busiest pages.

    make bench                       # PostgreSQL at 127.0.0.1 when reachable, else SQLite
    DATABASE_URL=postgres://... make bench

Builds a throwaway test database, the tests' story (two tenants), then grows Central
Bedfordshire's plan to each size and asks for the plan page, "my actions" and one action page,
reporting the query count (which must not grow) and the median render time of five requests.
Sunderland keeps its own rows throughout, so the figures include another tenant's data.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/safeguarding")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

SIZES = (10, 300, 2000)
REPEATS = 5


def measure(client: Client, url: str) -> tuple[int, float]:
    from tests.querycount import queries_for

    queries = queries_for(client, url)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return queries, statistics.median(times)


def main() -> None:
    from tenants.scoping import tenant_scope
    from tests.conftest import build_story
    from tests.plans.test_query_counts import add_actions

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        story = build_story()
        with tenant_scope(story.tenant):
            action = story.action_in("in_progress", reference="1.1")
        slug = story.tenant.slug
        pages = {
            "plan page": f"/t/{slug}/plans/{story.plan.pk}/",
            "my actions": f"/t/{slug}/my-actions/",
            "action page": f"/t/{slug}/actions/{action.pk}/",
        }
        client = Client()
        client.force_login(story.bob)
        print(f"database: {connection.vendor}; median of {REPEATS} requests after one warm-up")
        print(f"{'actions':>8}  {'page':<12} {'queries':>7} {'ms':>8}")
        grown = 1
        for size in SIZES:
            with tenant_scope(story.tenant):
                add_actions(story, size - grown, start=grown)
            grown = size
            for name, url in pages.items():
                queries, ms = measure(client, url)
                print(f"{size:>8}  {name:<12} {queries:>7} {ms:>8.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
