"""A plan's progress report as it stood at the end of a date, rebuilt from history.

Nothing here reads today's values as the past's. For each action:

- whether it was in the plan: it existed (``created_at``, the effective date for an imported
  action) and had not yet moved into or out of the plan by adoption (``ActionAdoption``);
- its details (reference, title, leads, partners, due date, recommendations): today's value,
  unless the record of changes (``AuditEntry``) shows a change after the date, in which case the
  value before the earliest such change: that is what it read at the end of the date;
- its state and the dates of its steps: the transition log up to the date;
- the officer's RAG and progress note: the latest progress update made by the date.

The number of queries does not depend on the number of actions (see
``tests/plans/reports/test_as_of.py``).
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from plans.models import (
    Action,
    ActionAdoption,
    ActionPlan,
    ActionRecommendation,
    ActionSupportingPartner,
    ProgressUpdate,
    Rag,
    Recommendation,
    Theme,
    rag_for,
)
from plans.reports.report import (
    ChangeLine,
    Counts,
    DueDateMove,
    PlanReport,
    ReportChanges,
    ReportRecommendation,
    ReportRow,
    ReportTheme,
)
from plans.selectors import reference_key
from tenants.models import AuditEntry
from workflow.models import TransitionLog

# The details a report shows, as the record of changes names them.
REBUILT_FIELDS = (
    "reference",
    "title",
    "lead_officer",
    "lead_partner",
    "supporting_partners",
    "due_date",
    "recommendations",
)
# The step each transition completes, for the dates the spreadsheets carry.
STEP_OF_TRANSITION = {
    "agree": Action.State.AGREED.value,
    "start": Action.State.IN_PROGRESS.value,
    "submit_evidence": Action.State.EVIDENCED.value,
    "sign_off": Action.State.SIGNED_OFF.value,
}
NO_RECOMMENDATION_TITLE = "Actions not linked to a recommendation"


def end_of(day: datetime.date) -> datetime.datetime:
    """The first moment after ``day`` ends, in the service's time zone (UK time): a report as of
    a date includes everything before it."""
    next_day = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
    return timezone.make_aware(next_day, timezone.get_default_timezone())


def local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def due_date_from_text(text: str) -> datetime.date | None:
    """A due date as the record of changes wrote it ("1 October 2009"; see
    ``plans.services._text``)."""
    if not text:
        return None
    return datetime.datetime.strptime(text, "%d %B %Y").date()


_RECOMMENDATION_TEXT = re.compile(r"^(\d+)\. ")


def recommendation_numbers_from_text(text: str) -> list[int]:
    """Recommendation numbers from the record's text ("1. Title; 12. Title")."""
    numbers = []
    for part in text.split("; ") if text else []:
        match = _RECOMMENDATION_TEXT.match(part)
        if match:
            numbers.append(int(match.group(1)))
    return sorted(numbers)


@dataclass
class _Change:
    at: datetime.datetime
    actor: str
    before: str
    after: str
    reason: str


@dataclass
class _History:
    """Everything read about the plan's actions, once, for any number of dates."""

    actions: dict[int, Action]
    texts: dict[int, dict[str, str]]  # today's texts of REBUILT_FIELDS
    numbers: dict[int, list[int]]  # today's recommendation numbers
    changes: dict[int, dict[str, list[_Change]]]  # per action, per field, oldest first
    transitions: dict[int, list[tuple[datetime.datetime, str, str]]]  # (at, name, to_state)
    adoptions: dict[int, list[ActionAdoption]]
    progress: dict[int, list[tuple[datetime.datetime, str, str]]] = field(default_factory=dict)


@dataclass
class _Stood:
    """One action as it stood at a moment."""

    action: Action
    texts: dict[str, str]
    numbers: list[int]
    due_date: datetime.date | None
    original_due_date: datetime.date | None
    state: str
    step_dates: dict[str, datetime.date]


def _in_plan_at(history: _History, action: Action, plan_id: int, cutoff) -> bool:
    if action.created_at >= cutoff:
        return False
    later = [a for a in history.adoptions.get(action.pk, []) if a.at >= cutoff]
    where = later[0].from_plan_id if later else action.plan_id
    return where == plan_id


