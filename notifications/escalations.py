"""The escalation sweep: across every tenant, find the actions that have reached a level of
their escalation chain, record each step once, and write one digest per person.

The number of statements does not depend on the number of tenants, actions or people: every
level is recorded by one ``INSERT ... SELECT``, the recipients are read in a handful of queries,
and the digests and notifications are written at the end. On PostgreSQL they are streamed by
COPY into a temporary table while they are rendered (row-level security refuses COPY into the
tables themselves) and moved into place by one statement, so a backlog of hundreds of thousands
of notifications is never held in memory at once; elsewhere (SQLite, the demo) they are bulk
inserts. Working days are turned into plain cut-off dates per nation and threshold beforehand,
so the database only compares dates.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from notifications import channels
from notifications.content import digest_email, escalation_title, item_of
from notifications.models import (
    ChannelSettings,
    EscalationPolicy,
    EscalationStep,
    Level,
    Message,
    Notification,
    Sweep,
)
from notifications.services import outbox_queue_on_commit
from plans.models import Action, ActionPlan, ActionPlanGroupObjectPermission
from tenants.models import Partner, SignOffBody, SignOffBodyMember, Tenant
from tenants.scoping import across_tenants
from tenants.working_days import (
    latest_date_at_least_n_working_days_before,
    latest_date_at_most_n_working_days_after,
)
from workflow.models import Approval

# Any constant shared by every process that sweeps: two sweeps at once queue behind it.
SWEEP_LOCK = 7_301_2009

DELIVERING = (Action.State.AGREED, Action.State.IN_PROGRESS)
DUE_DATE_LEVELS = (Level.REMINDER, Level.OVERDUE, Level.MANAGERS, Level.CHAIR)
DEFAULT_POLICY = EscalationPolicy()
# What the sweep reads of a tenant's policy: its thresholds.
POLICY_FIELDS = (
    "reminder_days_before",
    "overdue_days",
    "managers_days",
    "chair_days",
    "sign_off_waiting_days",
)


@dataclass(frozen=True)
class TenantFacts:
    pk: int
    name: str
    slug: str
    nation: str
    policy: EscalationPolicy
    channel: str


def _tenants() -> dict[int, TenantFacts]:
    """Every active tenant with its policy and its chosen channel, in one query: a tenant
    without a policy row uses the defaults, one that chose no channel the default channel. A
    deactivated tenant's pages answer 404, so its people are not sent links to them."""
    tenant = Tenant._meta.db_table
    policy = EscalationPolicy._meta.db_table
    chosen = ChannelSettings._meta.db_table
    sql = f"""
        SELECT t.id, t.name, t.slug, t.nation, c.channel, p.id,
               {", ".join(f"p.{f}" for f in POLICY_FIELDS)}
        FROM {tenant} t
        LEFT JOIN {policy} p ON p.tenant_id = t.id
        LEFT JOIN {chosen} c ON c.tenant_id = t.id AND c.chosen
        WHERE t.is_active
    """
    facts = {}
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for pk, name, slug, nation, channel, policy_id, *days in cursor.fetchall():
            policy = (
                EscalationPolicy(**dict(zip(POLICY_FIELDS, days, strict=True)))
                if policy_id is not None
                else DEFAULT_POLICY
            )
            facts[pk] = TenantFacts(pk, name, slug, nation, policy, channel or channels.DEFAULT)
    return facts


