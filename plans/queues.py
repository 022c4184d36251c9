"""What needs each person now: the reads behind the role home pages.

Each queue is a fixed handful of queries whatever the number of actions: what an action needs
next is worked out from annotations (latest progress, evidence, the last step and its reason)
rather than by loading its history, and long queues are cut to ``QUEUE_LIMIT`` rows with the
full count, linking to the plan page's filters for the rest.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.utils import timezone

from plans.models import (
    Action,
    ActionPlan,
    ActionPlanGroupObjectPermission,
    ActionUserObjectPermission,
    Evidence,
    ProgressUpdate,
    QuarantinedEvidence,
    Rag,
    rag_for,
)
from plans.workflows import delivered_by_each
from tenants.models import Membership, SignOffBodyMember, Tenant, User
from tenants.working_days import working_days_between
from workflow.models import Approval, TransitionLog

QUEUE_LIMIT = 50
# What every queue's rows show of an action; each queue adds what it needs besides. Rows load
# only these: fifty full actions with their plans and people cost more to build than to query.
SHOWN = ("reference", "title", "due_date", "state", "plan__title")
# Councils report progress to their boards monthly: an open action with no update for longer
# than this has nothing recent to report.
PROGRESS_DUE_AFTER_DAYS = 28
# The steps after which an in-progress action is back with its officer for a reason.
RETURNING_STEPS = ("send_back", "reopen")


@dataclass
class OfficerItem:
    action: Action
    rag: str | None
    overdue: bool
    needs: list[str]
    returned_reason: str = ""


@dataclass
class Queue:
    """Rows to show now, and how many there are in all."""

    items: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass
class SignOffItem:
    action: Action
    waiting_working_days: int
    approvals: int
    quorum: int
    approved_by_me: bool
    # This person's part in delivering the action ("you are its lead officer"), if any: the
    # four-eyes rule leaves its sign-off to others.
    delivered_by_me: str


@dataclass
class PlanSummary:
    plan: ActionPlan
    total: int = 0
    rag_counts: dict[str, int] = field(default_factory=dict)
    state_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ManagerQueues:
    to_agree: Queue
    overdue: Queue
    incomplete: Queue
    returned: Queue
    partner_name: str | None  # set when the manager's queues are their agency's actions only


def _last_step(tenant: Tenant) -> QuerySet[TransitionLog]:
    return TransitionLog.objects.filter(
        tenant_id=tenant.pk,
        content_type=ContentType.objects.get_for_model(Action),
        object_id=OuterRef("pk"),
    ).order_by("-at", "-pk")


def _with_last_step(actions: QuerySet[Action], tenant: Tenant) -> QuerySet[Action]:
    last_step = _last_step(tenant)
    return actions.annotate(
        last_step=Subquery(last_step.values("transition")[:1]),
        last_step_comment=Subquery(last_step.values("comment")[:1]),
    )


def _annotated(actions: QuerySet[Action], tenant: Tenant) -> QuerySet[Action]:
    """Actions with what their next step depends on, as columns rather than loaded rows."""
    return _with_last_step(actions, tenant).annotate(
        latest_progress_at=Subquery(
            ProgressUpdate.objects.filter(tenant_id=tenant.pk, action=OuterRef("pk"))
            .order_by("-created_at", "-pk")
            .values("created_at")[:1]
        ),
        has_evidence=Exists(Evidence.objects.filter(tenant_id=tenant.pk, action=OuterRef("pk"))),
        has_evidence_waiting=Exists(
            QuarantinedEvidence.objects.filter(tenant_id=tenant.pk, action=OuterRef("pk"))
        ),
    )


def _open_first_by_due_date(actions: QuerySet[Action], today: datetime.date):
    # Overdue first, then soonest due; actions with no due date last.
    overdue = ExpressionWrapper(Q(due_date__lt=today), output_field=BooleanField())
    return actions.order_by(
        overdue.desc(nulls_last=True),
        "due_date",
        "plan_id",
        "reference",
    )


def officer_needs(action: Action, *, today: datetime.date) -> tuple[list[str], str]:
    """What the officer must do next for ``action``, and the return reason if it came back.

    ``action`` carries the annotations of ``_annotated``.
    """
    state = action.state
    if state == Action.State.PROPOSED:
        return ["Nothing yet: waiting for a manager to agree it"], ""
    if state == Action.State.AGREED:
        return ["Start work"], ""
    if state == Action.State.EVIDENCED:
        body = action.sign_off_body.name if action.sign_off_body else "the sign-off body"
        return [f"Nothing: waiting for sign-off by {body}"], ""
    needs = []
    returned = action.last_step in RETURNING_STEPS
    if returned:
        needs.append("Resubmit after the return")
    latest = action.latest_progress_at
    if latest is None or (today - latest.date()).days > PROGRESS_DUE_AFTER_DAYS:
        needs.append("A progress update")
    if not action.has_evidence:
        needs.append("Evidence")
    if action.has_evidence_waiting:
        needs.append("Wait for the virus check of uploaded files")
    if not action.completion_statement.strip():
        needs.append("A completion statement")
    if (
        action.has_evidence
        and not action.has_evidence_waiting
        and action.completion_statement.strip()
        and not returned
    ):
        needs.append("Submit for sign-off")
    return needs, (action.last_step_comment or "") if returned else ""


def officer_queue(*, tenant: Tenant, user: User, today: datetime.date) -> Queue:
    """Open actions the person leads or delivers as a delegate, overdue first, then by due date."""
    delegated = ActionUserObjectPermission.objects.filter(
        tenant_id=tenant.pk,
        content_object=OuterRef("pk"),
        user=user,
        permission__codename="deliver_action",
    )
    actions = _open_first_by_due_date(
        _annotated(
            Action.objects.filter(tenant=tenant, state__in=Action.OPEN_STATES)
            .filter(Q(lead_officer=user) | Exists(delegated))
            .select_related("plan", "sign_off_body")
            .only(*SHOWN, "completion_statement", "sign_off_body__name"),
            tenant,
        ),
        today,
    )
    queue = _queue(actions)
    items = []
    for action in queue.items:
        needs, reason = officer_needs(action, today=today)
        rag = rag_for(state=action.state, due_date=action.due_date, today=today)
        items.append(OfficerItem(action, rag, rag == Rag.RED, needs, reason))
    return Queue(items, queue.total)


def _queue(actions: QuerySet[Action]) -> Queue:
    # The window counts every matching row before the limit applies: the total comes with the
    # first rows in one query, however long the queue.
    items = list(actions.annotate(queue_total=Window(Count("pk")))[:QUEUE_LIMIT])
    return Queue(items, items[0].queue_total if items else 0)


def manager_queues(
    *, tenant: Tenant, membership: Membership, today: datetime.date
) -> ManagerQueues:
    """A manager's work: actions to agree, overdue, missing a lead officer or due date, returned.

    A manager who works for one partner agency sees that agency's actions; a manager without
    one, and a tenant administrator, see the whole tenant's.
    """
    actions = Action.objects.filter(tenant=tenant)
    partner_name = None
    if membership.role == Membership.Role.MANAGER and membership.partner_id is not None:
        actions = actions.filter(lead_partner_id=membership.partner_id)
        partner_name = membership.partner.name
    actions = _open_first_by_due_date(
        actions.select_related("plan", "lead_officer", "lead_partner").only(
            *SHOWN, "lead_officer__full_name", "lead_officer__email", "lead_partner__name"
        ),
        today,
    )
    delivering = (Action.State.AGREED, Action.State.IN_PROGRESS)
    return ManagerQueues(
        to_agree=_queue(actions.filter(state=Action.State.PROPOSED)),
        overdue=_queue(actions.filter(state__in=delivering, due_date__lt=today)),
        incomplete=_queue(
            actions.filter(
                Q(lead_officer__isnull=True) | Q(due_date__isnull=True),
                state__in=(Action.State.PROPOSED, *delivering),
            )
        ),
        returned=_queue(
            _with_last_step(actions, tenant).filter(
                state=Action.State.IN_PROGRESS, last_step__in=RETURNING_STEPS
            )
        ),
        partner_name=partner_name,
    )


def _authorised(codename: str, body_field: str, plan_field: str):
    # The plan must authorise the body for the step, as the workflow's own rule requires.
    return Exists(
        ActionPlanGroupObjectPermission.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            content_object_id=OuterRef(plan_field),
            group__sign_off_bodies=OuterRef(body_field),
            permission__codename=codename,
        )
    )


def sign_off_queue(*, tenant: Tenant, user: User, today: datetime.date) -> Queue:
    """Evidenced actions waiting for a body the person sits on, longest waiting first, with the
    quorum so far and whether this person has approved."""
    body_ids = SignOffBodyMember.objects.filter(tenant=tenant, user=user).values("body_id")
    waiting = _queue(
        Action.objects.filter(
            tenant=tenant, state=Action.State.EVIDENCED, sign_off_body_id__in=body_ids
        )
        .filter(_authorised("sign_off_actions", "sign_off_body_id", "plan_id"))
        .select_related("plan", "sign_off_body")
        .only(
            *SHOWN,
            "tenant_id",
            "state_changes",
            "state_changed_at",
            "lead_officer_id",
            "evidence_submitted_by_id",
            "completion_statement_by_id",
            "sign_off_body__name",
            "sign_off_body__quorum",
        )
        .order_by("state_changed_at", "pk")
    )
    approvals: dict[int, list[Approval]] = defaultdict(list)
    for approval in Approval.objects.filter(
        tenant=tenant,
        content_type=ContentType.objects.get_for_model(Action),
        object_id__in=[a.pk for a in waiting.items],
        transition="sign_off",
    ).only("object_id", "cycle", "approver_id"):
        approvals[approval.object_id].append(approval)
    delivered = delivered_by_each(waiting.items)
    items = []
    for action in waiting.items:
        # Approvals count for the present visit to the evidenced state only, and not at all
        # from whoever delivered the action.
        current = [
            a
            for a in approvals[action.pk]
            if a.cycle == action.state_changes and a.approver_id not in delivered[action.pk]
        ]
        # Days are counted as the council sees them: evidence submitted at 00:30 on a summer
        # Friday (23:30 UTC on Thursday) has waited no working days on that Friday.
        waited_from = timezone.localtime(action.state_changed_at).date()
        items.append(
            SignOffItem(
                action=action,
                waiting_working_days=max(
                    working_days_between(tenant.nation, waited_from, today), 0
                ),
                approvals=len(current),
                quorum=action.sign_off_body.quorum,
                approved_by_me=any(a.approver_id == user.pk for a in current),
                delivered_by_me=delivered[action.pk].get(user.pk, ""),
            )
        )
    return Queue(items, waiting.total)


def plans_awaiting_endorsement(*, tenant: Tenant, user: User) -> list[ActionPlan]:
    body_ids = SignOffBodyMember.objects.filter(tenant=tenant, user=user).values("body_id")
    return list(
        ActionPlan.objects.filter(
            tenant=tenant, state=ActionPlan.State.SUBMITTED, owner_body_id__in=body_ids
        )
        .filter(_authorised("endorse_plan", "owner_body_id", "pk"))
        .select_related("owner_body", "submitted_by")
        .order_by("state_changed_at", "pk")
    )


def sits_on_a_body(*, tenant: Tenant, user: User) -> bool:
    return SignOffBodyMember.objects.filter(tenant=tenant, user=user).exists()


def plan_summaries(*, tenant: Tenant, today: datetime.date) -> list[PlanSummary]:
    """Every plan with its actions counted by schedule RAG and by state: two queries."""
    summaries = {
        plan.pk: PlanSummary(plan)
        for plan in ActionPlan.objects.filter(tenant=tenant)
        .only("title", "state")
        .order_by("-created_at")
    }
    rags: dict[int, Counter] = defaultdict(Counter)
    states: dict[int, Counter] = defaultdict(Counter)
    for plan_id, state, due_date in Action.objects.filter(tenant=tenant).values_list(
        "plan_id", "state", "due_date"
    ):
        rag = rag_for(state=state, due_date=due_date, today=today)
        if rag:
            rags[plan_id][rag] += 1
        states[plan_id][state] += 1
    for plan_id, summary in summaries.items():
        summary.total = sum(states[plan_id].values())
        summary.rag_counts = {rag.value: rags[plan_id].get(rag.value, 0) for rag in Rag}
        summary.state_counts = {s.value: states[plan_id].get(s.value, 0) for s in Action.State}
    return list(summaries.values())
