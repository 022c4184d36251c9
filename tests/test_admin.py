import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from plans.models import Action, ActionPlan, Evidence, Framework, ProgressUpdate
from plans.services import progress_add
from tenants.models import (
    AuditEntry,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    Tenant,
    User,
)
from tenants.scoping import across_tenants
from tests.tenants.factories import UserFactory
from workflow.models import Approval, TransitionLog

ADMIN_MODELS = [
    Tenant,
    User,
    Partner,
    Membership,
    SignOffBody,
    Framework,
    ActionPlan,
    Action,
    ProgressUpdate,
    Evidence,
    AuditEntry,
    TransitionLog,
    Approval,
]


@pytest.fixture
def operator(db) -> User:
    """The operator: staff and superuser, a member of no tenant."""
    return UserFactory(full_name="Olive Operator", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_alice(story) -> User:
    """Alice, a manager of Central Bedfordshire who also works for the operator."""
    story.alice.is_staff = True
    story.alice.is_superuser = True
    story.alice.save()
    return story.alice


def admin_url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def run_action(client, model, action_name: str, objects, **extra):
    data = {"action": action_name, "_selected_action": [obj.pk for obj in objects], **extra}
    if "apply" not in extra:
        data["index"] = 0
    return client.post(admin_url(model), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_tenant_users_cannot_reach_the_admin(client, story):
    client.force_login(story.erin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_operator_sees_every_model_across_tenants(client, story, operator):
    action = story.action_in(Action.State.IN_PROGRESS)
    progress_add(action=action, author=story.bob, text="Nearly there", rag="green")
    story.action_in(Action.State.SIGNED_OFF, "1.2")
    client.force_login(operator)

    index = client.get(reverse("admin:index")).content.decode()
    for model in ADMIN_MODELS:
        assert admin_url(model) in index
        assert client.get(admin_url(model)).status_code == 200

    with across_tenants():
        rows = [model.objects.order_by("pk").first() for model in ADMIN_MODELS]
    for row in rows:
        assert client.get(admin_url(type(row), "change", row.pk)).status_code == 200
    actions = client.get(admin_url(Action)).content.decode()
    assert "CANARY Sunderland action" in actions
    assert "Action 1.1" in actions


def test_state_is_read_only_in_the_admin(client, story, operator):
    action = story.action()
    client.force_login(operator)
    page = client.get(admin_url(Action, "change", action.pk)).content.decode()
    assert 'name="state"' not in page

    response = client.post(
        admin_url(Action, "change", action.pk),
        {
            "plan": story.plan.pk,
            "reference": "1.1",
            "title": "Renamed by the operator",
            "state": Action.State.SIGNED_OFF,
        },
    )

    assert response.status_code == 302
    action = Action.objects.get(pk=action.pk)
    assert action.title == "Renamed by the operator"
    assert action.state == Action.State.PROPOSED


def test_admin_workflow_action_goes_through_the_service_and_writes_a_log(
    client, story, staff_alice
):
    action = story.action()
    client.force_login(staff_alice)

    response = run_action(client, Action, "workflow_agree", [action])

    assert Action.objects.get(pk=action.pk).state == Action.State.AGREED
    log = TransitionLog.objects.get(object_id=action.pk)
    assert (log.transition, log.from_state, log.to_state, log.actor) == (
        "agree",
        "proposed",
        "agreed",
        staff_alice,
    )
    assert "Agree the action: done for 1." in messages_of(response)


def test_admin_workflow_action_is_refused_for_an_operator_outside_the_tenant(
    client, story, operator
):
    action = story.action()
    client.force_login(operator)

    response = run_action(client, Action, "workflow_agree", [action])

    assert Action.objects.get(pk=action.pk).state == Action.State.PROPOSED
    assert not TransitionLog.objects.filter(object_id=action.pk).exists()
    assert f"{action}: You are not a member of this organisation." in messages_of(response)


def test_admin_workflow_action_reports_unmet_conditions(client, story, staff_alice):
    action = story.action(due_date=None)
    client.force_login(staff_alice)
    response = run_action(client, Action, "workflow_agree", [action])
    assert Action.objects.get(pk=action.pk).state == Action.State.PROPOSED
    assert f"{action}: Set a due date." in messages_of(response)


def test_admin_asks_for_a_reason_before_withdrawing(client, story, staff_alice):
    action = story.action()
    client.force_login(staff_alice)

    asked = run_action(client, Action, "workflow_withdraw", [action])
    assert "Why the action is withdrawn" in asked.content.decode()
    assert Action.objects.get(pk=action.pk).state == Action.State.PROPOSED

    still_missing = run_action(client, Action, "workflow_withdraw", [action], apply="yes")
    assert "Give a reason to withdraw." in still_missing.content.decode()
    assert Action.objects.get(pk=action.pk).state == Action.State.PROPOSED

    run_action(
        client, Action, "workflow_withdraw", [action], apply="yes", comment="Superseded by 4.1"
    )
    assert Action.objects.get(pk=action.pk).state == Action.State.WITHDRAWN
    assert TransitionLog.objects.get(object_id=action.pk).comment == "Superseded by 4.1"


def test_admin_endorses_a_plan_through_the_plan_workflow(client, story):
    story.action()
    story.mark.is_staff = story.mark.is_superuser = True
    story.mark.save()
    client.force_login(story.alice)
    client.post(
        reverse(
            "plan_step",
            kwargs={"tenant_slug": story.tenant.slug, "pk": story.plan.pk, "name": "submit"},
        )
    )
    client.force_login(story.mark)
    run_action(client, ActionPlan, "workflow_endorse", [story.plan])
    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.ENDORSED


def test_admin_refuses_a_partner_from_another_tenant(client, story, operator):
    action = story.action()
    with across_tenants():
        foreign = Partner.objects.get(name="Northumbria Police")
    client.force_login(operator)

    response = client.post(
        admin_url(Action, "change", action.pk),
        {"plan": story.plan.pk, "reference": "1.1", "title": "x", "lead_partner": foreign.pk},
    )

    assert response.status_code == 200
    assert "must belong to the same organisation" in response.content.decode()
    assert Action.objects.get(pk=action.pk).lead_partner == story.police


def test_admin_refuses_a_duplicate_reference_with_a_form_error(client, story, operator):
    story.action("1.1")
    second = story.action("1.2")
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", second.pk),
        {"plan": story.plan.pk, "reference": "1.1", "title": "x"},
    )
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert Action.objects.get(pk=second.pk).reference == "1.2"


def test_operator_adds_a_person_who_signs_in_with_their_email(client, operator):
    client.force_login(operator)
    response = client.post(
        admin_url(User, "add"),
        {
            "email": "New.Person@Example.org",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert user.full_name == "New Person"
    assert user.check_password("a long and unusual passphrase")
    assert not user.is_staff


def test_admin_refuses_a_second_account_for_the_same_email(client, operator):
    client.force_login(operator)
    response = client.post(
        admin_url(User, "add"),
        {
            "email": operator.email.upper(),
            "full_name": "Copy",
            "usable_password": "true",
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
        },
    )
    assert response.status_code == 200
    assert "Someone already signs in with this e-mail address." in response.content.decode()
    assert User.objects.filter(email__iexact=operator.email).count() == 1


def test_operator_creates_a_sign_off_body_with_members_chair_and_quorum(client, story, operator):
    client.force_login(operator)
    response = client.post(
        admin_url(SignOffBody, "add"),
        {
            "tenant": story.tenant.pk,
            "name": "Children's Trust board",
            "kind": SignOffBody.Kind.CHILDRENS_TRUST_BOARD,
            "chair": story.carol.pk,
            "quorum": 2,
            "memberships-TOTAL_FORMS": 3,
            "memberships-INITIAL_FORMS": 0,
            "memberships-MIN_NUM_FORMS": 0,
            "memberships-MAX_NUM_FORMS": 1000,
            "memberships-0-user": story.carol.pk,
            "memberships-1-user": story.mark.pk,
            "memberships-2-user": story.dave.pk,
        },
    )
    assert response.status_code == 302
    body = SignOffBody.objects.get(name="Children's Trust board")
    members = set(SignOffBodyMember.objects.filter(body=body).values_list("user", flat=True))
    assert members == {story.carol.pk, story.mark.pk, story.dave.pk}
    assert set(Group.objects.get(pk=body.group_id).user_set.all()) == {
        story.carol,
        story.mark,
        story.dave,
    }
    assert (body.chair, body.quorum) == (story.carol, 2)


def test_admin_will_not_remove_a_member_below_the_quorum(client, story, operator):
    body = story.lscb_needs_two()
    dave = SignOffBodyMember.objects.get(body=body, user=story.dave)
    client.force_login(operator)
    response = client.post(
        admin_url(SignOffBody, "change", body.pk),
        {
            "name": body.name,
            "kind": body.kind,
            "chair": story.carol.pk,
            "quorum": 2,
            "memberships-TOTAL_FORMS": 3,
            "memberships-INITIAL_FORMS": 3,
            "memberships-MIN_NUM_FORMS": 0,
            "memberships-MAX_NUM_FORMS": 1000,
            "memberships-0-id": SignOffBodyMember.objects.get(body=body, user=story.carol).pk,
            "memberships-0-body": body.pk,
            "memberships-1-id": dave.pk,
            "memberships-1-body": body.pk,
            "memberships-1-DELETE": "on",
            "memberships-2-id": SignOffBodyMember.objects.get(body=body, user=story.mark).pk,
            "memberships-2-body": body.pk,
        },
        follow=True,
    )
    assert SignOffBodyMember.objects.filter(body=body).count() == 3
    assert any("a quorum of 2 can never be met" in m for m in messages_of(response))


def test_transition_log_and_approvals_are_read_only(client, story, operator):
    action = story.action_in(Action.State.AGREED)
    log = TransitionLog.objects.get(object_id=action.pk)
    client.force_login(operator)
    assert client.get(admin_url(TransitionLog, "add")).status_code == 403
    assert client.get(admin_url(TransitionLog, "delete", log.pk)).status_code == 403
    page = client.get(admin_url(TransitionLog, "change", log.pk)).content.decode()
    assert 'name="_save"' not in page
    assert client.get(admin_url(Approval, "add")).status_code == 403


def test_evidence_is_not_added_in_the_admin(client, operator):
    client.force_login(operator)
    assert client.get(admin_url(Evidence, "add")).status_code == 403


def admin_action_post(story, action, **changes) -> dict:
    data = {
        "plan": story.plan.pk,
        "reference": action.reference,
        "title": action.title,
        "lead_officer": story.bob.pk,
        "lead_partner": story.police.pk,
        "sign_off_body": story.lscb.pk,
        "due_date": action.due_date.isoformat(),
    }
    data.update(changes)
    return data


def test_admin_refuses_a_sign_off_body_the_plan_does_not_authorise(client, story, operator):
    action = story.action()
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, sign_off_body=story.executive.pk),
    )
    assert response.status_code == 200
    assert "authorised to sign off this plan" in response.content.decode()
    assert Action.objects.get(pk=action.pk).sign_off_body == story.lscb


def test_admin_refuses_a_viewer_as_lead_officer(client, story, operator):
    action = story.action()
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, lead_officer=story.victor.pk),
    )
    assert "read-only viewer cannot lead" in response.content.decode()
    assert Action.objects.get(pk=action.pk).lead_officer == story.bob