def _groups(tenants: dict[int, TenantFacts], level: str) -> dict[tuple[str, int], list[int]]:
    """Tenants sharing a nation and a threshold share a cut-off date: one condition each."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for facts in tenants.values():
        groups[(facts.nation, facts.policy.days_for(level))].append(facts.pk)
    return groups


def _where_groups(conditions: list[tuple[list[int], str, list]]) -> tuple[str, list]:
    parts, params = [], []
    for tenant_ids, condition, condition_params in conditions:
        parts.append(f"(a.tenant_id IN ({', '.join(['%s'] * len(tenant_ids))}) AND {condition})")
        params += [*tenant_ids, *condition_params]
    return " OR ".join(parts), params


def _local_date_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE 'Europe/London')::date"
    # SQLite (the demo) has no time zones: the UTC date, which differs only for evidence
    # submitted in the first hour of a summer day. It is a label; ``cycle`` makes the key.
    return f"date({column})"


def _db_datetime(value: datetime.datetime):
    # Raw SQL skips the ORM's conversion: SQLite stores naive UTC text and would otherwise
    # compare it, as text, with a London-time string.
    return connection.ops.adapt_datetimefield_value(value)


def _reached_sql(level: str, where: str) -> str:
    """The actions at ``level`` today, as rows of the steps to record."""
    if level == Level.SIGN_OFF_WAITING:
        counted_from, cycle = _local_date_sql("a.state_changed_at"), "a.state_changes"
    else:
        counted_from, cycle = "a.due_date", "0"
    return f"""
        SELECT a.tenant_id, a.id AS action_id, CAST(%s AS varchar(20)) AS level,
               {counted_from} AS counted_from, {cycle} AS cycle
        FROM {Action._meta.db_table} a
        WHERE ({where})
    """


def _insert_steps(sweep: Sweep, levels: list[tuple[str, str, list]]) -> list:
    """Record every level in one statement. Steps already recorded are taken out first with
    EXCEPT, which reads the recorded steps once whatever the planner believes of their number
    (skipped with NOT EXISTS, a first sweep planned while the table looked empty rescans the
    steps it is writing once for each row: minutes). The unique constraint still settles a race
    with a sweep on another connection."""
    step = EscalationStep._meta.db_table
    reached = " UNION ALL ".join(_reached_sql(level, where) for level, where, _ in levels)
    params = [value for level, _, where_params in levels for value in (level, *where_params)]
    # Recorded in the order of the chain, as separate sweeps would have recorded them.
    chain_order = " ".join(f"WHEN %s THEN {rank}" for rank, _ in enumerate(levels))
    sql = f"""
        INSERT INTO {step} (tenant_id, action_id, level, counted_from, cycle, sweep_id, created_at)
        SELECT r.tenant_id, r.action_id, r.level, r.counted_from, r.cycle, %s, %s
        FROM (
            {reached}
            EXCEPT
            SELECT tenant_id, action_id, level, counted_from, cycle FROM {step}
        ) r
        WHERE true
        ORDER BY CASE r.level {chain_order} END, r.action_id
        ON CONFLICT DO NOTHING
        RETURNING id, tenant_id, action_id, level
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                sweep.pk,
                _db_datetime(sweep.started_at),
                *params,
                *(level for level, _, _ in levels),
            ],
        )
        return cursor.fetchall()


def _record_steps(sweep: Sweep, tenants: dict[int, TenantFacts], today: datetime.date) -> list:
    """Insert every step reached today; returns the new ones (already-recorded steps are
    neither inserted nor returned)."""
    levels = []
    for level in (
        Level.REMINDER,
        Level.OVERDUE,
        Level.MANAGERS,
        Level.CHAIR,
        Level.SIGN_OFF_WAITING,
    ):
        conditions = []
        for (nation, days), tenant_ids in _groups(tenants, level).items():
            if level == Level.REMINDER:
                not_overdue_after = latest_date_at_least_n_working_days_before(nation, today, 1)
                due_by = latest_date_at_most_n_working_days_after(nation, today, days)
                conditions.append(
                    (
                        tenant_ids,
                        "a.state IN (%s, %s) AND a.due_date > %s AND a.due_date <= %s",
                        [*DELIVERING, not_overdue_after, due_by],
                    )
                )
            elif level == Level.SIGN_OFF_WAITING:
                # Evidence submitted on or before this date has waited ``days`` working days.
                cutoff = latest_date_at_least_n_working_days_before(nation, today, days)
                before = timezone.make_aware(
                    datetime.datetime.combine(cutoff + datetime.timedelta(days=1), datetime.time())
                )
                conditions.append(
                    (
                        tenant_ids,
                        "a.state = %s AND a.state_changed_at < %s",
                        [Action.State.EVIDENCED, _db_datetime(before)],
                    )
                )
            else:
                cutoff = latest_date_at_least_n_working_days_before(nation, today, days)
                conditions.append(
                    (tenant_ids, "a.state IN (%s, %s) AND a.due_date <= %s", [*DELIVERING, cutoff])
                )
        if conditions:
            levels.append((level, *_where_groups(conditions)))
    return _insert_steps(sweep, levels) if levels else []


