"""The escalation sweep at scale, on PostgreSQL.

    make bench-escalations
    make bench-escalations ARGS="--tenants 5 --actions 200"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safeguarding_bench \
        .venv/bin/python scripts/bench_escalations.py

Creates a fresh database (its name must contain "bench"; it is dropped at the
end unless --keep), migrates it and fills it with set-based SQL: per tenant about forty people
(lead officers, partner contacts, an LSCB board with its chair, a management team, the police's
own safeguarding committee, an administrator), partners, the three bodies with their permission
groups, plans (monitored by the board or the management team, or by nobody, so that their
endorsing board is chased instead) authorising the board and the team to sign off, and actions.
About a tenth of the actions are overdue at various depths in working days of the tenant's
nation, a few percent are due within five working days, some evidenced actions have waited more
than ten working days for sign-off, and the rest are due later, signed off, proposed or
withdrawn. The sweeps then run as the application's role (made as scripts/bench_rls.py makes
it), under row-level security on the cross-tenant path, as the service runs; the superuser that
builds the data would pass every policy.

- The backlog: the first sweep of ``--today``, when every action already past a threshold
  reaches it at once. Its memory is the rise of this process's resident set above where it was
  before the sweep, sampled from /proc every 10 ms (goal: under 300 MB). A second sweep of the
  same day must create nothing.
- The daily sweep: the next working day, which records only what crossed a threshold
  overnight, after the owner has run ANALYZE as autovacuum would have overnight. Its floor is a
  plain SELECT of the actions overdue that day plus a COPY of as many rows into a bare scratch
  table, in one transaction as the same role. Floor and sweep take turns ``--repeats`` times
  (the owner takes each daily sweep back before the next) and the medians are compared
  (goal: at most 3 times the floor).
- Statements are counted at the driver, so the COPY and the tenant setting count too (goal:
  at most 15 in any sweep); COMMIT is timed apart (the deferred foreign keys are checked there).

The delivery tasks the sweep queues on commit are not sent: ``notifications.services.
outbox_queue`` is replaced by a recorder. ``--summary FILE`` appends one JSON
line per goal to FILE.

Delivery has its own benchmark, ``scripts/bench_delivery.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import resource
import secrets
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/safeguarding_bench"
# A Wednesday that is a working day in every nation, with bank holidays within the depths used.
DEFAULT_TODAY = datetime.date(2025, 11, 12)

PEOPLE_PER_TENANT = 40  # see the layout in ``build``
TENANTS_PER_REGION = 5  # tenants sharing one regional police contact
PLANS_PER_TENANT = 4
DEEPEST = 60  # working days: the deepest overdue action
BODY_NAMES = ("LSCB board", "Management team", "Police safeguarding committee")

FIRST_NAMES = [
    "Aisha", "Ben", "Carys", "Dylan", "Eilidh", "Femi", "Gareth", "Hannah", "Imran", "Jess",
    "Kieran", "Lowri", "Mohammed", "Niamh", "Oliver", "Priya", "Rhys", "Siobhan", "Tom", "Uzma",
    "Victoria", "Wei", "Yusuf", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Adebayo", "Brown", "Campbell", "Davies", "Evans", "Fraser", "Ghosh", "Hughes", "Iqbal",
    "Jones", "Kelly", "Lewis", "MacDonald", "Murphy", "Nowak", "O'Neill", "Patel", "Quinn",
    "Roberts", "Singh", "Taylor", "Williams", "Wilson", "Young",
]  # fmt: skip
PARTNERS = [
    ("Children's services", "local_authority"),
    ("Police", "police"),
    ("Health trust", "health"),
    ("Schools", "education"),
    ("Probation service", "probation"),
    ("Voluntary sector forum", "voluntary"),
]
ACTION_TITLES = [
    "Audit child protection plans against the threshold guidance",
    "Multi-agency training on recognising neglect",
    "Review referral routes from schools to children's social care",
    "Joint protocol for strategy discussions with the police",
    "Named GP for safeguarding in every practice",
    "Quarterly case-file audit of core assessments",
    "Supervision policy for frontline social workers",
    "Information-sharing agreement between health and the council",
    "Escalation procedure for professional disagreements",
    "Recruitment and retention plan for social workers",
    "Training for emergency department staff on non-accidental injury",
    "Annual report of the board to the scrutiny committee",
    "Reissue the thresholds document to every partner agency",
    "Private fostering awareness campaign",
    "Review return interviews for children missing from home",
    "Performance dashboard for the board",
]


# --- Environment ----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=150)
    parser.add_argument("--actions", type=int, default=2000, help="actions per tenant")
    parser.add_argument(
        "--today", type=datetime.date.fromisoformat, default=DEFAULT_TODAY, help="YYYY-MM-DD"
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs of each baseline")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="append one JSON line per goal to FILE: measure, floor, here, ratio, goal, met",
    )
    args = parser.parse_args()
    if args.tenants < 1 or args.actions < 10 or args.repeats < 1:
        parser.error("need at least 1 tenant, 10 actions per tenant and 1 repeat")
    return args


def configure_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # Production settings: DEBUG off needs a strong secret and explicit hosts.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    # The Notify keys some tenants hold are stored encrypted; workers read them with this key.
    os.environ.setdefault("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    # Tasks go to the broker, never run in this process.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

    database = urlsplit(os.environ["DATABASE_URL"])
    name = database.path.lstrip("/")
    if database.scheme not in {"postgres", "postgresql", "pgsql"} or "bench" not in name:
        sys.exit(
            "DATABASE_URL must be PostgreSQL and name a database containing 'bench' (it is "
            f"dropped and created afresh); got {masked(os.environ['DATABASE_URL'])}"
        )


def masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def say(text: str = "") -> None:
    print(text, flush=True)


def load() -> str:
    """The machine's load: other processes competing for the CPUs skew every figure."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


# --- Measuring statements -----------------------------------------------------------------------


@dataclass
class StatementLog:
    """Every statement run through Django's connection, with the time spent executing it
    (driver and server). Counted with an execute wrapper, as in ``tests/querycount.py``."""

    statements: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, time.perf_counter() - started))

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.statements)

    def slowest(self, n: int) -> list[tuple[str, float]]:
        return sorted(self.statements, key=lambda s: s[1], reverse=True)[:n]


