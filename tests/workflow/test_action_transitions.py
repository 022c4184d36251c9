"""Each step of an action's workflow, by the people allowed to take it and those who are not."""

import pytest
from django.contrib.contenttypes.models import ContentType

from plans import services as plan_services
from plans.models import Action
from tenants.scoping import tenant_scope
from tenants.services import sign_off_body_add_member, sign_off_body_set_quorum
from tests.tenants.factories import Role, member
from workflow.models import Approval, TransitionLog
from workflow.services import TransitionRefused, transition_perform, transitions_available

State = Action.State


def logs_of(action):
    return list(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Action), object_id=action.pk
        )
    )


def refused(action, name, user, comment="", match=None):
    before = Action.objects.get(pk=action.pk)
    log_count = len(logs_of(action))
    with pytest.raises(TransitionRefused, match=match):
        transition_perform(obj=action, name=name, user=user, comment=comment)
    after = Action.objects.get(pk=action.pk)
    assert after.state == before.state
    assert after.state_changes == before.state_changes
    assert len(logs_of(action)) == log_count


def test_manager_agrees_a_proposed_action_and_the_change_is_logged(story):
    action = story.action()
    outcome = transition_perform(
        obj=action, name="agree", user=story.alice, comment="Agreed at DMT"
    )
    assert outcome.fired and outcome.obj.state == State.AGREED
    [log] = logs_of(action)
    assert (log.actor, log.from_state, log.to_state, log.comment) == (
        story.alice,
        State.PROPOSED,
        State.AGREED,
        "Agreed at DMT",
    )
    assert log.at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("who", ["bob", "carol", "victor"])
def test_only_managers_agree_actions(story, who):
    refused(story.action(), "agree", getattr(story, who), match="Only a manager")


def test_tenant_admin_may_agree(story):
    action = story.action()
    assert transition_perform(obj=action, name="agree", user=story.erin).obj.state == State.AGREED


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("lead_officer", "Name a lead officer"),
        ("lead_partner", "Name a lead partner"),
        ("due_date", "Set a due date"),
        ("sign_off_body", "Choose a sign-off body"),
    ],
)
def test_action_needs_lead_partner_date_and_body_to_be_agreed(story, missing, message):
    action = story.action(**{missing: None})
    refused(action, "agree", story.alice, match=message)


def test_person_from_another_tenant_cannot_take_any_step(story):
    action = story.action()
    refused(action, "agree", story.charlie, match="not a member")


def test_a_step_from_the_wrong_state_is_refused(story):
    action = story.action()
    refused(action, "start", story.bob, match="not possible while this is proposed")
    refused(action, "sign_off", story.carol, match="not possible")


def test_unknown_step_is_refused(story):
    refused(story.action(), "approve_everything", story.alice, match="no step called")


def test_lead_officer_starts_work(story):
    action = story.action_in(State.AGREED)
    assert (
        transition_perform(obj=action, name="start", user=story.bob).obj.state == State.IN_PROGRESS
    )


def test_officer_who_is_not_the_lead_cannot_start(story):
    other_officer = member(story.tenant, Role.OFFICER)
    refused(story.action_in(State.AGREED), "start", other_officer, match="Only the lead officer")


def test_submitting_needs_evidence_and_a_completion_statement(story):
    action = story.action_in(State.IN_PROGRESS)
    refused(action, "submit_evidence", story.bob, match="Add at least one item of evidence")
    plan_services.evidence_add_link(
        action=action, by=story.bob, url="https://example.org/audit", description="Audit"
    )
    refused(action, "submit_evidence", story.bob, match="Write a completion statement")
    plan_services.action_set_completion_statement(action=action, by=story.bob, text="Complete.")
    outcome = transition_perform(obj=action, name="submit_evidence", user=story.bob)
    assert outcome.obj.state == State.EVIDENCED
    assert outcome.obj.evidence_submitted_by == story.bob


