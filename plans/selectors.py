"""Tenant-scoped reads for plans and actions. Query counts here do not grow with row counts."""

import dataclasses
import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)

from plans.models import (
    Action,
    ActionAdoption,
    ActionPlan,
    ActionRecommendation,
    ActionUserObjectPermission,
    Evidence,
    Framework,
    ProgressUpdate,
    QuarantinedEvidence,
    Rag,
    Recommendation,
    Theme,
    rag_for,
    schedule_rag,
)
from tenants.models import AuditEntry, Tenant, User
from workflow.selectors import (
    TimelineEntry,
    newest_first,
    recorded_later_text,
    workflow_timeline,
)


def frameworks_visible(*, tenant: Tenant) -> QuerySet[Framework]:
    """National frameworks and the tenant's own."""
    return Framework.objects.filter(Q(tenant__isnull=True) | Q(tenant=tenant))


def frameworks_with_counts(*, tenant: Tenant) -> QuerySet[Framework]:
    """National frameworks and the tenant's own, theirs first, each with its counts."""
    return (
        frameworks_visible(tenant=tenant)
        .annotate(
            theme_count=Subquery(_count_of(Theme)),
            recommendation_count=Subquery(_count_of(Recommendation)),
        )
        .order_by(F("tenant").asc(nulls_last=True), "title")
    )


def _count_of(model) -> QuerySet:
    return (
        model.objects.filter(framework=OuterRef("pk"))
        .order_by()
        .values("framework")
        .annotate(count=Count("pk"))
        .values("count")
    )


def framework_themes(*, framework: Framework) -> list[Theme]:
    """The framework's themes in order, each with its recommendations in ``listed``."""
    return list(
        Theme.objects.filter(framework=framework).prefetch_related(
            Prefetch(
                "recommendations",
                queryset=Recommendation.objects.order_by("number"),
                to_attr="listed",
            )
        )
    )


def plans_of_tenant(*, tenant: Tenant) -> QuerySet[ActionPlan]:
    return ActionPlan.objects.filter(tenant=tenant).select_related(
        "framework", "owner_body", "monitoring_body", "partner", "owner"
    )


def _latest_progress() -> Prefetch:
    return Prefetch(
        "progress_updates",
        queryset=ProgressUpdate.objects.select_related("author").order_by("-created_at", "-pk"),
        to_attr="progress_newest_first",
    )


@dataclass(frozen=True)
class LatestProgress:
    rag: str
    text: str
    created_at: datetime.datetime