def short_sql(sql: str, width: int = 96) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# --- The database -----------------------------------------------------------------------------


def server_connection():
    """A connection to the server's maintenance database, for CREATE and DROP DATABASE."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def database_create() -> None:
    from django.conf import settings
    from psycopg import sql

    name = settings.DATABASES["default"]["NAME"]
    with server_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            say(f"dropping a leftover database {name}")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop() -> None:
    from django.conf import settings
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    name = settings.DATABASES["default"]["NAME"]
    with server_connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- Part 1: the data ---------------------------------------------------------------------------

# Each tenant t (ids 1..T) has people (t-1)*40 + k:
#   k 1-20 lead officers, k 21-26 staff of partner k-20 (the contact of each partner but the
#   police, whose contact is a regional officer shared by five tenants), k 27-34 the LSCB board
#   (27 chairs), k 35-39 the management team (35 chairs), k 40 the tenant administrator; k 22
#   (police staff, chair) and k 33 (also on the board) sit on the police's own committee.
# Regional police contacts follow: T*40 + region. Partners are (t-1)*6 + p, sign-off bodies and
# their groups (t-1)*3 + b (1 board, 2 management team, 3 police committee), plans (t-1)*4 + j
# (plan 2 monitored by the management team, plan 4 by nobody, the others by the board; the board
# endorses every plan), actions (t-1)*A + i.

NATION_OF_TENANT = """
    CASE mod(t, 20)
        WHEN 2 THEN 'wales' WHEN 12 THEN 'wales'
        WHEN 4 THEN 'scotland' WHEN 14 THEN 'scotland'
        WHEN 6 THEN 'northern_ireland'
        ELSE 'england'
    END
"""

ACTIONS_SQL = """
WITH base AS (
    SELECT t.id AS tenant_id, t.nation, i,
           mod(i * 7919 + t.id * 104729, 1000)::integer AS r,
           mod(i * 37 + t.id * 11, 1000)::integer AS s
    FROM tenants_tenant t CROSS JOIN generate_series(1, %(actions)s) AS i
), shaped AS (
    SELECT base.*,
        CASE
            WHEN r < 40 THEN 1 + mod(s, 9)
            WHEN r < 70 THEN 10 + mod(s, 10)
            WHEN r < 100 THEN 20 + mod(s, %(deepest)s - 19)
        END AS overdue_by,
        CASE WHEN r >= 100 AND r < 130 THEN mod(s, 6) END AS due_in,
        CASE
            WHEN r >= 130 AND r < 160 THEN 11 + mod(s, 20)
            WHEN r >= 160 AND r < 180 THEN mod(s, 10)
        END AS waited,
        CASE
            WHEN r < 130 OR (r >= 180 AND r < 600) THEN
                CASE WHEN mod(i, 3) = 0 THEN 'agreed' ELSE 'in_progress' END
            WHEN r < 180 THEN 'evidenced'
            WHEN r < 900 THEN 'signed_off'
            WHEN r < 950 THEN 'proposed'
            ELSE 'withdrawn'
        END AS state
    FROM base
)
INSERT INTO plans_action (
    id, tenant_id, plan_id, reference, title, description, completion_statement, due_date,
    state, state_changes, state_changed_at, created_at, updated_at, lead_officer_id,
    lead_partner_id, sign_off_body_id, evidence_submitted_by_id
)
SELECT
    (a.tenant_id - 1) * %(actions)s + a.i,
    a.tenant_id,
    (a.tenant_id - 1) * %(plans)s + 1 + mod(a.i, %(plans)s),
    (1 + mod(a.i, %(plans)s))::text || '.' || a.i::text,
    (%(titles)s::text[])[1 + mod(a.s, cardinality(%(titles)s::text[]))],
    '',
    CASE WHEN a.state IN ('evidenced', 'signed_off')
        THEN 'Delivered as planned; the evidence is attached.' ELSE '' END,
    CASE
        WHEN a.overdue_by IS NOT NULL THEN od.before_today
        WHEN a.due_in IS NOT NULL THEN ah.after_today
        WHEN a.state = 'evidenced' THEN %(today)s::date + (mod(a.s, 60) - 30)
        WHEN a.state IN ('agreed', 'in_progress') THEN %(today)s::date + 14 + mod(a.s, 520)
        WHEN a.state = 'signed_off' THEN %(today)s::date + (mod(a.s, 600) - 400)
        WHEN a.state = 'proposed' AND mod(a.s, 2) = 0 THEN NULL
        WHEN a.state = 'proposed' THEN %(today)s::date + 60 + mod(a.s, 400)
        ELSE %(today)s::date - 1 - mod(a.s, 300)
    END,
    a.state,
    CASE a.state
        WHEN 'proposed' THEN 0 WHEN 'agreed' THEN 1 WHEN 'in_progress' THEN 2
        WHEN 'evidenced' THEN CASE WHEN mod(a.s, 4) = 0 THEN 5 ELSE 3 END
        WHEN 'signed_off' THEN 4 ELSE 2
    END,
    CASE
        WHEN a.waited IS NOT NULL
            THEN (wt.before_today + time '10:30') AT TIME ZONE 'Europe/London'
        ELSE ((%(today)s::date - 20 - mod(a.s, 200)) + time '09:00') AT TIME ZONE 'Europe/London'
    END,
    %(now)s,
    %(now)s,
    CASE WHEN a.state = 'proposed' AND mod(a.s, 3) = 0 THEN NULL
        ELSE (a.tenant_id - 1) * %(people)s + 1 + mod(a.i * 13, 20) END,
    (a.tenant_id - 1) * 6 + 1 + mod(a.i + a.s, 6),
    (a.tenant_id - 1) * 3 + CASE WHEN mod(a.i, 5) = 0 THEN 2 ELSE 1 END,
    CASE
        WHEN a.state NOT IN ('evidenced', 'signed_off') THEN NULL
        -- A delegate on the board submitted it: the four-eyes rule keeps them from being chased.
        WHEN mod(a.s, 7) = 0 THEN (a.tenant_id - 1) * %(people)s + 29
        ELSE (a.tenant_id - 1) * %(people)s + 1 + mod(a.i * 13, 20)
    END
