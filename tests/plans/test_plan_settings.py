"""A tenant administrator creates plans and changes their settings: the endorsing and monitoring
bodies, the agency, the owner and which bodies may sign off the plan's actions. The rights
follow the settings, every change is recorded, and nobody else may make them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from plans import services
from plans.forms import ActionForm
from plans.models import Action, ActionPlan
from plans.workflows import plan_grants
from tenants.models import AuditEntry, SignOffBody
from tenants.scoping import across_tenants
from tests.plans.factories import FrameworkFactory

State = Action.State


def records_of(plan) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PLAN, subject_id=plan.pk))


def changed(entry: AuditEntry) -> dict[str, list[str]]:
    return {c["field"]: [c["before"], c["after"]] for c in entry.changes}


def grants(plan, body, codename: str) -> bool:
    return plan_grants(body.pk, plan.pk, plan.tenant_id, codename)


def reloaded(plan) -> ActionPlan:
    return ActionPlan.objects.get(pk=plan.pk)


@pytest.fixture
def new_plan(story) -> ActionPlan:
    return services.action_plan_create(
        tenant=story.tenant,
        by=story.erin,
        framework=story.framework,
        title="Police response to Laming",
        owner_body=story.lscb,
        monitoring_body=story.executive,
        partner=story.police,
        owner=story.bob,
        sign_off_bodies=[story.management_team],
    )


# -- creating a plan ---------------------------------------------------------------------------


def test_a_new_plan_grants_endorsement_to_its_endorsing_body_and_sign_off_to_the_chosen(
    story, new_plan
):
    assert grants(new_plan, story.lscb, "endorse_plan")
    assert not grants(new_plan, story.lscb, "sign_off_actions")
    assert grants(new_plan, story.management_team, "sign_off_actions")
    assert not grants(new_plan, story.executive, "sign_off_actions")
    assert services.sign_off_bodies_of_plan(plan=new_plan) == [story.management_team]


def test_a_new_plan_is_recorded_with_its_settings(story, new_plan):
    [entry] = records_of(new_plan)
    assert (entry.actor, entry.summary) == (story.erin, "Plan created")
    assert changed(entry) == {
        "title": ["", "Police response to Laming"],
        "framework": ["", "Laming 2009 (outline)"],
        "owner_body": ["", "LSCB board"],
        "monitoring_body": ["", "Executive"],
        "partner": ["", "Bedfordshire Police"],
        "owner": ["", "Bob Officer"],
        "sign_off_bodies": ["", "Management team"],
    }


def test_the_action_form_offers_only_the_bodies_the_plan_authorises(story, new_plan):
    form = ActionForm(tenant=story.tenant, plan=new_plan)
    assert list(form.fields["sign_off_body"].queryset) == [story.management_team]


def test_a_plan_may_answer_the_tenants_own_framework_but_not_another_tenants(story):
    own = FrameworkFactory(tenant=story.tenant, title="Serious case review", short_name="scr")
    plan = services.action_plan_create(
        tenant=story.tenant, by=story.erin, framework=own, title="SCR plan", owner_body=story.lscb
    )
    assert plan.framework == own

    foreign = FrameworkFactory(tenant=story.other_tenant, title="Theirs", short_name="theirs")
    with pytest.raises(ValidationError) as refused:
        services.action_plan_create(
            tenant=story.tenant,
            by=story.erin,
            framework=foreign,
            title="Not ours",
            owner_body=story.lscb,
        )
    assert list(refused.value.message_dict) == ["framework"]
    assert not ActionPlan.objects.filter(title="Not ours").exists()


def test_a_viewer_cannot_answer_for_a_plan(story):
    with pytest.raises(ValidationError) as refused:
        services.action_plan_create(
            tenant=story.tenant,
            by=story.erin,
            framework=story.framework,
            title="Viewer's plan",
            owner_body=story.lscb,
            owner=story.victor,
        )
    assert list(refused.value.message_dict) == ["owner"]
    assert not ActionPlan.objects.filter(title="Viewer's plan").exists()
    assert not AuditEntry.objects.filter(subject_label="Viewer's plan").exists()


def test_another_organisations_body_cannot_sign_off_a_plan(story):
    with across_tenants():
        foreign = SignOffBody.objects.get(pk=story.other_plan.owner_body_id)
    with pytest.raises(ValidationError, match="belongs to another organisation"):
        services.action_plan_create(
            tenant=story.tenant,
            by=story.erin,
            framework=story.framework,
            title="Mixed plan",
            owner_body=story.lscb,
            sign_off_bodies=[foreign],
        )
    assert not ActionPlan.objects.filter(title="Mixed plan").exists()


# -- changing a plan ---------------------------------------------------------------------------


def test_changing_settings_records_each_changed_field_before_and_after(story, new_plan):
    services.action_plan_update(
        plan=new_plan,
        by=story.erin,
        title="Partnership response to Laming",
        partner=None,
        monitoring_body=None,
        owner=story.alice,
    )

    plan = reloaded(new_plan)
    assert (plan.title, plan.partner, plan.monitoring_body, plan.owner) == (
        "Partnership response to Laming",
        None,
        None,
        story.alice,
    )
    entry = records_of(new_plan)[-1]
    assert (entry.actor, entry.summary) == (story.erin, "Plan settings changed")
    assert changed(entry) == {
        "title": ["Police response to Laming", "Partnership response to Laming"],
        "monitoring_body": ["Executive", ""],
        "partner": ["Bedfordshire Police", ""],
        "owner": ["Bob Officer", "Alice Manager"],
    }


def test_a_new_endorsing_body_takes_over_the_right_to_endorse(story, new_plan):
    services.action_plan_update(plan=new_plan, by=story.erin, owner_body=story.executive)

    assert grants(new_plan, story.executive, "endorse_plan")
    assert not grants(new_plan, story.lscb, "endorse_plan")
    assert changed(records_of(new_plan)[-1]) == {"owner_body": ["LSCB board", "Executive"]}


def test_the_endorsing_body_stays_while_the_plan_waits_for_endorsement(story):
    from workflow.services import transition_perform

    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    with pytest.raises(ValidationError) as refused:
        services.action_plan_update(plan=story.plan, by=story.erin, owner_body=story.lscb)
    assert list(refused.value.message_dict) == ["owner_body"]
    assert reloaded(story.plan).owner_body == story.executive


def test_the_framework_changes_only_while_the_plan_has_no_actions(story, new_plan):
    other = FrameworkFactory(title="Munro review", short_name="munro")
    services.action_plan_update(plan=new_plan, by=story.erin, framework=other)
    assert reloaded(new_plan).framework == other

    story.action()
    before = records_of(story.plan)
    with pytest.raises(ValidationError) as refused:
        services.action_plan_update(plan=story.plan, by=story.erin, framework=other)
    assert refused.value.message_dict == {
        "framework": ["The framework can only be changed while the plan has no actions; it has 1."]
    }
    assert reloaded(story.plan).framework == story.framework
    assert records_of(story.plan) == before


def test_granting_and_revoking_sign_off_rights_is_recorded(story, new_plan):
    services.action_plan_authorise_sign_off_body(plan=new_plan, body=story.lscb, by=story.erin)
    assert grants(new_plan, story.lscb, "sign_off_actions")
    assert changed(records_of(new_plan)[-1]) == {
        "sign_off_bodies": ["Management team", "LSCB board, Management team"]
    }

    services.action_plan_revoke_sign_off_body(
        plan=new_plan, body=story.management_team, by=story.erin
    )
    assert not grants(new_plan, story.management_team, "sign_off_actions")
    entry = records_of(new_plan)[-1]
    assert entry.summary == "Management team may no longer sign off actions"
    assert changed(entry) == {"sign_off_bodies": ["LSCB board, Management team", "LSCB board"]}


def test_revoking_a_body_with_open_actions_is_refused_with_how_many_and_which(story):
    story.action("1.1")
    story.action_in(State.IN_PROGRESS, "1.2")
    story.action_in(State.SIGNED_OFF, "1.3")  # no longer open: does not count
    before = records_of(story.plan)

    with pytest.raises(ValidationError) as refused:
        services.action_plan_revoke_sign_off_body(plan=story.plan, body=story.lscb, by=story.erin)

    assert refused.value.messages == [
        "LSCB board is the sign-off body of 2 open actions in this plan (1.1, 1.2); choose "
        "another sign-off body for them first."
    ]
    assert grants(story.plan, story.lscb, "sign_off_actions")
    assert records_of(story.plan) == before


def test_leaving_a_body_out_of_the_settings_is_refused_the_same_way(story):
    story.action("1.1")
    with pytest.raises(ValidationError) as refused:
        services.action_plan_update(
            plan=story.plan, by=story.erin, sign_off_bodies=[story.management_team]
        )
    assert list(refused.value.message_dict) == ["sign_off_bodies"]
    assert "1 open action in this plan (1.1)" in refused.value.messages[0]
    assert grants(story.plan, story.lscb, "sign_off_actions")


def test_a_body_whose_actions_are_closed_can_be_revoked(story):
    story.action_in(State.WITHDRAWN, "1.1")
    services.action_plan_update(
        plan=story.plan, by=story.erin, sign_off_bodies=[story.management_team, story.executive]
    )
    assert services.sign_off_bodies_of_plan(plan=story.plan) == [
        story.executive,
        story.management_team,
    ]


def test_a_change_rolled_back_leaves_no_record_and_no_rights(story, new_plan):
    before = records_of(new_plan)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.action_plan_authorise_sign_off_body(plan=new_plan, body=story.lscb, by=story.erin)
        raise RuntimeError("the surrounding work failed")

    assert records_of(new_plan) == before
    assert not grants(new_plan, story.lscb, "sign_off_actions")


# -- who may change them -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "victor", "charlie"])
def test_only_a_tenant_administrator_creates_and_changes_plans(story, who):
    person = getattr(story, who)
    recorded = AuditEntry.objects.count()
    writes = [
        lambda: services.action_plan_create(
            tenant=story.tenant,
            by=person,
            framework=story.framework,
            title="Unauthorised plan",
            owner_body=story.lscb,
        ),
        lambda: services.action_plan_update(plan=story.plan, by=person, title="Renamed"),
        lambda: services.action_plan_authorise_sign_off_body(
            plan=story.plan, body=story.executive, by=person
        ),
        lambda: services.action_plan_revoke_sign_off_body(
            plan=story.plan, body=story.management_team, by=person
        ),
    ]
    for write in writes:
        with pytest.raises(PermissionDenied, match="Only a tenant administrator"):
            write()
    assert not ActionPlan.objects.filter(title="Unauthorised plan").exists()
    assert reloaded(story.plan).title == "Laming action plan"
    assert services.sign_off_bodies_of_plan(plan=story.plan) == [
        story.lscb,
        story.management_team,
    ]
    assert AuditEntry.objects.count() == recorded


# -- the pages ---------------------------------------------------------------------------------


def url(story, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


def plan_form(story, **overrides) -> dict:
    return {
        "title": "Health response to Laming",
        "framework": story.framework.pk,
        "owner_body": story.lscb.pk,
        "monitoring_body": story.executive.pk,
        "partner": story.health.pk,
        "owner": story.bob.pk,
        "sign_off_bodies": [story.lscb.pk, story.management_team.pk],
        **overrides,
    }


def test_the_plan_list_offers_create_a_plan_to_tenant_administrators_only(client, story):
    new = url(story, "plan_new")
    client.force_login(story.erin)
    assert new in client.get(url(story, "plans")).content.decode()
    client.force_login(story.alice)
    assert new not in client.get(url(story, "plans")).content.decode()


def test_the_plan_page_shows_its_bodies_agency_and_settings_link(client, story, new_plan):
    client.force_login(story.erin)
    content = client.get(url(story, "plan", pk=new_plan.pk)).content.decode()
    for text in ("LSCB board", "Executive", "Bedfordshire Police", "Management team"):
        assert text in content
    assert url(story, "plan_settings", pk=new_plan.pk) in content

    client.force_login(story.alice)
    content = client.get(url(story, "plan", pk=new_plan.pk)).content.decode()
    assert url(story, "plan_settings", pk=new_plan.pk) not in content


def test_a_tenant_administrator_creates_a_plan_from_the_page(client, story):
    client.force_login(story.erin)
    assert client.get(url(story, "plan_new")).status_code == 200
    response = client.post(url(story, "plan_new"), plan_form(story))

    plan = ActionPlan.objects.get(title="Health response to Laming")
    assert response.status_code == 302
    assert (plan.partner, plan.monitoring_body, plan.owner) == (
        story.health,
        story.executive,
        story.bob,
    )
    assert grants(plan, story.lscb, "endorse_plan")
    assert services.sign_off_bodies_of_plan(plan=plan) == [story.lscb, story.management_team]


def test_the_create_page_sends_back_mistakes_and_creates_nothing(client, story):
    client.force_login(story.erin)
    response = client.post(url(story, "plan_new"), plan_form(story, title="", owner_body=""))
    assert response.status_code == 400
    content = response.content.decode()
    assert "Enter the plan&#x27;s title." in content
    assert "Choose the body that endorses the plan." in content
    assert ActionPlan.objects.count() == 1


def test_the_settings_page_refuses_to_revoke_a_body_with_open_actions(client, story):
    story.action("1.1")
    client.force_login(story.erin)
    assert client.get(url(story, "plan_settings", pk=story.plan.pk)).status_code == 200
    response = client.post(
        url(story, "plan_settings", pk=story.plan.pk),
        plan_form(
            story,
            title="Laming action plan",
            owner_body=story.executive.pk,
            monitoring_body="",
            partner="",
            owner=story.alice.pk,
            sign_off_bodies=[story.management_team.pk],
        ),
    )
    assert response.status_code == 400
    assert "LSCB board is the sign-off body of 1 open action in this plan (1.1)" in (
        response.content.decode()
    )
    assert grants(story.plan, story.lscb, "sign_off_actions")


def test_the_settings_page_leaves_out_the_framework_once_there_are_actions(client, story):
    story.action("1.1")
    client.force_login(story.erin)
    content = client.get(url(story, "plan_settings", pk=story.plan.pk)).content.decode()
    assert 'name="framework"' not in content
    assert "Fixed: the plan" in content


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "victor"])
def test_everyone_else_is_refused_the_plan_settings_pages(client, story, who):
    client.force_login(getattr(story, who))
    for address in (url(story, "plan_new"), url(story, "plan_settings", pk=story.plan.pk)):
        assert client.get(address).status_code == 403
        assert client.post(address, plan_form(story)).status_code == 403
    assert ActionPlan.objects.count() == 1


def test_another_organisations_plan_settings_are_not_found(client, story):
    client.force_login(story.erin)
    address = url(story, "plan_settings", pk=story.other_plan.pk)
    assert client.get(address).status_code == 404
    assert client.post(address, plan_form(story)).status_code == 404
