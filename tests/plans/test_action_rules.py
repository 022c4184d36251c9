"""Who may change an action's details, report on it, write its completion statement and change
its delegates. Each rule is one named check in plans/workflows.py that the service enforces and
the action page asks before offering a form; these tests hold the service to each check."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from plans import services
from plans.models import Action, ActionPlan, ActionUserObjectPermission
from plans.workflows import (
    action_editing_refusal,
    completion_statement_refusal,
    delegates_refusal,
    details_change_refusal,
    edits_actions_of,
    evidence_refusal,
    manages_plan,
    reporting_refusal,
)
from tenants.models import AuditEntry
from tests.tenants.factories import Role, UserFactory, member
from workflow.engine import Actor
from workflow.services import TransitionRefused, transition_perform

State = Action.State
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "mark", "victor")


def accepted(write) -> bool:
    """Whether the service accepts ``write``; whatever it did is rolled back."""
    try:
        with transaction.atomic():
            write()
            transaction.set_rollback(True)
    except (PermissionDenied, ValidationError):
        return False
    return True


@pytest.fixture
def actions(story):
    """One action in each state, led by bob, with erin as a delegate."""
    built = {}
    for n, state in enumerate(State, start=1):
        action = story.action_in(state, reference=f"1.{n}")
        # Added directly: the service refuses a new delegate on a closed action.
        ActionUserObjectPermission.objects.create(
            tenant=story.tenant,
            user=story.erin,
            permission=Permission.objects.get(codename="deliver_action"),
            content_object=action,
        )
        built[state] = action
    return built


@pytest.fixture
def operators(db) -> dict:
    """The service's operator, a member of no organisation, and a former one, deactivated."""
    return {
        "operator": UserFactory(full_name="Olive Operator", is_staff=True),
        "former operator": UserFactory(full_name="Owen Gone", is_staff=True, is_active=False),
    }


@pytest.mark.parametrize("person", [*PEOPLE, "operator", "former operator"])
def test_each_rule_refuses_exactly_what_its_service_refuses(story, actions, operators, person):
    user = operators.get(person) or getattr(story, person)
    newcomer = member(story.tenant, Role.OFFICER, full_name="Nia Newcomer")
    for state, action in actions.items():
        actor = Actor(user, story.tenant.pk)
        checks = {
            "details": (
                details_change_refusal(actor, action),
                lambda a=action: services.action_update(
                    action=a, by=user, due_date=datetime.date(2030, 1, 1), reason="Moved."
                ),
            ),
            "progress": (
                reporting_refusal(actor, action, "add progress"),
                lambda a=action: services.progress_add(
                    action=a, author=user, text="Going well", rag="green"
                ),
            ),
            "evidence": (
                evidence_refusal(actor, action),
                lambda a=action: services.evidence_add_link(
                    action=a, by=user, url="https://example.org/e", description="E"
                ),
            ),
            "statement": (
                completion_statement_refusal(actor, action),
                lambda a=action: services.action_set_completion_statement(
                    action=a, by=user, text="Done."
                ),
            ),
            "add delegate": (
                delegates_refusal(actor, action, adding=True),
                lambda a=action: services.action_delegate(action=a, by=user, delegate=newcomer),
            ),
            "remove delegate": (
                delegates_refusal(actor, action, adding=False),
                lambda a=action: services.action_delegate_remove(
                    action=a, by=user, delegate=story.erin
                ),
            ),
        }
        for what, (refusal, write) in checks.items():
            assert accepted(write) == (refusal is None), (person, state, what, refusal)


def test_only_managers_change_details_and_only_until_evidenced(story):
    for state in (State.PROPOSED, State.AGREED, State.IN_PROGRESS):
        action = story.action_in(state, reference=f"2.{state}")
        assert details_change_refusal(Actor(story.alice, story.tenant.pk), action) is None
        refusal = details_change_refusal(Actor(story.bob, story.tenant.pk), action)
        assert refusal.message == "Only managers can change an action."
        assert not refusal.not_now
    action = story.action_in(State.EVIDENCED, reference="2.9")
    refusal = details_change_refusal(Actor(story.alice, story.tenant.pk), action)
    assert refusal.not_now
    with pytest.raises(ValidationError, match="its details can no longer be changed"):
        services.action_update(action=action, by=story.alice, title="Changed after submission")