def with_latest_progress(actions: QuerySet[Action], tenant_id: int) -> QuerySet[Action]:
    """Each action's newest progress update as three columns, not every update as objects."""
    newest = ProgressUpdate.objects.filter(tenant_id=tenant_id, action=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    return actions.annotate(
        latest_progress_rag=Subquery(newest.values("rag")[:1]),
        latest_progress_text=Subquery(newest.values("text")[:1]),
        latest_progress_at=Subquery(newest.values("created_at")[:1]),
    )


def latest_progress_of(action: Action) -> LatestProgress | None:
    if action.latest_progress_at is None:
        return None
    return LatestProgress(
        action.latest_progress_rag, action.latest_progress_text, action.latest_progress_at
    )


def actions_with_details(*, tenant: Tenant) -> QuerySet[Action]:
    return with_latest_progress(
        Action.objects.filter(tenant=tenant).select_related(
            "plan", "lead_officer", "lead_partner", "sign_off_body"
        ),
        tenant.pk,
    )


@dataclass(frozen=True)
class AdoptedFrom:
    """Where an action in a partnership plan came from: an agency's plan and its number there."""

    plan_id: int
    plan_title: str
    reference: str
    at: datetime.datetime


@dataclass
class ActionRow:
    action: Action
    rag: str | None
    latest_progress: LatestProgress | None
    recommendation_numbers: list[int] = field(default_factory=list)
    adopted_from: AdoptedFrom | None = None


def with_adopted_from(actions: QuerySet[Action], tenant_id: int) -> QuerySet[Action]:
    """Where each action was adopted from, as columns of the same query. An action is adopted
    only out of an agency's plan, so its one adoption is what brought it into its plan."""
    adoption = ActionAdoption.objects.filter(tenant_id=tenant_id, action=OuterRef("pk")).order_by(
        "-at", "-pk"
    )
    return actions.annotate(
        adopted_from_plan_id=Subquery(adoption.values("from_plan_id")[:1]),
        adopted_from_plan_title=Subquery(adoption.values("from_plan__title")[:1]),
        adopted_from_reference=Subquery(adoption.values("from_reference")[:1]),
        adopted_at=Subquery(adoption.values("at")[:1]),
    )


def adopted_from_of(action: Action) -> AdoptedFrom | None:
    if action.adopted_from_plan_id is None:
        return None
    return AdoptedFrom(
        action.adopted_from_plan_id,
        action.adopted_from_plan_title,
        action.adopted_from_reference,
        action.adopted_at,
    )


@dataclass(frozen=True)
class PlanFilters:
    """What the plan page is narrowed to; every field empty means every action."""

    state: str = ""
    rag: str = ""
    lead_partner_id: int | None = None
    lead_officer_id: int | None = None
    overdue: bool = False
    text: str = ""

    @property
    def active(self) -> bool:
        return self != PlanFilters()


@dataclass
class ThemeCounts:
    theme: Theme | None
    total: int = 0
    rag_counts: dict[str, int] = field(default_factory=dict)
    state_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ThemeSection:
    theme: Theme | None
    rows: list[ActionRow]


@dataclass
class PlanActions:
    """One page of a plan's actions, grouped by theme, with counts for the whole plan."""

    counts: list[ThemeCounts]
    sections: list[ThemeSection]
    page: Page
    total: int  # actions in the plan
    matching: int  # actions the filters let through
    rag_counts: dict[str, int]
    state_counts: dict[str, int]


PLAN_PAGE_SIZE = 50


def _count_into(counts: ThemeCounts, state: str, rag: str | None) -> None:
    counts.total += 1
    counts.state_counts[state] = counts.state_counts.get(state, 0) + 1
    if rag:
        counts.rag_counts[rag] = counts.rag_counts.get(rag, 0) + 1


def plan_actions(
    *, plan: ActionPlan, filters: PlanFilters, today: datetime.date, page_number: int | str = 1
) -> PlanActions:
    """The plan page's actions: each action once, under the theme of the lowest-numbered
    recommendation it answers (actions answering none come last), ordered by that number and
    then by reference.

    Counts and filters work on one narrow row per action (ids, state, dates); whole actions are
    loaded only for the page shown, so the cost of a page does not grow with the plan.
    """
    tenant_id = plan.tenant_id
    actions = Action.objects.filter(tenant_id=tenant_id, plan=plan)
    light = list(
        actions.annotate(
            theme_position=Min("recommendations__theme__position"),
            first_number=Min("recommendations__number"),
        ).values_list(
            "pk", "state", "due_date", "lead_partner_id", "lead_officer_id", "reference",
            "theme_position", "first_number",
        )
    )  # fmt: skip
    text_matches = None
    if filters.text:
        text_matches = set(
            actions.filter(
                Q(reference__icontains=filters.text)
                | Q(title__icontains=filters.text)
                | Q(description__icontains=filters.text)
            ).values_list("pk", flat=True)
        )

    themes = {t.position: t for t in Theme.objects.filter(framework_id=plan.framework_id)}
    by_theme: dict[int | None, ThemeCounts] = {}
    overall = ThemeCounts(None)
    matching = []
    for pk, state, due_date, partner_id, officer_id, reference, position, number in light:
        rag = rag_for(state=state, due_date=due_date, today=today)
        theme_key = position if position in themes else None
        section = by_theme.setdefault(theme_key, ThemeCounts(themes.get(theme_key)))
        _count_into(section, state, rag)
        _count_into(overall, state, rag)
        if (
            (not filters.state or state == filters.state)
            and (not filters.rag or rag == filters.rag)
            and (filters.lead_partner_id is None or partner_id == filters.lead_partner_id)
            and (filters.lead_officer_id is None or officer_id == filters.lead_officer_id)
            and (not filters.overdue or rag == Rag.RED)
            and (text_matches is None or pk in text_matches)
        ):
            order = (theme_key if theme_key is not None else 10_000, number or 0)
            matching.append(((*order, reference_key(reference)), pk, theme_key))
    matching.sort()

    page = Paginator(matching, PLAN_PAGE_SIZE).get_page(page_number)
    page_ids = [pk for _key, pk, _theme in page.object_list]
    loaded = {
        a.pk: a
        for a in with_adopted_from(
            with_latest_progress(
                actions.filter(pk__in=page_ids).select_related("lead_officer", "lead_partner"),
                tenant_id,
            ),
            tenant_id,
        )
    }
    numbers: dict[int, list[int]] = defaultdict(list)
    for action_id, number in (
        ActionRecommendation.objects.filter(tenant_id=tenant_id, action_id__in=page_ids)
        .order_by("recommendation__number")
        .values_list("action_id", "recommendation__number")
    ):
        numbers[action_id].append(number)

    sections: list[ThemeSection] = []
    for _key, pk, theme_key in page.object_list:
        action = loaded[pk]
        if not sections or sections[-1].theme is not themes.get(theme_key):
            sections.append(ThemeSection(themes.get(theme_key), []))
        sections[-1].rows.append(
            ActionRow(
                action,
                rag_for(state=action.state, due_date=action.due_date, today=today),
                latest_progress_of(action),
                numbers[pk],
                adopted_from_of(action),
            )
        )

    counts = sorted(by_theme.values(), key=lambda c: c.theme.position if c.theme else 10_000)
    return PlanActions(
        counts=counts,
        sections=sections,
        page=page,
        total=len(light),
        matching=len(matching),
        rag_counts=overall.rag_counts,
        state_counts=overall.state_counts,
    )


def reference_key(reference: str) -> tuple:
    # "3.10" sorts after "3.9": compare the numeric parts as numbers.
    parts = []
    for part in reference.replace("-", ".").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


def actions_of_user(*, tenant: Tenant, user: User) -> QuerySet[Action]:
    """Actions the person leads or delivers as a delegate: open ones first, each by due date."""
    delegated = ActionUserObjectPermission.objects.filter(
        tenant_id=tenant.pk,
        content_object=OuterRef("pk"),
        user=user,
        permission__codename="deliver_action",
    )
    return (
        actions_with_details(tenant=tenant)
        .filter(Q(lead_officer=user) | Exists(delegated))
        .order_by(
            ExpressionWrapper(Q(state__in=Action.OPEN_STATES), output_field=BooleanField()).desc(),
            F("due_date").asc(nulls_last=True),
            "plan_id",
            "reference",
            "pk",
        )
    )


def action_rows(actions, *, today: datetime.date) -> list[ActionRow]:
    return [
        ActionRow(action, schedule_rag(action, today=today), latest_progress_of(action))
        for action in actions
    ]


def action_detail(*, tenant: Tenant, pk: int) -> Action:
    return (
        with_adopted_from(Action.objects.filter(tenant=tenant), tenant.pk)
        .select_related(
            "plan",
            "plan__framework",
            "plan__partner",
            "lead_officer",
            "lead_partner",
            "sign_off_body",
            "evidence_submitted_by",
            "plan_import__by",
        )
        .prefetch_related(
            _latest_progress(),
            Prefetch("evidence", queryset=Evidence.objects.select_related("uploaded_by")),
            Prefetch(
                "evidence_waiting",
                queryset=QuarantinedEvidence.objects.select_related("uploaded_by"),
            ),
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
    imported = action.plan_import
    recorded = (
        recorded_later_text(
            by=imported.by, at=imported.at, source=f"imported from {imported.file_name}"
        )
        if imported is not None
        else ""
    )
    if recorded:
        # The steps the import wrote say from which file, as its progress notes do.
        entries = [
            dataclasses.replace(entry, recorded=recorded) if entry.recorded else entry
            for entry in entries
        ]
    for update in action.progress_newest_first:
        entries.append(
            TimelineEntry(
                at=update.created_at,
                kind="progress",
                title="Progress update",
                actor=update.author,
                text=update.text,
                detail=update,
                recorded=recorded if update.plan_import_id else "",
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
    for change in AuditEntry.objects.filter(
        tenant_id=action.tenant_id,
        subject_type=AuditEntry.Subject.ACTION,
        subject_id=action.pk,
    ).select_related("actor"):
        entries.append(
            TimelineEntry(
                at=change.at,
                kind="change",
                title=change.summary,
                actor=change.actor,
                text=change.reason,
                detail=change,
            )
        )
    return newest_first(entries)


def plan_timeline(*, plan: ActionPlan) -> list[TimelineEntry]:
    """Everything that happened to a plan, newest first: its workflow steps and approvals, and
    what its history records besides (variations, actions adopted into or out of it). Three
    queries whatever the history's length."""
    entries = workflow_timeline(obj=plan)
    for change in AuditEntry.objects.filter(
        tenant_id=plan.tenant_id, subject_type=AuditEntry.Subject.PLAN, subject_id=plan.pk
    ).select_related("actor"):
        entries.append(
            TimelineEntry(
                at=change.at,
                kind="change",
                title=change.summary,
                actor=change.actor,
                text=change.reason,
                detail=change,
            )
        )
    return newest_first(entries)


def adoptions_out_of(*, plan: ActionPlan) -> list[ActionAdoption]:
    """The actions that went from the agency plan ``plan`` into partnership plans, oldest
    first. One query; none for a partnership plan, which never gives actions away."""
    if plan.partner_id is None:
        return []
    return list(
        ActionAdoption.objects.filter(tenant_id=plan.tenant_id, from_plan=plan).select_related(
            "action", "to_plan", "by"
        )
    )


@dataclass
class AgencyPlanActions:
    plan: ActionPlan
    actions: list[Action]


def agency_actions_to_adopt(*, tenant: Tenant) -> list[AgencyPlanActions]:
    """The open actions of every agency's plan in the tenant, by agency and plan, each plan's
    actions in reference order. Two queries."""
    plans = {
        plan.pk: AgencyPlanActions(plan, [])
        for plan in plans_of_tenant(tenant=tenant)
        .filter(partner__isnull=False)
        .order_by("partner__name", "title", "pk")
    }
    for action in Action.objects.filter(
        tenant=tenant, plan_id__in=list(plans), state__in=Action.OPEN_STATES
    ).select_related("lead_officer", "sign_off_body"):
        action.plan = plans[action.plan_id].plan
        plans[action.plan_id].actions.append(action)
    for group in plans.values():
        group.actions.sort(key=lambda a: reference_key(a.reference))
    return [group for group in plans.values() if group.actions]
