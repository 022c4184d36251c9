"""Each person's home page shows what needs them now, from the queues in plans/queues.py."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from plans import queues, services
from plans.models import Action, ProgressUpdate
from tenants.models import Membership
from tests.plans.factories import bulk_actions
from tests.querycount import queries_for
from workflow.services import transition_perform

TODAY = datetime.date.today()


def home(story) -> str:
    return reverse("tenant_home", kwargs={"tenant_slug": story.tenant.slug})


def returned_action(story, reference="1.1", reason="The figures cover one team only."):
    act = story.action_in(Action.State.EVIDENCED, reference)
    return transition_perform(obj=act, name="send_back", user=story.carol, comment=reason).obj


# -- what an officer's action needs next -------------------------------------------------------


def needs_of(story, act) -> tuple[list[str], str]:
    item = next(
        i
        for i in queues.officer_queue(tenant=story.tenant, user=story.bob, today=TODAY).items
        if i.action.pk == act.pk
    )
    return item.needs, item.returned_reason


def test_an_agreed_action_needs_work_to_start(story):
    act = story.action_in(Action.State.AGREED)
    assert needs_of(story, act) == (["Start work"], "")


def test_a_started_action_needs_an_update_evidence_and_a_completion_statement(story):
    act = story.action_in(Action.State.IN_PROGRESS)
    assert needs_of(story, act)[0] == [
        "A progress update",
        "Evidence",
        "A completion statement",
    ]


def test_an_action_with_a_recent_update_and_everything_in_place_needs_submitting(story):
    act = story.action_in(Action.State.IN_PROGRESS)
    services.progress_add(action=act, author=story.bob, text="Nearly there", rag="green")
    services.evidence_add_link(
        action=act, by=story.bob, url="https://example.org/a.pdf", description="Audit"
    )
    services.action_set_completion_statement(action=act, by=story.bob, text="Done.")
    assert needs_of(story, act) == (["Submit for sign-off"], "")


def test_an_update_older_than_four_weeks_is_due_again(story):
    act = story.action_in(Action.State.IN_PROGRESS)
    update = services.progress_add(action=act, author=story.bob, text="Started", rag="green")
    # Dated from the test's own today, so a run that crosses midnight still sees it as old.
    written = TODAY - datetime.timedelta(days=queues.PROGRESS_DUE_AFTER_DAYS + 1)
    ProgressUpdate.objects.filter(pk=update.pk).update(
        created_at=timezone.make_aware(datetime.datetime.combine(written, datetime.time(12)))
    )
    assert "A progress update" in needs_of(story, act)[0]


def test_a_returned_action_needs_resubmitting_with_the_boards_reason(story):
    act = returned_action(story, reason="Include the referral teams.")
    needs, reason = needs_of(story, act)
    assert needs[0] == "Resubmit after the return"
    assert "Submit for sign-off" not in needs
    assert reason == "Include the referral teams."


def test_evidenced_actions_wait_for_their_sign_off_body(story):
    act = story.action_in(Action.State.EVIDENCED)
    assert needs_of(story, act)[0] == ["Nothing: waiting for sign-off by LSCB board"]


def test_officer_queue_puts_overdue_first_then_soonest_due_and_leaves_out_closed(story):
    later = story.action_in(Action.State.AGREED, "1.1", due_date=TODAY + datetime.timedelta(60))
    sooner = story.action_in(Action.State.AGREED, "1.2", due_date=TODAY + datetime.timedelta(5))
    overdue = story.action_in(Action.State.AGREED, "1.3", due_date=TODAY - datetime.timedelta(3))
    story.action_in(Action.State.SIGNED_OFF, "1.4")
    story.action_in(Action.State.WITHDRAWN, "1.5")
    queue = queues.officer_queue(tenant=story.tenant, user=story.bob, today=TODAY)
    assert [i.action.pk for i in queue.items] == [overdue.pk, sooner.pk, later.pk]
    assert [i.overdue for i in queue.items] == [True, False, False]
    assert queue.total == 3


def test_a_delegate_sees_the_actions_they_deliver(story):
    act = story.action_in(Action.State.AGREED)
    services.action_delegate(action=act, by=story.bob, delegate=story.mark)
    queue = queues.officer_queue(tenant=story.tenant, user=story.mark, today=TODAY)
    assert [i.action.pk for i in queue.items] == [act.pk]


def test_a_long_queue_shows_the_first_rows_and_counts_them_all(story, monkeypatch):
    monkeypatch.setattr(queues, "QUEUE_LIMIT", 2)
    for n in range(5):
        story.action(f"2.{n}")
    queue = queues.manager_queues(
        tenant=story.tenant, membership=membership(story, story.alice), today=TODAY
    ).to_agree
    assert len(queue.items) == 2
    assert (queue.total, queue.more) == (5, 3)


# -- a manager's queues -----------------------------------------------------------------------


def membership(story, user) -> Membership:
    return Membership.objects.get(tenant=story.tenant, user=user)


def test_manager_queues_hold_what_to_agree_chase_complete_and_resubmit(story):
    proposed = story.action("1.1")
    overdue = story.action_in(Action.State.AGREED, "1.2", due_date=TODAY - datetime.timedelta(1))
    no_lead = story.action("1.3", lead_officer=None)
    returned = returned_action(story, "1.4")
    story.action_in(Action.State.SIGNED_OFF, "1.5", due_date=TODAY + datetime.timedelta(9))

    result = queues.manager_queues(
        tenant=story.tenant, membership=membership(story, story.alice), today=TODAY
    )
    assert [a.pk for a in result.to_agree.items] == [proposed.pk, no_lead.pk]
    assert [a.pk for a in result.overdue.items] == [overdue.pk]
    assert [a.pk for a in result.incomplete.items] == [no_lead.pk]
    assert [a.pk for a in result.returned.items] == [returned.pk]
    assert result.returned.items[0].last_step_comment == "The figures cover one team only."
    assert result.partner_name is None


def test_a_manager_who_works_for_one_agency_sees_that_agencys_actions(story):
    police_action = story.action("1.1", lead_partner=story.police)
    story.action("1.2", lead_partner=story.health)
    alice = membership(story, story.alice)
    alice.partner = story.police
    alice.save()
    result = queues.manager_queues(tenant=story.tenant, membership=alice, today=TODAY)
    assert [a.pk for a in result.to_agree.items] == [police_action.pk]
    assert result.partner_name == "Bedfordshire Police"


def test_a_tenant_administrator_sees_every_agencys_actions(story):
    story.action("1.1", lead_partner=story.police)
    story.action("1.2", lead_partner=story.health)
    erin = membership(story, story.erin)
    erin.partner = story.police
    erin.save()
    result = queues.manager_queues(tenant=story.tenant, membership=erin, today=TODAY)
    assert result.to_agree.total == 2


# -- the sign-off queue -----------------------------------------------------------------------


def test_sign_off_queue_shows_the_quorum_so_far_and_who_has_approved(story):
    story.lscb.quorum = 2
    story.lscb.save()
    act = story.action_in(Action.State.EVIDENCED)
    transition_perform(obj=act, name="sign_off", user=story.carol)

    carol_item = queues.sign_off_queue(tenant=story.tenant, user=story.carol, today=TODAY).items[0]
    dave_item = queues.sign_off_queue(tenant=story.tenant, user=story.dave, today=TODAY).items[0]
    assert (carol_item.approvals, carol_item.quorum, carol_item.approved_by_me) == (1, 2, True)
    assert (dave_item.approvals, dave_item.approved_by_me) == (1, False)


def test_approvals_from_before_a_return_do_not_count_towards_the_resubmission(story):
    story.lscb.quorum = 2
    story.lscb.save()
    act = story.action_in(Action.State.EVIDENCED)
    transition_perform(obj=act, name="sign_off", user=story.carol)
    act = transition_perform(obj=act, name="send_back", user=story.dave, comment="Redo").obj
    transition_perform(obj=act, name="submit_evidence", user=story.bob)
    item = queues.sign_off_queue(tenant=story.tenant, user=story.carol, today=TODAY).items[0]
    assert (item.approvals, item.approved_by_me) == (0, False)


def test_sign_off_queue_counts_working_days_waited(story):
    act = story.action_in(Action.State.EVIDENCED)
    # Evidence submitted on Friday 6 November 2026; Monday 9th is one working day later.
    Action.objects.filter(pk=act.pk).update(
        state_changed_at=datetime.datetime(2026, 11, 6, 12, tzinfo=datetime.UTC)
    )
    monday = datetime.date(2026, 11, 9)
    item = queues.sign_off_queue(tenant=story.tenant, user=story.carol, today=monday).items[0]
    assert item.waiting_working_days == 1


def test_waiting_is_counted_from_the_london_date_of_the_submission(story):
    act = story.action_in(Action.State.EVIDENCED)
    # 00:30 on Friday 5 June 2026 in London is 23:30 on Thursday in UTC.
    Action.objects.filter(pk=act.pk).update(
        state_changed_at=datetime.datetime(2026, 6, 4, 23, 30, tzinfo=datetime.UTC)
    )
    friday = datetime.date(2026, 6, 5)
    item = queues.sign_off_queue(tenant=story.tenant, user=story.carol, today=friday).items[0]
    assert item.waiting_working_days == 0


def test_the_lead_officer_on_the_board_is_told_others_sign_it_off(story):
    act = story.action("1.1", lead_officer=story.carol)
    transition_perform(obj=act, name="agree", user=story.alice)
    transition_perform(obj=act, name="start", user=story.carol)
    services.evidence_add_link(
        action=act, by=story.carol, url="https://example.org/a", description="Minutes"
    )
    services.action_set_completion_statement(action=act, by=story.carol, text="Done.")
    transition_perform(obj=act, name="submit_evidence", user=story.carol)
    item = queues.sign_off_queue(tenant=story.tenant, user=story.carol, today=TODAY).items[0]
    assert item.delivered_by_me == "you are its lead officer"


def test_sign_off_queue_leaves_out_bodies_the_person_is_not_on_or_the_plan_does_not_authorise(
    story,
):
    story.action_in(Action.State.EVIDENCED, "1.1", sign_off_body=story.management_team)
    assert queues.sign_off_queue(tenant=story.tenant, user=story.carol, today=TODAY).total == 0
    # Dave sits on the Executive, which endorses the plan but does not sign off its actions.
    assert queues.sign_off_queue(tenant=story.tenant, user=story.dave, today=TODAY).total == 0


def test_plans_awaiting_endorsement_go_to_the_owning_bodys_members(story):
    story.action("1.1")
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    assert queues.plans_awaiting_endorsement(tenant=story.tenant, user=story.dave) == [story.plan]
    assert queues.plans_awaiting_endorsement(tenant=story.tenant, user=story.carol) == []


def test_plan_summaries_count_actions_by_schedule_rag_and_state(story):
    story.action_in(Action.State.AGREED, "1.1", due_date=TODAY - datetime.timedelta(1))
    story.action_in(Action.State.SIGNED_OFF, "1.2")
    story.action_in(Action.State.WITHDRAWN, "1.3")
    (summary,) = queues.plan_summaries(tenant=story.tenant, today=TODAY)
    assert summary.total == 3
    assert summary.rag_counts == {"red": 1, "amber": 0, "green": 0, "blue": 1}
    assert summary.state_counts["withdrawn"] == 1


# -- the page for each role ------------------------------------------------------------------


def test_officer_home_lists_their_actions_with_what_each_needs_and_the_return_reason(client, story):
    returned_action(story, reason="Include the referral teams.")
    client.force_login(story.bob)
    content = client.get(home(story)).content.decode()
    assert "Your actions" in content
    assert "Resubmit after the return" in content
    assert "Include the referral teams." in content
    assert "To agree and chase" not in content
    assert "Waiting for your sign-off" not in content


def test_board_member_home_is_her_sign_off_queue_linking_to_the_action(client, story):
    act = story.action_in(Action.State.EVIDENCED)
    client.force_login(story.carol)
    content = client.get(home(story)).content.decode()
    assert "Waiting for your sign-off" in content
    assert reverse("action", kwargs={"tenant_slug": story.tenant.slug, "pk": act.pk}) in content
    assert "Needs your decision" in content


def test_manager_home_holds_the_queues_to_agree_and_chase(client, story):
    story.action("1.1", title="Audit of referral screening")
    client.force_login(story.alice)
    content = client.get(home(story)).content.decode()
    assert "Proposed actions to agree (1)" in content
    assert "Audit of referral screening" in content


def test_viewer_home_is_the_plans_at_a_glance_and_nothing_to_do(client, story):
    story.action_in(Action.State.AGREED, "1.1", due_date=TODAY - datetime.timedelta(1))
    client.force_login(story.victor)
    content = client.get(home(story)).content.decode()
    assert "Plans at a glance" in content
    assert "Laming action plan" in content
    assert "Your actions" not in content


def test_tenant_admin_home_links_to_the_settings_pages(client, story):
    client.force_login(story.erin)
    content = client.get(home(story)).content.decode()
    assert reverse("settings", kwargs={"tenant_slug": story.tenant.slug}) in content


def test_home_never_shows_another_tenants_actions(client, story):
    client.force_login(story.alice)
    assert "CANARY" not in client.get(home(story)).content.decode()


# -- cost -------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["bob", "alice", "carol", "erin", "victor"])
def test_home_page_queries_do_not_grow_with_actions(client, story, person):
    client.force_login(getattr(story, person))
    bulk_actions(story, 10)
    with_10 = queries_for(client, home(story))
    bulk_actions(story, 290, start=10)
    with_300 = queries_for(client, home(story))
    assert with_10 == with_300
