"""Random sequences of steps by random people, checked against a plain model of the rules.

The model below restates the workflow rules independently of the engine. Hypothesis drives the
action as a state machine; after every step the engine must have done exactly what the model
says (fired, recorded an approval, or refused), the action must be in the model's state, and
there must be one log row per state change.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

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
    "evidence",
    "delegate_dave",
    "delegate_mark",
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
# People who could plausibly take each step ("lead" is the action's lead officer). Drawing from
# them half the time lets runs reach deep states, such as a lead who sits on the board trying to
# sign off their own evidence, that uniformly random people almost never reach.
LIKELY = {
    "agree": ["alice", "erin", "mark"],
    "start": ["lead", "alice"],
    "statement": ["lead", "mark"],
    "evidence": ["lead", "alice"],
    "delegate_dave": ["lead", "alice"],
    "delegate_mark": ["lead"],
    "submit_evidence": ["lead", "dave", "mark"],
    "sign_off": ["carol", "dave"],
    "send_back": ["carol", "dave"],
    "reopen": ["carol", "dave"],
    "withdraw": ["bob", "victor"],  # mostly refused: a withdrawal ends the run
}
# Where a run starts: the steps that bring the action there, each checked against the model.
PRELUDES = {
    "proposed": [],
    "in progress": [("agree", "alice"), ("start", "lead"), ("statement", "lead")],
    "evidenced": [
        ("agree", "alice"),
        ("start", "lead"),
        ("statement", "lead"),
        ("submit_evidence", "lead"),
    ],
}
# Steps drawn with these weights: a withdrawal ends the run, so it is drawn least.
WEIGHTED_STEPS = [
    *["agree"] * 2,
    *["start"] * 2,
    *["statement"] * 2,
    "evidence",
    "delegate_dave",
    "delegate_mark",
    *["submit_evidence"] * 3,
    *["sign_off"] * 3,
    "send_back",
    "reopen",
    "withdraw",
]


@dataclass
class Model:
    quorum: int
    lead: str  # bob is an officer; dave is the lead but also sits on the LSCB board
    state: str = State.PROPOSED
    statement_by: str | None = None
    submitter: str | None = None
    approvals: set = field(default_factory=set)
    delegates: set = field(default_factory=set)
    uploaders: set = field(default_factory=set)

    def __post_init__(self):
        self.uploaders.add(self.lead)  # the run starts with the lead's evidence

    def move(self, state):
        self.state = state
        self.approvals = set()

    def delivers(self, who: str) -> bool:
        return who == self.lead or who in self.delegates

    @property
    def delivered(self) -> set:
        """Whoever delivered the action as it stands: none of them may sign it off."""
        return {self.lead, *self.delegates, *self.uploaders, self.statement_by, self.submitter}

    def apply(self, step: str, who: str) -> str:
        """What the rules say happens: "fired", "approved", "written" or "refused"."""
        s = self.state
        if step == "statement":
            ok = s in {State.AGREED, State.IN_PROGRESS} and (self.delivers(who) or who in MANAGERS)
            if ok:
                self.statement_by = who
            return "written" if ok else "refused"
        if step == "evidence":
            ok = s in OPEN - {State.EVIDENCED} and (self.delivers(who) or who in MANAGERS)
            if ok:
                self.uploaders.add(who)
            return "written" if ok else "refused"
        if step.startswith("delegate_"):
            ok = s in OPEN and (who == self.lead or who in MANAGERS)
            if ok:
                self.delegates.add(step.removeprefix("delegate_"))
            return "written" if ok else "refused"
        if step == "agree" and s == State.PROPOSED and who in MANAGERS:
            self.move(State.AGREED)
        elif step == "start" and s == State.AGREED and (self.delivers(who) or who in MANAGERS):
            self.move(State.IN_PROGRESS)
        elif (
            step == "submit_evidence"
            and s == State.IN_PROGRESS
            and self.delivers(who)
            and self.statement_by is not None
            and len(LSCB - self.delivered - {who}) >= self.quorum
        ):
            self.move(State.EVIDENCED)
            self.submitter = who
        elif (
            step == "sign_off"
            and s == State.EVIDENCED
            and who in LSCB
            and who not in self.delivered
        ):
            if who in self.approvals:
                return "refused"
            self.approvals.add(who)
            # An approval from someone who has since delivered the action counts for nothing.
            if len(self.approvals - self.delivered) < self.quorum:
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
    writes = {
        "statement": lambda: plan_services.action_set_completion_statement(
            action=action, by=person, text="What was done."
        ),
        "evidence": lambda: plan_services.evidence_add_link(
            action=action, by=person, url="https://example.org/more", description="More"
        ),
        "delegate_dave": lambda: plan_services.action_delegate(
            action=action, by=person, delegate=story.dave
        ),
        "delegate_mark": lambda: plan_services.action_delegate(
            action=action, by=person, delegate=story.mark
        ),
    }
    if step in writes:
        try:
            with transaction.atomic():
                writes[step]()
        except (PermissionDenied, ValidationError):
            return "refused"
        return "written"
    try:
        outcome = transition_perform(obj=action, name=step, user=person, comment="Because.")
    except TransitionRefused:
        return "refused"
    return "fired" if outcome.fired else "approved"


def test_workflow_as_a_state_machine(story):
    class ActionWorkflow(RuleBasedStateMachine):
        """One action, a random quorum, and random steps by random people."""

        @initialize(
            quorum=st.sampled_from([1, 2]),
            lead=st.sampled_from(["bob", "dave"]),
            start_at=st.sampled_from(list(PRELUDES)),
        )
        def create_action(self, quorum, lead, start_at):
            # Each run is undone at teardown, so runs never see each other's rows.
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            sign_off_body_set_quorum(body=story.lscb, quorum=quorum)
            self.action = story.action(reference="5.5", lead_officer=getattr(story, lead))
            plan_services.evidence_add_link(
                action=self.action,
                by=getattr(story, lead),
                url="https://example.org/e",
                description="E",
            )
            self.model = Model(quorum=quorum, lead=lead)
            # Runs start from several depths, so the rules of late states are reached often.
            for step, who in PRELUDES[start_at]:
                self.check_step(step, lead if who == "lead" else who)

        def check_step(self, step, who):
            expected = self.model.apply(step, who)
            assert engine_apply(story, self.action, step, who) == expected, (step, who)

        @rule(data=st.data())
        def take_step(self, data):
            step = data.draw(st.sampled_from(WEIGHTED_STEPS), label="step")
            who = data.draw(
                st.one_of(st.sampled_from(LIKELY[step]), st.sampled_from(PEOPLE)), label="who"
            )
            self.check_step(step, self.model.lead if who == "lead" else who)

        @invariant()
        def stored_state_is_the_models(self):
            if hasattr(self, "action"):
                assert Action.objects.get(pk=self.action.pk).state == self.model.state

        @invariant()
        def one_log_row_per_state_change(self):
            if hasattr(self, "action"):
                stored = Action.objects.get(pk=self.action.pk)
                logs = TransitionLog.objects.filter(
                    content_type=ContentType.objects.get_for_model(Action), object_id=stored.pk
                )
                assert logs.count() == stored.state_changes
                if stored.state == State.SIGNED_OFF:
                    # Four eyes: nobody who delivered the action signs it off.
                    signer = logs.order_by("-pk").first().actor_id
                    delivered = {getattr(story, who).pk for who in self.model.delivered if who}
                    assert signer not in delivered

        def teardown(self):
            if hasattr(self, "atomic"):
                transaction.set_rollback(True)
                self.atomic.__exit__(None, None, None)

    run_state_machine_as_test(
        ActionWorkflow,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
