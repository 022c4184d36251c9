"""Reads of the workflow for pages: what happened to an object, and whose approval it awaits.

Any model driven by the engine gets these for nothing; each costs a fixed number of queries
whatever the length of the object's history or the size of the approving body.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from tenants.models import Membership, SignOffBody, SignOffBodyMember, User
from workflow.engine import Actor, Transition, WorkflowModel
from workflow.models import Approval, TransitionLog


def _of(obj: WorkflowModel) -> dict[str, Any]:
    return {
        "tenant_id": obj.tenant_id,
        "content_type": ContentType.objects.get_for_model(type(obj)),
        "object_id": obj.pk,
    }


def current_approvals(*, obj: WorkflowModel, name: str) -> QuerySet[Approval]:
    """Approvals towards ``name`` in the object's present visit to its state, leaving out those
    of people the step disqualifies (they count for nothing towards the quorum)."""
    approvals = Approval.objects.filter(**_of(obj), transition=name, cycle=obj.state_changes)
    transition = obj.workflow.get(name)
    if transition is not None and transition.disqualified is not None:
        approvals = approvals.exclude(approver_id__in=list(transition.disqualified(obj)))
    return approvals


def approvals_pending(*, obj: WorkflowModel, name: str) -> list[Approval]:
    """Approvals recorded towards ``name`` during the object's present visit to its state."""
    return list(current_approvals(obj=obj, name=name).select_related("approver"))


def approval_history(*, obj: WorkflowModel) -> list[Approval]:
    """Every approval ever recorded on ``obj``, oldest first, for its history."""
    return list(Approval.objects.filter(**_of(obj)).select_related("approver"))


def transition_history(*, obj: WorkflowModel) -> list[TransitionLog]:
    """Every state change of ``obj``, oldest first."""
    return list(TransitionLog.objects.filter(**_of(obj)).select_related("actor", "recorded_by"))


# -- approvals towards a quorum ----------------------------------------------------------------


@dataclass(frozen=True)
class QuorumProgress:
    """Where an approving body has got to with one step: who has approved (this visit to the
    state only), and which of its members may still approve."""

    transition: Transition
    body: SignOffBody
    approvals: list[Approval]  # oldest first, approver loaded
    # Members who have not approved and whom no rule bars (the four-eyes rule bars whoever
    # submitted the object), in name order.
    may_approve: list[User]

    @property
    def quorum(self) -> int:
        return self.body.quorum

    @property
    def needed(self) -> int:
        return max(self.quorum - len(self.approvals), 0)

    @property
    def short(self) -> bool:
        """Fewer members may still approve than approvals are needed: the step cannot happen
        until the body's membership changes."""
        return len(self.may_approve) < self.needed


def quorum_progress(*, obj: WorkflowModel, name: str) -> QuorumProgress | None:
    """The approvals towards ``name``, when ``obj`` is in a state the step leaves from and the
    step's own approving body (``transition.approving_body``) decides it; otherwise None."""
    transition = obj.workflow.get(name)
    if transition is None or transition.approving_body is None:
        return None
    if not obj.state_allows(transition):
        return None
    body = transition.approving_body(obj)
    if body is None:
        return None
    approvals = approvals_pending(obj=obj, name=name)
    approved = {approval.approver_id for approval in approvals}
    members = [
        m.user
        for m in SignOffBodyMember.objects.filter(
            tenant_id=obj.tenant_id, body_id=body.pk, user__is_active=True
        )
        .select_related("user")
        .order_by("user__full_name", "user_id")
        if m.user_id not in approved
    ]
    if transition.forbidden is not None and members:
        members = [
            user
            for user, actor in zip(members, _actors(members, obj.tenant_id), strict=True)
            if transition.forbidden(actor, obj) is None
        ]
    return QuorumProgress(transition, body, approvals, members)


def _actors(users: list[User], tenant_id: int) -> list[Actor]:
    """Actors for ``users`` with their membership and bodies read in two queries."""
    ids = [user.pk for user in users]
    memberships = {
        m.user_id: m for m in Membership.objects.filter(tenant_id=tenant_id, user_id__in=ids)
    }
    bodies: dict[int, set[int]] = {}
    for user_id, body_id in SignOffBodyMember.objects.filter(
        tenant_id=tenant_id, user_id__in=ids
    ).values_list("user_id", "body_id"):
        bodies.setdefault(user_id, set()).add(body_id)
    return [
        Actor(
            user,
            tenant_id,
            membership=memberships.get(user.pk),
            body_ids=frozenset(bodies.get(user.pk, ())),
        )
        for user in users
    ]


def approvals_awaited(*, obj: WorkflowModel) -> list[QuorumProgress]:
    """Progress of every step an approving body decides from the object's present state."""
    progress = (
        quorum_progress(obj=obj, name=transition.name)
        for transition in obj.workflow.transitions
        if transition.approving_body is not None
    )
    return [p for p in progress if p is not None]


# -- history -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to an object, for its page's history.

    ``kind`` says how the page lays it out: the workflow writes "transition" and "approval";
    an app adds its own kinds (progress, evidence, changes) with the row in ``detail``.
    """

    at: datetime.datetime
    kind: str
    title: str
    actor: User | None
    text: str = ""  # a reason, comment or the body of an update
    from_state: str = ""  # state labels, for transitions
    to_state: str = ""
    detail: Any = None
    # For history written down later than it happened: by whom and when, in words. ``at`` is
    # then the date it happened on, without a time of day.
    recorded: str = ""


def recorded_later_text(*, by: User | None, at: datetime.datetime, source: str = "") -> str:
    """The words for history written down later: "Recorded later, imported from plan.xlsx by
    Erin Admin on 24 November 2026" (``source``: "imported from plan.xlsx")."""
    when = date_format(timezone.localtime(at), "j F Y")
    source = f", {source}" if source else ""
    return f"Recorded later{source} by {by or 'someone since removed'} on {when}"


def workflow_timeline(*, obj: WorkflowModel) -> list[TimelineEntry]:
    """State changes and the approvals towards a quorum that did not themselves fire a step,
    newest first. Two queries."""
    logs = transition_history(obj=obj)
    entries = []
    for log in logs:
        transition = obj.workflow.get(log.transition)
        entries.append(
            TimelineEntry(
                at=log.at,
                kind="transition",
                title=transition.label if transition else log.transition,
                actor=log.actor,
                text=log.comment,
                from_state=obj.state_label(log.from_state),
                to_state=obj.state_label(log.to_state),
                detail=log,
                recorded=(
                    recorded_later_text(by=log.recorded_by, at=log.recorded_at)
                    if log.recorded_at
                    else ""
                ),
            )
        )
    for approval in approval_history(obj=obj):
        # Every state change bumps the cycle, so the approval given during visit N fired the
        # step when log row N is that step, taken by the same person.
        fired = approval.cycle < len(logs) and (
            logs[approval.cycle].transition == approval.transition
            and logs[approval.cycle].actor_id == approval.approver_id
        )
        if fired:
            continue
        transition = obj.workflow.get(approval.transition)
        label = transition.label if transition else approval.transition
        entries.append(
            TimelineEntry(
                at=approval.at,
                kind="approval",
                title=f"Approved: {label.lower()}",
                actor=approval.approver,
                text=approval.comment,
                detail=approval,
            )
        )
    return newest_first(entries)


def newest_first(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    # Stable: entries at the same instant keep the order they were given in.
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
