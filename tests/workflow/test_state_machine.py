"""Random sequences of steps by random people, checked against a plain model of the rules.

The model below restates the workflow rules independently of the engine. After every step the
engine must have done exactly what the model says (fired, recorded an approval, or refused), the
action must be in the model's state, and there must be one log row per state change.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plans import services as plan_services
from plans.models import Action
from tenants.services import sign_off_body_set_quorum
from workflow.models import TransitionLog
from workflow.services import TransitionRefused, transition_perform

State = Action.State
STEPS = [
    "agree",
    "start",
    "statement",
    "submit_evidence",
    "sign_off",
    "send_back",
    "reopen",
    "withdraw",
]
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "mark", "victor", "charlie"]
MANAGERS = {"alice", "erin", "mark"}
LSCB = {"carol", "dave"}
OPEN = {State.PROPOSED, State.AGREED, State.IN_PROGRESS, State.EVIDENCED}


@dataclass
class Model:
    quorum: int
    state: str = State.PROPOSED
    statement: bool = False
    submitter: str | None = None
    approvals: set = field(default_factory=set)

    def move(self, state):
        self.state = state
        self.approvals = set()

    def apply(self, step: str, who: str) -> str:
        """What the rules say happens: "fired", "approved", "written" or "refused"."""
        s = self.state
        if step == "statement":
            ok = s in {State.AGREED, State.IN_PROGRESS} and (who == "bob" or who in MANAGERS)
            if ok:
                self.statement = True
            return "written" if ok else "refused"
        if step == "agree" and s == State.PROPOSED and who in MANAGERS:
            self.move(State.AGREED)
        elif step == "start" and s == State.AGREED and (who == "bob" or who in MANAGERS):
            self.move(State.IN_PROGRESS)
        elif (
            step == "submit_evidence" and s == State.IN_PROGRESS and who == "bob" and self.statement
        ):
            self.move(State.EVIDENCED)
            self.submitter = who
        elif step == "sign_off" and s == State.EVIDENCED and who in LSCB and who != self.submitter:
            if who in self.approvals:
                return "refused"
            self.approvals.add(who)
            if len(self.approvals) < self.quorum:
                return "approved"
            self.move(State.SIGNED_OFF)
        elif who in LSCB and (step, s) in {
            ("send_back", State.EVIDENCED),
            ("reopen", State.SIGNED_OFF),
        }:
            self.move(State.IN_PROGRESS)
            self.submitter = None
        elif step == "withdraw" and s in OPEN and who in MANAGERS:
            self.move(State.WITHDRAWN)
        else:
            return "refused"
        return "fired"


def engine_apply(story, action, step, who) -> str:
    person = getattr(story, who)
    if step == "statement":
        try:
            with transaction.atomic():
                plan_services.action_set_completion_statement(
                    action=action, by=person, text="What was done."
                )
        except Exception:
            return "refused"
        return "written"
    try:
        outcome = transition_perform(obj=action, name=step, user=person, comment="Because.")
    except TransitionRefused:
        return "refused"
    return "fired" if outcome.fired else "approved"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    quorum=st.sampled_from([1, 2]),
    steps=st.lists(st.tuples(st.sampled_from(STEPS), st.sampled_from(PEOPLE)), max_size=30),
)
def test_random_steps_follow_the_rules(story, quorum, steps):
    with transaction.atomic():
        sign_off_body_set_quorum(body=story.lscb, quorum=quorum)
        action = story.action(reference="5.5")
        plan_services.evidence_add_link(
            action=action, by=story.bob, url="https://example.org/e", description="Evidence"
        )
        model = Model(quorum=quorum)
        for step, who in steps:
            expected = model.apply(step, who)
            assert engine_apply(story, action, step, who) == expected, (step, who, model)
            stored = Action.objects.get(pk=action.pk)
            assert stored.state == model.state
            logs = TransitionLog.objects.filter(
                content_type=ContentType.objects.get_for_model(Action), object_id=action.pk
            )
            assert logs.count() == stored.state_changes
            if stored.state == State.SIGNED_OFF:
                # Only bob ever submits evidence here; he must never be the one who signs off.
                assert logs.order_by("-pk").first().actor_id != story.bob.pk
        transaction.set_rollback(True)
