"""The busiest pages cost the same number of queries whatever the number of actions."""

import itertools

import pytest
from django.db import connection

from plans import services
from plans.models import Action
from tenants.scoping import tenant_scope
from tests.conftest import build_story
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


def test_action_page_queries_do_not_grow_with_actions(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    url = f"/t/{story.tenant.slug}/actions/{action.pk}/"
    bulk_actions(story, 10)
    with_10 = queries_for(client, url)
    bulk_actions(story, 290, start=10)
    with_300 = queries_for(client, url)
    assert with_10 == with_300


def test_action_page_reads_the_persons_membership_once(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    membership_reads = []

    def note(execute, sql, params, many, context):
        if (
            sql.startswith('SELECT "tenants_membership"')
            and '"tenants_membership"."tenant_id" = ' in sql
        ):
            membership_reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        response = client.get(f"/t/{story.tenant.slug}/actions/{action.pk}/")
    assert response.status_code == 200
    assert len(membership_reads) == 1, membership_reads


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("person", ["bob", "alice", "carol", "erin", "victor"])
def test_home_and_action_pages_tell_the_database_the_tenant_once_for_all_their_reads(
    client, postgres, person, monkeypatch
):
    """Each statement outside a transaction would be a transaction of its own, each telling
    the database the tenant again: the pages read in one."""
    from tenants.postgresql.base import DatabaseWrapper

    # Built here rather than by the story fixture, whose tenant scope would cover the request.
    story = build_story()
    with tenant_scope(story.tenant):
        action = story.action_in(Action.State.IN_PROGRESS)
        bulk_actions(story, 10)
    client.force_login(getattr(story, person))
    told = []
    tell, tell_with = DatabaseWrapper._tell, DatabaseWrapper._told_with

    def counted(self, wanted):
        told.append(wanted.tenant_id)
        return tell(self, wanted)

    def counted_with(self, wanted, *statement):
        told.append(wanted.tenant_id)
        return tell_with(self, wanted, *statement)

    monkeypatch.setattr(DatabaseWrapper, "_tell", counted)
    monkeypatch.setattr(DatabaseWrapper, "_told_with", counted_with)
    for url in (f"/t/{story.tenant.slug}/", f"/t/{story.tenant.slug}/actions/{action.pk}/"):
        told.clear()
        assert client.get(url).status_code == 200
        # First the middleware's membership check, a transaction of its own; then the page,
        # telling the tenant again only after a read across tenants (the organisation switcher).
        membership_check, *page = told
        assert membership_check == page[0] == story.tenant.pk, (url, told)
        assert all(one != next_one for one, next_one in itertools.pairwise(page)), (url, told)