FROM shaped a
LEFT JOIN bench_days od ON od.nation = a.nation AND od.n = a.overdue_by
LEFT JOIN bench_days ah ON ah.nation = a.nation AND ah.n = a.due_in
LEFT JOIN bench_days wt ON wt.nation = a.nation AND wt.n = a.waited
"""


def _calendar(today: datetime.date) -> list[tuple[str, int, datetime.date, datetime.date]]:
    """Per nation and n: the due date n working days overdue today, and n working days ahead."""
    from tenants.models import Tenant
    from tenants.working_days import (
        latest_date_at_least_n_working_days_before,
        nth_working_day_after,
    )

    rows = []
    for nation in Tenant.Nation.values:
        rows.append((nation, 0, today, today))
        for n in range(1, DEEPEST + 1):
            rows.append(
                (
                    nation,
                    n,
                    latest_date_at_least_n_working_days_before(nation, today, n),
                    nth_working_day_after(nation, today, n),
                )
            )
    return rows


def build(*, tenants: int, actions: int, today: datetime.date) -> None:
    """Fill the migrated database with set-based statements (no ORM call per row)."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from plans.models import Action, ActionPlan, Framework
    from tenants.sealed import seal

    now = timezone.now()
    regions = -(-tenants // TENANTS_PER_REGION)
    p = {
        "tenants": tenants,
        "actions": actions,
        "people": PEOPLE_PER_TENANT,
        "plans": PLANS_PER_TENANT,
        "per_region": TENANTS_PER_REGION,
        "shared_base": tenants * PEOPLE_PER_TENANT,
        "regions": regions,
        "now": now,
        "today": today,
        "deepest": DEEPEST,
        "first": FIRST_NAMES,
        "last": LAST_NAMES,
        "partner_names": [name for name, _ in PARTNERS],
        "partner_kinds": [kind for _, kind in PARTNERS],
        "body_names": list(BODY_NAMES),
        "titles": ACTION_TITLES,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_days (nation varchar(30), n integer, "
            "before_today date, after_today date, PRIMARY KEY (nation, n))"
        )
        cursor.executemany("INSERT INTO bench_days VALUES (%s, %s, %s, %s)", _calendar(today))
        framework = Framework.objects.create(
            title="Bench framework: The Protection of Children in England",
            short_name="bench-framework",
            is_outline=True,
        )
        p["framework"] = framework.pk
        p["action_type"] = ContentType.objects.get_for_model(Action).pk
        plan_type = ContentType.objects.get_for_model(ActionPlan)
        p["sign_off"], p["endorse"] = (
            Permission.objects.get(content_type=plan_type, codename=codename).pk
            for codename in ("sign_off_actions", "endorse_plan")
        )

        cursor.execute(
            f"""
            INSERT INTO tenants_tenant (id, name, slug, kind, nation, is_active, created_at,
                                        single_sign_on_required)
            SELECT t, 'Bench Safeguarding Partnership ' || lpad(t::text, 4, '0'),
                   'bench-' || lpad(t::text, 4, '0'),
                   (ARRAY['lscb', 'local_authority', 'childrens_trust'])[1 + mod(t, 3)],
                   {NATION_OF_TENANT}, true, %(now)s, false
            FROM generate_series(1, %(tenants)s) AS t
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO tenants_user (id, password, is_superuser, email, full_name, is_active,
                                      is_staff, date_joined, session_generation)
            SELECT id, '!bench', false,
                   regexp_replace(lower(first || '.' || last || '.' || id), '[^a-z0-9.]', '',
                                  'g') || '@bench.example.org',
                   first || ' ' || last, true, false, %(now)s, 0
            FROM (
                SELECT (t - 1) * %(people)s + k AS id,
                       (%(first)s::text[])[1 + mod(k * 7 + t, cardinality(%(first)s::text[]))]
                           AS first,
                       (%(last)s::text[])[1 + mod(k * 13 + t * 3, cardinality(%(last)s::text[]))]
                           AS last
                FROM generate_series(1, %(tenants)s) AS t,
                     generate_series(1, %(people)s) AS k
                UNION ALL
                SELECT %(shared_base)s + r, 'Regional police contact',
                       'Region ' || r::text
                FROM generate_series(1, %(regions)s) AS r
            ) people
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO tenants_partner (id, tenant_id, name, kind, contact_id)
            SELECT (t - 1) * 6 + q, t, (%(partner_names)s::text[])[q],
                   (%(partner_kinds)s::text[])[q],
                   CASE WHEN q = 2 THEN %(shared_base)s + (t - 1) / %(per_region)s + 1
                        ELSE (t - 1) * %(people)s + 20 + q END
            FROM generate_series(1, %(tenants)s) AS t, generate_series(1, 6) AS q
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO tenants_membership (tenant_id, user_id, role, partner_id)
            SELECT t, (t - 1) * %(people)s + k,
                   CASE WHEN k <= 26 THEN 'officer' WHEN k <= 34 THEN 'board_member'
                        WHEN k <= 39 THEN 'manager' ELSE 'tenant_admin' END,
                   CASE WHEN k <= 20 THEN (t - 1) * 6 + 1 + mod(k, 6)
                        WHEN k <= 26 THEN (t - 1) * 6 + k - 20 END
            FROM generate_series(1, %(tenants)s) AS t, generate_series(1, %(people)s) AS k
            UNION ALL
            SELECT t, %(shared_base)s + (t - 1) / %(per_region)s + 1, 'officer', (t - 1) * 6 + 2
            FROM generate_series(1, %(tenants)s) AS t
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO auth_group (id, name)
            SELECT (t - 1) * 3 + b,
                   'sign-off body bench-' || lpad(t::text, 4, '0') || ' '
                       || (%(body_names)s::text[])[b]
            FROM generate_series(1, %(tenants)s) AS t, generate_series(1, 3) AS b
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO tenants_signoffbody (id, tenant_id, name, kind, quorum, chair_id, group_id,
                                             partner_id)
            SELECT (t - 1) * 3 + b, t, (%(body_names)s::text[])[b],
                   (ARRAY['lscb_board', 'management_team', 'agency_committee'])[b],
                   CASE b WHEN 1 THEN 2 ELSE 1 END,
                   (t - 1) * %(people)s + (ARRAY[27, 35, 22])[b], (t - 1) * 3 + b,
                   CASE b WHEN 3 THEN (t - 1) * 6 + 2 END
            FROM generate_series(1, %(tenants)s) AS t, generate_series(1, 3) AS b
            """,
            p,
        )
        members = """
            SELECT t AS tenant_id, (t - 1) * 3 + CASE WHEN k <= 34 THEN 1 ELSE 2 END AS body_id,
                   (t - 1) * %(people)s + k AS user_id
            FROM generate_series(1, %(tenants)s) AS t, generate_series(27, 39) AS k
            UNION ALL
            SELECT t, (t - 1) * 3 + 3, (t - 1) * %(people)s + k
            FROM generate_series(1, %(tenants)s) AS t, unnest(ARRAY[22, 33]) AS k
        """
        cursor.execute(
            f"INSERT INTO tenants_signoffbodymember (tenant_id, body_id, user_id) {members}", p
        )
        cursor.execute(
            f"INSERT INTO tenants_user_groups (user_id, group_id) "
            f"SELECT user_id, body_id FROM ({members}) m",
            p,
        )
        cursor.execute(
            """
            INSERT INTO plans_actionplan (id, tenant_id, framework_id, title, owner_body_id,
                                          monitoring_body_id, owner_id, state, state_changes,
                                          state_changed_at, submitted_by_id, created_at)
            SELECT (t - 1) * %(plans)s + j, t, %(framework)s,
                   (ARRAY['Response to the national review', 'Serious case review action plan',
                          'Inspection improvement plan', 'Business plan'])[1 + mod(j - 1, 4)]
                       || ' ' || j::text,
                   (t - 1) * 3 + 1,
                   (t - 1) * 3 + CASE j WHEN 2 THEN 2 WHEN 4 THEN NULL ELSE 1 END,
                   (t - 1) * %(people)s + 40, 'endorsed', 2, %(now)s,
                   (t - 1) * %(people)s + 35, %(now)s
            FROM generate_series(1, %(tenants)s) AS t, generate_series(1, %(plans)s) AS j
            """,
            p,
        )
        # Every plan lets the board and the management team sign off its actions and the board
        # endorse it, as the services grant them.
        cursor.execute(
            """
            INSERT INTO plans_actionplangroupobjectpermission (tenant_id, permission_id, group_id,
                                                              content_object_id)
            SELECT pl.tenant_id, grant_of.permission_id, (pl.tenant_id - 1) * 3 + grant_of.b,
                   pl.id
            FROM plans_actionplan pl
            CROSS JOIN (VALUES (%(sign_off)s, 1), (%(sign_off)s, 2), (%(endorse)s, 1))
                AS grant_of (permission_id, b)
            """,
            p,
        )
        cursor.execute(ACTIONS_SQL, p)
        # A board member (or management team member) already approved a third of the evidence.
        cursor.execute(
            """
            INSERT INTO workflow_approval (tenant_id, content_type_id, object_id, transition,
                                           cycle, approver_id, comment, at)
            SELECT a.tenant_id, %(action_type)s, a.id, 'sign_off', a.state_changes,
                   (a.tenant_id - 1) * %(people)s
                       + CASE WHEN a.sign_off_body_id = (a.tenant_id - 1) * 3 + 1
                              THEN 30 ELSE 36 END,
                   '', a.state_changed_at + interval '1 day'
            FROM plans_action a
            WHERE a.state = 'evidenced' AND mod(a.id, 3) = 0
            """,
            p,
        )
        # Some tenants set their own thresholds; a few send through GOV.UK Notify.
        cursor.execute(
            """
            INSERT INTO notifications_escalationpolicy (
                tenant_id, reminder_days_before, overdue_days, managers_days, chair_days,
                sign_off_waiting_days, updated_at)
            SELECT t,
                   CASE WHEN mod(t, 10) = 3 THEN 10 ELSE 5 END,
                   CASE WHEN mod(t, 10) = 3 THEN 2 ELSE 1 END,
                   CASE WHEN mod(t, 10) = 3 THEN 15 ELSE 10 END,
                   CASE WHEN mod(t, 10) = 3 THEN 25 ELSE 20 END,
                   CASE WHEN mod(t, 10) = 3 THEN 5 ELSE 10 END,
                   %(now)s
            FROM generate_series(1, %(tenants)s) AS t
            WHERE mod(t, 10) = 3
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO notifications_channelsettings (
                tenant_id, channel, chosen, "values", secrets_sealed, updated_at)
            SELECT t, 'notify', true, %(values)s::jsonb, %(sealed_key)s, %(now)s
            FROM generate_series(1, %(tenants)s) AS t
            WHERE mod(t, 25) = 7
            """,
            {
                **p,
                "values": json.dumps({"template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a"}),
                "sealed_key": seal(json.dumps({"api_key": "bench-key"})),
            },
        )
        # Two lead officers per tenant chose a daily e-mail and have an event waiting for it.
        cursor.execute(
            """
            INSERT INTO notifications_notificationpreference (user_id, events)
            SELECT (t - 1) * %(people)s + k, 'daily'
            FROM generate_series(1, %(tenants)s) AS t, generate_series(1, 2) AS k
            """,
            p,
        )
        cursor.execute(
            """
            INSERT INTO notifications_notification (
                tenant_id, recipient_id, kind, action_id, title, reason, detail, link, key,
                awaiting_digest, created_at)
            SELECT t.id, (t.id - 1) * %(people)s + k, 'made_lead', a.id,
                   'Made lead officer: ' || a.reference || ' ' || a.title,
                   'you are the new lead officer for this action', '',
                   '/t/' || t.slug || '/actions/' || a.id::text || '/',
                   'bench:' || a.id::text || ':' || ((t.id - 1) * %(people)s + k)::text,
                   true, %(now)s - interval '3 hours'
            FROM tenants_tenant t
            CROSS JOIN generate_series(1, 2) AS k
            JOIN plans_action a ON a.id = (t.id - 1) * %(actions)s + k
            """,
            p,
        )
        for table in (
            "tenants_tenant",
            "tenants_user",
            "tenants_partner",
            "auth_group",
            "tenants_signoffbody",
            "plans_actionplan",
            "plans_action",
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
    with connection.cursor() as cursor:
        # As autovacuum would have left a long-lived database: statistics and visibility maps.
        cursor.execute("VACUUM ANALYZE")


def describe_data(today: datetime.date) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM tenants_tenant),
              (SELECT count(*) FROM tenants_tenant WHERE nation = 'england'),
              (SELECT count(*) FROM tenants_tenant WHERE nation = 'wales'),
              (SELECT count(*) FROM tenants_tenant WHERE nation = 'scotland'),
              (SELECT count(*) FROM tenants_tenant WHERE nation = 'northern_ireland'),
              (SELECT count(*) FROM notifications_escalationpolicy),
              (SELECT count(*) FROM notifications_channelsettings
               WHERE channel = 'notify' AND chosen),
              (SELECT count(*) FROM tenants_user),
              (SELECT count(*) FROM tenants_membership),
              (SELECT count(*) FROM tenants_partner),
              (SELECT count(*) FROM tenants_signoffbody),
              (SELECT count(*) FROM tenants_signoffbodymember),
              (SELECT count(*) FROM plans_actionplan),
              (SELECT count(*) FROM plans_action),
              (SELECT count(*) FROM workflow_approval),
              (SELECT count(*) FROM notifications_notification WHERE awaiting_digest)
            """
        )
        names = [
            "tenants",
            "england",
            "wales",
            "scotland",
            "northern_ireland",
            "policies",
            "notify_tenants",
            "users",
            "memberships",
            "partners",
            "bodies",
            "body_members",
            "plans",
            "actions",
            "approvals",
            "awaiting_digest",
        ]
        facts = dict(zip(names, cursor.fetchone(), strict=True))
        # Depths in working days of each tenant's nation, the way the sweep counts them.
        cursor.execute(
            """
            SELECT
              count(*) FILTER (WHERE live AND a.due_date <= d1.before_today
                                       AND a.due_date > d10.before_today),
              count(*) FILTER (WHERE live AND a.due_date <= d10.before_today
                                       AND a.due_date > d20.before_today),
              count(*) FILTER (WHERE live AND a.due_date <= d20.before_today),
              count(*) FILTER (WHERE live AND a.due_date > d1.before_today
                                       AND a.due_date <= d5.after_today),
              count(*) FILTER (WHERE a.state = 'evidenced'
                  AND (a.state_changed_at AT TIME ZONE 'Europe/London')::date
                      <= d10.before_today),
              count(*) FILTER (WHERE a.state = 'evidenced'),
              count(*) FILTER (WHERE a.state = 'signed_off'),
              count(*) FILTER (WHERE live AND a.due_date > d5.after_today)
            FROM (SELECT *, state IN ('agreed', 'in_progress') AS live FROM plans_action) a
            JOIN tenants_tenant t ON t.id = a.tenant_id
            JOIN bench_days d1 ON d1.nation = t.nation AND d1.n = 1
            JOIN bench_days d5 ON d5.nation = t.nation AND d5.n = 5
            JOIN bench_days d10 ON d10.nation = t.nation AND d10.n = 10
            JOIN bench_days d20 ON d20.nation = t.nation AND d20.n = 20
            """
        )
        names = [
            "overdue_1_9",
            "overdue_10_19",
            "overdue_20_plus",
            "due_within_5",
            "waiting_10_plus",
            "evidenced",
            "signed_off",
            "due_later",
        ]
        facts.update(zip(names, cursor.fetchone(), strict=True))
    return facts


# --- Part 1: the sweep --------------------------------------------------------------------------


@dataclass
class SweepRun:
    seconds: float
    log: StatementLog
    sent: list[str]
    commit_seconds: float
    steps: int
    notifications: int
    messages: int
    sweep_id: int
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0

    @property
    def python_seconds(self) -> float:
        return self.seconds - self.log.seconds - self.commit_seconds

    @property
    def statements(self) -> int:
        return len(self.sent)

    @property
    def memory_mib(self) -> float:
        """How far the process's resident memory rose above where it was before the sweep."""
        return self.rss_peak_mib - self.rss_before_mib

    def split(self) -> str:
        return f"{self.log.seconds:.2f} / {self.commit_seconds:.2f} / {self.python_seconds:.2f}"


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


class MemoryPeak:
    """The highest resident set size of this process while inside, read from /proc every
    10 ms by a thread (the sweep's Python releases the interpreter lock often enough, and
    waiting on the database releases it entirely)."""

    def __enter__(self):
        self.before = rss_mib()
        self.peak = self.before
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self):
        while not self.done.wait(0.01):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss_mib())


