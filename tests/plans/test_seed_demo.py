import datetime
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError

from plans.demo import DEMO_PASSWORD, DemoRefused, demo_build, laming_framework_ensure
from plans.models import Action, ActionAdoption, ActionPlan, Framework, Recommendation, Theme
from plans.services import sign_off_bodies_of_plan
from plans.workflows import manages_plan
from tenants.models import AuditEntry, Membership, SignOffBody, Tenant, User
from tenants.scoping import across_tenants, tenant_scope
from workflow.engine import Actor
from workflow.models import Approval, TransitionLog

TODAY = datetime.date(2009, 10, 1)


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    return demo_build(today=TODAY)


def row_counts() -> dict[str, int]:
    with across_tenants():
        return {
            model._meta.label: model._base_manager.count()
            for model in apps.get_models()
            if not model._meta.proxy
        }


def test_the_national_framework_is_an_outline_of_58_recommendations_in_7_themes(demo):
    framework = Framework.objects.get(tenant__isnull=True)
    themes = list(Theme.objects.filter(framework=framework).order_by("position"))
    numbers = list(
        Recommendation.objects.filter(framework=framework)
        .order_by("number")
        .values_list("number", flat=True)
    )

    assert framework.is_outline
    assert "Lord Laming" in framework.source
    assert [t.title for t in themes] == [
        "Leadership and accountability",
        "Support for children",
        "Inter-agency working",
        "Children's workforce",
        "Improvement and challenge",
        "Organisation and finance",
        "Legal",
    ]
    assert numbers == list(range(1, 59))
    assert not Recommendation.objects.filter(framework=framework).exclude(text="").exists()


def test_each_theme_holds_consecutive_recommendations(demo):
    framework = Framework.objects.get(tenant__isnull=True)
    previous_last = 0
    for theme in Theme.objects.filter(framework=framework).order_by("position"):
        numbers = sorted(theme.recommendations.values_list("number", flat=True))
        assert numbers == list(range(previous_last + 1, previous_last + 1 + len(numbers)))
        previous_last = numbers[-1]
    assert previous_last == 58


def test_the_framework_is_ensured_once(db):
    first = laming_framework_ensure()
    second = laming_framework_ensure()

    assert first.pk == second.pk
    assert Recommendation.objects.filter(framework=first).count() == 58


def test_two_tenants_with_every_role(demo):
    tenants = Tenant.objects.order_by("slug")

    assert [t.slug for t in tenants] == ["central-bedfordshire", "sunderland"]
    assert demo.created
    assert demo.password == DEMO_PASSWORD
    for tenant in tenants:
        with tenant_scope(tenant):
            roles = set(Membership.objects.filter(tenant=tenant).values_list("role", flat=True))
        assert roles == set(Membership.Role.values), tenant


def test_one_person_holds_different_roles_in_the_two_tenants(demo):
    consultant = User.objects.get(email="consultant@example.org")
    with across_tenants():
        roles = dict(Membership.objects.filter(user=consultant).values_list("tenant__slug", "role"))

    assert roles == {
        "central-bedfordshire": Membership.Role.BOARD_MEMBER,
        "sunderland": Membership.Role.VIEWER,
    }


def test_the_operator_can_use_the_admin(demo):
    operator = User.objects.get(email="operator@example.org")

    assert operator.is_staff and operator.is_superuser
    assert operator.check_password(DEMO_PASSWORD)


def test_central_bedfordshire_has_every_action_state_and_overdue_actions(demo):
    tenant = Tenant.objects.get(slug="central-bedfordshire")
    with tenant_scope(tenant):
        actions = list(Action.objects.filter(tenant=tenant))
        plan = ActionPlan.objects.get(tenant=tenant)

    assert {a.state for a in actions} == set(Action.State.values)
    overdue = [a for a in actions if a.is_open and a.due_date < TODAY]
    assert len(overdue) >= 2
    due_soon = [
        a
        for a in actions
        if a.state in (Action.State.AGREED, Action.State.IN_PROGRESS)
        and TODAY <= a.due_date <= TODAY + datetime.timedelta(days=28)
    ]
    assert due_soon
    assert plan.state == ActionPlan.State.SUBMITTED
    assert demo.action_counts[tenant.name] == {
        state: sum(a.state == state for a in actions) for state in Action.State.values
    }


def test_one_lscb_sign_off_waits_for_its_second_approval(demo):
    tenant = Tenant.objects.get(slug="central-bedfordshire")
    with tenant_scope(tenant):
        waiting = [
            action
            for action in Action.objects.filter(
                tenant=tenant, state=Action.State.EVIDENCED, sign_off_body__quorum=2
            )
            if Approval.objects.filter(
                content_type=ContentType.objects.get_for_model(Action),
                object_id=action.pk,
                transition="sign_off",
                cycle=action.state_changes,
            ).count()
            == 1
        ]

    assert waiting


