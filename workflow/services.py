"""The one service that changes workflow state, and the reads that decide what a page offers."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.models import User
from workflow.engine import Actor, Transition, WorkflowModel
from workflow.models import Approval, TransitionLog
from workflow.signals import approval_committed, transition_committed, transition_recorded


class TransitionRefused(Exception):
    """A transition that may not happen now; the message is written for the person who asked."""


@dataclass(frozen=True)
class TransitionOutcome:
    obj: WorkflowModel
    fired: bool
    log: TransitionLog | None = None
    approvals: int = 0
    quorum: int = 1


@dataclass(frozen=True)
class TransitionOption:
    transition: Transition
    missing: tuple[str, ...]  # unmet conditions; the transition is offered only when empty
    already_approved: bool = False  # this person's approval is in; the quorum needs others

    @property
    def offered(self) -> bool:
        return not self.missing and not self.already_approved


def _refusal(transition: Transition, obj: WorkflowModel, actor: Actor) -> str | None:
    """Why ``actor`` may not take ``transition`` on ``obj`` in its present state, or None."""
    if actor.membership is None:
        return "You are not a member of this organisation."
    if not obj.state_allows(transition):
        return (
            f"'{transition.label}' is not possible while this is "
            f"{obj.workflow_state_label.lower()}."
        )
    if not transition.allowed(actor, obj):
        return f"Only {transition.who} can {transition.label.lower()}."
    if transition.forbidden is not None:
        return transition.forbidden(actor, obj)
    return None


def _unmet_conditions(transition: Transition, obj: WorkflowModel) -> tuple[str, ...]:
    return tuple(c.message for c in transition.conditions if not c.holds(obj))


def _approvals(obj: WorkflowModel, name: str):
    """Approvals towards ``name`` in the object's present visit to its state."""
    return Approval.objects.filter(
        tenant_id=obj.tenant_id,
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        transition=name,
        cycle=obj.state_changes,
    )


def transitions_available(*, obj: WorkflowModel, user: User) -> list[TransitionOption]:
    """What ``user`` may do to ``obj`` now: the same checks the service makes, minus the reason."""
    actor = Actor(user, obj.tenant_id)
    options = []
    for transition in obj.workflow.transitions:
        if _refusal(transition, obj, actor) is None:
            approved = (
                transition.approving_body is not None
                and _approvals(obj, transition.name).filter(approver=user).exists()
            )
            options.append(
                TransitionOption(transition, _unmet_conditions(transition, obj), approved)
            )
    return options


def transition_perform(
    *, obj: WorkflowModel, name: str, user: User, comment: str = ""
) -> TransitionOutcome:
    """Take transition ``name`` on ``obj`` as ``user``.

    Locks the row so that concurrent requests queue behind each other, re-checks every rule
    against the locked row, records an approval where a quorum is needed, changes state through
    django-fsm, writes the log row in the same transaction and sends signals only after commit.
    Refusals raise ``TransitionRefused`` and change nothing.
    """
    model = type(obj)
    transition = model.workflow.get(name)
    if transition is None:
        raise TransitionRefused(f"There is no step called '{name}'.")
    comment = (comment or "").strip()
    if transition.reason_required and not comment:
        raise TransitionRefused(f"Give a reason to {transition.label.lower()}.")

    with transaction.atomic():
        try:
            locked = model.objects.select_for_update().get(pk=obj.pk, tenant_id=obj.tenant_id)
        except model.DoesNotExist:
            raise TransitionRefused("That item no longer exists.") from None
        actor = Actor(user, locked.tenant_id)
        refusal = _refusal(transition, locked, actor)
        if refusal:
            raise TransitionRefused(refusal)
        missing = _unmet_conditions(transition, locked)
        if missing:
            raise TransitionRefused(" ".join(missing))

        content_type = ContentType.objects.get_for_model(model)
        quorum, approvals, approval = 1, 0, None
        body = transition.approving_body(locked) if transition.approving_body else None
        if body is not None:
            quorum = body.quorum
            already = "You have already approved this; it needs approval from other members."
            if _approvals(locked, name).filter(approver=user).exists():
                raise TransitionRefused(already)
            try:
                with transaction.atomic():
                    approval = Approval.objects.create(
                        tenant_id=locked.tenant_id,
                        content_type=content_type,
                        object_id=locked.pk,
                        transition=name,
                        cycle=locked.state_changes,
                        approver=user,
                        comment=comment,
                    )
            except IntegrityError:
                # The same person approving twice at once: the unique constraint decides.
                raise TransitionRefused(already) from None
            approvals = _approvals(locked, name).count()
            if approvals < quorum:
                transaction.on_commit(
                    lambda: approval_committed.send(
                        sender=model,
                        obj=locked,
                        approval=approval,
                        approvals=approvals,
                        quorum=quorum,
                    ),
                    robust=True,
                )
                return TransitionOutcome(locked, fired=False, approvals=approvals, quorum=quorum)

        from_state = locked.workflow_state
        getattr(locked, name)(by=user, comment=comment)
        locked.state_changes += 1
        locked.state_changed_at = timezone.now()
        locked.save()
        log = TransitionLog.objects.create(
            tenant_id=locked.tenant_id,
            content_type=content_type,
            object_id=locked.pk,
            transition=name,
            from_state=from_state,
            to_state=locked.workflow_state,
            actor=user,
            comment=comment,
        )
        # Receivers write their consequences (the outbox) in this transaction: if it rolls back,
        # nothing they wrote survives.
        transition_recorded.send(sender=model, obj=locked, log=log, actor=user)
        transaction.on_commit(
            lambda: transition_committed.send(sender=model, obj=locked, log=log, actor=user),
            robust=True,
        )
    return TransitionOutcome(locked, fired=True, log=log, approvals=approvals, quorum=quorum)


def transition_history(*, obj: WorkflowModel) -> list[TransitionLog]:
    content_type = ContentType.objects.get_for_model(type(obj))
    return list(
        TransitionLog.objects.filter(
            tenant_id=obj.tenant_id, content_type=content_type, object_id=obj.pk
        ).select_related("actor")
    )


def approvals_pending(*, obj: WorkflowModel, name: str) -> list[Approval]:
    """Approvals recorded towards ``name`` during the object's present visit to its state."""
    return list(_approvals(obj, name).select_related("approver"))


def approval_history(*, obj: WorkflowModel) -> list[Approval]:
    """Every approval ever recorded on ``obj``, oldest first, for its history."""
    return list(
        Approval.objects.filter(
            tenant_id=obj.tenant_id,
            content_type=ContentType.objects.get_for_model(type(obj)),
            object_id=obj.pk,
        ).select_related("approver")
    )