def _looked_up(model, key: str, column: str) -> Subquery:
    """A column of the row ``key`` refers to, looked up by its primary key for each action.
    Not a join: on the cross-tenant path the planner takes the policies' filter to leave a
    handful of plans and partners, and joins the actions to them in nested loops that read
    every action of every plan (seconds, for a daily sweep's few thousand actions)."""
    return Subquery(model.objects.filter(pk=OuterRef(key)).values(column)[:1])


def _recipients(new_steps: list) -> dict[int, dict]:
    """For each new step: who is told, and why. A handful of queries whatever the count.

    Each level goes to the people answerable for the action in its own plan, never to bodies
    the plan has nothing to do with:

    - ten working days overdue (the managers level): the members of the body watching the
      plan, and of the lead partner's own agency committees;
    - twenty working days overdue (the chair level): the chair of the action's sign-off body,
      while the plan still lets that body sign off its actions, and the chair of the body
      watching the plan;
    - evidence waiting: the sign-off body's members, while the plan still lets it sign off.

    The body watching a plan is its monitoring body. A plan without one is watched by the body
    that endorses it: a plan nobody has yet given a monitoring body still has its long-overdue
    actions chased, by the body that answers for the plan as a whole, rather than by nobody.
    """
    action_ids = {action_id for _, _, action_id, _ in new_steps}
    actions = {
        row["pk"]: row
        for row in Action.objects.filter(pk__in=action_ids)
        .annotate(
            # The plan's grant is read as the workflow reads it (plans.workflows.signs_off): a
            # body whose right to sign off was taken away is not asked to sign off.
            sign_off_authorised=Exists(
                ActionPlanGroupObjectPermission.objects.filter(
                    tenant_id=OuterRef("tenant_id"),
                    content_object_id=OuterRef("plan_id"),
                    group__sign_off_bodies=OuterRef("sign_off_body_id"),
                    permission__codename="sign_off_actions",
                )
            )
        )
        .values(
            "pk",
            "tenant_id",
            "reference",
            "title",
            "due_date",
            "state_changes",
            "lead_officer_id",
            "lead_partner_id",
            "sign_off_body_id",
            "sign_off_authorised",
            "evidence_submitted_by_id",
            monitoring_body_id=_looked_up(ActionPlan, "plan_id", "monitoring_body_id"),
            endorsing_body_id=_looked_up(ActionPlan, "plan_id", "owner_body_id"),
            lead_partner_name=_looked_up(Partner, "lead_partner_id", "name"),
            lead_partner_contact_id=_looked_up(Partner, "lead_partner_id", "contact_id"),
        )
        .order_by()
    }
    partners = {
        a["lead_partner_id"]: (a["lead_partner_name"], a["lead_partner_contact_id"])
        for a in actions.values()
        if a["lead_partner_id"]
    }
    partner_ids = set(partners)
    body_ids = {
        body_id
        for a in actions.values()
        for body_id in (a["sign_off_body_id"], a["monitoring_body_id"], a["endorsing_body_id"])
        if body_id
    }
    bodies: dict[int, tuple[str, int | None]] = {}
    agency_committees: dict[int, list[int]] = defaultdict(list)
    # The bodies these actions name, and the agency committees of their lead partners only.
    for pk, name, chair_id, kind, partner_id in SignOffBody.objects.filter(
        Q(pk__in=body_ids) | Q(kind=SignOffBody.Kind.AGENCY_COMMITTEE, partner_id__in=partner_ids)
    ).values_list("pk", "name", "chair_id", "kind", "partner_id"):
        bodies[pk] = (name, chair_id)
        if kind == SignOffBody.Kind.AGENCY_COMMITTEE and partner_id in partner_ids:
            agency_committees[partner_id].append(pk)
    body_members: dict[int, list[int]] = defaultdict(list)
    if bodies:
        for body_id, user_id in SignOffBodyMember.objects.filter(
            body_id__in=list(bodies)
        ).values_list("body_id", "user_id"):
            body_members[body_id].append(user_id)
    waiting_ids = [a for _, _, a, level in new_steps if level == Level.SIGN_OFF_WAITING]
    approved: set[tuple[int, int, int]] = (
        set(
            Approval.objects.filter(
                content_type__app_label="plans",
                content_type__model="action",
                object_id__in=waiting_ids,
                transition="sign_off",
            ).values_list("object_id", "cycle", "approver_id")
        )
        if waiting_ids
        else set()
    )

    result: dict[int, dict] = {}
    said: dict[str, str] = {}
    for step_id, _, action_id, level in new_steps:
        action = actions[action_id]
        told: dict[int, str] = {}
        watching_id, watching_reason = _watching_body(action, bodies)
        signing_id = (
            action["sign_off_body_id"]
            if action["sign_off_authorised"] and action["sign_off_body_id"] in bodies
            else None
        )
        if level in (Level.REMINDER, Level.OVERDUE) and action["lead_officer_id"]:
            told[action["lead_officer_id"]] = "you are the lead officer for this action"
        if level == Level.OVERDUE and action["lead_partner_id"] in partners:
            name, contact_id = partners[action["lead_partner_id"]]
            if contact_id and contact_id not in told:
                told[contact_id] = f"you are the named contact at {name}, which leads this action"
        if level == Level.MANAGERS:
            if watching_id:
                name, _ = bodies[watching_id]
                for user_id in body_members.get(watching_id, []):
                    told.setdefault(user_id, f"you sit on the {name}, which {watching_reason}")
            if action["lead_partner_id"] in partners:
                partner_name, _ = partners[action["lead_partner_id"]]
                for committee_id in agency_committees.get(action["lead_partner_id"], []):
                    name, _ = bodies[committee_id]
                    for user_id in body_members.get(committee_id, []):
                        told.setdefault(
                            user_id, f"you sit on the {name}, and {partner_name} leads this action"
                        )
        if level == Level.CHAIR:
            if signing_id:
                name, chair_id = bodies[signing_id]
                if chair_id:
                    told[chair_id] = f"you chair the {name}, which signs off this action"
            if watching_id:
                name, chair_id = bodies[watching_id]
                if chair_id:
                    told.setdefault(chair_id, f"you chair the {name}, which {watching_reason}")
        if level == Level.SIGN_OFF_WAITING and signing_id:
            name, _ = bodies[signing_id]
            for user_id in body_members.get(signing_id, []):
                # Four eyes: whoever submitted the evidence cannot approve it, so is not chased.
                if user_id == action["evidence_submitted_by_id"]:
                    continue
                if (action_id, action["state_changes"], user_id) in approved:
                    continue
                told[user_id] = f"you sit on the {name} and have not yet approved the evidence"
        # The same few reasons recur across a backlog's steps: kept once each.
        result[step_id] = {
            "action": action,
            "told": {user_id: said.setdefault(why, why[:300]) for user_id, why in told.items()},
        }
    return result