def sweep_timed(today: datetime.date) -> SweepRun:
    """One sweep, its statements, and its COMMIT timed apart: the foreign keys are deferred,
    so the commit is where PostgreSQL checks them for every row the sweep wrote. Statements
    are counted at the driver (tests/querycount.py), so the COPY and the tenant setting count
    too; their times come from Django's execute wrapper, which sees neither."""
    from django.db import connections

    from notifications.escalations import escalation_sweep
    from tests.querycount import statements_sent

    wrapper = connections["default"]
    commit = wrapper._commit
    commits: list[float] = []

    def commit_timed():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            commits.append(time.perf_counter() - started)

    log = StatementLog()
    with (
        mock.patch.object(wrapper, "_commit", commit_timed),
        wrapper.execute_wrapper(log),
        statements_sent() as sent,
        MemoryPeak() as memory,
    ):
        started = time.perf_counter()
        sweep = escalation_sweep(today=today)
        seconds = time.perf_counter() - started
    return SweepRun(
        seconds,
        log,
        sent,
        sum(commits),
        sweep.steps_created,
        sweep.notifications_created,
        sweep.messages_created,
        sweep.pk,
        memory.before,
        memory.peak,
    )


def next_working_day(today: datetime.date) -> datetime.date:
    """The first day after ``today`` that is a working day in every nation."""
    from tenants.models import Tenant
    from tenants.working_days import is_working_day

    day = today + datetime.timedelta(days=1)
    while not all(is_working_day(nation, day) for nation in Tenant.Nation.values):
        day += datetime.timedelta(days=1)
    return day


