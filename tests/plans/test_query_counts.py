"""The busiest pages cost the same number of queries whatever the number of actions."""

import datetime

from plans import services
from plans.models import Action, ActionRecommendation, ActionSupportingPartner, ProgressUpdate
from tests.querycount import queries_for


def add_actions(story, count: int, start: int = 0) -> None:
    """``count`` actions led by bob, each with a progress update, a supporting partner and a
    recommendation, inserted in bulk so the test stays quick."""
    today = datetime.date.today()
    actions = Action.objects.bulk_create(
        Action(
            tenant=story.tenant,
            plan=story.plan,
            reference=f"9.{start + n}",
            title=f"Bulk action {start + n}",
            lead_officer=story.bob,
            lead_partner=story.police,
            due_date=today + datetime.timedelta(days=n % 90 - 30),
            sign_off_body=story.lscb,
        )
        for n in range(count)
    )
    ActionRecommendation.objects.bulk_create(
        ActionRecommendation(tenant=story.tenant, action=a, recommendation=story.recommendation)
        for a in actions
    )
    ActionSupportingPartner.objects.bulk_create(
        ActionSupportingPartner(tenant=story.tenant, action=a, partner=story.health)
        for a in actions
    )
    ProgressUpdate.objects.bulk_create(
        ProgressUpdate(
            tenant=story.tenant, action=a, author=story.bob, text="On track", rag="green"
        )
        for a in actions
    )


def test_plan_page_queries_do_not_grow_with_actions(client, story):
    client.force_login(story.alice)
    url = f"/t/{story.tenant.slug}/plans/{story.plan.pk}/"
    add_actions(story, 10)
    with_10 = queries_for(client, url)
    add_actions(story, 290, start=10)
    with_300 = queries_for(client, url)
    assert with_10 == with_300
    # The page, its steps and history, the filters' lists of partners and officers, and
    # whether the header offers "Switch organisation".
    assert with_300 <= 18


def test_my_actions_queries_do_not_grow_with_actions(client, story):
    client.force_login(story.bob)
    url = f"/t/{story.tenant.slug}/my-actions/"
    add_actions(story, 10)
    with_10 = queries_for(client, url)
    add_actions(story, 290, start=10)
    with_300 = queries_for(client, url)
    assert with_10 == with_300
    assert with_300 <= 12


def test_action_page_queries_do_not_grow_with_progress_and_evidence(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    url = f"/t/{story.tenant.slug}/actions/{action.pk}/"
    first = queries_for(client, url)
    for n in range(20):
        services.progress_add(action=action, author=story.bob, text=f"Update {n}", rag="amber")
        services.evidence_add_link(
            action=action, by=story.bob, url=f"https://example.org/{n}", description=f"Item {n}"
        )
    assert queries_for(client, url) == first