def test_manager_cannot_submit_evidence_for_someone_elses_action(story):
    action = story.action_in(State.IN_PROGRESS)
    plan_services.evidence_add_link(
        action=action, by=story.bob, url="https://example.org/a", description="A"
    )
    plan_services.action_set_completion_statement(action=action, by=story.bob, text="Done.")
    refused(action, "submit_evidence", story.alice, match="Only the lead officer or a delegate")


def test_delegate_may_submit_evidence_for_the_lead_officer(story):
    delegate = member(story.tenant, Role.OFFICER)
    action = story.action_in(State.IN_PROGRESS)
    plan_services.action_delegate(action=action, by=story.bob, delegate=delegate)
    plan_services.evidence_add_link(
        action=action, by=delegate, url="https://example.org/a", description="A"
    )
    plan_services.action_set_completion_statement(action=action, by=delegate, text="Done.")
    outcome = transition_perform(obj=action, name="submit_evidence", user=delegate)
    assert outcome.obj.state == State.EVIDENCED


def test_delegation_covers_one_action_only(story):
    delegate = member(story.tenant, Role.OFFICER)
    first = story.action_in(State.AGREED, reference="1.1")
    second = story.action_in(State.AGREED, reference="1.2")
    plan_services.action_delegate(action=first, by=story.bob, delegate=delegate)
    assert transition_perform(obj=first, name="start", user=delegate).fired
    refused(second, "start", delegate)


def test_board_member_signs_off_evidenced_action(story):
    action = story.action_in(State.EVIDENCED)
    outcome = transition_perform(obj=action, name="sign_off", user=story.carol)
    assert outcome.obj.state == State.SIGNED_OFF


def test_board_member_cannot_sign_off_own_evidence(story):
    # dave sits on the LSCB board and is also the action's lead officer.
    action = story.action_in(State.EVIDENCED, lead_officer=story.dave)
    refused(action, "sign_off", story.dave, match="You are its lead officer, so another")
    assert transition_perform(obj=action, name="sign_off", user=story.carol).fired


def test_only_the_actions_own_sign_off_body_signs_off(story):
    action = story.action_in(State.EVIDENCED, sign_off_body=story.management_team)
    refused(action, "sign_off", story.carol, match="member of the action's sign-off body")
    assert transition_perform(obj=action, name="sign_off", user=story.mark).fired


def test_body_not_authorised_by_the_plan_cannot_be_chosen(story):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="authorised to sign off this plan"):
        story.action(sign_off_body=story.executive)


def test_managers_and_viewers_outside_the_body_cannot_sign_off(story):
    action = story.action_in(State.EVIDENCED)
    for person in (story.alice, story.erin, story.victor, story.bob):
        refused(action, "sign_off", person)


def test_quorum_counts_distinct_members(story):
    third = member(story.tenant, Role.BOARD_MEMBER)
    sign_off_body_add_member(body=story.lscb, user=third)
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(State.EVIDENCED)

    first = transition_perform(obj=action, name="sign_off", user=story.carol)
    assert not first.fired and (first.approvals, first.quorum) == (1, 2)
    assert Action.objects.get(pk=action.pk).state == State.EVIDENCED
    refused(action, "sign_off", story.carol, match="already approved")
    assert Action.objects.get(pk=action.pk).state == State.EVIDENCED

    second = transition_perform(obj=action, name="sign_off", user=third)
    assert second.fired and second.obj.state == State.SIGNED_OFF
    assert [log.to_state for log in logs_of(action)][-1] == State.SIGNED_OFF


def test_approvals_do_not_survive_a_return(story):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(State.EVIDENCED)
    transition_perform(obj=action, name="sign_off", user=story.carol)
    transition_perform(obj=action, name="send_back", user=story.dave, comment="Need the audit")
    transition_perform(obj=action, name="submit_evidence", user=story.bob)
    # carol's earlier approval was for the previous submission; one approval is not a quorum.
    outcome = transition_perform(obj=action, name="sign_off", user=story.carol)
    assert not outcome.fired
    assert Approval.objects.filter(object_id=action.pk, approver=story.carol).count() == 2


