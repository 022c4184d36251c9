"""The four-eyes rule on sign-off: nobody who delivered an action in its present form (its lead
officer, a delegate, whoever added its evidence or wrote its completion statement, whoever
submitted it) may sign it off or count towards the sign-off body's quorum. And while the body
decides, what it is deciding on is frozen."""

import pytest
from django.core.exceptions import ValidationError

from plans import services
from plans.models import Action, ActionPlan, Evidence
from tenants.models import SignOffBody
from tenants.services import sign_off_body_add_member, sign_off_body_set_quorum
from tests.plans.factories import action
from tests.tenants.factories import Role, member, sign_off_body
from workflow.models import Approval
from workflow.services import TransitionRefused, transition_perform, transitions_available

State = Action.State


def refused(action, user, match):
    with pytest.raises(TransitionRefused, match=match):
        transition_perform(obj=action, name="sign_off", user=user, comment="Accepted")
    assert Action.objects.get(pk=action.pk).state == State.EVIDENCED


def evidenced(story, *, lead, uploader=None, writer=None, submitter=None, delegate=None):
    """An action taken to evidenced with each part of the delivery done by the named people."""
    act = story.action("1.1", lead_officer=lead)
    transition_perform(obj=act, name="agree", user=story.alice)
    if delegate is not None:
        services.action_delegate(action=act, by=story.alice, delegate=delegate)
    transition_perform(obj=act, name="start", user=lead)
    services.evidence_add_link(
        action=act, by=uploader or lead, url="https://example.org/audit.pdf", description="Audit"
    )
    services.action_set_completion_statement(action=act, by=writer or lead, text="Done.")
    return transition_perform(obj=act, name="submit_evidence", user=submitter or lead).obj


@pytest.fixture
def board_of_three(story):
    """The LSCB board with Alice the manager added: Carol, Dave and Alice; quorum one."""
    sign_off_body_add_member(body=story.lscb, user=story.alice)
    return story.lscb


def test_the_lead_officer_on_the_board_cannot_sign_off(story, board_of_three):
    act = evidenced(story, lead=story.dave)
    refused(act, story.dave, "You are its lead officer")
    assert transition_perform(obj=act, name="sign_off", user=story.carol).fired


def test_a_delegate_on_the_board_cannot_sign_off_even_if_the_lead_officer_submitted(
    story, board_of_three
):
    act = evidenced(story, lead=story.bob, delegate=story.dave)
    refused(act, story.dave, "You are a delegate for it")


def test_whoever_added_evidence_cannot_sign_off(story, board_of_three):
    act = evidenced(story, lead=story.bob, uploader=story.alice)
    refused(act, story.alice, "You added evidence for it")


def test_whoever_wrote_the_completion_statement_cannot_sign_off(story, board_of_three):
    act = evidenced(story, lead=story.bob, writer=story.alice)
    refused(act, story.alice, "You wrote its completion statement")


def test_a_submitter_whose_delegation_was_then_removed_still_cannot_sign_off(story, board_of_three):
    act = evidenced(story, lead=story.bob, delegate=story.dave, submitter=story.dave)
    services.action_delegate_remove(action=act, by=story.alice, delegate=story.dave)
    refused(Action.objects.get(pk=act.pk), story.dave, "You submitted it for sign-off")


def test_the_page_rules_say_why_the_step_is_not_offered(story, board_of_three):
    act = evidenced(story, lead=story.bob, uploader=story.alice)
    [option] = [
        o
        for o in transitions_available(obj=act, user=story.alice)
        if o.transition.name == "sign_off"
    ]
    assert not option.offered
    assert option.refusal.startswith("You added evidence for it, so another member")