def test_admin_cannot_change_an_evidenced_actions_details(client, story, operator):
    action = story.action_in(Action.State.EVIDENCED)
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, title="Rewritten after submission"),
    )
    assert "can no longer be changed" in response.content.decode()
    assert Action.objects.get(pk=action.pk).title == action.title


def test_admin_saves_a_valid_change_to_an_action(client, story, operator):
    action = story.action()
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, title="Clearer title"),
    )
    assert response.status_code == 302
    assert Action.objects.get(pk=action.pk).title == "Clearer title"


def test_operators_change_to_an_action_is_recorded_before_and_after(client, story, operator):
    action = story.action()
    client.force_login(operator)
    client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, title="Clearer title"),
    )
    [change] = AuditEntry.objects.filter(subject_id=action.pk, subject_type="action").exclude(
        summary="Action added"
    )
    assert (change.actor, change.changes) == (
        operator,
        [{"field": "title", "label": "Title", "before": "Action 1.1", "after": "Clearer title"}],
    )


def test_action_changes_are_read_only_in_the_admin(client, story, operator):
    action = story.action_in(Action.State.EVIDENCED)  # with its completion statement written
    client.force_login(operator)
    assert client.get(admin_url(AuditEntry, "add")).status_code == 403
    [change] = AuditEntry.objects.filter(subject_id=action.pk, subject_type="action").exclude(
        summary="Action added"
    )
    assert client.get(admin_url(AuditEntry, "delete", change.pk)).status_code == 403