def _watching_body(action: dict, bodies: dict) -> tuple[int | None, str]:
    """The body watching the action's plan, and why it is that body (see ``_recipients``)."""
    if action["monitoring_body_id"] in bodies:
        return action["monitoring_body_id"], "monitors this plan"
    if action["endorsing_body_id"] in bodies:
        return action["endorsing_body_id"], "endorses this plan, which has no monitoring body"
    return None, ""


class NewNotification(NamedTuple):
    """A notification the sweep is about to write: plain values, not a model instance, because
    a backlog sweep writes hundreds of thousands of them."""

    tenant_id: int
    recipient_id: int
    kind: str
    action_id: int
    step_id: int
    title: str
    reason: str
    link: str
    key: str


class WaitingNotification(NamedTuple):
    """An event notification already written, waiting for its recipient's next digest."""

    id: int
    tenant_id: int
    recipient_id: int
    kind: str
    title: str
    reason: str
    link: str
    key: str


class Reached(NamedTuple):
    """A new step, as its notifications need it: who is told, and why."""

    tenant_id: int
    action_id: int
    level: str
    title: str
    told: dict[int, str]


def _action_link_pattern(slug: str) -> str:
    # Reversed once per tenant rather than once per notification.
    return reverse("action", kwargs={"tenant_slug": slug, "pk": 1234567890}).replace(
        "1234567890", "{pk}"
    )


def _waiting(tenants: dict[int, TenantFacts]) -> list[WaitingNotification]:
    """Events of people who chose a daily e-mail: they join the same digest."""
    return [
        WaitingNotification(*row)
        for row in Notification.objects.filter(
            awaiting_digest=True, tenant_id__in=list(tenants)
        ).values_list("pk", "tenant_id", "recipient_id", "kind", "title", "reason", "link", "key")
    ]


