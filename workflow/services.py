"""The one service that changes workflow state, and the checks that decide what a page offers.

``transitions_available`` and ``transition_refusal`` live beside ``transition_perform`` because
all three ask the same private checks: a page offers exactly what the service would accept.
Reads of history and approvals are in ``workflow.selectors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.models import User
from tenants.rules import second_factor_refusal
from workflow.engine import Actor, Transition, WorkflowModel
from workflow.models import Approval, TransitionLog
from workflow.selectors import current_approvals
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
    missing: tuple[str, ...] = ()  # unmet conditions; the transition is offered only when empty
    already_approved: bool = False  # this person's approval is in; the quorum needs others
    # Set when the person's role allows the step but a further rule refuses it to them (the
    # four-eyes rule): the page says why rather than leaving the step out unexplained.
    refusal: str = ""
    # The refusal is for want of a second factor: the page links to where to set one up.
    second_factor: bool = False

    @property
    def offered(self) -> bool:
        return not self.missing and not self.already_approved and not self.refusal


def _role_refusal(transition: Transition, obj: WorkflowModel, actor: Actor) -> str | None:
    """Why ``actor`` may not take ``transition`` on ``obj`` in its present state, by membership,
    state and role, or None."""
    if actor.membership is None:
        return "You are not a member of this organisation."
    if not obj.state_allows(transition):
        return (
            f"'{transition.label}' is not possible while this is "
            f"{obj.workflow_state_label.lower()}."
        )
    if not transition.allowed(actor, obj):
        return f"Only {transition.who_for(obj)} can {transition.label.lower()}."
    return None


def _second_factor_refusal(transition: Transition, actor: Actor) -> str | None:
    if not transition.needs_second_factor:
        return None
    refusal = actor.remember(
        "second factor",
        lambda: second_factor_refusal(user=actor.user, what="take a sign-off body's decisions"),
    )
    return refusal.message if refusal else None


def _unmet_conditions(transition: Transition, obj: WorkflowModel) -> tuple[str, ...]:
    return tuple(c.message for c in transition.conditions if not c.holds(obj))


ALREADY_APPROVED = "You have already approved this; it needs approval from other members."


def _has_approved(transition: Transition, obj: WorkflowModel, actor: Actor) -> bool:
    return (
        transition.approving_body is not None
        and current_approvals(obj=obj, name=transition.name).filter(approver=actor.user).exists()
    )


def _refusal(transition: Transition, obj: WorkflowModel, actor: Actor) -> str | None:
    """Every rule but the reason, in the order the person should hear about them."""
    refusal = _role_refusal(transition, obj, actor) or _second_factor_refusal(transition, actor)
    if refusal is None and transition.forbidden is not None:
        refusal = transition.forbidden(actor, obj)
    if refusal is None:
        missing = _unmet_conditions(transition, obj)
        refusal = " ".join(missing) if missing else None
    if refusal is None and _has_approved(transition, obj, actor):
        refusal = ALREADY_APPROVED
    return refusal


def transitions_available(
    *, obj: WorkflowModel, user: User, actor: Actor | None = None
) -> list[TransitionOption]:
    """The steps ``user`` could take on ``obj`` from its present state, by the service's own
    checks minus the reason: offered ones, ones waiting on conditions, ones this person has
    already approved, and ones a rule beyond roles refuses them, with why. Steps their role
    does not allow are left out. A page that asks other rules about the same person passes
    its ``actor`` (``user`` in ``obj``'s tenant), so the facts they share are read once."""
    if actor is None:
        actor = Actor(user, obj.tenant_id)
    options = []
    for transition in obj.workflow.transitions:
        if _role_refusal(transition, obj, actor) is not None:
            continue
        missing_factor = _second_factor_refusal(transition, actor)
        if missing_factor:
            options.append(TransitionOption(transition, refusal=missing_factor, second_factor=True))
            continue
        forbidden = transition.forbidden(actor, obj) if transition.forbidden else None
        if forbidden:
            options.append(TransitionOption(transition, refusal=forbidden))
            continue
        options.append(
            TransitionOption(
                transition,
                _unmet_conditions(transition, obj),
                _has_approved(transition, obj, actor),
            )
        )
    return options


def transition_refusal(*, obj: WorkflowModel, name: str, user: User) -> str | None:
    """Why the service would refuse ``user`` the step ``name`` on ``obj`` now, whatever reason
    they gave, or None if it would take it. The service checks again on the locked row."""
    transition = obj.workflow.get(name)
    if transition is None:
        return f"There is no step called '{name}'."
    return _refusal(transition, obj, Actor(user, obj.tenant_id))


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
    try:
        comment = transition.reason_rule.clean(comment)
    except ValidationError as invalid:
        # A NUL byte would fail in PostgreSQL, and a reason of invisible characters says
        # nothing: refused before anything is locked or written.
        raise TransitionRefused(" ".join(invalid.messages)) from None

    with transaction.atomic():
        try:
            locked = model.objects.select_for_update().get(pk=obj.pk, tenant_id=obj.tenant_id)
        except model.DoesNotExist:
            raise TransitionRefused("That item no longer exists.") from None
        refusal = _refusal(transition, locked, Actor(user, locked.tenant_id))
        if refusal:
            raise TransitionRefused(refusal)

        content_type = ContentType.objects.get_for_model(model)
        quorum, approvals, approval = 1, 0, None
        body = transition.approving_body(locked) if transition.approving_body else None
        if body is not None:
            quorum = body.quorum
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
                raise TransitionRefused(ALREADY_APPROVED) from None
            approvals = current_approvals(obj=locked, name=name).count()
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
