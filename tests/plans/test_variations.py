"""An endorsed plan changed afterwards (an action added or withdrawn) is varied: its history
says so, with the reason for a withdrawal, and the body that endorsed it is told."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications.models import Message, Notification
from plans import services
from plans.models import Action, ActionPlan
from plans.signals import history_recorded
from tenants.models import AuditEntry
from workflow.services import transition_perform

State = Action.State


@pytest.fixture
def endorsed(story) -> ActionPlan:
    """The Laming plan with action 1.1, endorsed by the Executive (dave and mark)."""
    story.action("1.1")
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    plan = transition_perform(obj=story.plan, name="endorse", user=story.dave).obj
    story.plan = plan
    return plan


def history(plan: ActionPlan) -> list[AuditEntry]:
    """The plan's recorded changes after its creation."""
    return list(
        AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PLAN, subject_id=plan.pk).exclude(
            summary="Plan created"
        )
    )


def variations_told(plan: ActionPlan) -> list[Notification]:
    return list(
        Notification.objects.filter(plan=plan, title__startswith="Variation").select_related(
            "recipient"
        )
    )


def test_an_action_added_to_an_endorsed_plan_is_a_variation_in_its_history(story, endorsed):
    story.action("4.2")
    (entry,) = history(endorsed)
    assert entry.summary == "Variation: action 4.2 added"
    assert entry.actor == story.alice
    assert entry.subject_label == "Laming action plan"


def test_the_endorsing_body_is_told_of_an_added_action(story, endorsed, mailoutbox):
    story.action("4.2")
    told = variations_told(endorsed)
    assert {n.recipient for n in told} == {story.dave, story.mark}
    assert {n.title for n in told} == {"Variation to Laming action plan: action 4.2 added"}
    assert {n.reason for n in told} == {"you sit on the Executive, which endorsed this plan"}
    assert {n.link for n in told} == {
        reverse("plan", kwargs={"tenant_slug": story.tenant.slug, "pk": endorsed.pk})
    }
    # Each has an e-mail waiting in the outbox, written with the change.
    assert Message.objects.filter(notifications__in=told).count() == 2


def test_whoever_varies_the_plan_is_not_told_about_it(story, endorsed):
    # mark manages and sits on the Executive.
    services.action_create(plan=endorsed, by=story.mark, reference="4.2", title="Audit")
    assert {n.recipient for n in variations_told(endorsed)} == {story.dave}


def test_a_withdrawal_from_an_endorsed_plan_is_a_variation_with_its_reason(story, endorsed):
    act = Action.objects.get(plan=endorsed, reference="1.1")
    transition_perform(obj=act, name="withdraw", user=story.alice, comment="Superseded by 4.1")

    (entry,) = history(endorsed)
    assert entry.summary == "Variation: action 1.1 withdrawn"
    assert entry.reason == "Superseded by 4.1"
    told = variations_told(endorsed)
    assert {n.recipient for n in told} == {story.dave, story.mark}
    assert {n.detail for n in told} == {"Superseded by 4.1"}
    # The reason stays behind the sign-in: the e-mail does not carry it.
    for message in Message.objects.filter(notifications__in=told):
        assert "Superseded" not in message.body_text + message.body_html


def test_changes_to_a_plan_not_yet_endorsed_are_not_variations(story):
    act = story.action("1.1")
    transition_perform(obj=act, name="withdraw", user=story.alice, comment="Superseded")
    story.action("1.2")
    assert history(story.plan) == []
    assert variations_told(story.plan) == []


def test_a_refused_addition_records_no_variation(story, endorsed):
    with pytest.raises(ValidationError):
        services.action_create(plan=endorsed, by=story.alice, reference="1.1", title="Clash")
    assert history(endorsed) == []
    assert variations_told(endorsed) == []


def test_past_variations_recorded_as_history_tell_nobody(story, endorsed):
    with history_recorded():
        story.action("4.2")
    assert [e.summary for e in history(endorsed)] == ["Variation: action 4.2 added"]
    assert variations_told(endorsed) == []


def test_the_plan_page_shows_its_variations_in_its_history(client, story, endorsed):
    story.action("4.2")
    act = Action.objects.get(plan=endorsed, reference="1.1")
    transition_perform(obj=act, name="withdraw", user=story.alice, comment="Superseded by 4.2")
    client.force_login(story.victor)
    content = client.get(
        reverse("plan", kwargs={"tenant_slug": story.tenant.slug, "pk": endorsed.pk})
    ).content.decode()
    history_section = content[content.index('id="history-heading"') :]
    assert "Variation: action 4.2 added" in history_section
    assert "Variation: action 1.1 withdrawn" in history_section
    assert "Superseded by 4.2" in history_section
    assert "Endorse the plan" in history_section
