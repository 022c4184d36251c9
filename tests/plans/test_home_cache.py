"""Each person's home page queues are kept for them and the day, and change as soon as
anything they show does: never another person's, never another organisation's."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from plans import services
from plans.home_page import QUEUES_TEMPLATE
from plans.models import Action
from tenants import services as tenant_services
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tests.conftest import pages_cache_down
from tests.plans.factories import bulk_actions
from tests.querycount import queries_for
from workflow.services import transition_perform


def home_url(tenant) -> str:
    return reverse("tenant_home", kwargs={"tenant_slug": tenant.slug})


def drawn(response) -> bool:
    return QUEUES_TEMPLATE in {template.name for template in response.templates}


def kept(client, story, person, tenant=None) -> str:
    """``person``'s home page once its queues are kept, checked to be served from the cache."""
    client.force_login(person)
    url = home_url(tenant or story.tenant)
    client.get(url)  # the first request may only start the organisation's version token
    client.get(url)  # the second keeps what it draws
    response = client.get(url)
    assert response.status_code == 200
    assert not drawn(response), "not served from the cache"
    return response.content.decode()


def fresh(client, story, person) -> str:
    client.force_login(person)
    response = client.get(home_url(story.tenant))
    assert response.status_code == 200
    assert drawn(response), "served from the cache after a change"
    return response.content.decode()


def your_actions(content: str) -> str:
    """The "Your actions" section alone: a manager sees every action in their queues too."""
    return content.split('id="officer-heading"')[1].split("</section>")[0]


def membership_of(story, person) -> Membership:
    return Membership.objects.get(tenant=story.tenant, user=person)


# -- an officer's actions ----------------------------------------------------------------------


def test_a_new_action_joins_its_lead_officers_queue_at_once(story, client):
    assert "Audit the case files" not in kept(client, story, story.bob)
    story.action("1.2", title="Audit the case files")
    assert "Audit the case files" in fresh(client, story, story.bob)


def test_a_step_changes_what_the_officers_action_needs_at_once(story, client):
    act = story.action("1.1")
    assert "Start work" not in kept(client, story, story.bob)
    transition_perform(obj=act, name="agree", user=story.alice)
    assert "Start work" in fresh(client, story, story.bob)


def test_evidence_changes_what_the_officers_action_needs_at_once(story, client):
    act = story.action_in(Action.State.IN_PROGRESS)
    services.action_set_completion_statement(action=act, by=story.bob, text="Done.")
    assert "Submit for sign-off" not in kept(client, story, story.bob)
    services.evidence_add_link(
        action=act, by=story.bob, url="https://example.org/a.pdf", description="Audit"
    )
    assert "Submit for sign-off" in fresh(client, story, story.bob)


def test_a_delegated_action_joins_the_delegates_queue_at_once(story, client):
    act = story.action_in(Action.State.IN_PROGRESS, title="Audit the case files")
    assert "Audit the case files" not in kept(client, story, story.alice)
    services.action_delegate(action=act, by=story.bob, delegate=story.alice)
    assert "Audit the case files" in fresh(client, story, story.alice)


def test_an_action_given_another_lead_officer_moves_between_their_queues_at_once(story, client):
    act = story.action("1.1", title="Audit the case files")
    assert "Audit the case files" in kept(client, story, story.bob)
    assert "Audit the case files" not in your_actions(kept(client, story, story.mark))
    services.action_update(action=act, by=story.alice, lead_officer=story.mark)
    assert "Audit the case files" not in fresh(client, story, story.bob)
    assert "Audit the case files" in your_actions(fresh(client, story, story.mark))


# -- a manager's queues ------------------------------------------------------------------------


def test_an_agreed_action_leaves_the_managers_queue_to_agree_at_once(story, client):
    act = story.action("1.1")
    assert "Proposed actions to agree (1)" in kept(client, story, story.alice)
    transition_perform(obj=act, name="agree", user=story.alice)
    assert "Proposed actions to agree (1)" not in fresh(client, story, story.alice)


