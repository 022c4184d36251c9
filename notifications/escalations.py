"""The escalation sweep: across every tenant, find the actions that have reached a level of
their escalation chain, record each step once, and write one digest per person.

The number of queries does not depend on the number of actions: each level is one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING``, the recipients are read in a handful
of queries, and the notifications and messages are bulk inserts. Working days are turned into
plain cut-off dates per nation and threshold beforehand, so the database only compares dates.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
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
from plans.models import Action, ActionPlanGroupObjectPermission
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


@dataclass(frozen=True)
class TenantFacts:
    pk: int
    name: str
    slug: str
    nation: str
    policy: EscalationPolicy
    channel: str


def _tenants() -> dict[int, TenantFacts]:
    policies = {p.tenant_id: p for p in EscalationPolicy.objects.all()}
    facts = {}
    # A deactivated tenant's pages answer 404, so its people are not sent links to them.
    # Each tenant's chosen channel in the same statement: no channel chosen is the default.
    chosen_channel = ChannelSettings.objects.filter(tenant_id=OuterRef("pk"), chosen=True)
    active = Tenant.objects.filter(is_active=True).annotate(
        channel=Subquery(chosen_channel.values("channel")[:1])
    )
    for pk, name, slug, nation, chosen in active.values_list(
        "pk", "name", "slug", "nation", "channel"
    ):
        policy = policies.get(pk, DEFAULT_POLICY)
        channel = chosen or channels.DEFAULT
        facts[pk] = TenantFacts(pk, name, slug, nation, policy, channel)
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


def _insert_steps(sweep: Sweep, level: str, where: str, params: list, *, waiting: bool) -> list:
    step = EscalationStep._meta.db_table
    action = Action._meta.db_table
    if waiting:
        counted_from, cycle = _local_date_sql("a.state_changed_at"), "a.state_changes"
    else:
        counted_from, cycle = "a.due_date", "0"
    sql = f"""
        INSERT INTO {step} (tenant_id, action_id, level, counted_from, cycle, sweep_id, created_at)
        SELECT a.tenant_id, a.id, %s, {counted_from}, {cycle}, %s, %s
        FROM {action} a
        WHERE ({where})
        ON CONFLICT DO NOTHING
        RETURNING id, tenant_id, action_id, level
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [level, sweep.pk, _db_datetime(sweep.started_at), *params])
        return cursor.fetchall()


def _record_steps(sweep: Sweep, tenants: dict[int, TenantFacts], today: datetime.date) -> list:
    """Insert every step reached today; returns the new ones (already-recorded steps conflict
    with the unique constraint and are not returned)."""
    new = []
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
            where, params = _where_groups(conditions)
            new += _insert_steps(
                sweep, level, where, params, waiting=level == Level.SIGN_OFF_WAITING
            )
    return new


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
            monitoring_body_id=F("plan__monitoring_body_id"),
            endorsing_body_id=F("plan__owner_body_id"),
        )
    }
    partner_ids = {a["lead_partner_id"] for a in actions.values() if a["lead_partner_id"]}
    partners = {
        pk: (name, contact_id)
        for pk, name, contact_id in Partner.objects.filter(pk__in=partner_ids).values_list(
            "pk", "name", "contact_id"
        )
    }
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
        result[step_id] = {"action": action, "told": told}
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


def _action_link_pattern(slug: str) -> str:
    # Reversed once per tenant rather than once per notification.
    return reverse("action", kwargs={"tenant_slug": slug, "pk": 1234567890}).replace(
        "1234567890", "{pk}"
    )


NEW_NOTIFICATION_COLUMNS = (
    "tenant_id",
    "recipient_id",
    "kind",
    "action_id",
    "step_id",
    "title",
    "reason",
    "link",
    "key",
    "message_id",
)
NEW_NOTIFICATION_TYPES = (
    "bigint",
    "bigint",
    "text",
    "bigint",
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "bigint",
)