def test_operator_creates_a_plan_whose_bodies_get_their_rights(client, story, operator):
    from plans.services import sign_off_bodies_of_plan
    from plans.workflows import plan_grants

    client.force_login(operator)
    response = client.post(
        admin_url(ActionPlan, "add"),
        {
            "tenant": story.tenant.pk,
            "title": "Plan set up by the operator",
            "framework": story.framework.pk,
            "owner_body": story.lscb.pk,
            "monitoring_body": story.executive.pk,
            "partner": "",
            "owner": story.bob.pk,
            "sign_off_bodies": [story.management_team.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = ActionPlan.objects.get(title="Plan set up by the operator")
    assert plan_grants(story.lscb.pk, plan.pk, story.tenant.pk, "endorse_plan")
    assert sign_off_bodies_of_plan(plan=plan) == [story.management_team]
    entry = AuditEntry.objects.get(subject_type=AuditEntry.Subject.PLAN, subject_id=plan.pk)
    assert (entry.actor, entry.summary) == (operator, "Plan created")


def test_operator_changes_a_plan_through_the_same_rules(client, story, operator):
    from plans.services import sign_off_bodies_of_plan

    story.action("1.1")
    client.force_login(operator)
    fields = {
        "title": "Renamed by the operator",
        "framework": story.framework.pk,
        "owner_body": story.executive.pk,
        "monitoring_body": "",
        "partner": "",
        "owner": story.alice.pk,
    }
    response = client.post(
        admin_url(ActionPlan, "change", story.plan.pk),
        {**fields, "sign_off_bodies": [story.management_team.pk]},
    )
    assert response.status_code == 200
    assert "LSCB board is the sign-off body of 1 open action" in response.content.decode()
    assert ActionPlan.objects.get(pk=story.plan.pk).title == "Laming action plan"

    response = client.post(
        admin_url(ActionPlan, "change", story.plan.pk),
        {**fields, "sign_off_bodies": [story.lscb.pk, story.executive.pk]},
    )
    assert response.status_code == 302
    assert ActionPlan.objects.get(pk=story.plan.pk).title == "Renamed by the operator"
    assert sign_off_bodies_of_plan(plan=story.plan) == [story.executive, story.lscb]
    entry = AuditEntry.objects.filter(
        subject_type=AuditEntry.Subject.PLAN, subject_id=story.plan.pk
    ).last()
    assert entry.summary == "Plan settings changed"
    assert entry.actor == operator


def test_the_operator_cannot_rewrite_a_progress_update_or_evidence(client, story, operator):
    action = story.action_in(Action.State.SIGNED_OFF)
    update = progress_add(action=story.action("1.2"), author=story.bob, text="Begun", rag="green")
    evidence = Evidence.objects.get(action=action)
    client.force_login(operator)

    response = client.post(
        admin_url(ProgressUpdate, "change", update.pk),
        {"text": "Rewritten", "rag": "red", "author": story.alice.pk},
    )
    assert response.status_code == 403
    response = client.post(
        admin_url(Evidence, "change", evidence.pk), {"description": "Something else"}
    )
    assert response.status_code == 403
    response = client.post(admin_url(Evidence, "delete", evidence.pk), {"post": "yes"})
    assert response.status_code == 403
    assert ProgressUpdate.objects.get(pk=update.pk).text == "Begun"
    assert Evidence.objects.get(pk=evidence.pk).description == "Board minutes"


@pytest.mark.parametrize("model", ["action", "plan", "user", "partner", "body", "membership"])
def test_nothing_with_history_can_be_deleted_in_the_admin(client, story, operator, model):
    action = story.action_in(Action.State.SIGNED_OFF)
    obj = {
        "action": action,
        "plan": story.plan,
        "user": story.bob,
        "partner": story.police,
        "body": story.lscb,
        "membership": Membership.objects.get(user=story.bob),
    }[model]
    client.force_login(operator)
    response = client.post(admin_url(type(obj), "delete", obj.pk), {"post": "yes"})
    assert response.status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_the_operator_moving_a_due_date_later_must_say_why(client, story, operator):
    action = story.action()
    client.force_login(operator)
    later = action.due_date + datetime.timedelta(days=90)

    response = client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, due_date=later.isoformat()),
    )
    assert response.status_code == 200
    assert (
        "Say why the due date moves later: the board will read it in the history."
        in response.content.decode()
    )
    assert Action.objects.get(pk=action.pk).due_date == action.due_date
    assert not AuditEntry.objects.filter(actor=operator).exists()

    client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, due_date=later.isoformat(), reason="Board agreed."),
    )
    [change] = AuditEntry.objects.filter(subject_id=action.pk, subject_type="action").exclude(
        summary="Action added"
    )
    assert change.reason == "Board agreed."
    assert Action.objects.get(pk=action.pk).due_date == later