def test_the_operator_adds_and_changes_actions_in_any_plan_but_takes_no_step(story, operators):
    operator = operators["operator"]
    police_plan = services.action_plan_create(
        tenant=story.tenant,
        framework=story.framework,
        title="Bedfordshire Police plan",
        owner_body=story.management_team,
        partner=story.police,
    )
    for plan in (story.plan, police_plan):
        actor = Actor(operator, story.tenant.pk)
        assert edits_actions_of(actor, plan)
        assert action_editing_refusal(actor, plan, "add actions to a plan") is None
        # Managing the plan, its steps included, stays with the organisation's own people.
        assert not manages_plan(actor, plan)

    added = services.action_create(
        plan=police_plan, by=operator, reference="1.1", title="Added by the operator"
    )
    services.action_update(action=added, by=operator, title="Corrected by the operator")
    assert [
        (entry.actor, entry.summary)
        for entry in AuditEntry.objects.filter(
            subject_type=AuditEntry.Subject.ACTION, subject_id=added.pk
        ).order_by("pk")
    ] == [(operator, "Action added"), (operator, "Details changed")]
    with pytest.raises(TransitionRefused, match="You are not a member of this organisation"):
        transition_perform(obj=story.action(lead_officer=story.bob), name="agree", user=operator)
    assert ActionPlan.objects.get(pk=police_plan.pk).state == ActionPlan.State.DRAFT


def test_a_deactivated_operator_changes_nothing(story, operators):
    former = operators["former operator"]
    action = story.action()
    assert not edits_actions_of(Actor(former, story.tenant.pk), story.plan)
    with pytest.raises(PermissionDenied, match="Only managers can change an action"):
        services.action_update(action=action, by=former, title="Too late")
    with pytest.raises(PermissionDenied, match="Only managers can add actions to a plan"):
        services.action_create(plan=story.plan, by=former, reference="1.2", title="Too late")
    assert Action.objects.get(pk=action.pk).title == "Action 1.1"
    assert not AuditEntry.objects.filter(actor=former).exists()


def test_a_delegate_is_not_added_to_a_withdrawn_action(story):
    action = story.action_in(State.WITHDRAWN)
    with pytest.raises(ValidationError, match="delegates are added only while it is open"):
        services.action_delegate(action=action, by=story.alice, delegate=story.erin)


def test_a_delegate_can_be_removed_from_a_closed_action(story):
    action = story.action_in(State.AGREED)
    services.action_delegate(action=action, by=story.bob, delegate=story.erin)
    closed = transition_perform(
        obj=action, name="withdraw", user=story.alice, comment="Superseded"
    ).obj

    services.action_delegate_remove(action=closed, by=story.bob, delegate=story.erin)

    assert not ActionUserObjectPermission.objects.filter(
        content_object=closed, user=story.erin
    ).exists()


def test_only_whoever_delivers_or_a_manager_reports_and_only_while_open(story):
    action = story.action_in(State.IN_PROGRESS)
    with pytest.raises(PermissionDenied, match="Only the lead officer, a delegate or a manager"):
        services.progress_add(action=action, author=story.carol, text="x", rag="green")
    signed_off = story.action_in(State.SIGNED_OFF, reference="1.2")
    with pytest.raises(ValidationError, match="reopen it to add progress"):
        services.progress_add(action=signed_off, author=story.bob, text="x", rag="green")


def test_completion_statement_is_written_only_while_agreed_or_in_progress(story):
    action = story.action_in(State.PROPOSED)
    with pytest.raises(ValidationError, match="while the action is agreed or in progress"):
        services.action_set_completion_statement(action=action, by=story.alice, text="x")
    with pytest.raises(PermissionDenied, match="write the completion statement"):
        services.action_set_completion_statement(
            action=story.action_in(State.AGREED, reference="1.2"), by=story.victor, text="x"
        )