def test_withdrawn_actions_give_their_reason(demo):
    tenant = Tenant.objects.get(slug="central-bedfordshire")
    with tenant_scope(tenant):
        withdrawn = Action.objects.get(tenant=tenant, state=Action.State.WITHDRAWN)
        log = TransitionLog.objects.get(object_id=withdrawn.pk, to_state=Action.State.WITHDRAWN)

    assert "Superseded" in log.comment


def test_sunderland_plan_is_a_draft_with_actions_led_by_different_partners(demo):
    tenant = Tenant.objects.get(slug="sunderland")
    with tenant_scope(tenant):
        plan = ActionPlan.objects.get(tenant=tenant, partner__isnull=True)
        leads = list(Action.objects.filter(plan=plan).values_list("lead_partner", flat=True))

    assert plan.state == ActionPlan.State.DRAFT
    assert len(leads) >= 7
    assert len(set(leads)) == len(leads)


def test_central_bedfordshire_lscb_monitors_the_plan_the_executive_endorses_it(demo):
    tenant = Tenant.objects.get(slug="central-bedfordshire")
    with tenant_scope(tenant):
        plan = ActionPlan.objects.select_related("monitoring_body", "owner_body").get(tenant=tenant)
        signing = sign_off_bodies_of_plan(plan=plan)

    assert plan.monitoring_body.name == "Central Bedfordshire LSCB board"
    assert plan.monitoring_body.kind == SignOffBody.Kind.LSCB_BOARD
    assert plan.owner_body.name == "Executive"
    assert [b.name for b in signing] == [
        "Central Bedfordshire LSCB board",
        "Children, Families and Learning management team",
    ]


def test_sunderland_trust_board_monitors_the_plan_and_two_agencies_have_committees(demo):
    tenant = Tenant.objects.get(slug="sunderland")
    with tenant_scope(tenant):
        plan = ActionPlan.objects.select_related("monitoring_body", "owner_body").get(
            tenant=tenant, partner__isnull=True
        )
        committees = {
            body.name: body.partner.name
            for body in SignOffBody.objects.filter(
                tenant=tenant, kind=SignOffBody.Kind.AGENCY_COMMITTEE
            ).select_related("partner")
        }
        task_group = SignOffBody.objects.get(tenant=tenant, name="Laming task and finish group")

    assert plan.monitoring_body.name == "Children's Trust Board"
    assert plan.monitoring_body == plan.owner_body
    assert committees == {
        "Northumbria Police safeguarding committee": "Northumbria Police",
        "Sunderland Teaching PCT safeguarding committee": "Sunderland Teaching Primary Care Trust",
    }
    assert task_group.kind == SignOffBody.Kind.TASK_AND_FINISH_GROUP


def test_northumbria_police_keep_their_own_plan_endorsed_by_their_committee(demo):
    tenant = Tenant.objects.get(slug="sunderland")
    with tenant_scope(tenant):
        plan = ActionPlan.objects.select_related("partner", "owner_body").get(
            tenant=tenant, partner__isnull=False
        )
        references = sorted(Action.objects.filter(plan=plan).values_list("reference", flat=True))
        police_lead = User.objects.get(email="police-lead.sunderland@example.org")
        trust_manager = User.objects.get(email="manager.sunderland@example.org")
        endorsed_by = TransitionLog.objects.get(
            content_type=ContentType.objects.get_for_model(ActionPlan),
            object_id=plan.pk,
            transition="endorse",
        ).actor.full_name
        # Its own manager manages it; the Trust's manager, who works for the council, reads it.
        managed_by = {
            user.full_name: manages_plan(Actor(user, tenant.pk), plan)
            for user in (police_lead, trust_manager)
        }

    assert (plan.title, plan.partner.name) == (
        "Northumbria Police Laming plan",
        "Northumbria Police",
    )
    assert plan.state == ActionPlan.State.ENDORSED
    assert plan.owner_body.name == "Northumbria Police safeguarding committee"
    assert endorsed_by == "DS Lee Charlton"
    assert references == ["1.2", "2.1"]
    assert managed_by == {"Det Supt Alan Reay": True, "Paul Armstrong": False}
    assert (
        "Sunderland Children's Trust",
        "Northumbria Police Laming plan",
        "Endorsed",
    ) in demo.plans


