"""Who is chased about a long-overdue action: the bodies answerable for it in its own plan.

In Central Bedfordshire the LSCB board (carol, the chair, and dave) monitors the Laming plan and
signs off its partnership actions; the management team (alice and mark) signs off the council's
own. Bedfordshire Police has its own safeguarding committee (priya and paul), and so does NHS
Bedfordshire (nina). Action 1.1, led by bob for the police, is due on Friday 6 November 2026:
ten working days overdue on Friday 20 November, twenty on Friday 4 December.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.escalations import escalation_sweep
from notifications.models import EscalationStep, Level, Message, Notification
from plans import services as plan_services
from plans.models import Action
from tenants.models import Partner
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import sign_off_body_add_member, sign_off_body_set_chair
from tests.plans.factories import action as new_action
from tests.plans.factories import plan_monitored_by, plan_sign_off_revoked
from tests.tenants.factories import Role, agency_committee, member
from workflow.services import transition_perform

State = Action.State

DUE = datetime.date(2026, 11, 6)  # a Friday
MANAGERS_DAY = datetime.date(2026, 11, 20)  # ten working days after
CHAIR_DAY = datetime.date(2026, 12, 4)  # twenty working days after
EVIDENCE_SUBMITTED = datetime.date(2026, 11, 2)
EVIDENCE_CHASED = datetime.date(2026, 11, 16)  # ten working days later


@pytest.fixture
def committees(story):
    """Each agency's own committee, and the LSCB board monitoring the plan."""
    priya = member(story.tenant, Role.OFFICER, full_name="Priya Police", partner=story.police)
    paul = member(story.tenant, Role.MANAGER, full_name="Paul Police", partner=story.police)
    nina = member(story.tenant, Role.MANAGER, full_name="Nina Health", partner=story.health)
    police = agency_committee(
        story.tenant,
        name="Bedfordshire Police safeguarding committee",
        partner=story.police,
        members=[priya, paul],
        chair=paul,
    )
    nhs = agency_committee(
        story.tenant,
        name="NHS Bedfordshire safeguarding committee",
        partner=story.health,
        members=[nina],
        chair=nina,
    )
    plan_monitored_by(story.plan, story.lscb)
    return police, nhs, priya, paul, nina


def told(action: Action, level: str) -> dict:
    """Who was told about ``action`` at ``level``, by name, with the reason they were given."""
    with across_tenants():
        return {
            n.recipient.full_name: n.reason
            for n in Notification.objects.filter(action=action, kind=level).select_related(
                "recipient"
            )
        }


def digest_recipients(sweep) -> set[str]:
    with across_tenants():
        return set(
            Message.objects.filter(key__startswith=f"digest:{sweep.pk}:").values_list(
                "recipient__full_name", flat=True
            )
        )


# --- Ten working days overdue ------------------------------------------------------------------


def test_a_police_action_chases_the_monitoring_board_and_the_police_committee_only(
    story, committees
):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, lead_partner=story.police)
    # The lead officer hears first, so the later sweep's digests are the ten-day level's alone.
    escalation_sweep(today=datetime.date(2026, 11, 9))

    sweep = escalation_sweep(today=MANAGERS_DAY)

    assert told(action, Level.MANAGERS) == {
        "Carol Board": "you sit on the LSCB board, which monitors this plan",
        "Dave Board": "you sit on the LSCB board, which monitors this plan",
        "Priya Police": (
            "you sit on the Bedfordshire Police safeguarding committee, and Bedfordshire Police "
            "leads this action"
        ),
        "Paul Police": (
            "you sit on the Bedfordshire Police safeguarding committee, and Bedfordshire Police "
            "leads this action"
        ),
    }
    # Neither the NHS committee (nina) nor the management team (alice, mark) hears of it, and
    # the digests go to exactly those four.
    assert digest_recipients(sweep) == {"Carol Board", "Dave Board", "Priya Police", "Paul Police"}


def test_a_health_action_chases_the_nhs_committee_and_not_the_police_one(story, committees):
    action = story.action_in(State.AGREED, due_date=DUE, lead_partner=story.health)

    escalation_sweep(today=MANAGERS_DAY)

    assert set(told(action, Level.MANAGERS)) == {"Carol Board", "Dave Board", "Nina Health"}


def test_a_plan_monitored_by_the_management_team_chases_it_instead_of_the_lscb(story, committees):
    plan_monitored_by(story.plan, story.management_team)
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, lead_partner=story.police)

    escalation_sweep(today=MANAGERS_DAY)

    assert set(told(action, Level.MANAGERS)) == {
        "Alice Manager",
        "Mark Team",
        "Priya Police",
        "Paul Police",
    }