def _value_at(history: _History, action_id: int, name: str, cutoff) -> tuple[str, bool]:
    """The field's text at ``cutoff`` and whether it came from the record (not today's)."""
    for change in history.changes.get(action_id, {}).get(name, []):
        if change.at >= cutoff:
            return change.before, True
    return history.texts[action_id][name], False


def _stood_at(history: _History, action: Action, cutoff) -> _Stood:
    texts = {}
    numbers = history.numbers.get(action.pk, [])
    due_date = action.due_date
    for name in REBUILT_FIELDS:
        text, recorded = _value_at(history, action.pk, name, cutoff)
        texts[name] = text
        if recorded and name == "due_date":
            due_date = due_date_from_text(text)
        if recorded and name == "recommendations":
            numbers = recommendation_numbers_from_text(text)
    # The first due date it was given, by the cutoff, from the record of its changes.
    original = due_date
    for change in history.changes.get(action.pk, {}).get("due_date", []):
        if change.at >= cutoff:
            break
        first = change.before or change.after
        if first:
            original = due_date_from_text(first)
            break
    state = Action.State.PROPOSED.value
    steps: dict[str, datetime.date] = {}
    for at, name, to_state in history.transitions.get(action.pk, []):
        if at >= cutoff:
            break
        state = to_state
        if name in STEP_OF_TRANSITION:
            steps[STEP_OF_TRANSITION[name]] = local_date(at)
    return _Stood(
        action=action,
        texts=texts,
        numbers=numbers,
        due_date=due_date,
        original_due_date=original if original != due_date else None,
        state=state,
        step_dates=steps,
    )


def _read_history(plan: ActionPlan) -> _History:
    tenant_id = plan.tenant_id
    adopted = ActionAdoption.objects.filter(tenant_id=tenant_id).filter(
        Q(from_plan=plan) | Q(to_plan=plan)
    )
    actions = {
        a.pk: a
        for a in Action.objects.filter(tenant_id=tenant_id)
        .filter(Q(plan=plan) | Q(pk__in=adopted.values("action_id")))
        .select_related("lead_officer", "lead_partner")
        .only(
            "pk", "plan_id", "reference", "title", "due_date", "created_at", "state",
            "lead_officer__full_name", "lead_officer__email", "lead_partner__name",
        )
    }  # fmt: skip
    ids = list(actions)

    adoptions: dict[int, list[ActionAdoption]] = defaultdict(list)
    for adoption in ActionAdoption.objects.filter(tenant_id=tenant_id, action_id__in=ids).order_by(
        "at", "pk"
    ):
        adoptions[adoption.action_id].append(adoption)

    numbers: dict[int, list[int]] = defaultdict(list)
    recommendation_texts: dict[int, list[str]] = defaultdict(list)
    for action_id, number, title in (
        ActionRecommendation.objects.filter(tenant_id=tenant_id, action_id__in=ids)
        .order_by("recommendation__number")
        .values_list("action_id", "recommendation__number", "recommendation__title")
    ):
        numbers[action_id].append(number)
        recommendation_texts[action_id].append(f"{number}. {title}")

    supporting: dict[int, list[str]] = defaultdict(list)
    for action_id, name in (
        ActionSupportingPartner.objects.filter(tenant_id=tenant_id, action_id__in=ids)
        .order_by("partner__name")
        .values_list("action_id", "partner__name")
    ):
        supporting[action_id].append(name)

    texts = {}
    for pk, action in actions.items():
        texts[pk] = {
            "reference": action.reference,
            "title": action.title,
            "lead_officer": str(action.lead_officer) if action.lead_officer else "",
            "lead_partner": action.lead_partner.name if action.lead_partner else "",
            "supporting_partners": ", ".join(supporting[pk]),
            "due_date": "",  # read from the field itself unless the record says otherwise
            "recommendations": "; ".join(recommendation_texts[pk]),
        }

    changes: dict[int, dict[str, list[_Change]]] = defaultdict(lambda: defaultdict(list))
    for subject_id, at, actor_name, entry_changes, reason in (
        AuditEntry.objects.filter(
            tenant_id=tenant_id, subject_type=AuditEntry.Subject.ACTION, subject_id__in=ids
        )
        .order_by("at", "pk")
        .values_list("subject_id", "at", "actor_name", "changes", "reason")
    ):
        for change in entry_changes:
            if change["field"] in REBUILT_FIELDS:
                changes[subject_id][change["field"]].append(
                    _Change(at, actor_name, change["before"], change["after"], reason)
                )

    transitions: dict[int, list[tuple[datetime.datetime, str, str]]] = defaultdict(list)
    for object_id, at, name, to_state in (
        TransitionLog.objects.filter(
            tenant_id=tenant_id,
            content_type=ContentType.objects.get_for_model(Action),
            object_id__in=ids,
        )
        .order_by("at", "pk")
        .values_list("object_id", "at", "transition", "to_state")
    ):
        transitions[object_id].append((at, name, to_state))

    return _History(
        actions=actions,
        texts=texts,
        numbers=dict(numbers),
        changes=changes,
        transitions=transitions,
        adoptions=adoptions,
    )