DigestKey = tuple[int, str, int | None]  # recipient, channel, the tenant if its own service


def _digests(
    reached: dict[int, Reached], waiting: list[WaitingNotification], tenants
) -> dict[DigestKey, list]:
    """Each digest's items, as references: (step id, recipient) for a new notification, the
    waiting notification itself for an event. The notifications are made as each digest is
    written, so a backlog's are never all in memory at once."""
    digests: dict[DigestKey, list] = defaultdict(list)

    def key_of(tenant_id: int, user_id: int) -> DigestKey:
        facts = tenants[tenant_id]
        # A tenant sending through its own service (GOV.UK Notify, with its own key) sends its
        # items in a digest of their own.
        own = facts.pk if channels.channel_for(facts.channel).own_service else None
        return (user_id, facts.channel, own)

    for step_id, step in reached.items():
        for user_id in step.told:
            digests[key_of(step.tenant_id, user_id)].append((step_id, user_id))
    for notification in waiting:
        digests[key_of(notification.tenant_id, notification.recipient_id)].append(notification)
    return digests


class SweepWrites(Protocol):
    """Where a sweep's digests and notifications go: each digest is handed over with its items
    as soon as it is rendered, then ``finish`` writes the sweep's own row and returns the ids
    of the messages to send."""

    def __enter__(self) -> SweepWrites: ...

    def __exit__(self, *failure) -> None: ...

    def digest(self, message: Message, new: list[NewNotification], waiting: list) -> None: ...

    def finish(self, sweep: Sweep) -> list[int]: ...


