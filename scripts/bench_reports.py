"""The progress report of a long-running plan, in every format, against a plain write.

    make bench-reports
    make bench-reports ARGS="--actions 300 --years 5 --repeats 5"

Creates a fresh PostgreSQL database (its name must contain "bench"; dropped at the end unless
--keep), migrates it and fills one tenant with a plan answering Laming's 58 recommendations:
300 actions with five years of history by default, about ten transitions each (agreed, started,
evidence sent back twice, then signed off for most), twenty dated progress updates each, one due
date moved later with its reason, and a tenth withdrawn along the way.

Then, for today and for a date half-way through the history, it times:
- the report rebuilt as of that date (``plan_report``), with its query count;
- each format (XLSX, CSV, DOCX, PDF) from the rebuilt report, and the whole of each (rebuild and
  file) as a download would;
- the floor: the same number of rows read by one SQL query (each action with its leads and its
  latest progress) and written by plain openpyxl, with no history read and no styling.

Each figure is the median of --repeats runs, taken in turns with the floor's runs so that both
see the same machine. The ratio is the figure over the floor: how many plain writes one costs.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import io
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/safeguarding_bench_reports"
FORMATS = ("xlsx", "csv", "docx", "pdf")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.actions < 10 or args.years < 1 or args.repeats < 1:
        parser.error("need at least 10 actions, 1 year and 1 repeat")
    return args


def configure_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # Production settings: DEBUG off needs a strong secret and explicit hosts.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    # Production settings also need a key for the secrets they store (authenticator keys).
    os.environ.setdefault("ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    database = urlsplit(os.environ["DATABASE_URL"])
    if database.scheme not in {"postgres", "postgresql"} or "bench" not in database.path:
        sys.exit("DATABASE_URL must be PostgreSQL and name a database containing 'bench'.")


def say(text: str) -> None:
    print(text, flush=True)


def database_recreate(drop_only: bool = False) -> None:
    import psycopg
    from django.conf import settings
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        name = sql.Identifier(db["NAME"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


# --- the plan and its history -------------------------------------------------------------------


def build(actions: int, years: int, today: datetime.date):
    """One tenant's plan with ``actions`` actions and ``years`` of history before ``today``."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from plans import services as plan_services
    from plans.demo.build import laming_framework_ensure
    from plans.models import (
        Action,
        ActionRecommendation,
        ActionSupportingPartner,
        ProgressUpdate,
        Recommendation,
    )
    from tenants.models import AuditEntry, Membership, Partner, SignOffBody, User
    from tenants.scoping import tenant_scope
    from tenants.services import partner_create, sign_off_body_create, tenant_create
    from workflow.models import TransitionLog

    rng = random.Random(2009)
    zone = timezone.get_default_timezone()
    start = today - datetime.timedelta(days=365 * years)

    def moment(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(10), tzinfo=zone)

    framework = laming_framework_ensure()
    recommendations = list(Recommendation.objects.filter(framework=framework))
    tenant = tenant_create(name="Benchmark Borough Council", slug="bench", kind="local_authority")
    with tenant_scope(tenant):
        people = [
            User.objects.create(email=f"person{n}@example.org", full_name=f"Person {n}")
            for n in range(20)
        ]
        Membership.objects.bulk_create(
            Membership(tenant=tenant, user=person, role=Membership.Role.MANAGER)
            for person in people
        )
        manager = people[0]
        partners = [
            partner_create(tenant=tenant, name=name, kind=kind)
            for name, kind in [
                ("Children's services", "local_authority"),
                ("Benchmark Police", "police"),
                ("NHS Benchmark", "health"),
                ("Schools", "education"),
                ("Probation", "probation"),
            ]
        ]
        board = sign_off_body_create(
            tenant=tenant,
            name="LSCB board",
            kind=SignOffBody.Kind.LSCB_BOARD,
            members=people[10:15],
            chair=people[10],
        )
        plan = plan_services.action_plan_create(
            tenant=tenant,
            framework=framework,
            title="Laming action plan",
            owner_body=board,
            sign_off_bodies=[board],
        )
        rows = []
        for n in range(actions):
            rows.append(
                Action(
                    tenant=tenant,
                    plan=plan,
                    reference=f"{n // 10 + 1}.{n % 10 + 1}",
                    title=f"Action {n + 1}: review and embed practice across the partnership",
                    lead_officer=people[1 + n % 9],
                    lead_partner=partners[n % len(partners)],
                    due_date=start + datetime.timedelta(days=200 + n * 3),
                    sign_off_body=board,
                )
            )
        created = Action.objects.bulk_create(rows)
        ActionRecommendation.objects.bulk_create(
            ActionRecommendation(tenant=tenant, action=a, recommendation=recommendations[i % 58])
            for i, a in enumerate(created)
        )
        ActionSupportingPartner.objects.bulk_create(
            ActionSupportingPartner(tenant=tenant, action=a, partner=partners[(i + 1) % 5])
            for i, a in enumerate(created)
        )
        action_type = ContentType.objects.get_for_model(Action)
        logs, updates, audits, creations, states = [], [], [], {}, {}
        span = (today - start).days
        for i, action in enumerate(created):
            opened = start + datetime.timedelta(days=rng.randrange(0, span // 3))
            creations[action.pk] = moment(opened)
            day = opened
            steps = [("agree", "proposed", "agreed"), ("start", "agreed", "in_progress")]
            for _ in range(3 if i % 3 else 2):
                steps += [
                    ("submit_evidence", "in_progress", "evidenced"),
                    ("send_back", "evidenced", "in_progress"),
                ]
            if i % 10 == 0:
                steps.append(("withdraw", "in_progress", "withdrawn"))
            elif i % 5:
                steps += [
                    ("submit_evidence", "in_progress", "evidenced"),
                    ("sign_off", "evidenced", "signed_off"),
                ]
            state = "proposed"
            for name, source, target in steps:
                day += datetime.timedelta(days=rng.randrange(20, 90))
                if day >= today:
                    break
                logs.append(
                    TransitionLog(
                        tenant=tenant,
                        content_type=action_type,
                        object_id=action.pk,
                        transition=name,
                        from_state=source,
                        to_state=target,
                        actor=manager,
                        at=moment(day),
                    )
                )
                state = target
            states[action.pk] = state
            for k in range(20):
                when = opened + datetime.timedelta(days=rng.randrange(1, max(2, span - 1)))
                if when >= today:
                    continue
                updates.append(
                    ProgressUpdate(
                        tenant=tenant,
                        action=action,
                        author=action.lead_officer,
                        text=f"Update {k}: audits under way, training booked, findings to board.",
                        rag=rng.choice(["red", "amber", "green"]),
                        created_at=moment(when),
                    )
                )
            before = action.due_date
            after = before + datetime.timedelta(days=90)
            moved = opened + datetime.timedelta(days=rng.randrange(30, 300))
            audits.append(
                AuditEntry(
                    tenant=tenant,
                    actor=manager,
                    actor_name=str(manager),
                    at=moment(opened),
                    subject_type=AuditEntry.Subject.ACTION,
                    subject_id=action.pk,
                    subject_label=str(action),
                    summary="Action added",
                    changes=[
                        {"field": "due_date", "label": "Due date", "before": "",
                         "after": f"{before.day} {before:%B %Y}"},
                    ],
                )
            )  # fmt: skip
            audits.append(
                AuditEntry(
                    tenant=tenant,
                    actor=manager,
                    actor_name=str(manager),
                    at=moment(moved),
                    subject_type=AuditEntry.Subject.ACTION,
                    subject_id=action.pk,
                    subject_label=str(action),
                    summary="Details changed",
                    changes=[
                        {"field": "due_date", "label": "Due date",
                         "before": f"{before.day} {before:%B %Y}",
                         "after": f"{after.day} {after:%B %Y}"},
                    ],
                    reason="The partner's restructure moved the work.",
                )
            )  # fmt: skip
            action.due_date = after
        Action.objects.bulk_update(created, ["due_date"])
        TransitionLog.objects.bulk_create(logs, batch_size=2000)
        ProgressUpdate.objects.bulk_create(updates, batch_size=2000)
        AuditEntry.objects.bulk_create(audits, batch_size=2000)
        for pk, created_at in creations.items():
            Action.objects.filter(pk=pk).update(created_at=created_at, state=states[pk])
        assert Partner.objects.filter(tenant=tenant).count() == 5
    return tenant, plan, len(logs), len(updates), len(audits)


# --- the floor ----------------------------------------------------------------------------------

FLOOR_SQL = """
SELECT a.reference, a.title, u.full_name, p.name, a.due_date, a.state, lp.rag, lp.text,
       lp.created_at
FROM plans_action a
LEFT JOIN tenants_user u ON u.id = a.lead_officer_id
LEFT JOIN tenants_partner p ON p.id = a.lead_partner_id
LEFT JOIN LATERAL (
    SELECT rag, text, created_at FROM plans_progressupdate pu
    WHERE pu.action_id = a.id ORDER BY pu.created_at DESC, pu.id DESC LIMIT 1
) lp ON true
WHERE a.tenant_id = %s AND a.plan_id = %s
ORDER BY a.reference
"""


def floor_write(tenant_id: int, plan_id: int) -> bytes:
    """The same rows read by one query and written by plain openpyxl: the least any
    spreadsheet of today's plan can cost here."""
    import openpyxl
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, [tenant_id, plan_id])
        rows = cursor.fetchall()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Reference", "Action", "Lead officer", "Lead partner", "Due date", "State",
                  "RAG", "Latest progress", "Progress dated"])  # fmt: skip
    for row in rows:
        sheet.append([*row[:8], row[8].replace(tzinfo=None) if row[8] else None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- measuring ----------------------------------------------------------------------------------


def timed(function) -> tuple[float, object]:
    began = time.perf_counter()
    result = function()
    return time.perf_counter() - began, result


def main() -> None:
    args = parse_args()
    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from plans.reports.as_of import plan_report
    from plans.reports.formats import report_file
    from tenants.scoping import tenant_scope

    today = timezone.localdate()
    say(f"Fresh database; {args.actions} actions, {args.years} years of history.")
    database_recreate()
    try:
        call_command("migrate", verbosity=0)
        tenant, plan, transitions, updates, audits = build(args.actions, args.years, today)
        say(
            f"Built: {args.actions} actions, {transitions} transitions, {updates} progress "
            f"updates, {audits} audit rows."
        )
        past = today - datetime.timedelta(days=365 * args.years // 2)
        with tenant_scope(tenant):
            floor_write(tenant.pk, plan.pk)  # warm the connection and openpyxl
            results = {}
            for label, day in (("today", today), (f"as of {past}", past)):
                floors, rebuilds, files = [], [], {fmt: [] for fmt in FORMATS}
                wholes = {fmt: [] for fmt in FORMATS}
                with CaptureQueriesContext(connection) as queries:
                    report = plan_report(plan=plan, as_of=day)
                query_count = len(queries)
                rows = sum(1 for _ in report.rows)
                for _ in range(args.repeats):
                    floors.append(timed(lambda: floor_write(tenant.pk, plan.pk))[0])
                    rebuilt, report = timed(lambda d=day: plan_report(plan=plan, as_of=d))
                    rebuilds.append(rebuilt)
                    for fmt in FORMATS:
                        files[fmt].append(timed(lambda f=fmt, r=report: report_file(r, f))[0])
                        wholes[fmt].append(
                            timed(
                                lambda f=fmt, d=day: report_file(plan_report(plan=plan, as_of=d), f)
                            )[0]
                        )
                results[label] = (
                    rows,
                    query_count,
                    statistics.median(floors),
                    statistics.median(rebuilds),
                    {fmt: statistics.median(times) for fmt, times in files.items()},
                    {fmt: statistics.median(times) for fmt, times in wholes.items()},
                )
        say("")
        say("| report | rows | queries | floor (SQL + openpyxl) | rebuild | format | file only | "
            "rebuild + file | ratio to floor |")  # fmt: skip
        say("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, (rows, query_count, floor, rebuild, files, wholes) in results.items():
            for fmt in FORMATS:
                say(
                    f"| {label} | {rows} | {query_count} | {floor * 1000:.0f} ms | "
                    f"{rebuild * 1000:.0f} ms | {fmt.upper()} | {files[fmt] * 1000:.0f} ms | "
                    f"{wholes[fmt] * 1000:.0f} ms | {wholes[fmt] / floor:.1f} |"
                )
    finally:
        if not args.keep:
            database_recreate(drop_only=True)


if __name__ == "__main__":
    main()