def _latest_progress(
    tenant_id: int, ids: list[int], cutoff
) -> dict[int, tuple[datetime.datetime, str, str]]:
    """Each action's latest progress update made before ``cutoff``: (when, RAG, text)."""
    updates = ProgressUpdate.objects.filter(
        tenant_id=tenant_id, action_id__in=ids, created_at__lt=cutoff
    ).order_by("action_id", "-created_at", "-pk")
    fields = ("action_id", "created_at", "rag", "text")
    latest: dict[int, tuple[datetime.datetime, str, str]] = {}
    if connection.features.can_distinct_on_fields:
        rows = updates.distinct("action_id").values_list(*fields)
    else:
        rows = updates.values_list(*fields)
    for action_id, created_at, rag, text in rows:
        latest.setdefault(action_id, (created_at, rag, text))
    return latest


def _schedule_rag(stood: _Stood, day: datetime.date) -> str | None:
    return rag_for(state=stood.state, due_date=stood.due_date, today=day)


def _stood_in_plan(history: _History, plan_id: int, cutoff) -> dict[int, _Stood]:
    return {
        pk: _stood_at(history, action, cutoff)
        for pk, action in history.actions.items()
        if _in_plan_at(history, action, plan_id, cutoff)
    }


def _changes_since(
    history: _History,
    now: dict[int, _Stood],
    then: dict[int, _Stood],
    since: datetime.date,
    as_of: datetime.date,
) -> ReportChanges:
    start, cutoff = end_of(since), end_of(as_of)
    changes = ReportChanges(since=since)
    for pk, stood in sorted(
        now.items(), key=lambda item: reference_key(item[1].texts["reference"])
    ):
        reference, title = stood.texts["reference"], stood.texts["title"]
        signed = [
            at
            for at, name, _to in history.transitions.get(pk, [])
            if name == "sign_off" and start <= at < cutoff
        ]
        if signed and stood.state == Action.State.SIGNED_OFF:
            changes.signed_off.append(ChangeLine(reference, title, local_date(signed[-1])))
        before = then.get(pk)
        if _schedule_rag(stood, as_of) == Rag.RED and (
            before is None or _schedule_rag(before, since) != Rag.RED
        ):
            became = stood.due_date + datetime.timedelta(days=1) if stood.due_date else as_of
            changes.newly_overdue.append(
                ChangeLine(reference, title, max(became, since + datetime.timedelta(days=1)))
            )
        for change in history.changes.get(pk, {}).get("due_date", []):
            if start <= change.at < cutoff and change.before:
                changes.due_dates_moved.append(
                    DueDateMove(
                        reference=reference,
                        title=title,
                        on=local_date(change.at),
                        by=change.actor,
                        before=due_date_from_text(change.before),
                        after=due_date_from_text(change.after),
                        reason=change.reason,
                    )
                )
    changes.due_dates_moved.sort(key=lambda move: (move.on, reference_key(move.reference)))
    return changes