def test_the_operator_reads_memberships_but_changes_them_only_through_the_people_pages(
    client, story, operator
):
    membership = Membership.objects.get(user=story.bob)
    client.force_login(operator)
    assert client.get(admin_url(Membership, "change", membership.pk)).status_code == 200
    assert client.get(admin_url(Membership, "add")).status_code == 403
    response = client.post(
        admin_url(Membership, "change", membership.pk),
        {"role": Membership.Role.TENANT_ADMIN, "user": story.bob.pk},
    )
    assert response.status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == Membership.Role.OFFICER


def test_the_operators_change_is_recorded_like_a_managers_on_the_page(client, story, operator):
    by_page = story.action("1.1", title="Audit case files")
    by_admin = story.action("1.2", title="Audit case files")
    later = by_page.due_date + datetime.timedelta(days=90)
    client.force_login(story.alice)
    response = client.post(
        reverse("action_edit", kwargs={"tenant_slug": story.tenant.slug, "pk": by_page.pk}),
        {
            "reference": "1.1",
            "title": "Audit every case file",
            "description": "",
            "recommendations": [story.recommendation.pk],
            "lead_officer": story.bob.pk,
            "lead_partner": story.police.pk,
            "due_date": later.isoformat(),
            "sign_off_body": story.lscb.pk,
            "reason": "Every file, not a sample.",
        },
    )
    assert response.status_code == 302
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", by_admin.pk),
        admin_action_post(
            story,
            by_admin,
            title="Audit every case file",
            due_date=later.isoformat(),
            reason="Every file, not a sample.",
        ),
    )
    assert response.status_code == 302

    def recorded(action):
        return AuditEntry.objects.exclude(summary="Action added").get(
            subject_type=AuditEntry.Subject.ACTION, subject_id=action.pk
        )

    page, admin = recorded(by_page), recorded(by_admin)
    assert (page.actor, admin.actor) == (story.alice, operator)
    assert (admin.summary, admin.changes, admin.reason) == (page.summary, page.changes, page.reason)
    assert [row["field"] for row in admin.changes] == ["title", "due_date"]
    assert admin.reason == "Every file, not a sample."