def digest_facts(sweep_id: int) -> dict[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE m.tenant_id IS NULL),
                   count(*) FILTER (WHERE m.channel = 'notify'),
                   coalesce(avg(length(m.body_text) + length(m.body_html)), 0),
                   coalesce(max(length(m.body_text) + length(m.body_html)), 0),
                   coalesce(max(items.n), 0)
            FROM notifications_message m
            LEFT JOIN (SELECT message_id, count(*) AS n FROM notifications_notification
                       GROUP BY message_id) items ON items.message_id = m.id
            WHERE m.key LIKE %s
            """,
            [f"digest:{sweep_id}:%"],
        )
        names = ["digests", "multi_tenant", "notify", "avg_bytes", "max_bytes", "max_items"]
        return dict(zip(names, cursor.fetchone(), strict=True))


FLOOR_TABLE = "bench_floor_steps"


def floor_prepare() -> None:
    """A scratch table shaped like the escalation steps, with nothing else on it (no policy,
    index, trigger or foreign key): what COPY writes there costs only the writing."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {FLOOR_TABLE} ("
            " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " tenant_id bigint NOT NULL, action_id bigint NOT NULL, level varchar(20) NOT NULL,"
            " counted_from date NOT NULL, cycle integer NOT NULL, sweep_id bigint NOT NULL,"
            " created_at timestamptz NOT NULL)"
        )


