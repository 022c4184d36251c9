"""The workflow's reads for pages: quorum progress from each step's own approving body, the
steps a person is offered or refused with why, and the history of state changes and approvals."""

import pytest

from plans.models import Action, ActionPlan
from tenants.services import sign_off_body_add_member, sign_off_body_set_quorum
from tests.tenants.factories import Role, member
from workflow.engine import Actor, Transition
from workflow.selectors import approvals_awaited, quorum_progress, workflow_timeline
from workflow.services import (
    TransitionRefused,
    transition_perform,
    transition_refusal,
    transitions_available,
)

State = Action.State


def test_quorum_progress_reads_the_body_from_the_steps_own_approving_body(story):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    by_lscb = story.action_in(State.EVIDENCED, "1.1")
    by_team = story.action_in(State.EVIDENCED, "1.2", sign_off_body=story.management_team)

    assert quorum_progress(obj=by_lscb, name="sign_off").body == story.lscb
    team = quorum_progress(obj=by_team, name="sign_off")
    assert (team.body, team.quorum, team.needed) == (story.management_team, 1, 1)
    assert [u.full_name for u in team.may_approve] == ["Alice Manager", "Mark Team"]


def test_quorum_progress_is_only_for_a_state_an_approving_step_leaves_from(story):
    in_progress = story.action_in(State.IN_PROGRESS)
    assert quorum_progress(obj=in_progress, name="sign_off") is None
    assert quorum_progress(obj=in_progress, name="start") is None  # no approving body
    assert approvals_awaited(obj=in_progress) == []
    evidenced = story.action_in(State.EVIDENCED, "1.2")
    assert [p.transition.name for p in approvals_awaited(obj=evidenced)] == ["sign_off"]


def test_quorum_progress_counts_this_visits_approvals_and_who_may_still_approve(story):
    third = member(story.tenant, Role.BOARD_MEMBER, full_name="Zoe Third")
    sign_off_body_add_member(body=story.lscb, user=third)
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    # dave leads and submits, so the four-eyes rule keeps him from approving.
    action = story.action_in(State.EVIDENCED, lead_officer=story.dave)
    transition_perform(obj=action, name="sign_off", user=story.carol, comment="Yes")

    progress = quorum_progress(obj=Action.objects.get(pk=action.pk), name="sign_off")

    assert [a.approver for a in progress.approvals] == [story.carol]
    assert progress.may_approve == [third]
    assert (progress.quorum, progress.needed, progress.short) == (2, 1, False)


def test_quorum_progress_says_when_too_few_members_may_still_approve(story):
    action = story.action_in(State.EVIDENCED, lead_officer=story.dave)
    # The quorum is raised after the evidence went in, so only Carol of two may approve.
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = Action.objects.get(pk=action.pk)
    progress = quorum_progress(obj=action, name="sign_off")
    assert progress.may_approve == [story.carol]
    assert progress.short


def test_plan_endorsement_progress_comes_from_the_owning_body(story):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    plan = ActionPlan.objects.get(pk=story.plan.pk)
    progress = quorum_progress(obj=plan, name="endorse")
    assert progress.body == story.executive
    assert progress.may_approve == [story.dave, story.mark]


def test_a_member_barred_by_the_four_eyes_rule_gets_the_step_refused_with_why(story):
    action = story.action_in(State.EVIDENCED, lead_officer=story.dave)
    [sign_off] = [
        o
        for o in transitions_available(obj=action, user=story.dave)
        if o.transition.name == "sign_off"
    ]
    assert not sign_off.offered
    assert sign_off.refusal.startswith("You are its lead officer, so another member")
    # Someone whose role does not allow the step is not told about it at all.
    assert transitions_available(obj=action, user=story.bob) == []


@pytest.mark.parametrize(
    ("state", "person", "name"),
    [
        (State.EVIDENCED, "bob", "sign_off"),
        (State.PROPOSED, "bob", "start"),
        (State.IN_PROGRESS, "alice", "submit_evidence"),
        (State.EVIDENCED, "dave", "sign_off"),
        (State.AGREED, "victor", "withdraw"),
        (State.AGREED, "charlie", "start"),
    ],
)
def test_a_refusal_read_beforehand_is_the_one_the_service_gives(story, state, person, name):
    lead = story.dave if (state, person) == (State.EVIDENCED, "dave") else story.bob
    action = story.action_in(state, lead_officer=lead)
    user = getattr(story, person)
    said = transition_refusal(obj=action, name=name, user=user)
    with pytest.raises(TransitionRefused) as refused:
        transition_perform(obj=action, name=name, user=user, comment="Because.")
    assert said == str(refused.value)


def test_nothing_is_refused_beforehand_that_the_service_would_take(story):
    action = story.action_in(State.EVIDENCED)
    assert transition_refusal(obj=action, name="sign_off", user=story.carol) is None
    assert transition_perform(obj=action, name="sign_off", user=story.carol).fired


def test_history_is_newest_first_and_leaves_out_approvals_that_fired_a_step(story):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(State.EVIDENCED)
    transition_perform(obj=action, name="sign_off", user=story.carol, comment="First")
    transition_perform(obj=action, name="sign_off", user=story.dave, comment="Second")

    timeline = workflow_timeline(obj=action)

    assert [(e.kind, e.title, e.actor, e.text) for e in timeline] == [
        ("transition", "Sign off", story.dave, "Second"),
        ("approval", "Approved: sign off", story.carol, "First"),
        ("transition", "Submit for sign-off", story.bob, ""),
        ("transition", "Start work", story.bob, ""),
        ("transition", "Agree the action", story.alice, ""),
    ]
    assert (timeline[0].from_state, timeline[0].to_state) == ("Evidenced", "Signed off")


def test_a_step_that_needs_a_reason_must_say_what_reason():
    with pytest.raises(ValueError, match="must say what reason"):
        Transition(
            name="x", label="X", who="anyone", allowed=lambda a, o: True, reason_required=True
        )


def test_actor_told_its_membership_reads_nothing(story, django_assert_num_queries):
    actor = Actor(story.carol, story.tenant.pk, membership=None, body_ids=frozenset({1}))
    with django_assert_num_queries(0):
        assert actor.membership is None
        assert actor.sits_on(1)