def test_a_returned_action_joins_the_managers_and_administrators_queues_at_once(story, client):
    act = story.action_in(Action.State.EVIDENCED)
    for person in (story.alice, story.erin):
        assert "Include the referral teams." not in kept(client, story, person)
    transition_perform(
        obj=act, name="send_back", user=story.carol, comment="Include the referral teams."
    )
    for person in (story.alice, story.erin):
        assert "Include the referral teams." in fresh(client, story, person)


def test_a_manager_given_an_agency_sees_only_its_actions_at_once(story, client):
    story.action("1.1", title="Audit the case files", lead_partner=story.health)
    assert "Audit the case files" in kept(client, story, story.alice)
    tenant_services.membership_change(
        membership=membership_of(story, story.alice),
        by=story.erin,
        role=Membership.Role.MANAGER,
        partner=story.police,
    )
    content = fresh(client, story, story.alice)
    assert "Actions led by Bedfordshire Police." in content
    assert "Audit the case files" not in content


def test_a_new_role_shows_its_queues_at_once(story, client):
    story.action("1.1", title="Audit the case files")
    assert "To agree and chase" not in kept(client, story, story.bob)
    tenant_services.membership_change(
        membership=membership_of(story, story.bob),
        by=story.erin,
        role=Membership.Role.MANAGER,
        partner=story.police,
    )
    assert "Proposed actions to agree (1)" in fresh(client, story, story.bob)


def test_a_role_changed_while_the_cache_was_down_never_serves_the_old_roles_queues(
    story, client, monkeypatch
):
    story.action("1.1", title="Audit the case files")
    assert "To agree and chase" not in kept(client, story, story.bob)

    # The change of token is lost with the cache; the role in the key still tells them apart.
    with monkeypatch.context() as patched:
        pages_cache_down(patched, "set")
        tenant_services.membership_change(
            membership=membership_of(story, story.bob),
            by=story.erin,
            role=Membership.Role.MANAGER,
            partner=story.police,
        )
    assert "Proposed actions to agree (1)" in fresh(client, story, story.bob)


def test_an_action_becomes_overdue_at_midnight_uk_time_with_nothing_written(story, client):
    # 23:55 on a summer evening in London is 22:55 UTC: the UK's tomorrow starts at 23:00 UTC,
    # well before a kept part expires.
    evening = datetime.datetime(2026, 6, 4, 22, 55, tzinfo=datetime.UTC)
    with time_machine.travel(evening, tick=False):
        story.action_in(Action.State.AGREED, due_date=datetime.date(2026, 6, 4))
        assert "Overdue actions (1)" not in kept(client, story, story.alice)
    with time_machine.travel(evening + datetime.timedelta(minutes=10), tick=False):
        assert timezone.localdate() == datetime.date(2026, 6, 5)
        assert "Overdue actions (1)" in fresh(client, story, story.alice)


# -- a board member's sign-off queue -----------------------------------------------------------


def test_evidence_submitted_joins_the_board_members_queue_at_once(story, client):
    act = story.action_in(Action.State.IN_PROGRESS, title="Audit the case files")
    services.evidence_add_link(
        action=act, by=story.bob, url="https://example.org/a.pdf", description="Audit"
    )
    services.action_set_completion_statement(action=act, by=story.bob, text="Done.")
    assert "Audit the case files" not in kept(client, story, story.carol)
    transition_perform(obj=act, name="submit_evidence", user=story.bob)
    assert "Audit the case files" in fresh(client, story, story.carol)


def test_an_approval_shows_at_once_to_the_approver_and_the_rest_of_the_board(story, client):
    story.lscb_needs_two()
    act = story.action_in(Action.State.EVIDENCED)
    for person in (story.carol, story.dave):
        assert "0 of 2" in kept(client, story, person)
    transition_perform(obj=act, name="sign_off", user=story.carol)
    carol = fresh(client, story, story.carol)
    assert "1 of 2" in carol and 'govuk-tag--green">Approved<' in carol
    dave = fresh(client, story, story.dave)
    assert "1 of 2" in dave and "Needs your decision" in dave


