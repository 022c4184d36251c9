"""Random sequences of steps by random people, checked against a plain model of the rules.

The model below restates the workflow rules independently of the engine. Hypothesis drives the
action as a state machine; after every step the engine must have done exactly what the model
says (fired, recorded an approval, or refused), the action must be in the model's state, and
there must be one log row per state change.

The action starts in the partnership plan or in Bedfordshire Police's own plan, beside NHS
Bedfordshire's. Managers who work for each agency add actions to the agency plans, each agency's
committee endorses its plan, and the partnership plan adopts actions from them at whatever state
they have reached; the model says who may do each and what every plan's history then holds.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
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
from plans.models import Action, ActionAdoption, ActionPlan, Evidence, ProgressUpdate
from plans.workflows import adoption_refusal
from tenants.models import AuditEntry, SignOffBody, User
from tests.tenants.factories import Role, member, sign_off_body
from workflow.engine import Actor
from workflow.models import Approval, TransitionLog
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
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "mark", "victor", "charlie", "pete", "hana"]
# Managers, and the agency each works for: pete at the police, hana at NHS Bedfordshire.
MANAGERS = {"alice", "erin", "mark", "pete", "hana"}
ADMINISTRATORS = {"erin"}
WORKS_FOR = {"pete": "police", "hana": "health"}
LSCB = {"carol", "dave"}
# The Children's Trust board monitors the partnership plan: of the managers, only mark sits on it.
TRUST_BOARD = {"mark", "dave"}
PARTNERSHIP = "partnership"
AGENCIES = ("police", "health")
# The bodies the partnership plan lets sign off its actions; an agency's committee is not one.
PARTNERSHIP_SIGNS_OFF = {"lscb"}
OPEN = {State.PROPOSED, State.AGREED, State.IN_PROGRESS, State.EVIDENCED}
# People who could plausibly take each step ("lead" is the action's lead officer). Drawing from
# them half the time lets runs reach deep states, such as a lead who sits on the board trying to
# sign off their own evidence, that uniformly random people almost never reach.
LIKELY = {
    "agree": ["alice", "erin", "mark", "pete", "hana"],
    "start": ["lead", "alice", "pete"],
    "statement": ["lead", "mark", "hana"],
    "evidence": ["lead", "alice"],
    "delegate_dave": ["lead", "alice", "pete", "hana"],
    "delegate_mark": ["lead"],
    "submit_evidence": ["lead", "dave", "mark"],
    "sign_off": ["carol", "dave"],
    "send_back": ["carol", "dave"],
    "reopen": ["carol", "dave"],
    "withdraw": ["bob", "victor", "hana"],  # mostly refused: a withdrawal ends the run
}
# The action and at most six added to the agency plans: enough for several adoptions each way.
ACTIONS_AT_MOST = 7
ADOPTERS = ["alice", "mark", "pete", "hana", "erin"]
# Where a run starts: the steps that bring the action there, each checked against the model.
# "manager" is one who manages the action's plan.
PRELUDES = {
    "proposed": [],
    "agreed": [("agree", "manager")],
    "in progress": [("agree", "manager"), ("start", "lead"), ("statement", "lead")],
    "evidenced": [
        ("agree", "manager"),
        ("start", "lead"),
        ("statement", "lead"),
        ("submit_evidence", "lead"),
    ],
    "signed off": [
        ("agree", "manager"),
        ("start", "lead"),
        ("statement", "lead"),
        ("submit_evidence", "lead"),
        ("sign_off", "carol"),
        ("sign_off", "dave"),
    ],
}
# Steps drawn with these weights: a withdrawal ends the run, so it is drawn least. The last
# three act on the agencies' plans: adding an action, endorsing the plan, and adopting.
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
    *["add to an agency plan"] * 2,
    "endorse an agency plan",
    *["adopt"] * 3,
]


def manages(who: str, plan: str) -> bool:
    """A partnership plan is managed by every manager; an agency's by the managers who work for
    it and the tenant administrators."""
    return who in MANAGERS and (
        plan == PARTNERSHIP or who in ADMINISTRATORS or WORKS_FOR.get(who) == plan
    )


@dataclass
class Placed:
    """Where an action is, as the model has it."""

    plan: str
    reference: str
    body: str = "lscb"  # its sign-off body
    closed: bool = False  # signed off or withdrawn
    # Every plan it has been in, so the agency plans' rules are checked for its time there.
    been_in: set = field(default_factory=set)

    def __post_init__(self):
        self.been_in.add(self.plan)


@dataclass
class Model:
    quorum: int
    lead: str  # bob is an officer; dave is the lead but also sits on the LSCB board
    plan: str = PARTNERSHIP  # where the action starts
    state: str = State.PROPOSED
    statement_by: str | None = None
    submitter: str | None = None
    approvals: set = field(default_factory=set)
    delegates: set = field(default_factory=set)
    uploaders: set = field(default_factory=set)
    # Every action by key ("the action" is "main"), the agency plans endorsed, each plan's
    # record of adoptions (its history's summaries, oldest first) and the adoptions made.
    actions: dict = field(default_factory=dict)
    endorsed: set = field(default_factory=set)
    adoption_history: dict = field(default_factory=dict)
    adoptions: list = field(default_factory=list)

    def __post_init__(self):
        self.uploaders.add(self.lead)  # the run starts with the lead's evidence
        self.actions["main"] = Placed(self.plan, "5.5")
        self.adoption_history = {name: [] for name in (PARTNERSHIP, *AGENCIES)}

    @property
    def main(self) -> Placed:
        return self.actions["main"]

    def move(self, state):
        self.state = state
        self.approvals = set()
        self.main.closed = state not in OPEN

    def delivers(self, who: str) -> bool:
        return who == self.lead or who in self.delegates

    def manages(self, who: str) -> bool:
        return manages(who, self.main.plan)

    @property
    def delivered(self) -> set:
        """Whoever delivered the action as it stands: none of them may sign it off."""
        return {self.lead, *self.delegates, *self.uploaders, self.statement_by, self.submitter}

    def apply(self, step: str, who: str) -> str:
        """What the rules say happens: "fired", "approved", "written" or "refused"."""
        s = self.state
        # Reporting on an action and writing its statement are open to any manager; choosing
        # its delegates and its steps to those who manage its plan.
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
            ok = s in OPEN and (who == self.lead or self.manages(who))
            if ok:
                self.delegates.add(step.removeprefix("delegate_"))
            return "written" if ok else "refused"
        if step == "agree" and s == State.PROPOSED and self.manages(who):
            self.move(State.AGREED)
        elif step == "start" and s == State.AGREED and (self.delivers(who) or self.manages(who)):
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
        elif step == "withdraw" and s in OPEN and self.manages(who):
            self.move(State.WITHDRAWN)
        else:
            return "refused"
        return "fired"

    def add_to_agency_plan(self, key: str, plan: str, who: str, body: str) -> str:
        """An action added to an agency's plan: by those who manage it, nobody else."""
        if not manages(who, plan):
            return "refused"
        self.actions[key] = Placed(plan, key, body)
        return "written"

    def endorse_agency_plan(self, plan: str, submitter: str) -> str:
        """Submitted by someone who manages it, with an action in it, then endorsed by its
        committee."""
        has_actions = any(
            a.plan == plan and not (a is self.main and self.state == State.WITHDRAWN)
            for a in self.actions.values()
        )
        if plan in self.endorsed or not manages(submitter, plan) or not has_actions:
            return "refused"
        self.endorsed.add(plan)
        return "fired"

    def adopt(self, key: str, who: str, title: dict, reference: str) -> str:
        """``key`` adopted into the partnership plan by ``who`` as ``reference``: from an
        agency's plan, by a manager, and from an endorsed one only by a member of the body
        monitoring the partnership plan; never a signed-off or withdrawn action, nor one whose
        sign-off body the partnership plan does not authorise."""
        placed = self.actions[key]
        source = placed.plan
        if (
            source == PARTNERSHIP
            or not manages(who, PARTNERSHIP)
            or (source in self.endorsed and who not in TRUST_BOARD)
            or placed.closed
            or placed.body not in PARTNERSHIP_SIGNS_OFF
        ):
            return "refused"
        went = f"Action {placed.reference} adopted into {title[PARTNERSHIP]} as {reference}"
        if source in self.endorsed:
            went += "; the endorsed agency plan varied"
        self.adoption_history[source].append(went)
        self.adoption_history[PARTNERSHIP].append(
            f"Action {reference} adopted from {title[source]} ({placed.reference})"
        )
        self.adoptions.append((key, source, placed.reference, reference, who))
        placed.plan, placed.reference = PARTNERSHIP, reference
        placed.been_in.add(PARTNERSHIP)
        return "adopted"


