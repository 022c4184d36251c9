"""The cost of row-level security: the plan page, "my actions" and the escalation sweep, with
and without the policies, as ratios.

    make bench-rls                                      # 20 tenants x 2,000 actions
    make bench-rls ARGS="--tenants 5 --actions 200"    # a quick run

Builds a throwaway PostgreSQL database as the owner (DATABASE_URL, a role that may create
databases and roles; the name must contain 'bench') with the escalation benchmark's data
(scripts/bench_escalations.py: tenants of 2,000 actions each, 10% overdue), creates the
application's role and then measures as that role, as the service runs:

- *with*: the policies and the reference triggers on, and the tenant set in each transaction;
- *without*: the same tables with row-level security and the triggers disabled (by the owner)
  and no tenant setting sent, which is how the service ran before.

The two take turns, a few requests (and one sweep) at a time, so both meet the same noise from
the rest of the machine; the ratio of their medians is the figure to compare. Each sweep
is a first sweep (every overdue action reaches every level at once) on the same data: what it
wrote is deleted by the owner before the next.
"""

import argparse
import datetime
import importlib.util
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/safeguarding_bench_rls"
DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"


def escalation_bench():
    """scripts/bench_escalations.py, for its data and its database helpers."""
    spec = importlib.util.spec_from_file_location(
        "bench_escalations", ROOT / "scripts" / "bench_escalations.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def parse_args(bench) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--actions", type=int, default=2000, help="actions per tenant")
    parser.add_argument(
        "--repeats", type=int, default=5, help="blocks of 3 requests per page and mode"
    )
    parser.add_argument("--sweeps", type=int, default=3, help="sweeps per mode")
    parser.add_argument(
        "--policies-only",
        action="store_true",
        help="leave the reference triggers on in both modes, to measure the policies alone",
    )
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=bench.DEFAULT_TODAY)
    args = parser.parse_args()
    if args.tenants < 2 or args.actions < 10 or args.repeats < 1 or args.sweeps < 1:
        parser.error("need at least 2 tenants, 10 actions per tenant, 1 repeat and 1 sweep")
    return args


def configure_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.pop("DATABASE_OWNER_URL", None)
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    if not os.environ["DATABASE_URL"].startswith("postgres") or "bench" not in name:
        sys.exit("DATABASE_URL must be PostgreSQL and name a database containing 'bench'.")


class Modes:
    """Switches row-level security on and off: the owner enables or disables the policies and
    triggers; the application's connection sends the tenant setting or not."""

    def __init__(self, owner: dict, *, triggers: bool = True):
        import psycopg
        from django.apps import apps
        from django.db import connection

        from tenants.row_security import tenant_owned_models, tenant_references, trigger_names

        self.connection = connection
        self.owner = psycopg.connect(
            host=owner["HOST"] or None,
            port=owner["PORT"] or None,
            user=owner["USER"],
            password=owner["PASSWORD"] or None,
            dbname=connection.settings_dict["NAME"],
            autocommit=True,
        )
        self.tables = []
        for model in tenant_owned_models(apps.get_models()):
            names = trigger_names(model) if triggers and tenant_references(model) else []
            self.tables.append((model._meta.db_table, names))
        self.on = True

    def set(self, on: bool) -> None:
        if on == self.on:
            return
        verb = "ENABLE" if on else "DISABLE"
        with self.owner.transaction():
            for table, triggers in self.tables:
                self.owner.execute(f'ALTER TABLE "{table}" {verb} ROW LEVEL SECURITY')
                for trigger in triggers:
                    self.owner.execute(f'ALTER TABLE "{table}" {verb} TRIGGER "{trigger}"')
        wrappers = self.connection.execute_wrappers
        if on:
            wrappers.insert(0, self.connection._tell_scope)
        else:
            wrappers.remove(self.connection._tell_scope)
        self.on = on