@pytest.mark.parametrize("state", [Action.State.EVIDENCED, Action.State.SIGNED_OFF])
def test_the_admin_refuses_to_change_an_action_past_its_editable_states(
    client, story, operator, state
):
    action = story.action_in(state)
    client.force_login(operator)
    response = client.post(
        admin_url(Action, "change", action.pk),
        admin_action_post(story, action, title="Rewritten after submission"),
    )
    assert response.status_code == 200
    assert (
        f"This action is {action.get_state_display().lower()}; its details can no longer be "
        "changed." in response.content.decode()
    )
    assert Action.objects.get(pk=action.pk).title == "Action 1.1"
    assert not AuditEntry.objects.filter(actor=operator).exists()


def test_the_operator_adds_an_action_recorded_like_a_managers(client, story, operator):
    client.force_login(operator)
    data = {
        "tenant": story.tenant.pk,
        "plan": story.plan.pk,
        "reference": "4.1",
        "title": "Audit case files",
        "description": "",
        "lead_officer": story.bob.pk,
        "lead_partner": story.police.pk,
        "due_date": "2030-01-31",
        "sign_off_body": story.lscb.pk,
    }
    refused = client.post(admin_url(Action, "add"), {**data, "sign_off_body": story.executive.pk})
    assert refused.status_code == 200
    assert "Choose a sign-off body authorised to sign off this plan." in refused.content.decode()
    assert not Action.objects.filter(reference="4.1").exists()

    response = client.post(admin_url(Action, "add"), data)
    assert response.status_code == 302
    action = Action.objects.get(plan=story.plan, reference="4.1")
    assert action.state == Action.State.PROPOSED
    entry = AuditEntry.objects.get(subject_type=AuditEntry.Subject.ACTION, subject_id=action.pk)
    assert (entry.actor, entry.summary) == (operator, "Action added")


def test_the_admin_moves_an_action_to_another_plan_only_by_adoption(client, story, operator):
    action = story.action()
    client.force_login(operator)
    page = client.get(admin_url(Action, "change", action.pk)).content.decode()
    assert 'name="plan"' not in page
    client.post(
        admin_url(Action, "change", action.pk),
        {**admin_action_post(story, action), "plan": story.other_plan.pk},
    )
    assert Action.objects.get(pk=action.pk).plan_id == story.plan.pk
