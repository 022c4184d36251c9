"""Partner agencies keep their own plans, managed by their own managers; a partnership plan
adopts their actions without re-keying, and both plans say where each action went."""

import datetime
import threading
from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils.html import escape

from notifications.models import Notification
from plans import services
from plans.models import (
    Action,
    ActionAdoption,
    ActionPlan,
    Evidence,
    ProgressUpdate,
)
from plans.selectors import action_delegates
from plans.workflows import adoption_refusal, manages_plan
from tenants.models import AuditEntry, SignOffBody, User
from tenants.scoping import tenant_scope
from tests.plans.factories import FrameworkFactory, action
from tests.querycount import queries_for
from tests.tenants.factories import Role, member, sign_off_body
from workflow.engine import Actor
from workflow.models import TransitionLog
from workflow.services import TransitionRefused, transition_perform

State = Action.State
POLICE_ONLY = "Only managers who work for Bedfordshire Police can change this agency's plan."
DUE = datetime.date.today() + datetime.timedelta(days=90)


@dataclass
class Agencies:
    """Bedfordshire Police's own plan beside the partnership's Laming plan (``story.plan``).

    pete manages at the police and hana at NHS Bedfordshire; the police safeguarding committee
    (pete, carol) endorses the police plan; the Children's Trust board (mark, dave) monitors the
    partnership plan.
    """

    police_plan: ActionPlan
    committee: SignOffBody
    trust_board: SignOffBody
    pete: User
    hana: User


@pytest.fixture
def agencies(story) -> Agencies:
    pete = member(story.tenant, Role.MANAGER, full_name="Pete Police", partner=story.police)
    hana = member(story.tenant, Role.MANAGER, full_name="Hana Health", partner=story.health)
    committee = sign_off_body(
        story.tenant,
        name="Police safeguarding committee",
        kind=SignOffBody.Kind.AGENCY_COMMITTEE,
        partner=story.police,
        members=[pete, story.carol],
    )
    trust_board = sign_off_body(
        story.tenant,
        name="Children's Trust board",
        kind=SignOffBody.Kind.CHILDRENS_TRUST_BOARD,
        members=[story.mark, story.dave],
    )
    police_plan = services.action_plan_create(
        tenant=story.tenant,
        framework=story.framework,
        title="Bedfordshire Police plan",
        owner_body=committee,
        owner=pete,
        sign_off_bodies=[story.lscb, committee],
    )
    ActionPlan.objects.filter(pk=police_plan.pk).update(partner=story.police)
    ActionPlan.objects.filter(pk=story.plan.pk).update(monitoring_body=trust_board)
    story.plan = ActionPlan.objects.get(pk=story.plan.pk)
    police_plan = ActionPlan.objects.get(pk=police_plan.pk)
    return Agencies(police_plan, committee, trust_board, pete, hana)


def police_action(story, agencies, reference="2.3", **fields) -> Action:
    fields.setdefault("lead_officer", story.bob)
    fields.setdefault("lead_partner", story.police)
    fields.setdefault("due_date", DUE)
    fields.setdefault("sign_off_body", story.lscb)
    fields.setdefault("recommendations", [story.recommendation])
    return action(agencies.police_plan, by=agencies.pete, reference=reference, **fields)


def in_progress_with_history(story, agencies, reference="2.3") -> Action:
    """A police action agreed, started, reported on, evidenced and given a delegate."""
    act = police_action(story, agencies, reference, title="Joint screening of referrals")
    transition_perform(obj=act, name="agree", user=agencies.pete)
    transition_perform(obj=act, name="start", user=story.bob)
    services.progress_add(action=act, author=story.bob, text="Screening weekly", rag="green")
    services.evidence_add_link(
        action=act, by=story.bob, url="https://example.org/minutes", description="Minutes"
    )
    services.action_delegate(action=act, by=agencies.pete, delegate=story.erin)
    return Action.objects.get(pk=act.pk)


def endorse(plan: ActionPlan, *, submitter: User, endorser: User) -> ActionPlan:
    transition_perform(obj=plan, name="submit", user=submitter)
    return transition_perform(obj=plan, name="endorse", user=endorser).obj