def test_a_plan_with_no_monitoring_body_falls_back_to_its_endorsing_body(story, committees):
    plan_monitored_by(story.plan, None)
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, lead_partner=story.police)

    escalation_sweep(today=MANAGERS_DAY)

    # The Executive (dave and mark) endorses the plan.
    reasons = told(action, Level.MANAGERS)
    assert set(reasons) == {"Dave Board", "Mark Team", "Priya Police", "Paul Police"}
    assert reasons["Mark Team"] == (
        "you sit on the Executive, which endorses this plan, which has no monitoring body"
    )


def test_someone_on_the_monitoring_body_and_the_agency_committee_is_told_once(story, committees):
    police, _, _, _, _ = committees
    sign_off_body_add_member(body=police, user=story.carol)
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, lead_partner=story.police)

    escalation_sweep(today=MANAGERS_DAY)

    assert Notification.objects.filter(action=action, recipient=story.carol).count() == 1
    assert told(action, Level.MANAGERS)["Carol Board"] == (
        "you sit on the LSCB board, which monitors this plan"
    )


def test_another_tenants_committee_for_a_police_force_hears_nothing_of_ours(story, committees):
    with tenant_scope(story.other_tenant):
        northumbria = Partner.objects.get(name="Northumbria Police")
        agency_committee(
            story.other_tenant,
            name="Northumbria safeguarding committee",
            partner=northumbria,
            members=[story.charlie],
        )
    ours = story.action_in(State.IN_PROGRESS, due_date=DUE, lead_partner=story.police)

    escalation_sweep(today=MANAGERS_DAY)

    assert "Charlie Outsider" not in told(ours, Level.MANAGERS)
    assert not Notification.objects.filter(recipient=story.charlie).exists()


# --- Twenty working days overdue -----------------------------------------------------------------


@pytest.fixture
def team_monitors_with_alice_in_the_chair(story, committees):
    """The management team monitors the plan and alice chairs it; the LSCB board (carol's)
    signs the action off."""
    sign_off_body_set_chair(body=story.management_team, chair=story.alice)
    plan_monitored_by(story.plan, story.management_team)


def test_the_chairs_of_the_sign_off_body_and_the_monitoring_body_hear_at_twenty_days(
    story, team_monitors_with_alice_in_the_chair
):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, sign_off_body=story.lscb)

    escalation_sweep(today=CHAIR_DAY)

    assert told(action, Level.CHAIR) == {
        "Carol Board": "you chair the LSCB board, which signs off this action",
        "Alice Manager": "you chair the Management team, which monitors this plan",
    }


def test_the_chair_of_a_body_the_plan_no_longer_lets_sign_off_is_not_chased(
    story, team_monitors_with_alice_in_the_chair
):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, sign_off_body=story.lscb)
    plan_sign_off_revoked(story.plan, story.lscb)

    sweep = escalation_sweep(today=CHAIR_DAY)

    assert set(told(action, Level.CHAIR)) == {"Alice Manager"}
    assert "Carol Board" not in digest_recipients(sweep)


def test_the_chair_level_falls_back_to_the_endorsing_bodys_chair(story, committees):
    sign_off_body_set_chair(body=story.executive, chair=story.mark)
    plan_monitored_by(story.plan, None)
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, sign_off_body=story.lscb)

    escalation_sweep(today=CHAIR_DAY)

    assert set(told(action, Level.CHAIR)) == {"Carol Board", "Mark Team"}


def test_the_chair_of_an_agency_committee_is_not_chased_at_twenty_days(story, committees):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE, lead_partner=story.police)

    escalation_sweep(today=CHAIR_DAY)

    # Paul chairs the police committee: his committee heard at ten days; the chair level is
    # for the chairs of the bodies that sign off and monitor.
    assert set(told(action, Level.CHAIR)) == {"Carol Board"}


# --- Evidence waiting for sign-off --------------------------------------------------------------


def evidence_dated(action: Action, day: datetime.date) -> None:
    """Evidence submitted at 10:00 London time on ``day``: a test cannot wait ten days."""
    submitted = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    Action.objects.filter(pk=action.pk).update(state_changed_at=submitted)


