"""What chaining history costs a write: a step (``transition_perform``), a single log row and an
import's bulk insert, each with the chaining triggers on and off.

    make bench-history
    make bench-history ARGS="--steps 200 --rounds 4"

Creates a fresh PostgreSQL database (its name must contain "bench"; dropped at the end unless
--keep), migrates it and builds the demo. Then, in rounds that take turns between the triggers
on and off (``ALTER TABLE ... DISABLE TRIGGER`` on the four history tables' chaining triggers,
so both see the same machine), it times:
- agreeing a proposed action: the whole step as a manager's page takes it, one transaction;
- one transition log row inserted in a transaction of its own;
- 2,000 log rows in one ``bulk_create``, as a plan import writes them.
Each figure is the median over every run of its kind. Last, the time PostgreSQL spends in the
chaining triggers themselves (``EXPLAIN ANALYZE``, which reports each trigger's time): for one
row on a new connection (the trigger functions are compiled on first use), for one row after
that, and per row of a 2,000-row insert.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import os
import re
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The reports benchmark's throwaway database, made the same way (scripts/ is on the path).
from bench_reports import database_recreate  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/safeguarding_bench_history"
HISTORY_TABLES = (
    "workflow_transitionlog",
    "workflow_approval",
    "tenants_auditentry",
    "plans_publishedreport",
)
BULK = 2000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="steps timed in all")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.steps < 2 * args.rounds or args.rounds < 2:
        parser.error("need at least 2 rounds and 2 steps a round")
    return args


def configure_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    # Production settings also need a key for the secrets they store (authenticator keys).
    os.environ.setdefault("ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    database = urlsplit(os.environ["DATABASE_URL"])
    if database.scheme not in {"postgres", "postgresql"} or "bench" not in database.path:
        sys.exit("DATABASE_URL must be PostgreSQL and name a database containing 'bench'.")


def chaining(on: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in HISTORY_TABLES:
            switch = "ENABLE" if on else "DISABLE"
            for trigger in (f"{table}_chain", f"{table}_chain_head"):
                cursor.execute(f"ALTER TABLE {table} {switch} TRIGGER {trigger}")


def proposed_actions(count: int):
    """``count`` new proposed actions copying an agreed one's leads, and who may agree them."""
    from plans import services as plan_services
    from plans.models import Action
    from tenants.models import Membership

    template = (
        Action.objects.filter(state=Action.State.AGREED, plan__partner__isnull=True)
        .exclude(sign_off_body=None)
        .select_related("plan")
        .first()
    )
    admin = Membership.objects.filter(
        tenant_id=template.tenant_id, role=Membership.Role.TENANT_ADMIN
    ).first()
    actions = [
        plan_services.action_create(
            plan=template.plan,
            by=admin.user,
            reference=f"B.{n}",
            title=f"Benchmark action {n}",
            recommendations=list(template.recommendations.all()),
            lead_officer=template.lead_officer,
            lead_partner=template.lead_partner,
            due_date=template.due_date,
            sign_off_body=template.sign_off_body,
        )
        for n in range(count)
    ]
    return template.tenant, admin.user, actions


TRIGGER_TIME = re.compile(r"^Trigger (\S+): time=([0-9.]+) calls=(\d+)")

INSERT_LOGS = """
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF)
INSERT INTO workflow_transitionlog
    (tenant_id, content_type_id, object_id, transition, from_state, to_state, comment, at)
SELECT %s, %s, %s, 'agree', 'proposed', 'agreed', 'Benchmark', now()
FROM generate_series(1, %s)
"""


def trigger_ms(tenant_id: int, content_type_id: int, object_id: int, rows: int) -> float:
    """Milliseconds PostgreSQL spent in the chaining triggers inserting ``rows`` log rows."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(INSERT_LOGS, [tenant_id, content_type_id, object_id, rows])
        plan = [line for (line,) in cursor.fetchall()]
    return sum(
        float(match[2])
        for line in plan
        if (match := TRIGGER_TIME.match(line)) and "_chain" in match[1]
    )


def main() -> None:
    args = parse_args()
    configure_environment()
    import django

    django.setup()
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import transaction

    from plans.demo import demo_build
    from plans.models import Action
    from tenants.scoping import across_tenants, tenant_scope
    from workflow.models import TransitionLog
    from workflow.services import transition_perform

    database_recreate()
    try:
        call_command("migrate", verbosity=0)
        demo_build(today=datetime.date.today(), force=True)
        with across_tenants():
            tenant, manager, actions = proposed_actions(args.steps)
        content_type = ContentType.objects.get_for_model(Action)

        def log_row(n: int) -> TransitionLog:
            return TransitionLog(
                tenant=tenant,
                content_type=content_type,
                object_id=actions[0].pk,
                transition="agree",
                from_state="proposed",
                to_state="agreed",
                actor=manager,
                comment=f"Benchmark {n}",
            )

        times: dict[tuple[str, bool], list[float]] = {}
        per_round = args.steps // args.rounds
        with tenant_scope(tenant):
            for round_number in range(args.rounds):
                # Whichever went first last round goes second this one.
                for on in (True, False) if round_number % 2 == 0 else (False, True):
                    chaining(on)
                    start = round_number * per_round + (0 if on else per_round // 2)
                    for action in actions[start : start + per_round // 2]:
                        began = time.perf_counter()
                        transition_perform(obj=action, name="agree", user=manager)
                        times.setdefault(("step", on), []).append(time.perf_counter() - began)
                    for n in range(per_round):
                        began = time.perf_counter()
                        with transaction.atomic():
                            TransitionLog.objects.bulk_create([log_row(n)])
                        times.setdefault(("row", on), []).append(time.perf_counter() - began)
                    began = time.perf_counter()
                    with transaction.atomic():
                        TransitionLog.objects.bulk_create(
                            [log_row(n) for n in range(BULK)], batch_size=1000
                        )
                    times.setdefault(("bulk", on), []).append(time.perf_counter() - began)
            chaining(True)

        print(f"PostgreSQL, {args.rounds} rounds taking turns, medians:")
        print("| write | chained | not chained | chained / not |")
        print("| --- | --- | --- | --- |")
        for kind, label in (
            ("step", "agreeing an action (transition_perform)"),
            ("row", "one transition log row, own transaction"),
            ("bulk", f"{BULK:,} log rows in one bulk_create"),
        ):
            on = statistics.median(times[(kind, True)]) * 1000
            off = statistics.median(times[(kind, False)]) * 1000
            print(f"| {label} | {on:.2f} ms | {off:.2f} ms | {on / off:.2f} |")

        from django.db import connection

        connection.close()
        first = trigger_ms(tenant.pk, content_type.pk, actions[0].pk, 1)
        warm = statistics.median(
            trigger_ms(tenant.pk, content_type.pk, actions[0].pk, 1) for _ in range(50)
        )
        bulk = statistics.median(
            trigger_ms(tenant.pk, content_type.pk, actions[0].pk, BULK) for _ in range(5)
        )
        print()
        print("Time in the chaining triggers (EXPLAIN ANALYZE):")
        print(f"- one row, first on a new connection: {first:.2f} ms")
        print(f"- one row, after that (median of 50): {warm:.3f} ms")
        print(f"- per row of {BULK:,} in one statement (median of 5): {bulk / BULK:.3f} ms")
    finally:
        if not args.keep:
            database_recreate(drop_only=True)


if __name__ == "__main__":
    main()