def test_return_needs_a_reason_and_goes_back_to_in_progress(story):
    action = story.action_in(State.EVIDENCED)
    refused(action, "send_back", story.carol, comment="   ", match="Give a reason")
    outcome = transition_perform(
        obj=action, name="send_back", user=story.carol, comment="Minutes not attached"
    )
    assert outcome.obj.state == State.IN_PROGRESS
    assert logs_of(action)[-1].comment == "Minutes not attached"


def test_withdraw_needs_a_manager_and_a_reason(story):
    action = story.action_in(State.IN_PROGRESS)
    refused(action, "withdraw", story.alice, match="Give a reason")
    refused(action, "withdraw", story.bob, comment="No longer needed", match="Only a manager")
    outcome = transition_perform(
        obj=action, name="withdraw", user=story.alice, comment="Superseded by 4.1"
    )
    assert outcome.obj.state == State.WITHDRAWN


@pytest.mark.parametrize(
    "state", [State.PROPOSED, State.AGREED, State.IN_PROGRESS, State.EVIDENCED]
)
def test_any_open_action_can_be_withdrawn(story, state):
    action = story.action_in(state)
    assert transition_perform(obj=action, name="withdraw", user=story.erin, comment="Merged").fired


@pytest.mark.parametrize("state", [State.SIGNED_OFF, State.WITHDRAWN])
def test_closed_actions_cannot_be_withdrawn(story, state):
    refused(story.action_in(state), "withdraw", story.alice, comment="Again")


def test_sign_off_body_reopens_a_signed_off_action_with_a_reason(story):
    action = story.action_in(State.SIGNED_OFF)
    refused(action, "reopen", story.carol, match="Give a reason")
    refused(action, "reopen", story.alice, comment="Audit failed", match="sign-off body")
    outcome = transition_perform(obj=action, name="reopen", user=story.dave, comment="Audit failed")
    assert outcome.obj.state == State.IN_PROGRESS


def test_available_steps_match_what_the_service_accepts(story):
    action = story.action_in(State.EVIDENCED)
    names = {o.transition.name for o in transitions_available(obj=action, user=story.carol)}
    assert names == {"sign_off", "send_back"}
    assert transitions_available(obj=action, user=story.bob) == []
    assert transitions_available(obj=action, user=story.victor) == []
    assert transitions_available(obj=action, user=story.charlie) == []
    managers = {o.transition.name for o in transitions_available(obj=action, user=story.alice)}
    assert managers == {"withdraw"}


def test_unmet_conditions_are_listed_not_offered(story):
    action = story.action(due_date=None)
    [option] = [
        o
        for o in transitions_available(obj=action, user=story.alice)
        if o.transition.name == "agree"
    ]
    assert not option.offered
    assert option.missing == ("Set a due date.",)


def test_user_with_global_permissions_gains_no_workflow_rights(story):
    from django.contrib.auth.models import Permission

    story.victor.user_permissions.add(*Permission.objects.filter(content_type__app_label="plans"))
    story.victor.is_superuser = True
    story.victor.save()
    action = story.action_in(State.EVIDENCED)
    refused(action, "sign_off", story.victor)
    refused(action, "withdraw", story.victor, comment="Because")


def test_sign_off_in_another_tenant_refuses_outsiders(story):
    with tenant_scope(story.other_tenant):
        refused(story.other_action, "agree", story.alice, match="not a member")


def test_viewer_cannot_be_made_lead_officer(story):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="read-only viewer cannot lead"):
        story.action(lead_officer=story.victor)
    assert not Action.objects.exists()


def test_approval_already_given_is_not_offered_again(story):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(State.EVIDENCED)
    transition_perform(obj=action, name="sign_off", user=story.carol)
    action = Action.objects.get(pk=action.pk)
    [carols] = [
        o
        for o in transitions_available(obj=action, user=story.carol)
        if o.transition.name == "sign_off"
    ]
    assert carols.already_approved and not carols.offered
    [daves] = [
        o
        for o in transitions_available(obj=action, user=story.dave)
        if o.transition.name == "sign_off"
    ]
    assert daves.offered