class CopyWrites:
    """PostgreSQL: every row streamed by COPY into a temporary table as it is made, then one
    statement inserts the messages, the notifications (joined to their message by its key),
    takes the waiting events off the waiting list and inserts the sweep's row. The sweep's id
    was taken from its sequence beforehand, so its steps could refer to it: the foreign key is
    checked at commit."""

    COLUMNS = (
        ("part", "char(1)"),
        ("message_key", "text"),
        ("notification_id", "bigint"),
        ("tenant_id", "bigint"),
        ("recipient_id", "bigint"),
        ("kind", "text"),
        ("channel", "text"),
        ("subject", "text"),
        ("body_text", "text"),
        ("body_html", "text"),
        ("action_id", "bigint"),
        ("step_id", "bigint"),
        ("title", "text"),
        ("reason", "text"),
        ("link", "text"),
        ("key", "text"),
    )

    def __init__(self, sweep: Sweep):
        self.table = f"sweep_{sweep.pk}_rows"
        self.cursor = self.copying = self.copy = None

    def __enter__(self):
        return self

    def __exit__(self, *failure) -> None:
        # A failure while copying ends the COPY with it, so the transaction can roll back.
        if self.copying is not None:
            self.copying.__exit__(*failure)
        if self.cursor is not None:
            self.cursor.close()

    def _open(self):
        columns = ", ".join(f"{name} {kind}" for name, kind in self.COLUMNS)
        self.cursor = connection.cursor()
        self.cursor.execute(f"CREATE TEMPORARY TABLE {self.table} ({columns}) ON COMMIT DROP")
        names = ", ".join(name for name, _ in self.COLUMNS)
        self.copying = self.cursor.cursor.copy(f"COPY {self.table} ({names}) FROM STDIN")
        self.copy = self.copying.__enter__()

    def _write(self, **values) -> None:
        if self.copy is None:
            self._open()
        self.copy.write_row([values.get(name) for name, _ in self.COLUMNS])

    def digest(self, message: Message, new: list[NewNotification], waiting: list) -> None:
        self._write(
            part="m",
            message_key=message.key,
            tenant_id=message.tenant_id,
            recipient_id=message.recipient_id,
            kind=message.kind,
            channel=message.channel,
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
        )
        for n in new:
            self._write(part="n", message_key=message.key, **n._asdict())
        for n in waiting:
            self._write(part="w", message_key=message.key, notification_id=n.id)

    def finish(self, sweep: Sweep) -> list[int]:
        parts, params = [], []
        if self.copy is not None:
            self.copying.__exit__(None, None, None)
            self.copying = None
            rows = self.table
            message_columns, message_values, message_params = _insert_columns(
                Message,
                {
                    "recipient_id": "r.recipient_id",
                    "tenant_id": "r.tenant_id",
                    "kind": "r.kind",
                    "channel": "r.channel",
                    "subject": "r.subject",
                    "body_text": "r.body_text",
                    "body_html": "r.body_html",
                    "key": "r.message_key",
                },
            )
            told_columns, told_values, told_params = _insert_columns(
                Notification,
                {
                    "tenant_id": "r.tenant_id",
                    "recipient_id": "r.recipient_id",
                    "kind": "r.kind",
                    "action_id": "r.action_id",
                    "step_id": "r.step_id",
                    "title": "r.title",
                    "reason": "r.reason",
                    "link": "r.link",
                    "key": "r.key",
                    "message_id": "written.id",
                },
                created_at=sweep.started_at,
            )
            parts += [
                f"""written AS (
                    INSERT INTO {Message._meta.db_table} ({message_columns})
                    SELECT {message_values} FROM {rows} r WHERE r.part = 'm'
                    RETURNING id, key
                )""",
                f"""told AS (
                    INSERT INTO {Notification._meta.db_table} ({told_columns})
                    SELECT {told_values}
                    FROM {rows} r JOIN written ON written.key = r.message_key
                    WHERE r.part = 'n'
                )""",
                f"""taken AS (
                    UPDATE {Notification._meta.db_table} n
                    SET awaiting_digest = false, message_id = written.id
                    FROM {rows} r JOIN written ON written.key = r.message_key
                    WHERE r.part = 'w' AND n.id = r.notification_id
                )""",
            ]
            params += [*message_params, *told_params]
        sweep_columns = ", ".join(f.column for f in Sweep._meta.concrete_fields if f.column != "id")
        sweep_values = [
            f.get_db_prep_save(getattr(sweep, f.attname), connection)
            for f in Sweep._meta.concrete_fields
            if f.column != "id"
        ]
        placeholders = ", ".join(["%s"] * len(sweep_values))
        parts.append(
            f"""swept AS (
                INSERT INTO {Sweep._meta.db_table} (id, {sweep_columns})
                VALUES (%s, {placeholders})
            )"""
        )
        params += [sweep.pk, *sweep_values]
        result = "SELECT id FROM written" if self.copy is not None else "SELECT 1 WHERE false"
        with connection.cursor() as cursor:
            if self.copy is not None:
                # The triggers refusing references to another tenant's rows (tenants/
                # row_security.py) check every notification's message, step and action in one
                # anti-join each. Planned from statistics taken while those tables were small
                # (the first sweep, or the morning after a quiet week), they pick a nested
                # loop over what they take for a handful of rows and compare each of hundreds
                # of thousands of notifications with every message: minutes instead of a
                # second. Hash joins cost little more when the estimates are right.
                cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(f"WITH {', '.join(parts)} {result}", params)
            message_ids = [pk for (pk,) in cursor.fetchall()]
        sweep._state.adding, sweep._state.db = False, connection.alias
        return message_ids


def _insert_columns(model, given: dict[str, str], **values) -> tuple[str, str, list]:
    """The columns of an ``INSERT ... SELECT`` into ``model`` and what each takes: ``given``
    columns from the SQL expressions named, ``values`` as given, every other column its
    model default, so a field added later with a default needs nothing here."""
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in given:
            expressions.append(given[field.column])
            continue
        value = values[field.attname] if field.attname in values else field.get_default()
        expressions.append(f"CAST(%s AS {field.cast_db_type(connection)})")
        params.append(field.get_db_prep_save(value, connection))
    return ", ".join(columns), ", ".join(expressions), params


class BulkWrites:
    """Any other database (SQLite, the demo): the rows are kept and bulk-inserted at the end."""

    def __init__(self, sweep: Sweep):
        self.messages: list[Message] = []
        self.new: list[tuple[Message, NewNotification]] = []
        self.waiting: list[tuple[Message, WaitingNotification]] = []

    def __enter__(self):
        return self

    def __exit__(self, *failure) -> None:
        pass

    def digest(self, message: Message, new: list[NewNotification], waiting: list) -> None:
        self.messages.append(message)
        self.new += [(message, n) for n in new]
        self.waiting += [(message, n) for n in waiting]

    def finish(self, sweep: Sweep) -> list[int]:
        Message.objects.bulk_create(self.messages)
        Notification.objects.bulk_create(
            Notification(message_id=message.pk, created_at=sweep.started_at, **n._asdict())
            for message, n in self.new
        )
        if self.waiting:
            Notification.objects.bulk_update(
                [
                    Notification(pk=n.id, awaiting_digest=False, message_id=message.pk)
                    for message, n in self.waiting
                ],
                ["awaiting_digest", "message"],
            )
        sweep.save()
        return [m.pk for m in self.messages]