def plan_history(plan: ActionPlan) -> list[str]:
    """The plan's recorded changes after its creation."""
    return list(
        AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PLAN, subject_id=plan.pk)
        .exclude(summary="Plan created")
        .values_list("summary", flat=True)
    )


def variations_told(plan: ActionPlan) -> list[Notification]:
    return list(
        Notification.objects.filter(plan=plan, title__startswith="Variation").select_related(
            "recipient"
        )
    )


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": "central-bedfordshire", **kwargs})


# --- Who manages an agency's plan -------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "partnership", "police"),
    [
        ("alice", True, False),  # a manager who works for no agency
        ("pete", True, True),  # a manager at the police
        ("hana", True, False),  # a manager at another agency
        ("erin", True, True),  # a tenant administrator
        ("bob", False, False),  # an officer at the police
        ("victor", False, False),
    ],
)
def test_an_agency_plan_is_managed_by_that_agencys_managers_and_tenant_administrators(
    story, agencies, person, partnership, police
):
    user = getattr(agencies, person, None) or getattr(story, person)
    actor = Actor(user, story.tenant.pk)
    assert manages_plan(actor, story.plan) is partnership
    assert manages_plan(actor, agencies.police_plan) is police


def test_a_manager_of_another_agency_cannot_add_to_or_change_the_agency_plan(story, agencies):
    with pytest.raises(PermissionDenied, match=POLICE_ONLY):
        services.action_create(
            plan=agencies.police_plan, by=agencies.hana, reference="2.9", title="Health's idea"
        )
    act = police_action(story, agencies)
    with pytest.raises(PermissionDenied, match=POLICE_ONLY):
        services.action_update(action=act, by=agencies.hana, title="Renamed by health")
    with pytest.raises(PermissionDenied, match=POLICE_ONLY):
        services.action_delegate(action=act, by=agencies.hana, delegate=story.erin)

    assert Action.objects.get(pk=act.pk).title == "Action 2.3"
    assert not Action.objects.filter(plan=agencies.police_plan, reference="2.9").exists()
    assert not AuditEntry.objects.filter(actor=agencies.hana).exists()


@pytest.mark.parametrize("step", ["agree", "withdraw"])
def test_a_manager_of_another_agency_cannot_agree_or_withdraw_its_actions(story, agencies, step):
    act = police_action(story, agencies)
    with pytest.raises(TransitionRefused) as refused:
        transition_perform(obj=act, name=step, user=agencies.hana, comment="Not ours to keep")
    assert "a manager who works for Bedfordshire Police or a tenant administrator" in str(
        refused.value
    )
    assert Action.objects.get(pk=act.pk).state == State.PROPOSED


def test_a_manager_of_another_agency_cannot_start_work_or_submit_the_plan(story, agencies):
    act = police_action(story, agencies)
    transition_perform(obj=act, name="agree", user=agencies.pete)
    with pytest.raises(TransitionRefused, match="who works for Bedfordshire Police"):
        transition_perform(obj=act, name="start", user=agencies.hana)
    with pytest.raises(TransitionRefused, match="who works for Bedfordshire Police"):
        transition_perform(obj=agencies.police_plan, name="submit", user=agencies.hana)
    assert Action.objects.get(pk=act.pk).state == State.AGREED
    assert ActionPlan.objects.get(pk=agencies.police_plan.pk).state == ActionPlan.State.DRAFT


def test_the_agencys_own_manager_and_a_tenant_administrator_manage_its_plan(story, agencies):
    act = police_action(story, agencies)
    services.action_update(action=act, by=agencies.pete, title="Joint screening")
    transition_perform(obj=act, name="agree", user=story.erin)
    transition_perform(obj=act, name="start", user=agencies.pete)
    transition_perform(obj=agencies.police_plan, name="submit", user=agencies.pete)
    assert Action.objects.get(pk=act.pk).state == State.IN_PROGRESS