def floor_timed(day: datetime.date) -> tuple[float, int]:
    """The floor of a sweep of ``day``: in one transaction on the cross-tenant path, as the
    sweep runs, a plain SELECT of the actions overdue that day and a COPY of as many rows into
    the scratch table. Seconds (COMMIT included) and the number of rows."""
    from django.db import connection, transaction
    from django.utils import timezone

    from tenants.scoping import across_tenants
    from tenants.working_days import latest_date_at_least_n_working_days_before

    cutoff = latest_date_at_least_n_working_days_before("england", day, 1)
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), across_tenants(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, tenant_id, due_date FROM plans_action"
            " WHERE state IN ('agreed', 'in_progress') AND due_date <= %s",
            [cutoff],
        )
        rows = cursor.fetchall()
        columns = "tenant_id, action_id, level, counted_from, cycle, sweep_id, created_at"
        with cursor.cursor.copy(f"COPY {FLOOR_TABLE} ({columns}) FROM STDIN") as copy:
            for action_id, tenant_id, due_date in rows:
                copy.write_row((tenant_id, action_id, "overdue", due_date, 0, 0, now))
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {FLOOR_TABLE}")
    return seconds, len(rows)


def told_by_level(sweep_id: int) -> str:
    """How many people each level of a sweep told: the monitoring-body level must reach some."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.level, count(n.id), count(DISTINCT n.recipient_id)
            FROM notifications_escalationstep s
            LEFT JOIN notifications_notification n ON n.step_id = s.id
            WHERE s.sweep_id = %s
            GROUP BY s.level ORDER BY s.level
            """,
            [sweep_id],
        )
        return "; ".join(
            f"{level} {told} ({people} people)" for level, told, people in cursor.fetchall()
        )


SWEEP_TABLES = (
    "notifications_notification",
    "notifications_message",
    "notifications_escalationstep",
    "notifications_sweep",
)


class Owner:
    """A connection of its own as the database's owner, past row-level security: to take a
    sweep back so the same day can be swept again, and to look at what the sweep touched."""

    def __init__(self, settings_dict: dict):
        import psycopg

        self.connection = psycopg.connect(
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
            user=settings_dict["USER"] or None,
            password=settings_dict["PASSWORD"] or None,
            dbname=settings_dict["NAME"],
            autocommit=True,
        )

    def marks(self) -> dict[str, int]:
        return {
            table: self.connection.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[
                0
            ]
            for table in SWEEP_TABLES
        }

    def undo(self, marks: dict[str, int]) -> None:
        """Delete what sweeps wrote since ``marks`` (in the order of the foreign keys)."""
        with self.connection.transaction():
            for table in SWEEP_TABLES:
                self.connection.execute(f"DELETE FROM {table} WHERE id > %s", [marks[table]])

    def analyze(self) -> None:
        """What autovacuum would have done overnight after the backlog: fresh statistics of
        the tables the sweep wrote."""
        self.connection.execute(f"ANALYZE {', '.join(SWEEP_TABLES)}")

    def history_rows(self) -> int:
        """Rows in every history table (tenants/history): the chain's triggers fire on their
        inserts."""
        from django.apps import apps

        from tenants.history import HistoryRecord

        tables = [
            m._meta.db_table
            for m in apps.get_models()
            if issubclass(m, HistoryRecord) and not m._meta.proxy
        ]
        return sum(
            self.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in tables
        )

    def triggers_on_sweep_tables(self) -> str:
        rows = self.connection.execute(
            """
            SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relname = ANY(%s) ORDER BY 1, 2
            """,
            [list(SWEEP_TABLES)],
        ).fetchall()
        return ", ".join(f"{table}.{name}" for table, name in rows) or "none"

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def as_application_role():
    """Connect as the application's role for the duration, as the service does: no superuser,
    no BYPASSRLS, so every statement passes the policies (tenants/row_security.py). The role
    is made as scripts/bench_rls.py makes it; the owner's credentials come back afterwards."""
    from django.conf import settings
    from django.db import connection
    from psycopg import sql

    from tenants.postgresql.roles import CREDENTIALS, application_role_grant

    owner = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    role = f"{connection.settings_dict['NAME']}_app"[:63]
    application_role_grant(role=role, password=(password := secrets.token_urlsafe()))
    connection.close()
    saved_owner = getattr(settings, "DATABASE_OWNER", None)
    settings.DATABASE_OWNER = owner
    connection.settings_dict.update(USER=role, PASSWORD=password)
    try:
        yield role
    finally:
        connection.close()
        connection.settings_dict.update(owner)
        settings.DATABASE_OWNER = saved_owner
        with connection.cursor() as cursor:
            # Its privileges go with the database; the role itself is the cluster's.
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)).as_string())
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)).as_string())


