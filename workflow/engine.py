"""The workflow engine's vocabulary: how a model declares its transitions and who may take them.

A model joins the engine by inheriting ``WorkflowModel``, declaring a protected ``FSMField`` and
django-fsm ``@transition`` methods for source and target states, and a ``workflow`` listing a
``Transition`` per method: who may take it, what must be true first, whether a reason is needed,
and whether a body's quorum of approvals is needed. ``workflow.services`` is the one place that
performs them; pages list what to offer from the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models
from django.utils import timezone
from django_fsm import can_proceed

from tenants.text import TextRule, reason_text

if TYPE_CHECKING:
    from tenants.models import Membership, SignOffBody, User


_UNREAD = object()


class Actor:
    """A person acting in one tenant, with the facts the rules ask about, each read once.

    A page that asks about many people at once (who may still approve) reads their memberships
    in bulk and hands them in, so the rules cost no query per person.
    """

    def __init__(
        self,
        user: User,
        tenant_id: int,
        *,
        membership: Membership | object | None = _UNREAD,
        body_ids: frozenset[int] | None = None,
    ):
        self.user = user
        self.tenant_id = tenant_id
        self._remembered: dict[Any, Any] = {}
        if membership is not _UNREAD:
            self.__dict__["membership"] = membership
        if body_ids is not None:
            self.__dict__["body_ids"] = body_ids

    @cached_property
    def membership(self) -> Membership | None:
        from tenants.models import Membership

        if not self.user.is_authenticated or not self.user.is_active:
            return None
        return Membership.objects.filter(tenant_id=self.tenant_id, user=self.user).first()

    @cached_property
    def body_ids(self) -> frozenset[int]:
        from tenants.models import SignOffBodyMember

        if self.membership is None:
            return frozenset()
        return frozenset(
            SignOffBodyMember.objects.filter(tenant_id=self.tenant_id, user=self.user).values_list(
                "body_id", flat=True
            )
        )

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per key for this actor: a page asks several rules that share a
        fact about the person and one object (are they a delegate here?)."""
        if key not in self._remembered:
            self._remembered[key] = compute()
        return self._remembered[key]

    def can(self, capability: str) -> bool:
        """Whether this person's role here allows ``capability`` (see ``CAPABILITIES``)."""
        return self.membership is not None and self.membership.can(capability)

    def sits_on(self, body_id: int | None) -> bool:
        return body_id is not None and body_id in self.body_ids

    def is_user(self, user_id: int | None) -> bool:
        return user_id is not None and user_id == self.user.pk


@dataclass(frozen=True)
class Condition:
    """Something that must hold before a transition; ``message`` says what is missing."""

    message: str
    holds: Callable[[Any], bool]


OPTIONAL_COMMENT = "Comment (optional)"


@dataclass(frozen=True)
class Transition:
    name: str  # the django-fsm method on the model
    label: str
    # Who may take it, in words, for refusals: "a manager or tenant administrator"; or a
    # function of the object, where that depends on it (the managers of one agency).
    who: str | Callable[[Any], str]
    allowed: Callable[[Actor, Any], bool]
    conditions: tuple[Condition, ...] = ()
    reason_required: bool = False
    # The label of the reason or comment field on the step's confirmation page.
    reason_label: str = OPTIONAL_COMMENT
    # A rule beyond roles with its own explanation, e.g. the four-eyes rule on sign-off.
    forbidden: Callable[[Actor, Any], str | None] | None = None
    # The body whose quorum of distinct approvals fires the transition.
    approving_body: Callable[[Any], SignOffBody | None] | None = None
    # People whose approval counts for nothing towards the quorum, by user id, with why (the
    # four-eyes rule: whoever delivered the item). ``forbidden`` should refuse them too; this
    # also discounts an approval given before the person became one of them.
    disqualified: Callable[[Any], dict[int, str]] | None = None
    # A decision a body takes for everyone else (signing off, endorsing, returning them): whoever
    # takes it needs a second factor (``tenants.rules.second_factor_refusal``).
    needs_second_factor: bool = False
    style: str = "primary"  # "primary", "secondary" or "warning", for the page's button
    # What the step does, for the person about to take it.
    description: str = ""
    # The outcome in words once the step is taken; "<label>: done." unless given.
    done: str = ""
    # What the approving body does, after its name: "The LSCB board signs it off".
    approval_text: str = ""

    def __post_init__(self):
        if self.reason_required and self.reason_label == OPTIONAL_COMMENT:
            raise ValueError(f"{self.name}: a step that needs a reason must say what reason.")

    def who_for(self, obj: Any) -> str:
        return self.who(obj) if callable(self.who) else self.who

    @property
    def reason_missing(self) -> str:
        """The refusal when a reason is needed and none is given."""
        return f"Give a reason to {self.label.lower()}."

    @property
    def reason_rule(self) -> TextRule:
        """What the reason or comment may be; required only where the step needs a reason."""
        if self.reason_required:
            return reason_text(missing=self.reason_missing)
        return reason_text(what="the comment")

    @property
    def done_text(self) -> str:
        return self.done or f"{self.label}: done."

    @property
    def approval_phrase(self) -> str:
        return self.approval_text or f"must {self.label.lower()}"


@dataclass(frozen=True)
class Workflow:
    state_field: str
    transitions: tuple[Transition, ...]
    by_name: dict[str, Transition] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {t.name: t for t in self.transitions})

    def get(self, name: str) -> Transition | None:
        return self.by_name.get(name)


class WorkflowModel(models.Model):
    """Mixin for a tenant-owned model driven by the engine."""

    # Bumped on every state change. Approvals count towards one visit to a state only, so an
    # action returned and evidenced again needs its quorum afresh.
    state_changes = models.PositiveIntegerField(default=0, editable=False)
    # When the current state was entered: escalations count how long evidence has waited.
    state_changed_at = models.DateTimeField(default=timezone.now, editable=False)

    workflow: ClassVar[Workflow]

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        # Cleaning assigns every field back; the protected state field refuses assignment and is
        # only ever changed by a transition, so it is never cleaned as input.
        super().clean_fields(exclude={*(exclude or ()), self.workflow.state_field})

    @property
    def workflow_state(self) -> str:
        return getattr(self, self.workflow.state_field)

    @property
    def workflow_state_label(self) -> str:
        return getattr(self, f"get_{self.workflow.state_field}_display")()

    def state_allows(self, transition: Transition) -> bool:
        return can_proceed(getattr(self, transition.name), check_conditions=False)

    def state_label(self, state: str) -> str:
        field = self._meta.get_field(self.workflow.state_field)
        return dict(field.choices).get(state, state)

    def target_state(self, transition: Transition) -> str | None:
        """The state ``transition`` leads to from the present one, or None if it cannot start
        here."""
        fsm = getattr(type(self), transition.name)._django_fsm.get_transition(self.workflow_state)
        return fsm.target if fsm is not None else None