def test_pages_refuse_a_manager_of_another_agency_with_the_reason(client, story, agencies):
    act = police_action(story, agencies)
    client.force_login(agencies.hana)
    for address in (
        url("action_new", pk=agencies.police_plan.pk),
        url("action_edit", pk=act.pk),
    ):
        response = client.get(address)
        assert response.status_code == 403, address
        assert escape(POLICE_ONLY) in response.content.decode()
    response = client.post(url("action_step", pk=act.pk, name="agree"))
    assert response.status_code == 403
    assert "who works for Bedfordshire Police" in response.content.decode()
    assert Action.objects.get(pk=act.pk).state == State.PROPOSED


def test_everyone_reads_an_agency_plan_but_only_its_managers_are_offered_changes(
    client, story, agencies
):
    act = police_action(story, agencies)
    plan_url = url("plan", pk=agencies.police_plan.pk)
    for user in (agencies.hana, story.victor):
        client.force_login(user)
        page = client.get(plan_url)
        assert page.status_code == 200
        assert "Add an action" not in page.content.decode()
        assert "Bedfordshire Police's own plan" in page.content.decode()
        action_page = client.get(url("action", pk=act.pk)).content.decode()
        assert "Change the details" not in action_page
    assert escape(POLICE_ONLY) not in client.get(plan_url).content.decode()  # victor
    client.force_login(agencies.hana)
    assert escape(POLICE_ONLY) in client.get(plan_url).content.decode()
    client.force_login(agencies.pete)
    assert "Add an action" in client.get(plan_url).content.decode()
    assert "Change the details" in client.get(url("action", pk=act.pk)).content.decode()


# --- Adopting an agency's action into the partnership plan ------------------------------------


def test_an_adopted_action_moves_into_the_partnership_plan_with_all_it_recorded(story, agencies):
    act = in_progress_with_history(story, agencies)
    logs_before = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Action), object_id=act.pk
    ).count()

    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")

    adopted = Action.objects.get(pk=act.pk)
    assert (adopted.plan_id, adopted.reference) == (story.plan.pk, "5.1")
    assert adopted.state == State.IN_PROGRESS
    assert (
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Action), object_id=act.pk
        ).count()
        == logs_before
        == 2
    )
    assert ProgressUpdate.objects.get(action=adopted).text == "Screening weekly"
    assert Evidence.objects.get(action=adopted).description == "Minutes"
    assert [r.pk for r in adopted.recommendations.all()] == [story.recommendation.pk]
    assert not Action.objects.filter(plan=agencies.police_plan).exists()
    assert [u.pk for u in action_delegates(action=adopted)] == [story.erin.pk]
    adoption = ActionAdoption.objects.get(action=adopted)
    assert (adoption.from_plan, adoption.to_plan) == (agencies.police_plan, story.plan)
    assert (adoption.from_reference, adoption.to_reference, adoption.by) == (
        "2.3",
        "5.1",
        story.alice,
    )


def test_both_plans_and_the_action_record_the_adoption(story, agencies):
    act = police_action(story, agencies)
    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")

    assert plan_history(agencies.police_plan) == [
        "Action 2.3 adopted into Laming action plan as 5.1"
    ]
    assert plan_history(story.plan) == ["Action 5.1 adopted from Bedfordshire Police plan (2.3)"]
    entry = AuditEntry.objects.exclude(summary="Action added").get(
        subject_type=AuditEntry.Subject.ACTION, subject_id=act.pk
    )
    assert entry.actor == story.alice
    assert entry.summary == "Adopted from Bedfordshire Police plan into Laming action plan"
    assert [(row.label, row.before, row.after) for row in entry.rows] == [
        ("Plan", "Bedfordshire Police plan", "Laming action plan"),
        ("Reference", "2.3", "5.1"),
    ]


def test_the_adopted_action_keeps_being_worked_on_in_the_partnership_plan(story, agencies):
    act = in_progress_with_history(story, agencies)
    adopted = services.action_adopt(
        action=act, into_plan=story.plan, by=story.alice, reference="5.1"
    )
    services.action_set_completion_statement(action=adopted, by=story.bob, text="Embedded.")
    transition_perform(obj=adopted, name="submit_evidence", user=story.bob)
    signed = transition_perform(obj=adopted, name="sign_off", user=story.carol).obj
    assert signed.state == State.SIGNED_OFF
    # A manager of the partnership now manages it; its former agency's managers do not.
    reopened = transition_perform(obj=signed, name="reopen", user=story.dave, comment="Audit").obj
    services.action_update(action=reopened, by=story.alice, title="Joint screening, all ages")
    with pytest.raises(PermissionDenied):
        services.action_update(action=reopened, by=story.bob, title="Not a manager")