def goal(measure: str, floor: str, here: str, ratio: float, target: str, met: bool) -> dict:
    return {
        "measure": measure,
        "floor": floor,
        "here": here,
        "ratio": round(ratio, 3),
        "goal": target,
        "met": met,
    }


STATEMENTS_GOAL = 15
DAILY_RATIO_GOAL = 3.0
BACKLOG_MEMORY_GOAL_MIB = 300


def part1(args: argparse.Namespace, summary: list[tuple[str, str]], goals: list[dict]) -> None:
    from django.conf import settings
    from django.urls import reverse

    from notifications import services
    from tenants.models import Tenant
    from tenants.working_days import is_working_day

    today = args.today
    not_working = [n for n in Tenant.Nation.values if not is_working_day(n, today)]
    if not_working:
        sys.exit(f"--today {today} is not a working day in: {', '.join(not_working)}")

    say(f"## Part 1: the escalation sweep (today = {today:%A %d %B %Y}); {load()}")
    started = time.perf_counter()
    build(tenants=args.tenants, actions=args.actions, today=today)
    built = time.perf_counter() - started
    facts = describe_data(today)
    say(
        f"built in {built:.1f} s (set-based SQL, then VACUUM ANALYZE): {facts['tenants']} "
        f"tenants (england {facts['england']}, wales {facts['wales']}, scotland "
        f"{facts['scotland']}, northern_ireland {facts['northern_ireland']}; "
        f"{facts['policies']} with their own policy, {facts['notify_tenants']} on Notify)"
    )
    say(
        f"  {facts['users']} users, {facts['memberships']} memberships, {facts['partners']} "
        f"partners, {facts['bodies']} sign-off bodies ({facts['body_members']} members), "
        f"{facts['plans']} plans, {facts['approvals']} approvals, "
        f"{facts['awaiting_digest']} event notifications awaiting a digest"
    )
    say(
        f"  {facts['actions']} actions; agreed/in progress overdue by 1-9 working days: "
        f"{facts['overdue_1_9']}, 10-19: {facts['overdue_10_19']}, 20+: "
        f"{facts['overdue_20_plus']}; due within 5 working days: {facts['due_within_5']}; "
        f"due later: {facts['due_later']}"
    )
    say(
        f"  evidenced: {facts['evidenced']} ({facts['waiting_10_plus']} waiting 10+ working "
        f"days); signed off: {facts['signed_off']}; the rest proposed or withdrawn"
    )
    total_overdue = facts["overdue_1_9"] + facts["overdue_10_19"] + facts["overdue_20_plus"]
    summary.append(("tenants x actions", f"{args.tenants} x {args.actions} = {facts['actions']}"))
    summary.append(
        ("overdue actions (share)", f"{total_overdue} ({total_overdue / facts['actions']:.1%})")
    )

    # Loaded once before timing, as in a long-running worker.
    reverse("action", kwargs={"tenant_slug": "bench-0001", "pk": 1})

    queued: list[int] = []

    def outbox_queue_recorded(message_ids):
        queued.extend(message_ids)
        return 0

    say(
        "delivery tasks: notifications.services.outbox_queue is replaced by a recorder for "
        "part 1 (nothing reaches the broker); CELERY_TASK_ALWAYS_EAGER is off"
    )
    owner = Owner(settings.DATABASES["default"])
    tomorrow = next_working_day(today)
    history_before = owner.history_rows()
    try:
        with (
            as_application_role() as role,
            mock.patch.object(services, "outbox_queue", outbox_queue_recorded),
        ):
            say(f"sweeping as the application's role {role}, under row-level security")
            # The backlog: every action already past a threshold reaches it at once.
            first = sweep_timed(today)
            # The kernel's high-water mark, to check the sampled peak against.
            high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            first_queued = len(queued)
            second = sweep_timed(today)
            # The daily sweep: the next working day records only what crossed a threshold
            # overnight. It is taken back by the owner and run again, in turn with its floor,
            # so both meet the same noise from the rest of the machine.
            owner.analyze()
            floor_prepare()
            marks = owner.marks()
            dailies, floors = [], []
            for _ in range(args.repeats):
                floors.append(floor_timed(tomorrow))
                dailies.append(sweep_timed(tomorrow))
                if len(dailies) < args.repeats:
                    owner.undo(marks)
        history_after = owner.history_rows()
        triggers = owner.triggers_on_sweep_tables()
    finally:
        owner.close()
    digests = digest_facts(first.sweep_id)
    daily = sorted(dailies, key=lambda run: run.seconds)[len(dailies) // 2]
    floor_seconds = statistics.median(seconds for seconds, _ in floors)
    floor_rows = floors[0][1]

    for label, run in (
        ("backlog sweep (the first)", first),
        ("second sweep of the same day", second),
        (f"daily sweep, the next working day {tomorrow} (median of {len(dailies)})", daily),
    ):
        say(
            f"{label}: {run.seconds:.2f} s, {run.statements} statements; seconds in statements "
            f"/ COMMIT / Python: {run.split()}; created {run.steps} steps, "
            f"{run.notifications} notifications, {run.messages} messages; memory +"
            f"{run.memory_mib:.0f} MiB (peak RSS {run.rss_peak_mib:.0f} MiB)"
        )
    say(
        f"  the process's high-water mark (getrusage) after the backlog sweep: {high_water:.0f} "
        f"MiB; sampled peak during it: {first.rss_peak_mib:.0f} MiB"
    )
    say(f"  daily sweeps: {', '.join(f'{run.seconds:.2f}' for run in dailies)} s")
    say(f"  message ids handed to outbox_queue on commit: {first_queued} (recorded, not sent)")
    say(
        f"  digests: {digests['digests']} ({digests['multi_tenant']} spanning tenants, "
        f"{digests['notify']} for Notify); largest {digests['max_items']} items, "
        f"{digests['max_bytes'] / 1024:.0f} KiB; average {digests['avg_bytes'] / 1024:.1f} KiB"
    )
    say(f"  notifications of the first sweep by level: {told_by_level(first.sweep_id)}")
    say(f"  triggers on the tables the sweep writes: {triggers}")
    say(
        f"  rows added to the history tables (whose inserts fire the chain's triggers) by "
        f"every sweep above: {history_after - history_before}"
    )
    for label, run in (("backlog", first), ("daily", daily)):
        say(f"  statements of the {label} sweep, slowest first (COPY and the setting untimed):")
        for sql, seconds in run.log.slowest(len(run.log.statements)):
            say(f"    {seconds * 1000:9.1f} ms  {short_sql(sql)}")
        for sql in run.sent:
            if sql.startswith("COPY") or "set_config('app.tenant_id'" in sql:
                say(f"    {'':>9}     {short_sql(sql)}")

    ratio = daily.seconds / floor_seconds
    most_statements = max(run.statements for run in (first, second, *dailies))
    say(
        f"floor (median of {len(floors)}, in turn with the daily sweep): SELECT of the "
        f"{floor_rows} actions overdue on {tomorrow} + COPY of as many rows, one transaction, "
        f"as the application's role: {floor_seconds * 1000:.1f} ms"
    )
    say(f"daily sweep / floor = {ratio:.1f} (goal <= {DAILY_RATIO_GOAL:g})")
    say(f"most statements in any sweep: {most_statements} (goal <= {STATEMENTS_GOAL})")
    say(
        f"backlog sweep memory: +{first.memory_mib:.0f} MiB over the {first.rss_before_mib:.0f} "
        f"MiB before it (goal < {BACKLOG_MEMORY_GOAL_MIB})"
    )
    say()

    floor_text = (
        f"SELECT of {floor_rows} overdue rows + COPY of as many: {floor_seconds * 1000:.0f} ms"
    )
    goals += [
        goal(
            "daily sweep vs floor",
            floor_text,
            f"{daily.seconds * 1000:.0f} ms ({daily.steps} steps, {daily.notifications} "
            f"notifications, {daily.messages} digests)",
            ratio,
            f"<= {DAILY_RATIO_GOAL:g}",
            ratio <= DAILY_RATIO_GOAL,
        ),
        goal(
            "sweep statements",
            "",
            f"{most_statements} (backlog {first.statements}, daily {daily.statements})",
            float(most_statements),
            f"<= {STATEMENTS_GOAL}",
            most_statements <= STATEMENTS_GOAL,
        ),
        goal(
            "backlog sweep peak memory MB",
            f"resident set before the sweep: {first.rss_before_mib:.0f} MiB",
            f"+{first.memory_mib:.0f} MiB ({first.steps} steps, {first.notifications} "
            f"notifications, {first.messages} digests)",
            first.memory_mib,
            f"< {BACKLOG_MEMORY_GOAL_MIB}",
            first.memory_mib < BACKLOG_MEMORY_GOAL_MIB,
        ),
    ]
    summary += [
        ("backlog sweep: seconds", f"{first.seconds:.2f}"),
        ("backlog sweep: statements", f"{first.statements}"),
        ("backlog sweep: seconds in statements / COMMIT / Python", first.split()),
        (
            "backlog sweep: steps / notifications / messages created",
            f"{first.steps} / {first.notifications} / {first.messages}",
        ),
        ("backlog sweep: memory (peak RSS rise)", f"{first.memory_mib:.0f} MiB"),
        ("second sweep: seconds", f"{second.seconds:.2f}"),
        ("second sweep: statements", f"{second.statements}"),
        (
            "second sweep: steps / notifications / messages created",
            f"{second.steps} / {second.notifications} / {second.messages}",
        ),
        (f"daily sweep ({tomorrow}): seconds (median)", f"{daily.seconds:.3f}"),
        ("daily sweep: statements", f"{daily.statements}"),
        ("daily sweep: seconds in statements / COMMIT / Python", daily.split()),
        (
            "daily sweep: steps / notifications / messages created",
            f"{daily.steps} / {daily.notifications} / {daily.messages}",
        ),
        (f"floor: SELECT + COPY of {floor_rows} rows (median)", f"{floor_seconds * 1000:.1f} ms"),
        ("daily sweep / floor", f"{ratio:.1f}"),
    ]


# --- Main ---------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    configure_environment()

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command

    summary: list[tuple[str, str]] = []
    goals: list[dict] = []
    say(
        f"database {masked(os.environ['DATABASE_URL'])}; "
        f"DEBUG={settings.DEBUG}; {os.cpu_count()} CPUs; {load()}"
    )
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.keep:
            stack.callback(
                lambda: say(f"kept the database {settings.DATABASES['default']['NAME']}")
            )
        else:
            stack.callback(database_drop)
        database_create()
        migrate_started = time.perf_counter()
        call_command("migrate", verbosity=0)
        say(
            f"created and migrated {settings.DATABASES['default']['NAME']} in "
            f"{time.perf_counter() - migrate_started:.1f} s"
        )
        say()
        part1(args, summary, goals)

    say(f"## Summary ({load()})")
    say()
    say("| measure | value |")
    say("| --- | --- |")
    for measure, value in summary:
        say(f"| {measure} | {value} |")
    say()
    say("| goal | floor | here | ratio | goal | met |")
    say("| --- | --- | --- | --- | --- | --- |")
    for row in goals:
        say(
            f"| {row['measure']} | {row['floor']} | {row['here']} | {row['ratio']:g} | "
            f"{row['goal']} | {'yes' if row['met'] else 'no'} |"
        )
    if args.summary:
        with args.summary.open("a") as file:
            for row in goals:
                file.write(json.dumps(row) + "\n")
        say(f"goals appended to {args.summary}")
    say()
    say(
        f"total {time.perf_counter() - started:.0f} s; "
        + ("database kept" if args.keep else "database dropped")
    )
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    say("reproduce:")
    say(
        f"  DATABASE_URL={masked(os.environ['DATABASE_URL'])} "
        f"{python} scripts/bench_escalations.py "
        f"--tenants {args.tenants} --actions {args.actions} --today {args.today}"
    )


if __name__ == "__main__":
    main()
