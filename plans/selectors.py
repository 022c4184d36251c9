"""Tenant-scoped reads for plans and actions. Query counts here do not grow with row counts."""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from plans.models import (
    Action,
    ActionChange,
    ActionPlan,
    ActionRecommendation,
    ActionUserObjectPermission,
    Evidence,
    Framework,
    ProgressUpdate,
    Rag,
    Recommendation,
    Theme,
    schedule_rag,
)
from tenants.models import Tenant, User
from workflow.selectors import TimelineEntry, newest_first, workflow_timeline


def frameworks_visible(*, tenant: Tenant) -> QuerySet[Framework]:
    """National frameworks and the tenant's own."""
    return Framework.objects.filter(Q(tenant__isnull=True) | Q(tenant=tenant))


def plans_of_tenant(*, tenant: Tenant) -> QuerySet[ActionPlan]:
    return ActionPlan.objects.filter(tenant=tenant).select_related(
        "framework", "owner_body", "owner"
    )


def _latest_progress() -> Prefetch:
    return Prefetch(
        "progress_updates",
        queryset=ProgressUpdate.objects.select_related("author").order_by("-created_at", "-pk"),
        to_attr="progress_newest_first",
    )


def actions_with_details(*, tenant: Tenant) -> QuerySet[Action]:
    return (
        Action.objects.filter(tenant=tenant)
        .select_related("plan", "lead_officer", "lead_partner", "sign_off_body")
        .prefetch_related(_latest_progress())
    )


@dataclass
class ActionRow:
    action: Action
    rag: str | None
    latest_progress: ProgressUpdate | None


@dataclass
class RecommendationGroup:
    recommendation: Recommendation | None
    rows: list[ActionRow] = field(default_factory=list)


@dataclass
class ThemeGroup:
    theme: Theme | None
    recommendations: list[RecommendationGroup] = field(default_factory=list)


@dataclass
class PlanOverview:
    plan: ActionPlan
    themes: list[ThemeGroup]
    rag_counts: dict[str, int]
    state_counts: dict[str, int]
    total: int


def plan_overview(*, plan: ActionPlan, today: datetime.date) -> PlanOverview:
    """The plan as the committee appendix lays it out: theme, recommendation, then actions.

    An action answering several recommendations appears under each; actions answering none are
    grouped at the end. Four queries whatever the plan's size.
    """
    actions = list(actions_with_details(tenant=plan.tenant).filter(plan=plan))
    links = ActionRecommendation.objects.filter(
        tenant_id=plan.tenant_id, action__plan=plan
    ).values_list("action_id", "recommendation_id")
    recommendations = {
        r.pk: r
        for r in Recommendation.objects.filter(framework_id=plan.framework_id).select_related(
            "theme"
        )
    }

    rows = {}
    for action in actions:
        progress = action.progress_newest_first
        rows[action.pk] = ActionRow(
            action, schedule_rag(action, today=today), progress[0] if progress else None
        )

    by_recommendation: dict[int | None, list[ActionRow]] = defaultdict(list)
    answered = set()
    for action_id, recommendation_id in links:
        if action_id in rows:
            by_recommendation[recommendation_id].append(rows[action_id])
            answered.add(action_id)
    unlinked = [row for pk, row in rows.items() if pk not in answered]

    themes: dict[int, ThemeGroup] = {}
    for recommendation in sorted(recommendations.values(), key=lambda r: r.number):
        group_rows = by_recommendation.get(recommendation.pk)
        if not group_rows:
            continue
        theme_group = themes.setdefault(recommendation.theme_id, ThemeGroup(recommendation.theme))
        theme_group.recommendations.append(
            RecommendationGroup(
                recommendation, sorted(group_rows, key=lambda r: _reference_key(r.action))
            )
        )
    ordered = sorted(themes.values(), key=lambda g: g.theme.position)
    if unlinked:
        ordered.append(
            ThemeGroup(
                None,
                [
                    RecommendationGroup(
                        None, sorted(unlinked, key=lambda r: _reference_key(r.action))
                    )
                ],
            )
        )

    rag_counts = Counter(row.rag for row in rows.values() if row.rag)
    state_counts = Counter(row.action.state for row in rows.values())
    return PlanOverview(
        plan=plan,
        themes=ordered,
        rag_counts={rag.value: rag_counts.get(rag.value, 0) for rag in Rag},
        state_counts={state.value: state_counts.get(state.value, 0) for state in Action.State},
        total=len(rows),
    )


def _reference_key(action: Action) -> tuple:
    # "3.10" sorts after "3.9": compare the numeric parts as numbers.
    parts = []
    for part in action.reference.replace("-", ".").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


def actions_of_user(*, tenant: Tenant, user: User) -> QuerySet[Action]:
    """Actions the person leads or delivers as a delegate, open ones first by due date."""
    delegated = ActionUserObjectPermission.objects.filter(
        tenant_id=tenant.pk,
        content_object=OuterRef("pk"),
        user=user,
        permission__codename="deliver_action",
    )
    return (
        actions_with_details(tenant=tenant)
        .filter(Q(lead_officer=user) | Exists(delegated))
        .order_by("due_date", "plan_id", "reference")
    )


def action_rows(actions, *, today: datetime.date) -> list[ActionRow]:
    rows = []
    for action in actions:
        progress = action.progress_newest_first
        rows.append(
            ActionRow(action, schedule_rag(action, today=today), progress[0] if progress else None)
        )
    return rows


def action_detail(*, tenant: Tenant, pk: int) -> Action:
    return (
        Action.objects.filter(tenant=tenant)
        .select_related(
            "plan",
            "plan__framework",
            "lead_officer",
            "lead_partner",
            "sign_off_body",
            "evidence_submitted_by",
        )
        .prefetch_related(
            _latest_progress(),
            Prefetch("evidence", queryset=Evidence.objects.select_related("uploaded_by")),
        )
        .get(pk=pk)
    )


def action_delegates(*, action: Action) -> list[User]:
    return list(
        User.objects.filter(
            actionuserobjectpermission__content_object=action,
            actionuserobjectpermission__permission__codename="deliver_action",
        ).order_by("full_name")
    )


def action_timeline(*, action: Action) -> list[TimelineEntry]:
    """Everything that happened to an action, newest first: workflow steps and approvals,
    progress updates, evidence added, and changes to its details, completion statement and
    delegates.

    ``action`` comes from ``action_detail``, whose prefetched progress and evidence are used;
    three more queries (state changes, approvals, other changes) whatever the history's length.
    """
    entries = workflow_timeline(obj=action)
    for update in action.progress_newest_first:
        entries.append(
            TimelineEntry(
                at=update.created_at,
                kind="progress",
                title="Progress update",
                actor=update.author,
                text=update.text,
                detail=update,
            )
        )
    for item in action.evidence.all():
        entries.append(
            TimelineEntry(
                at=item.uploaded_at,
                kind="evidence",
                title="Evidence added",
                actor=item.uploaded_by,
                text=item.description,
                detail=item,
            )
        )
    for change in ActionChange.objects.filter(
        tenant_id=action.tenant_id, action=action
    ).select_related("actor"):
        entries.append(
            TimelineEntry(
                at=change.at, kind="change", title=change.summary, actor=change.actor, detail=change
            )
        )
    return newest_first(entries)