def _sweep_start(today: datetime.date) -> Sweep:
    """The sweep's row, once no other sweep is running. On PostgreSQL only its id is taken
    now (the row is written with everything else at the end); elsewhere it is saved."""
    if connection.vendor != "postgresql":
        return Sweep.objects.create(today=today)
    with connection.cursor() as cursor:
        # The lock serialises sweeps: the second waits, then finds every step already recorded.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s), nextval(pg_get_serial_sequence(%s, 'id'))",
            [SWEEP_LOCK, Sweep._meta.db_table],
        )
        _, pk = cursor.fetchone()
    return Sweep(pk=pk, today=today)


def escalation_sweep(*, today: datetime.date | None = None) -> Sweep:
    """Run the sweep for ``today`` (the local date by default). Safe to run again, or on two
    workers at once: steps already recorded are not recorded, told or sent again."""
    today = today or timezone.localdate()
    with transaction.atomic(), across_tenants():
        sweep = _sweep_start(today)
        tenants = _tenants()
        new_steps = _record_steps(sweep, tenants, today)
        reached = _reached(new_steps)
        waiting = _waiting(tenants)
        writes = CopyWrites(sweep) if connection.vendor == "postgresql" else BulkWrites(sweep)
        with writes:
            notifications, messages = _digests_write(
                writes, sweep, today, tenants, _digests(reached, waiting, tenants), reached
            )
            sweep.finished_at = timezone.now()
            sweep.steps_created = len(new_steps)
            sweep.notifications_created = notifications
            sweep.messages_created = messages
            outbox_queue_on_commit(writes.finish(sweep))
    return sweep


def _digests_write(
    writes: SweepWrites,
    sweep: Sweep,
    today: datetime.date,
    tenants: dict[int, TenantFacts],
    digests: dict[DigestKey, list],
    reached: dict[int, Reached],
) -> tuple[int, int]:
    """Render each digest and hand it to ``writes`` with its notifications, one at a time.
    Returns how many notifications and digests were written."""
    links = {pk: _action_link_pattern(facts.slug) for pk, facts in tenants.items()}
    notifications = 0
    for (user_id, channel, own), items in digests.items():
        new, events = [], []
        for item in items:
            if isinstance(item, WaitingNotification):
                events.append(item)
                continue
            step_id, told_id = item
            step = reached[step_id]
            new.append(
                NewNotification(
                    step.tenant_id,
                    told_id,
                    step.level,
                    step.action_id,
                    step_id,
                    step.title,
                    step.told[told_id],
                    links[step.tenant_id].format(pk=step.action_id),
                    f"step:{step_id}:{told_id}",
                )
            )
        tenant_ids = {n.tenant_id for n in new} | {n.tenant_id for n in events}
        subject, text, html = digest_email(
            [item_of(n, tenants[n.tenant_id].name) for n in [*new, *events]], today
        )
        writes.digest(
            Message(
                recipient_id=user_id,
                tenant_id=tenant_ids.pop() if len(tenant_ids) == 1 else None,
                kind=Message.Kind.DIGEST,
                channel=channel,
                subject=subject[:250],
                body_text=text,
                body_html=html,
                key=f"digest:{sweep.pk}:{user_id}:{channel}:{own or 0}",
            ),
            new,
            events,
        )
        notifications += len(new)
    return notifications, len(digests)


def _reached(new_steps: list) -> dict[int, Reached]:
    if not new_steps:
        return {}
    told = _recipients(new_steps)
    reached = {}
    for step_id, tenant_id, action_id, level in new_steps:
        action = told[step_id]["action"]
        title = escalation_title(
            level, f"{action['reference']} {action['title']}".strip(), action["due_date"]
        )[:300]
        reached[step_id] = Reached(tenant_id, action_id, level, title, told[step_id]["told"])
    return reached