def test_a_new_quorum_shows_at_once(story, client):
    story.action_in(Action.State.EVIDENCED)
    assert "0 of 1" in kept(client, story, story.carol)
    story.lscb_needs_two()
    assert "0 of 2" in fresh(client, story, story.carol)


def test_joining_a_sign_off_body_brings_its_queue_at_once(story, client):
    story.action_in(Action.State.EVIDENCED, title="Audit the case files")
    assert "Waiting for your sign-off" not in kept(client, story, story.bob)
    tenant_services.sign_off_body_add_member(body=story.lscb, user=story.bob, by=story.erin)
    content = fresh(client, story, story.bob)
    assert "Waiting for your sign-off" in content
    assert "You cannot sign it off: you are its lead officer" in content


def test_a_renamed_sign_off_body_shows_at_once(story, client):
    story.action_in(Action.State.EVIDENCED)
    assert "Safeguarding Children Partnership" not in kept(client, story, story.carol)
    tenant_services.sign_off_body_update(
        body=story.lscb,
        by=story.erin,
        name="Safeguarding Children Partnership",
        kind=story.lscb.kind,
        partner=None,
        chair=story.lscb.chair,
        quorum=story.lscb.quorum,
    )
    assert "Safeguarding Children Partnership" in fresh(client, story, story.carol)


# -- people and organisations ------------------------------------------------------------------


def test_two_people_with_the_same_role_never_share_kept_queues(story, client):
    story.action("1.1", title="Audit the case files", lead_officer=story.mark)
    assert "Audit the case files" in your_actions(kept(client, story, story.mark))
    client.force_login(story.alice)
    response = client.get(home_url(story.tenant))
    assert drawn(response)
    assert "Audit the case files" not in your_actions(response.content.decode())


def test_a_person_in_two_organisations_is_kept_apart_in_each(story, client):
    story.action("1.1", title="Audit the case files")
    with tenant_scope(story.other_tenant):
        tenant_services.membership_add(
            tenant=story.other_tenant, user=story.alice, role=Membership.Role.MANAGER
        )
    bedfordshire = kept(client, story, story.alice)
    sunderland = kept(client, story, story.alice, tenant=story.other_tenant)
    assert "Audit the case files" in bedfordshire and "CANARY" not in bedfordshire
    assert "CANARY" in sunderland and "Audit the case files" not in sunderland


def test_the_settings_link_is_never_kept_with_the_queues(story, client):
    settings_url = reverse("settings", kwargs={"tenant_slug": story.tenant.slug})
    assert settings_url in kept(client, story, story.erin)
    tenant_services.membership_change(
        membership=membership_of(story, story.mark),
        by=story.erin,
        role=Membership.Role.TENANT_ADMIN,
        partner=None,
    )
    assert settings_url in kept(client, story, story.mark)
    assert settings_url not in kept(client, story, story.alice)


def test_the_home_page_is_drawn_afresh_when_the_cache_is_down(story, client, monkeypatch):
    act = story.action("1.1", title="Audit the case files")

    pages_cache_down(monkeypatch)
    client.force_login(story.alice)
    assert "Proposed actions to agree (1)" in client.get(home_url(story.tenant)).content.decode()
    transition_perform(obj=act, name="agree", user=story.alice)
    assert (
        "Proposed actions to agree (1)" not in client.get(home_url(story.tenant)).content.decode()
    )


# -- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["alice", "bob", "carol", "erin", "victor"])
def test_home_queries_kept_and_drawn_do_not_grow_with_actions(story, client, person):
    user = getattr(story, person)
    client.force_login(user)
    url = home_url(story.tenant)
    bulk_actions(story, 10)
    drawn_10 = queries_for(client, url)
    kept(client, story, user)
    kept_10 = queries_for(client, url)
    bulk_actions(story, 290, start=10)
    drawn_300 = queries_for(client, url)
    kept(client, story, user)
    kept_300 = queries_for(client, url)
    assert (drawn_10, kept_10) == (drawn_300, kept_300)
    assert kept_300 < drawn_300