@dataclass
class Agencies:
    """The police's and NHS Bedfordshire's own plans beside the partnership's (``story.plan``),
    each endorsed by its agency's committee, with a manager working for each agency."""

    plans: dict[str, ActionPlan]
    committees: dict[str, SignOffBody]
    pete: User
    hana: User


def agencies_set_up(story) -> Agencies:
    pete = member(story.tenant, Role.MANAGER, full_name="Pete Police", partner=story.police)
    hana = member(story.tenant, Role.MANAGER, full_name="Hana Health", partner=story.health)
    trust_board = sign_off_body(
        story.tenant,
        name="Children's Trust board",
        kind=SignOffBody.Kind.CHILDRENS_TRUST_BOARD,
        members=[story.mark, story.dave],
    )
    ActionPlan.objects.filter(pk=story.plan.pk).update(monitoring_body=trust_board)
    story.plan = ActionPlan.objects.get(pk=story.plan.pk)
    plans, committees = {}, {}
    for name, partner, manager in (("police", story.police, pete), ("health", story.health, hana)):
        committees[name] = sign_off_body(
            story.tenant,
            name=f"{partner.name} safeguarding committee",
            kind=SignOffBody.Kind.AGENCY_COMMITTEE,
            partner=partner,
            members=[manager, story.carol],
        )
        plans[name] = plan_services.action_plan_create(
            tenant=story.tenant,
            framework=story.framework,
            title=f"{partner.name} plan",
            owner_body=committees[name],
            owner=manager,
            partner=partner,
            sign_off_bodies=[story.lscb, committees[name]],
        )
    return Agencies(plans, committees, pete, hana)


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