def test_waiting_evidence_chases_the_sign_off_body_the_plan_authorises(story, committees):
    action = story.action_in(State.EVIDENCED, due_date=DUE, sign_off_body=story.lscb)
    evidence_dated(action, EVIDENCE_SUBMITTED)

    escalation_sweep(today=EVIDENCE_CHASED)

    assert set(told(action, Level.SIGN_OFF_WAITING)) == {"Carol Board", "Dave Board"}


def test_waiting_evidence_does_not_chase_a_body_whose_sign_off_rights_were_revoked(
    story, committees
):
    action = story.action_in(State.EVIDENCED, due_date=DUE, sign_off_body=story.lscb)
    evidence_dated(action, EVIDENCE_SUBMITTED)
    plan_sign_off_revoked(story.plan, story.lscb)

    sweep = escalation_sweep(today=EVIDENCE_CHASED)

    # Carol and dave could not sign it off now (the workflow refuses them), so are not asked to.
    assert told(action, Level.SIGN_OFF_WAITING) == {}
    assert digest_recipients(sweep) == set()
    # The step is still recorded once, so restoring the right later does not replay it.
    with across_tenants():
        assert EscalationStep.objects.filter(action=action).count() == 1


def test_revoking_one_plans_rights_leaves_another_plans_reminders_alone(story, committees):
    other_plan = plan_services.action_plan_create(
        tenant=story.tenant,
        framework=story.framework,
        title="Serious case review plan",
        owner_body=story.executive,
        sign_off_bodies=[story.lscb],
    )
    theirs = new_action(
        other_plan,
        by=story.alice,
        reference="SCR-1",
        lead_officer=story.bob,
        lead_partner=story.police,
        due_date=DUE,
        sign_off_body=story.lscb,
        recommendations=[story.recommendation],
    )
    for step, user in (("agree", story.alice), ("start", story.bob)):
        theirs = transition_perform(obj=theirs, name=step, user=user).obj
    plan_services.evidence_add_link(
        action=theirs, by=story.bob, url="https://example.org/scr.pdf", description="Review"
    )
    plan_services.action_set_completion_statement(action=theirs, by=story.bob, text="Done.")
    theirs = transition_perform(obj=theirs, name="submit_evidence", user=story.bob).obj
    ours = story.action_in(State.EVIDENCED, "1.2", due_date=DUE, sign_off_body=story.lscb)
    for action in (theirs, ours):
        evidence_dated(action, EVIDENCE_SUBMITTED)
    plan_sign_off_revoked(story.plan, story.lscb)

    escalation_sweep(today=EVIDENCE_CHASED)

    assert told(ours, Level.SIGN_OFF_WAITING) == {}
    assert set(told(theirs, Level.SIGN_OFF_WAITING)) == {"Carol Board", "Dave Board"}


def test_sign_off_rights_are_read_in_the_same_queries_for_every_plan(postgres, story, committees):
    """The plans' grants are part of the one read of the actions: no query per plan or body."""
    story.action_in(State.IN_PROGRESS, "1.1", due_date=DUE)
    waiting = story.action_in(State.EVIDENCED, "1.2", due_date=DUE)
    evidence_dated(waiting, EVIDENCE_SUBMITTED)
    with CaptureQueriesContext(connection) as one_plan:
        escalation_sweep(today=CHAIR_DAY)

    a_week_later = DUE + datetime.timedelta(days=7)
    waiting = story.action_in(State.EVIDENCED, "1.3", due_date=a_week_later)
    evidence_dated(waiting, EVIDENCE_SUBMITTED + datetime.timedelta(days=7))
    for n, body in enumerate((story.lscb, story.management_team, story.executive, None)):
        other_plan = plan_services.action_plan_create(
            tenant=story.tenant,
            framework=story.framework,
            title=f"Plan {n}",
            owner_body=story.executive,
            sign_off_bodies=[story.lscb, story.management_team],
        )
        plan_monitored_by(other_plan, body)
        theirs = new_action(
            other_plan,
            by=story.alice,
            reference=f"P{n}",
            lead_officer=story.bob,
            lead_partner=story.police if n % 2 else story.health,
            due_date=a_week_later,
            sign_off_body=story.management_team,
            recommendations=[story.recommendation],
        )
        transition_perform(obj=theirs, name="agree", user=story.alice)
    with CaptureQueriesContext(connection) as five_plans:
        sweep = escalation_sweep(today=CHAIR_DAY + datetime.timedelta(days=7))

    assert sweep.steps_created == 4 * 3 + 1
    assert len(five_plans.captured_queries) == len(one_plan.captured_queries)