def _month_ends(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    ends = []
    year, month = first.year, first.month
    while True:
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        end = following - datetime.timedelta(days=1)
        if end >= last:
            ends.append(last)
            return ends
        ends.append(end)
        year, month = following.year, following.month


def _signed_off_over_time(
    history: _History, ids: list[int], as_of: datetime.date, start: datetime.date
) -> list[tuple[datetime.date, int]]:
    """How many of the report's actions stood signed off at the end of each month."""
    cutoff = end_of(as_of)
    events = sorted(
        (at, pk, to_state)
        for pk in ids
        for at, _name, to_state in history.transitions.get(pk, [])
        if at < cutoff
    )
    points = []
    signed: set[int] = set()
    position = 0
    for month_end in _month_ends(start, as_of):
        boundary = end_of(month_end)
        while position < len(events) and events[position][0] < boundary:
            _at, pk, to_state = events[position]
            if to_state == Action.State.SIGNED_OFF:
                signed.add(pk)
            else:
                signed.discard(pk)
            position += 1
        points.append((month_end, len(signed)))
    return points


def plan_report(
    *, plan: ActionPlan, as_of: datetime.date, since: datetime.date | None = None
) -> PlanReport:
    """The plan's progress report as it stood at the end of ``as_of``; with ``since`` (an
    earlier date), also what changed between the end of that date and the end of ``as_of``."""
    if since is not None and since >= as_of:
        raise ValueError("The earlier date must come before the report's date.")
    plan = ActionPlan.objects.select_related("tenant", "framework").get(
        pk=plan.pk, tenant_id=plan.tenant_id
    )
    history = _read_history(plan)
    cutoff = end_of(as_of)
    stood = _stood_in_plan(history, plan.pk, cutoff)
    ids = list(stood)
    progress = _latest_progress(plan.tenant_id, ids, cutoff)

    themes = {t.pk: t for t in Theme.objects.filter(framework_id=plan.framework_id)}
    recommendations = {
        r.number: r for r in Recommendation.objects.filter(framework_id=plan.framework_id)
    }

    # Each action once, under the first recommendation it answered (the plan page's order).
    grouped: dict[tuple, ReportRecommendation] = {}
    theme_of: dict[tuple, Theme | None] = {}
    for pk, action_stood in stood.items():
        numbers = [n for n in action_stood.numbers if n in recommendations]
        if numbers:
            recommendation = recommendations[numbers[0]]
            theme = themes.get(recommendation.theme_id)
            key = (theme.position if theme else 10_000, recommendation.number)
            if key not in grouped:
                grouped[key] = ReportRecommendation(recommendation.number, recommendation.title)
                theme_of[key] = theme
        else:
            key = (10_001, 0)
            if key not in grouped:
                grouped[key] = ReportRecommendation(None, NO_RECOMMENDATION_TITLE)
                theme_of[key] = None
        latest = progress.get(pk)
        texts = action_stood.texts
        grouped[key].rows.append(
            ReportRow(
                action_id=pk,
                reference=texts["reference"],
                title=texts["title"],
                recommendations=numbers,
                lead_officer=texts["lead_officer"],
                lead_partner=texts["lead_partner"],
                supporting_partners=texts["supporting_partners"],
                due_date=action_stood.due_date,
                original_due_date=action_stood.original_due_date,
                state=action_stood.state,
                schedule_rag=_schedule_rag(action_stood, as_of),
                officer_rag=latest[1] if latest else None,
                progress_note=latest[2] if latest else "",
                progress_date=local_date(latest[0]) if latest else None,
                step_dates=action_stood.step_dates,
            )
        )

    report_themes: list[ReportTheme] = []
    overall = Counts()
    for key in sorted(grouped):
        recommendation = grouped[key]
        recommendation.rows.sort(key=lambda row: reference_key(row.reference))
        theme = theme_of[key]
        position = theme.position if theme else None
        if not report_themes or report_themes[-1].position != position:
            title = theme.title if theme else NO_RECOMMENDATION_TITLE
            report_themes.append(ReportTheme(position, title))
        report_themes[-1].recommendations.append(recommendation)
        for row in recommendation.rows:
            report_themes[-1].counts.add(row)
            overall.add(row)

    changes = None
    if since is not None:
        then = _stood_in_plan(history, plan.pk, end_of(since))
        changes = _changes_since(history, stood, then, since, as_of)

    start = min(
        [local_date(plan.created_at)] + [local_date(a.created_at) for a in history.actions.values()]
    )
    return PlanReport(
        tenant_name=plan.tenant.name,
        plan_id=plan.pk,
        plan_title=plan.title,
        framework_title=plan.framework.title,
        as_of=as_of,
        themes=report_themes,
        counts=overall,
        changes=changes,
        signed_off_over_time=_signed_off_over_time(history, ids, as_of, min(start, as_of)),
    )
