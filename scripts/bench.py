"""Page costs as a plan grows: queries and render time of every home page and the busiest pages.

    make bench                       # PostgreSQL at 127.0.0.1 when reachable, else SQLite
    DATABASE_URL=postgres://... make bench

Builds a throwaway test database and the tests' story (two tenants), then grows Central
Bedfordshire's plan to each size, with actions in every open state, and asks for each role's
home page, the plan page (first page, and filtered), "my actions" and one action page. For each
it reports the query count (which must not grow with the plan) and the median render time of
``REPEATS`` requests through Django's test client, beside the same measure of a bare view (a
signed-in page that returns a few bytes, through the same middleware) taken in the same minute:
the machine is shared and noisy, so the ratio to that floor is the figure to compare.
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

from django.conf import settings  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

import config.urls  # noqa: E402

SIZES = (10, 300, 2000)
REPEATS = 9


@login_required
def floor(request):
    return HttpResponse("ok")


# The floor view sits beside the real pages, behind the same middleware and session.
urlpatterns = [path("bench/floor/", floor), *config.urls.urlpatterns]


def timed_ms(client: Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def medians_ms(client: Client, url: str) -> tuple[float, float]:
    """Median times of the page and of the floor view, their requests interleaved so that
    both meet the same noise from the rest of the machine."""
    page, floor_ = [], []
    for _ in range(REPEATS):
        page.append(timed_ms(client, url))
        floor_.append(timed_ms(client, "/bench/floor/"))
    return statistics.median(page), statistics.median(floor_)


def main() -> None:
    from tenants.scoping import tenant_scope
    from tests.conftest import build_story
    from tests.plans.factories import bulk_actions
    from tests.querycount import queries_for

    settings.ROOT_URLCONF = __name__
    clear_url_caches()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        story = build_story()
        with tenant_scope(story.tenant):
            action = story.action_in("in_progress", reference="1.1")
        slug = story.tenant.slug
        plan = f"/t/{slug}/plans/{story.plan.pk}/"
        pages = [
            ("home: officer", "bob", f"/t/{slug}/"),
            ("home: manager", "alice", f"/t/{slug}/"),
            ("home: board member", "carol", f"/t/{slug}/"),
            ("home: tenant admin", "erin", f"/t/{slug}/"),
            ("home: viewer", "victor", f"/t/{slug}/"),
            ("plan page", "alice", plan),
            ("plan page, filtered", "alice", f"{plan}?state=in_progress&q=Bulk&page=2"),
            ("my actions", "bob", f"/t/{slug}/my-actions/"),
            ("action page", "bob", f"/t/{slug}/actions/{action.pk}/"),
        ]
        clients = {}
        for person in {person for _name, person, _url in pages}:
            clients[person] = Client()
            clients[person].force_login(getattr(story, person))
        print(f"database: {connection.vendor}; median of {REPEATS} requests after one warm-up")
        print(f"{'actions':>8}  {'page':<22} {'queries':>7} {'ms':>8} {'floor ms':>9} {'ratio':>6}")
        grown = 1
        for size in SIZES:
            with tenant_scope(story.tenant):
                bulk_actions(story, size - grown, start=grown)
            grown = size
            for name, person, url in pages:
                client = clients[person]
                queries = queries_for(client, url)
                ms, floor_ms = medians_ms(client, url)
                print(
                    f"{size:>8}  {name:<22} {queries:>7} {ms:>8.1f} {floor_ms:>9.2f} "
                    f"{ms / floor_ms:>6.0f}"
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