def timed_ms(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


BLOCK = 3


def pages_measure(modes: Modes, pages, repeats: int) -> list[tuple[str, int, float, float]]:
    from tests.querycount import queries_for

    results = []
    for name, client, url in pages:
        timings = {True: [], False: []}
        counts = {}
        for on in (True, False):
            modes.set(on)
            counts[on] = queries_for(client, url)  # also the warm-up
        for _ in range(repeats):
            for on in (True, False):
                # Switching modes changes the tables, which empties PostgreSQL's cached plans
                # and relation data: one request refills them, then BLOCK are timed.
                modes.set(on)
                timed_ms(client, url)
                timings[on] += [timed_ms(client, url) for _ in range(BLOCK)]
        assert counts[True] == counts[False], (name, counts)
        results.append(
            (
                name,
                counts[True],
                statistics.median(timings[True]),
                statistics.median(timings[False]),
            )
        )
    modes.set(True)
    return results


SWEEP_TABLES = (
    "notifications_notification",
    "notifications_message",
    "notifications_escalationstep",
    "notifications_sweep",
)


def sweeps_measure(bench, modes: Modes, today: datetime.date, sweeps: int):
    """First sweeps with and without, each undone by the owner before the next."""
    owner = modes.owner
    marks = {
        table: owner.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        for table in SWEEP_TABLES
    }
    waiting = [
        pk
        for (pk,) in owner.execute(
            "SELECT id FROM notifications_notification WHERE awaiting_digest"
        ).fetchall()
    ]
    runs = {True: [], False: []}
    for _ in range(sweeps):
        for on in (True, False):
            modes.set(on)
            with mock.patch("notifications.escalations.outbox_queue_on_commit"):
                run = bench.sweep_timed(today)
            runs[on].append(run)
            with owner.transaction():
                # Events that waited for this digest wait again, for the next sweep.
                owner.execute(
                    "UPDATE notifications_notification SET awaiting_digest = true, "
                    "message_id = NULL WHERE id = ANY(%s)",
                    [waiting],
                )
                for table in SWEEP_TABLES:
                    owner.execute(f"DELETE FROM {table} WHERE id > %s", [marks[table]])
    modes.set(True)
    return runs


def main() -> None:
    bench = escalation_bench()
    args = parse_args(bench)
    configure_environment()

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from plans.models import Action
    from tenants.models import Membership, Tenant, User
    from tenants.postgresql.roles import CREDENTIALS, application_role_grant
    from tenants.scoping import tenant_scope

    say = bench.say
    say(f"{os.cpu_count()} CPUs; {bench.load()}")
    bench.database_create()
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        bench.build(tenants=args.tenants, actions=args.actions, today=args.today)
        say(
            f"built {args.tenants} tenants x {args.actions} actions in "
            f"{time.perf_counter() - started:.0f} s"
        )
        owner = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
        role = f"{connection.settings_dict['NAME']}_app"
        say(application_role_grant(role=role, password=(password := secrets.token_urlsafe())))
        connection.close()
        settings.DATABASE_OWNER = owner
        connection.settings_dict.update(USER=role, PASSWORD=password)
        modes = Modes(owner, triggers=not args.policies_only)

        setup_test_environment()
        # The pages are measured as drawn, every time: kept parts (plans/page_cache.py) would
        # serve one mode what the other drew.
        override_settings(CACHES={**settings.CACHES, "pages": {"BACKEND": DUMMY_CACHE}}).enable()
        tenant = Tenant.objects.order_by("pk").first()
        with tenant_scope(tenant):
            busiest_plan = (
                Action.objects.values("plan_id").annotate(n=Count("pk")).order_by("-n").first()
            )
            busiest_officer = (
                Action.objects.filter(lead_officer__isnull=False)
                .values("lead_officer_id")
                .annotate(n=Count("pk"))
                .order_by("-n")
                .first()
            )
            manager = (
                Membership.objects.filter(
                    role__in=[Membership.Role.MANAGER, Membership.Role.TENANT_ADMIN]
                )
                .select_related("user")
                .order_by("role")
                .first()
                .user
            )
        plan_id, plan_actions = busiest_plan["plan_id"], busiest_plan["n"]
        officer_id, led = busiest_officer["lead_officer_id"], busiest_officer["n"]
        reader, officer = Client(), Client()
        reader.force_login(manager)
        officer.force_login(User.objects.get(pk=officer_id))
        pages = [
            (f"plan page ({plan_actions} actions)", reader, f"/t/{tenant.slug}/plans/{plan_id}/"),
            (f"my actions ({led} led)", officer, f"/t/{tenant.slug}/my-actions/"),
        ]
        say()
        say(
            f"## Pages: median of {args.repeats * BLOCK} requests each way, in blocks of "
            f"{BLOCK} taken in turn; {bench.load()}"
        )
        say()
        say("| page | queries | with RLS | without | ratio |")
        say("| --- | --- | --- | --- | --- |")
        for name, queries, with_ms, without_ms in pages_measure(modes, pages, args.repeats):
            say(
                f"| {name} | {queries} | {with_ms:.1f} ms | {without_ms:.1f} ms | "
                f"{with_ms / without_ms:.2f} |"
            )
        say()
        say(f"## First sweep, {args.sweeps} each way, interleaved; {bench.load()}")
        say()
        runs = sweeps_measure(bench, modes, args.today, args.sweeps)
        first = runs[True][0]
        say(
            f"each sweep: {first.log.count} statements, {first.steps} steps, "
            f"{first.notifications} notifications, {first.messages} digests"
        )
        say()
        say("| sweep | with RLS | without | ratio |")
        say("| --- | --- | --- | --- |")
        for what, measure in (
            ("whole sweep", lambda r: r.seconds),
            ("statements", lambda r: r.log.seconds),
            ("COMMIT", lambda r: r.commit_seconds),
        ):
            with_s = statistics.median(measure(r) for r in runs[True])
            without_s = statistics.median(measure(r) for r in runs[False])
            say(f"| {what} | {with_s:.2f} s | {without_s:.2f} s | {with_s / without_s:.2f} |")
        say()
        say(f"done; {bench.load()}")
    finally:
        modes_owner = locals().get("modes")
        if modes_owner is not None:
            modes_owner.owner.close()
        connection.close()
        if "owner" in locals():
            connection.settings_dict.update(owner)
        bench.database_drop()


if __name__ == "__main__":
    main()