def test_only_managers_adopt_and_only_into_a_partnership_plan(story, agencies):
    act = police_action(story, agencies)
    with pytest.raises(PermissionDenied, match="Only managers can adopt"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.bob, reference="5.1")
    health_plan = services.action_plan_create(
        tenant=story.tenant,
        framework=story.framework,
        title="NHS Bedfordshire plan",
        owner_body=story.management_team,
    )
    ActionPlan.objects.filter(pk=health_plan.pk).update(partner=story.health)
    health_plan = ActionPlan.objects.get(pk=health_plan.pk)
    with pytest.raises(PermissionDenied, match="adopted into a partnership plan"):
        services.action_adopt(action=act, into_plan=health_plan, by=agencies.hana, reference="1")
    assert Action.objects.get(pk=act.pk).plan_id == agencies.police_plan.pk
    assert not ActionAdoption.objects.exists()


def test_a_reference_already_used_in_the_partnership_plan_is_refused_with_a_message(
    story, agencies
):
    story.action("5.1")
    act = police_action(story, agencies)
    with pytest.raises(ValidationError) as refused:
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference=" 5.1 ")
    assert refused.value.message_dict == {
        "reference": ["Another action in Laming action plan already has the reference 5.1."]
    }
    with pytest.raises(ValidationError, match="Enter the action's reference"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference=" ")
    act = Action.objects.get(pk=act.pk)
    assert (act.plan_id, act.reference) == (agencies.police_plan.pk, "2.3")
    assert not ActionAdoption.objects.exists()
    assert plan_history(story.plan) == plan_history(agencies.police_plan) == []


