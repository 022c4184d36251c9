"""The busiest pages cost the same number of queries whatever the number of actions."""

from plans import services
from plans.models import Action
from tests.plans.factories import bulk_actions
from tests.querycount import queries_for


def test_plan_page_queries_do_not_grow_with_actions(client, story):
    client.force_login(story.alice)
    url = f"/t/{story.tenant.slug}/plans/{story.plan.pk}/"
    bulk_actions(story, 10)
    with_10 = queries_for(client, url)
    bulk_actions(story, 290, start=10)
    with_300 = queries_for(client, url)
    assert with_10 == with_300
    # The page, its steps (with whether the endorsing body can reach its quorum without the
    # submitter) and history (steps, approvals, changes such as variations), the filters'
    # lists of partners and officers, whether the header offers "Switch organisation", and the
    # bodies that may sign off its actions, and its published reports. The page reads in one
    # transaction, which inside the test's own is a savepoint and its release: two more.
    assert with_300 <= 23


def test_my_actions_queries_do_not_grow_with_actions(client, story):
    client.force_login(story.bob)
    url = f"/t/{story.tenant.slug}/my-actions/"
    bulk_actions(story, 10)
    with_10 = queries_for(client, url)
    bulk_actions(story, 290, start=10)
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