def test_the_trust_plan_adopted_np_1_from_the_police_plan_with_its_history(demo):
    tenant = Tenant.objects.get(slug="sunderland")
    with tenant_scope(tenant):
        adoption = ActionAdoption.objects.select_related(
            "action", "from_plan", "to_plan", "by"
        ).get(tenant=tenant)
        agreed = TransitionLog.objects.get(
            content_type=ContentType.objects.get_for_model(Action),
            object_id=adoption.action.pk,
            transition="agree",
        )
        histories = {
            plan.title: list(
                AuditEntry.objects.filter(
                    subject_type=AuditEntry.Subject.PLAN, subject_id=plan.pk
                ).values_list("summary", flat=True)
            )
            for plan in (adoption.from_plan, adoption.to_plan)
        }

    action = adoption.action
    assert (action.reference, action.plan_id, action.state) == (
        "NP-1",
        adoption.to_plan.pk,
        Action.State.AGREED,
    )
    assert action.title == "Staffing review of the child abuse investigation unit"
    assert (adoption.from_plan.title, adoption.from_reference) == (
        "Northumbria Police Laming plan",
        "1.1",
    )
    assert (adoption.to_plan.title, adoption.by.full_name) == (
        "Children's Trust Laming plan",
        "Paul Armstrong",
    )
    # Agreed by the police before the Trust adopted it; that step went with it.
    assert agreed.actor.full_name == "Det Supt Alan Reay"
    # Adopted while the police's plan was a draft: a record in each plan, not a variation.
    assert histories == {
        "Northumbria Police Laming plan": [
            "Plan created",
            "Action 1.1 adopted into Children's Trust Laming plan as NP-1",
        ],
        "Children's Trust Laming plan": [
            "Plan created",
            "Action NP-1 adopted from Northumbria Police Laming plan (1.1)",
        ],
    }


def test_the_demos_long_overdue_action_chases_the_lscb_board_not_the_management_team(demo):
    from notifications.escalations import escalation_sweep
    from notifications.models import Level, Notification

    escalation_sweep(today=TODAY)

    # 3.2, led by NHS Bedfordshire, is 15 working days overdue; the other overdue action is 9.
    with across_tenants():
        told = {
            (n.action.reference, n.recipient.full_name)
            for n in Notification.objects.filter(kind=Level.MANAGERS).select_related(
                "action", "recipient"
            )
        }
    assert told == {
        ("3.2", "Margaret Ellison"),
        ("3.2", "Ruth Adeyemi"),
        ("3.2", "Cllr Peter Hammond"),
    }


def test_every_state_change_has_exactly_one_log_row(demo):
    with across_tenants():
        for model in (Action, ActionPlan):
            content_type = ContentType.objects.get_for_model(model)
            for obj in model.objects.all():
                logs = TransitionLog.objects.filter(content_type=content_type, object_id=obj.pk)
                assert logs.count() == obj.state_changes, obj
        changes = sum(a.state_changes for a in Action.objects.all()) + sum(
            p.state_changes for p in ActionPlan.objects.all()
        )
        assert TransitionLog.objects.count() == changes > 0


def test_running_it_again_changes_nothing(demo):
    before = row_counts()

    again = demo_build(today=TODAY + datetime.timedelta(days=3))

    assert not again.created
    assert row_counts() == before
    assert again.users == demo.users
    assert again.action_counts == demo.action_counts


def test_refuses_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False

    with pytest.raises(DemoRefused, match="DEBUG is off"):
        demo_build(today=TODAY)
    assert not Tenant.objects.exists()

    assert demo_build(today=TODAY, force=True).created


def test_the_command_prints_the_users_and_the_password(db, settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("seed_demo", stdout=out)

    printed = out.getvalue()
    assert "officer.cb@example.org" in printed
    assert "consultant@example.org" in printed
    assert DEMO_PASSWORD in printed
    assert "http://127.0.0.1:8000/" in printed


def test_the_command_refuses_with_debug_off(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=StringIO())
    assert not Tenant.objects.exists()


def test_the_demo_story_is_history_and_e_mails_nobody(demo):
    # Its transitions and assignments happened "in the past": telling people now would be noise.
    from notifications.models import Message, Notification

    with across_tenants():
        assert TransitionLog.objects.exists()
        assert not Notification.objects.exists()
        assert not Message.objects.exists()


def test_the_demo_escalates_its_overdue_actions(demo):
    from notifications.escalations import escalation_sweep
    from notifications.models import Message

    sweep = escalation_sweep(today=datetime.date(2009, 10, 1))

    assert sweep.steps_created >= 2
    with across_tenants():
        digests = Message.objects.filter(kind=Message.Kind.DIGEST).count()
    assert digests == sweep.messages_created > 0
