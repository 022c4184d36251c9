"""An action plan is drafted, submitted and endorsed by its owning body, or returned."""

import pytest

from plans.models import ActionPlan
from workflow.services import TransitionRefused, transition_perform

State = ActionPlan.State


def test_empty_plan_cannot_be_submitted(story):
    with pytest.raises(TransitionRefused, match="Add at least one action"):
        transition_perform(obj=story.plan, name="submit", user=story.alice)


def test_plan_is_submitted_by_a_manager_and_endorsed_by_its_owning_body(story):
    story.action()
    submitted = transition_perform(obj=story.plan, name="submit", user=story.alice).obj
    assert submitted.state == State.SUBMITTED
    with pytest.raises(TransitionRefused, match="owning body"):
        transition_perform(obj=submitted, name="endorse", user=story.carol)
    endorsed = transition_perform(obj=submitted, name="endorse", user=story.dave).obj
    assert endorsed.state == State.ENDORSED


def test_submitter_cannot_endorse_own_plan(story):
    story.action()
    # mark manages and sits on the Executive, which owns the plan.
    transition_perform(obj=story.plan, name="submit", user=story.mark)
    with pytest.raises(TransitionRefused, match="You submitted this plan"):
        transition_perform(obj=story.plan, name="endorse", user=story.mark)


def test_owning_body_returns_a_plan_with_a_reason(story):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    with pytest.raises(TransitionRefused, match="Give a reason"):
        transition_perform(obj=story.plan, name="send_back", user=story.dave)
    returned = transition_perform(
        obj=story.plan, name="send_back", user=story.dave, comment="Add partner actions"
    ).obj
    assert returned.state == State.DRAFT


def test_officers_cannot_submit_plans(story):
    story.action()
    with pytest.raises(TransitionRefused, match="Only a manager"):
        transition_perform(obj=story.plan, name="submit", user=story.bob)
    assert ActionPlan.objects.get(pk=story.plan.pk).state == State.DRAFT