def test_an_approval_from_someone_who_then_delivers_counts_for_nothing(story, board_of_three):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    act = evidenced(story, lead=story.bob)
    outcome = transition_perform(obj=act, name="sign_off", user=story.dave)
    assert (outcome.fired, outcome.approvals) == (False, 1)
    # Dave is then asked to help deliver the action he approved.
    services.action_delegate(action=act, by=story.alice, delegate=story.dave)

    outcome = transition_perform(obj=act, name="sign_off", user=story.carol)

    assert (outcome.fired, outcome.approvals, outcome.quorum) == (False, 1, 2)
    assert Action.objects.get(pk=act.pk).state == State.EVIDENCED
    assert transition_perform(obj=act, name="sign_off", user=story.alice).fired


def test_evidence_cannot_be_sent_when_too_few_members_did_not_deliver_it(story):
    # The LSCB board is Carol and Dave; with a quorum of two, Dave leading leaves only Carol.
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    act = story.action("1.1", lead_officer=story.dave)
    transition_perform(obj=act, name="agree", user=story.alice)
    transition_perform(obj=act, name="start", user=story.dave)
    services.evidence_add_link(
        action=act, by=story.dave, url="https://example.org/a.pdf", description="Audit"
    )
    services.action_set_completion_statement(action=act, by=story.dave, text="Done.")

    with pytest.raises(TransitionRefused, match="too few members who did not deliver"):
        transition_perform(obj=act, name="submit_evidence", user=story.dave)
    assert Action.objects.get(pk=act.pk).state == State.IN_PROGRESS

    sign_off_body_add_member(body=story.lscb, user=story.alice)
    assert transition_perform(obj=act, name="submit_evidence", user=story.dave).fired


def test_evidence_is_frozen_while_the_body_decides_and_a_return_unfreezes_it(story):
    act = story.action_in(State.EVIDENCED)
    with pytest.raises(ValidationError, match="waiting for sign-off"):
        services.evidence_add_link(
            action=act, by=story.bob, url="https://example.org/late.pdf", description="Late"
        )
    with pytest.raises(ValidationError):
        services.action_set_completion_statement(action=act, by=story.bob, text="Rewritten.")
    assert Evidence.objects.filter(action=act).count() == 1
    assert Action.objects.get(pk=act.pk).completion_statement == "Done and embedded in practice."

    transition_perform(obj=act, name="send_back", user=story.carol, comment="Needs the audit.")
    services.evidence_add_link(
        action=act, by=story.bob, url="https://example.org/audit.pdf", description="The audit"
    )
    assert Evidence.objects.filter(action=act).count() == 2


def test_a_plans_submitter_on_a_body_of_one_is_refused_before_the_plan_gets_stuck(story):
    olive = member(story.tenant, Role.MANAGER, full_name="Olive Only")
    panel = sign_off_body(
        story.tenant, name="Panel", kind=SignOffBody.Kind.EXECUTIVE, members=[olive]
    )
    plan = services.action_plan_create(
        tenant=story.tenant,
        framework=story.framework,
        title="Panel plan",
        owner_body=panel,
        sign_off_bodies=[story.lscb],
    )
    action(plan, by=story.alice, reference="1.1")

    with pytest.raises(TransitionRefused, match="needs 1 members other than whoever submits"):
        transition_perform(obj=plan, name="submit", user=olive)
    assert ActionPlan.objects.get(pk=plan.pk).state == ActionPlan.State.DRAFT

    # Someone who does not sit on the body may submit it, and Olive then endorses it.
    transition_perform(obj=plan, name="submit", user=story.alice)
    assert transition_perform(obj=plan, name="endorse", user=olive).fired


def test_approvals_of_a_deliverer_are_left_out_of_the_count_however_they_were_recorded(
    story, board_of_three
):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    act = evidenced(story, lead=story.bob)
    transition_perform(obj=act, name="sign_off", user=story.carol)
    # Only the service writes approvals; one from the lead officer must still count for nothing.
    Approval.objects.create(
        tenant_id=act.tenant_id,
        content_type=Approval.objects.get().content_type,
        object_id=act.pk,
        transition="sign_off",
        cycle=act.state_changes,
        approver=story.bob,
    )
    outcome = transition_perform(obj=act, name="sign_off", user=story.alice)
    assert outcome.fired and outcome.approvals == 2