HISTORY = ("steps", "approvals", "progress", "evidence")


def histories_of(action_pks: list[int], parts=HISTORY) -> dict[int, dict[str, list]]:
    """What each action's history holds (``parts`` of it), as rows that adoption must leave
    exactly as they were."""
    histories = {pk: {part: [] for part in parts} for pk in action_pks}
    of = {"content_type": ContentType.objects.get_for_model(Action), "object_id__in": action_pks}
    tables = {
        "steps": TransitionLog.objects.filter(**of).values_list(
            "object_id", "pk", "transition", "from_state", "to_state", "actor", "comment"
        ),
        "approvals": Approval.objects.filter(**of).values_list(
            "object_id", "pk", "cycle", "approver"
        ),
        "progress": ProgressUpdate.objects.filter(action_id__in=action_pks).values_list(
            "action", "pk"
        ),
        "evidence": Evidence.objects.filter(action_id__in=action_pks).values_list("action", "pk"),
    }
    for part in parts:
        for action_pk, *row in tables[part].order_by("pk"):
            histories[action_pk][part].append(tuple(row))
    return histories


def test_workflow_as_a_state_machine(story):
    agencies = agencies_set_up(story)
    story.pete, story.hana = agencies.pete, agencies.hana
    plans = {PARTNERSHIP: story.plan, **agencies.plans}
    titles = {name: plan.title for name, plan in plans.items()}
    partner_of = {"police": story.police, "health": story.health}
    action_type = ContentType.objects.get_for_model(Action)
    plan_type = ContentType.objects.get_for_model(ActionPlan)

    class ActionWorkflow(RuleBasedStateMachine):
        """One action, a random quorum, and random steps by random people; actions added to
        the agencies' plans, the plans endorsed and their actions adopted."""

        @initialize(
            quorum=st.sampled_from([1, 2]),
            lead=st.sampled_from(["bob", "dave"]),
            start_at=st.sampled_from(list(PRELUDES)),
            start_in=st.sampled_from([PARTNERSHIP, "police"]),
            police_endorsed=st.booleans(),
        )
        def create_action(self, quorum, lead, start_at, start_in, police_endorsed):
            # Each run is undone at teardown, so runs never see each other's rows.
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            story.quorum_set_directly(story.lscb, quorum)
            self.model = Model(quorum=quorum, lead=lead, plan=start_in)
            self.action = plan_services.action_create(
                plan=plans[start_in],
                by=story.pete if start_in == "police" else story.alice,
                reference="5.5",
                title="The action",
                lead_officer=getattr(story, lead),
                lead_partner=story.police,
                due_date=datetime.date.today() + datetime.timedelta(days=60),
                sign_off_body=story.lscb,
                recommendations=[story.recommendation],
            )
            self.keys = {"main": self.action.pk}
            # Where each adopted action's history stood when it moved, and the last audit and
            # log rows written while it was still in its agency's plan.
            self.history_at_adoption: dict[str, dict] = {}
            self.rows_before_adoption: dict[str, tuple[int, int]] = {}
            plan_services.evidence_add_link(
                action=self.action,
                by=getattr(story, lead),
                url="https://example.org/e",
                description="E",
            )
            if police_endorsed:
                if start_in != "police":
                    self.check_add("police", "pete", "lscb")
                self.check_endorse("police", "pete")
            # Runs start from several depths, so the rules of late states are reached often.
            manager = "pete" if start_in == "police" else "alice"
            for step, who in PRELUDES[start_at]:
                self.check_step(step, {"lead": lead, "manager": manager}.get(who, who))

        def check_step(self, step, who):
            expected = self.model.apply(step, who)
            assert engine_apply(story, self.action, step, who) == expected, (step, who)

        def check_add(self, plan, who, body):
            key = f"{plan[0].upper()}{len(self.keys)}"
            expected = self.model.add_to_agency_plan(key, plan, who, body)
            before = (Action.objects.count(), AuditEntry.objects.count())
            try:
                with transaction.atomic():
                    added = plan_services.action_create(
                        plan=plans[plan],
                        by=getattr(story, who),
                        reference=key,
                        title=f"Action {key}",
                        lead_partner=partner_of[plan],
                        due_date=datetime.date.today() + datetime.timedelta(days=90),
                        sign_off_body=story.lscb if body == "lscb" else agencies.committees[plan],
                        recommendations=[story.recommendation],
                    )
            except (PermissionDenied, ValidationError):
                assert expected == "refused", (plan, who)
                assert (Action.objects.count(), AuditEntry.objects.count()) == before
                return
            assert expected == "written", (plan, who)
            self.keys[key] = added.pk

        def check_endorse(self, plan, submitter):
            expected = self.model.endorse_agency_plan(plan, submitter)
            try:
                transition_perform(obj=plans[plan], name="submit", user=getattr(story, submitter))
            except TransitionRefused:
                assert expected == "refused", (plan, submitter)
                return
            assert expected == "fired", (plan, submitter)
            endorsed = transition_perform(obj=plans[plan], name="endorse", user=story.carol)
            assert endorsed.obj.state == ActionPlan.State.ENDORSED

        @rule(data=st.data())
        def take_step(self, data):
            step = data.draw(st.sampled_from(WEIGHTED_STEPS), label="step")
            if step == "add to an agency plan":
                if len(self.model.actions) < ACTIONS_AT_MOST:
                    self.check_add(
                        data.draw(st.sampled_from(AGENCIES), label="plan"),
                        data.draw(
                            st.one_of(
                                st.sampled_from(["pete", "hana", "erin"]), st.sampled_from(PEOPLE)
                            ),
                            label="who",
                        ),
                        data.draw(st.sampled_from(["lscb", "committee"]), label="sign-off body"),
                    )
            elif step == "endorse an agency plan":
                self.check_endorse(
                    data.draw(st.sampled_from(AGENCIES), label="plan"),
                    data.draw(st.sampled_from(["pete", "hana", "erin", "alice"]), label="who"),
                )
            elif step == "adopt":
                if any(a.plan != PARTNERSHIP for a in self.model.actions.values()):
                    self.check_adopt(data)
            else:
                who = data.draw(
                    st.one_of(st.sampled_from(LIKELY[step]), st.sampled_from(PEOPLE)),
                    label="who",
                )
                self.check_step(step, self.model.lead if who == "lead" else who)

        def check_adopt(self, data):
            keys = sorted(k for k, a in self.model.actions.items() if a.plan != PARTNERSHIP)
            # The action is drawn half the time, so it is adopted at every depth it reaches.
            key = data.draw(
                st.one_of(
                    st.sampled_from(["main"] if "main" in keys else keys), st.sampled_from(keys)
                ),
                label="action",
            )
            # mark, the one manager on the monitoring body, is drawn often enough to adopt from
            # endorsed plans.
            who = data.draw(
                st.one_of(st.just("mark"), st.sampled_from(ADOPTERS), st.sampled_from(PEOPLE)),
                label="who",
            )
            reference = f"A{len(self.model.adoptions) + 1}"
            expected = self.model.adopt(key, who, titles, reference)
            if expected == "adopted":
                history = histories_of([self.keys[key]])[self.keys[key]]
                marks = (
                    AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0,
                    TransitionLog.objects.aggregate(last=Max("pk"))["last"] or 0,
                )
            act = Action.objects.select_related("plan").get(pk=self.keys[key])
            rule_says = adoption_refusal(
                Actor(getattr(story, who), story.tenant.pk), act, story.plan
            )
            try:
                with transaction.atomic():
                    plan_services.action_adopt(
                        action=act,
                        into_plan=story.plan,
                        by=getattr(story, who),
                        reference=reference,
                    )
                outcome = "adopted"
            except (PermissionDenied, ValidationError):
                outcome = "refused"
            assert outcome == expected, (key, who)
            # The pages ask the same rule as the service.
            assert (rule_says is None) == (outcome == "adopted"), (key, who, rule_says)
            if outcome == "adopted":
                # Its steps, approvals, progress and evidence moved with it, untouched.
                assert histories_of([self.keys[key]])[self.keys[key]] == history
                self.history_at_adoption[key] = {
                    part: history[part] for part in ("steps", "approvals")
                }
                self.rows_before_adoption[key] = marks

        @invariant()
        def each_action_is_in_the_one_plan_the_model_says(self):
            if not hasattr(self, "action"):
                return
            stored = set(
                Action.objects.filter(plan__in=plans.values()).values_list(
                    "pk", "plan", "reference"
                )
            )
            assert stored == {
                (self.keys[key], plans[placed.plan].pk, placed.reference)
                for key, placed in self.model.actions.items()
            }

        @invariant()
        def stored_state_is_the_models_with_one_log_row_per_change(self):
            if hasattr(self, "action"):
                stored = Action.objects.get(pk=self.action.pk)
                assert stored.state == self.model.state
                logs = TransitionLog.objects.filter(content_type=action_type, object_id=stored.pk)
                assert logs.count() == stored.state_changes
                if stored.state == State.SIGNED_OFF:
                    # Four eyes: nobody who delivered the action signs it off, wherever it has
                    # moved since, and its quorum was reached by others.
                    signer = logs.order_by("-pk").first().actor_id
                    delivered = {getattr(story, who).pk for who in self.model.delivered if who}
                    assert signer not in delivered
                    approvers = set(
                        Approval.objects.filter(
                            content_type=action_type,
                            object_id=stored.pk,
                            transition="sign_off",
                            cycle=stored.state_changes - 1,
                        ).values_list("approver", flat=True)
                    )
                    assert len(approvers - delivered) >= self.model.quorum

        @invariant()
        def adopted_actions_keep_their_history(self):
            adopted = getattr(self, "history_at_adoption", {})
            if not adopted:
                return
            now = histories_of([self.keys[key] for key in adopted], ("steps", "approvals"))
            for key, history in adopted.items():
                for part, rows in history.items():
                    kept = now[self.keys[key]][part]
                    assert kept[: len(rows)] == rows, (key, part)

        @invariant()
        def both_plans_record_each_adoption(self):
            if not hasattr(self, "action"):
                return
            recorded = {name: [] for name in plans}
            name_of = {plan.pk: name for name, plan in plans.items()}
            actions_recorded = []
            for subject_type, subject_id, summary in (
                AuditEntry.objects.filter(
                    Q(subject_type=AuditEntry.Subject.PLAN, summary__contains=" adopted ")
                    | Q(subject_type=AuditEntry.Subject.ACTION, summary__startswith="Adopted from ")
                )
                .order_by("pk")
                .values_list("subject_type", "subject_id", "summary")
            ):
                if subject_type == AuditEntry.Subject.PLAN:
                    recorded[name_of[subject_id]].append(summary)
                else:
                    actions_recorded.append(subject_id)
            assert recorded == self.model.adoption_history
            # And each adopted action's own record, once.
            assert actions_recorded == [self.keys[key] for key, *_ in self.model.adoptions]
            assert list(
                ActionAdoption.objects.order_by("pk").values_list(
                    "action", "from_plan", "from_reference", "to_reference", "by"
                )
            ) == [
                (self.keys[key], plans[source].pk, old, new, getattr(story, who).pk)
                for key, source, old, new, who in self.model.adoptions
            ]

        @invariant()
        def no_manager_of_another_agency_changed_its_plan(self):
            if not hasattr(self, "action"):
                return
            by_agency = {story.pete.pk: "police", story.hana.pk: "health"}
            plan_names = {plan.pk: name for name, plan in plans.items()}
            action_keys = {pk: key for key, pk in self.keys.items()}

            def outsider_in(agency_plan: str, actor: int, key: str, pk: int, index: int) -> bool:
                """Whether ``actor`` works for another agency than ``agency_plan``'s and the row
                (numbered ``pk`` in its table) was written while ``key`` was in that plan."""
                if agency_plan == PARTNERSHIP or by_agency[actor] == agency_plan:
                    return False
                marks = self.rows_before_adoption.get(key)
                return marks is None or pk <= marks[index]

            for pk, subject_type, subject_id, actor, summary in AuditEntry.objects.filter(
                actor__in=by_agency
            ).values_list("pk", "subject_type", "subject_id", "actor", "summary"):
                if subject_type == AuditEntry.Subject.PLAN:
                    # Adopting is the partnership plan's managers' decision, whoever they work
                    # for: the record of an adoption is all they write in an agency's plan.
                    name = plan_names.get(subject_id, PARTNERSHIP)
                    assert (
                        name == PARTNERSHIP
                        or by_agency[actor] == name
                        or (" adopted into " in summary)
                    ), summary
                elif subject_id in action_keys and summary != "Completion statement saved":
                    # Any manager may report on an action and write its statement; its details,
                    # delegates and steps are its plan's managers' alone while it is there.
                    key = action_keys[subject_id]
                    assert not any(
                        outsider_in(name, actor, key, pk, 0)
                        for name in self.model.actions[key].been_in
                    ), summary
            for pk, content_type, object_id, actor in TransitionLog.objects.filter(
                actor__in=by_agency
            ).values_list("pk", "content_type", "object_id", "actor"):
                if content_type == plan_type.pk:
                    name = plan_names.get(object_id, PARTNERSHIP)
                    assert name == PARTNERSHIP or by_agency[actor] == name
                elif object_id in action_keys:
                    key = action_keys[object_id]
                    assert not any(
                        outsider_in(name, actor, key, pk, 1)
                        for name in self.model.actions[key].been_in
                    )

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