def _insert_notifications(rows: list[tuple], created_at: datetime.datetime) -> None:
    """Insert the sweep's notifications in one statement."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            Notification(
                created_at=created_at, **dict(zip(NEW_NOTIFICATION_COLUMNS, row, strict=True))
            )
            for row in rows
        )
        return
    # One INSERT of parallel arrays: the ORM's per-field preparation of every value costs more
    # than the database's work at this size.
    arrays = ", ".join(f"%s::{kind}[]" for kind in NEW_NOTIFICATION_TYPES)
    sql = f"""
        INSERT INTO {Notification._meta.db_table}
            ({", ".join(NEW_NOTIFICATION_COLUMNS)}, detail, awaiting_digest, created_at)
        SELECT *, '', false, %s FROM unnest({arrays})
    """
    with connection.cursor() as cursor:
        columns = [list(column) for column in zip(*rows, strict=True)]
        cursor.execute(sql, [created_at, *columns])


def escalation_sweep(*, today: datetime.date | None = None) -> Sweep:
    """Run the sweep for ``today`` (the local date by default). Safe to run again, or on two
    workers at once: steps already recorded are not recorded, told or sent again."""
    today = today or timezone.localdate()
    with transaction.atomic(), across_tenants():
        if connection.vendor == "postgresql":
            # Serialises sweeps: the second waits, then finds every step already recorded.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SWEEP_LOCK])
        sweep = Sweep.objects.create(today=today)
        tenants = _tenants()
        new_steps = _record_steps(sweep, tenants, today)
        told = _recipients(new_steps) if new_steps else {}

        links = {pk: _action_link_pattern(facts.slug) for pk, facts in tenants.items()}
        notifications: list[NewNotification] = []
        for step_id, tenant_id, action_id, level in new_steps:
            action = told[step_id]["action"]
            title = escalation_title(
                level, f"{action['reference']} {action['title']}".strip(), action["due_date"]
            )[:300]
            link = links[tenant_id].format(pk=action_id)
            for user_id, reason in told[step_id]["told"].items():
                notifications.append(
                    NewNotification(
                        tenant_id,
                        user_id,
                        level,
                        action_id,
                        step_id,
                        title,
                        reason[:300],
                        link,
                        f"step:{step_id}:{user_id}",
                    )
                )

        # Events of people who chose a daily e-mail join the same digest.
        waiting = list(
            Notification.objects.filter(awaiting_digest=True, tenant_id__in=list(tenants))
        )
        for notification in waiting:
            notification.awaiting_digest = False

        digests: dict[tuple[int, str, int | None], list] = defaultdict(list)
        for notification in [*notifications, *waiting]:
            facts = tenants[notification.tenant_id]
            # A tenant sending through its own service (GOV.UK Notify, with its own key) sends
            # its items in a digest of their own.
            own = facts.pk if channels.channel_for(facts.channel).own_service else None
            digests[(notification.recipient_id, facts.channel, own)].append(notification)

        messages = []
        message_of: dict[tuple[int, str], Message] = {}
        for (user_id, channel, own), items in digests.items():
            tenant_ids = {n.tenant_id for n in items}
            subject, text, html = digest_email(
                [item_of(n, tenants[n.tenant_id].name) for n in items], today
            )
            message = Message(
                recipient_id=user_id,
                tenant_id=tenant_ids.pop() if len(tenant_ids) == 1 else None,
                kind=Message.Kind.DIGEST,
                channel=channel,
                subject=subject[:250],
                body_text=text,
                body_html=html,
                key=f"digest:{sweep.pk}:{user_id}:{channel}:{own or 0}",
            )
            messages.append(message)
            for notification in items:
                message_of[(notification.tenant_id, notification.key)] = message
        Message.objects.bulk_create(messages)
        _insert_notifications(
            [(*n, message_of[(n.tenant_id, n.key)].pk) for n in notifications],
            created_at=sweep.started_at,
        )
        for notification in waiting:
            notification.message_id = message_of[(notification.tenant_id, notification.key)].pk
        if waiting:
            Notification.objects.bulk_update(waiting, ["awaiting_digest", "message"])

        sweep.finished_at = timezone.now()
        sweep.steps_created = len(new_steps)
        sweep.notifications_created = len(notifications)
        sweep.messages_created = len(messages)
        sweep.save(
            update_fields=[
                "finished_at",
                "steps_created",
                "notifications_created",
                "messages_created",
            ]
        )
        outbox_queue_on_commit([m.pk for m in messages])
    return sweep