def test_an_action_answering_another_framework_is_not_adopted(story, agencies):
    other = FrameworkFactory(title="Serious case review 2008", short_name="scr-2008")
    scr_plan = services.action_plan_create(
        tenant=story.tenant, framework=other, title="Police SCR plan", owner_body=agencies.committee
    )
    ActionPlan.objects.filter(pk=scr_plan.pk).update(partner=story.police)
    scr_plan = ActionPlan.objects.get(pk=scr_plan.pk)
    act = action(scr_plan, by=agencies.pete, reference="1.1")
    with pytest.raises(ValidationError, match="responds to Serious case review 2008"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    assert Action.objects.get(pk=act.pk).plan_id == scr_plan.pk


def test_a_withdrawn_action_is_not_adopted(story, agencies):
    act = police_action(story, agencies)
    transition_perform(obj=act, name="withdraw", user=agencies.pete, comment="Superseded")
    with pytest.raises(ValidationError, match="a withdrawn action cannot be adopted"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")


def test_a_signed_off_action_stays_in_its_agencys_plan(client, story, agencies):
    act = in_progress_with_history(story, agencies)
    services.action_set_completion_statement(action=act, by=story.bob, text="Embedded.")
    transition_perform(obj=act, name="submit_evidence", user=story.bob)
    transition_perform(obj=act, name="sign_off", user=story.carol)
    act = Action.objects.get(pk=act.pk)
    assert adoption_refusal(Actor(story.alice, story.tenant.pk), act, story.plan).message == (
        "Action 2.3 is signed off; a signed off action cannot be adopted."
    )
    with pytest.raises(ValidationError, match="a signed off action cannot be adopted"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")

    client.force_login(story.alice)
    response = client.post(
        url("plan_adopt_action", pk=story.plan.pk, action_pk=act.pk), {"reference": "5.1"}
    )
    assert "a signed off action cannot be adopted" in response.content.decode()
    assert Action.objects.get(pk=act.pk).plan_id == agencies.police_plan.pk
    assert not ActionAdoption.objects.exists()
    assert plan_history(story.plan) == []


def test_an_action_signed_off_by_a_body_the_partnership_plan_does_not_authorise_stays(
    story, agencies
):
    act = police_action(story, agencies, sign_off_body=agencies.committee)
    with pytest.raises(ValidationError, match="not authorised to sign off actions in Laming"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")


def test_an_action_is_adopted_once(story, agencies):
    act = police_action(story, agencies)
    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    with pytest.raises(ValidationError, match="already in Laming action plan"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.mark, reference="5.2")
    assert ActionAdoption.objects.count() == 1


# --- Adopting from an endorsed agency plan varies it ------------------------------------------


@pytest.fixture
def endorsed_police_action(story, agencies) -> Action:
    act = police_action(story, agencies)
    endorse(agencies.police_plan, submitter=agencies.pete, endorser=story.carol)
    return Action.objects.get(pk=act.pk)


def test_from_an_endorsed_agency_plan_only_the_monitoring_body_adopts(
    story, agencies, endorsed_police_action
):
    act = endorsed_police_action
    with pytest.raises(PermissionDenied, match="only members of the Children's Trust board"):
        services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    assert Action.objects.get(pk=act.pk).plan_id == agencies.police_plan.pk

    # mark manages and sits on the Children's Trust board, which monitors the partnership plan.
    services.action_adopt(action=act, into_plan=story.plan, by=story.mark, reference="5.1")
    assert Action.objects.get(pk=act.pk).plan_id == story.plan.pk


def test_without_a_monitoring_body_nothing_is_adopted_from_an_endorsed_plan(
    story, agencies, endorsed_police_action
):
    ActionPlan.objects.filter(pk=story.plan.pk).update(monitoring_body=None)
    story.plan = ActionPlan.objects.get(pk=story.plan.pk)
    with pytest.raises(PermissionDenied, match="has no monitoring body"):
        services.action_adopt(
            action=endorsed_police_action, into_plan=story.plan, by=story.mark, reference="5.1"
        )


def test_the_endorsed_agency_plan_records_its_variation_and_its_body_is_told(
    story, agencies, endorsed_police_action
):
    services.action_adopt(
        action=endorsed_police_action, into_plan=story.plan, by=story.mark, reference="5.1"
    )
    assert plan_history(agencies.police_plan) == [
        "Action 2.3 adopted into Laming action plan as 5.1; the endorsed agency plan varied"
    ]
    told = variations_told(agencies.police_plan)
    assert {n.recipient for n in told} == {agencies.pete, story.carol}
    assert {n.title for n in told} == {
        "Variation to Bedfordshire Police plan: action 2.3 adopted into Laming action plan as 5.1"
    }


def test_adopting_into_an_endorsed_partnership_plan_varies_it(story, agencies):
    story.action("1.1")
    endorse(story.plan, submitter=story.alice, endorser=story.dave)
    act = police_action(story, agencies)
    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    assert plan_history(story.plan) == [
        "Variation: action 5.1 added, adopted from Bedfordshire Police plan (2.3)"
    ]
    # The Executive endorsed the partnership plan: dave and mark are told.
    assert {n.recipient for n in variations_told(story.plan)} == {
        story.dave,
        story.mark,
    }


# --- The pages ------------------------------------------------------------------------------


def test_a_partnership_manager_adopts_an_action_through_the_pages(client, story, agencies):
    act = police_action(story, agencies, title="Joint screening of referrals")
    client.force_login(story.alice)
    plan_page = client.get(url("plan", pk=story.plan.pk)).content.decode()
    assert "Adopt actions from agency plans" in plan_page

    listing = client.get(url("plan_adopt", pk=story.plan.pk)).content.decode()
    assert "Bedfordshire Police plan" in listing
    assert "Joint screening of referrals" in listing
    confirm_url = url("plan_adopt_action", pk=story.plan.pk, action_pk=act.pk)
    assert confirm_url in listing

    confirm = client.get(confirm_url)
    assert confirm.status_code == 200
    assert "Adopt the action" in confirm.content.decode()

    response = client.post(confirm_url, {"reference": "5.1"})
    assert response.status_code == 302
    assert response["Location"] == url("action", pk=act.pk)
    assert Action.objects.get(pk=act.pk).plan_id == story.plan.pk
    page = client.get(response["Location"]).content.decode()
    assert "Action 2.3 of Bedfordshire Police plan adopted into Laming action plan as 5.1." in page
    assert "Adopted from" in page


def test_a_bad_reference_on_the_adoption_page_is_explained_and_changes_nothing(
    client, story, agencies
):
    story.action("5.1")
    act = police_action(story, agencies)
    client.force_login(story.alice)
    confirm_url = url("plan_adopt_action", pk=story.plan.pk, action_pk=act.pk)
    for reference, message in [
        ("", "Enter the action&#x27;s reference in this plan, for example 5.1."),
        ("5.1", "Another action in Laming action plan already has the reference 5.1."),
        ("x" * 21, "A reference is at most 20 characters long."),
    ]:
        response = client.post(confirm_url, {"reference": reference})
        assert response.status_code == 400, reference
        content = response.content.decode()
        assert "govuk-error-summary" in content
        assert message in content
    assert Action.objects.get(pk=act.pk).plan_id == agencies.police_plan.pk
    assert not ActionAdoption.objects.exists()


def test_an_adoption_the_rules_refuse_is_explained_on_its_page(
    client, story, agencies, endorsed_police_action
):
    client.force_login(story.alice)
    confirm_url = url("plan_adopt_action", pk=story.plan.pk, action_pk=endorsed_police_action.pk)
    for response in (client.get(confirm_url), client.post(confirm_url, {"reference": "5.1"})):
        assert response.status_code == 403
        assert "only members of the Children&#x27;s Trust board" in response.content.decode()
    listing = client.get(url("plan_adopt", pk=story.plan.pk)).content.decode()
    assert "You cannot adopt these actions." in listing
    assert confirm_url not in listing
    assert Action.objects.get(pk=endorsed_police_action.pk).plan_id == agencies.police_plan.pk


def test_adopting_pages_are_refused_to_officers_and_on_agency_plans(client, story, agencies):
    act = police_action(story, agencies)
    client.force_login(story.bob)
    assert client.get(url("plan_adopt", pk=story.plan.pk)).status_code == 403
    assert "Adopt actions" not in client.get(url("plan", pk=story.plan.pk)).content.decode()
    client.force_login(agencies.hana)
    response = client.get(url("plan_adopt", pk=agencies.police_plan.pk))
    assert response.status_code == 403
    assert "not into an agency&#x27;s own plan" in response.content.decode()
    response = client.post(
        url("plan_adopt_action", pk=agencies.police_plan.pk, action_pk=act.pk),
        {"reference": "5.1"},
    )
    assert response.status_code == 403
    assert not ActionAdoption.objects.exists()


def test_each_plan_page_says_where_an_adopted_action_came_from_or_went(client, story, agencies):
    act = police_action(story, agencies, title="Joint screening of referrals")
    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    client.force_login(story.victor)

    agency_page = client.get(url("plan", pk=agencies.police_plan.pk)).content.decode()
    assert "Adopted into" in agency_page
    assert "Laming action plan</a> as 5.1" in agency_page
    assert "Action 2.3 adopted into Laming action plan as 5.1" in agency_page  # its history

    partnership_page = client.get(url("plan", pk=story.plan.pk)).content.decode()
    assert "Bedfordshire Police plan</a> (2.3)" in partnership_page
    assert "Action 5.1 adopted from Bedfordshire Police plan (2.3)" in partnership_page

    action_page = client.get(url("action", pk=act.pk)).content.decode()
    assert "Bedfordshire Police plan</a> (2.3), on " in action_page
    assert "Adopted from Bedfordshire Police plan into Laming action plan" in action_page


def test_plan_pages_cost_the_same_queries_however_many_actions_were_adopted(
    client, story, agencies
):
    client.force_login(story.alice)
    partnership_url = url("plan", pk=story.plan.pk)
    agency_url = url("plan", pk=agencies.police_plan.pk)

    def adopt(count, start):
        for n in range(start, start + count):
            act = police_action(story, agencies, f"2.{n}")
            services.action_adopt(
                action=act, into_plan=story.plan, by=story.alice, reference=f"5.{n}"
            )

    adopt(1, 0)
    police_action(story, agencies, "3.1")
    partnership_once, agency_once = (
        queries_for(client, partnership_url),
        queries_for(client, agency_url),
    )
    adopt(6, 1)
    assert queries_for(client, partnership_url) == partnership_once
    assert queries_for(client, agency_url) == agency_once


def test_the_adoption_list_costs_the_same_queries_however_many_agency_actions(
    client, story, agencies
):
    client.force_login(story.alice)
    address = url("plan_adopt", pk=story.plan.pk)
    police_action(story, agencies, "2.0")
    once = queries_for(client, address)
    for n in range(1, 8):
        police_action(story, agencies, f"2.{n}")
    assert queries_for(client, address) == once


def test_the_rule_and_the_service_agree_on_each_adoption(story, agencies):
    candidates = {
        "open": police_action(story, agencies, "2.1"),
        "withdrawn": police_action(story, agencies, "2.2"),
        "committee signs off": police_action(
            story, agencies, "2.3", sign_off_body=agencies.committee
        ),
    }
    transition_perform(
        obj=candidates["withdrawn"], name="withdraw", user=agencies.pete, comment="Gone"
    )
    for person in (story.alice, story.bob, agencies.hana, story.erin, story.victor):
        for what, act in candidates.items():
            act = Action.objects.select_related("plan").get(pk=act.pk)
            refusal = adoption_refusal(Actor(person, story.tenant.pk), act, story.plan)
            try:
                with transaction.atomic():
                    services.action_adopt(
                        action=act, into_plan=story.plan, by=person, reference="9.9"
                    )
                    transaction.set_rollback(True)
                accepted = True
            except (PermissionDenied, ValidationError):
                accepted = False
            assert accepted == (refusal is None), (person, what, refusal)


# --- Two adoptions at once --------------------------------------------------------------------

ROUNDS = 10


def adopt_together(tenant, plan, attempts) -> list:
    """Each (action, person, reference) is adopted into ``plan`` in its own thread and
    connection, released together."""
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def press(index, act, person, reference):
        try:
            with tenant_scope(tenant):
                barrier.wait(timeout=10)
                results[index] = services.action_adopt(
                    action=act, into_plan=plan, by=person, reference=reference
                )
        except (ValidationError, PermissionDenied) as refusal:
            results[index] = refusal
        finally:
            connection.close()

    threads = [
        threading.Thread(target=press, args=(i, *attempt)) for i, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_people_adopting_one_action_at_once_adopt_it_once(postgres, story, agencies):
    for n in range(ROUNDS):
        act = police_action(story, agencies, f"2.{n}")
        results = adopt_together(
            story.tenant,
            story.plan,
            [(act, story.alice, f"5.{n}"), (act, story.erin, f"6.{n}")],
        )
        adopted = [r for r in results if isinstance(r, Action)]
        refusals = [r for r in results if isinstance(r, ValidationError)]
        assert len(adopted) == 1 and len(refusals) == 1, results
        assert "already in Laming action plan" in " ".join(refusals[0].messages)
        assert ActionAdoption.objects.filter(action=act).count() == 1
        assert (
            AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ACTION, subject_id=act.pk)
            .exclude(summary="Action added")
            .count()
            == 1
        )
        assert Action.objects.get(pk=act.pk).reference == adopted[0].reference


@pytest.mark.django_db(transaction=True)
def test_two_actions_adopted_at_once_under_one_reference_are_told_apart(postgres, story, agencies):
    for n in range(ROUNDS):
        first = police_action(story, agencies, f"2.{n}a")
        second = police_action(story, agencies, f"2.{n}b")
        results = adopt_together(
            story.tenant,
            story.plan,
            [(first, story.alice, f"5.{n}"), (second, story.erin, f"5.{n}")],
        )
        refusals = [r for r in results if isinstance(r, ValidationError)]
        assert len(refusals) == 1, results
        assert refusals[0].message_dict["reference"] == [
            f"Another action in Laming action plan already has the reference 5.{n}."
        ]
        assert Action.objects.filter(plan=story.plan, reference=f"5.{n}").count() == 1
