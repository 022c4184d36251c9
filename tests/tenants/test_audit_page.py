"""The tenant administrator's record of changes: who changed what, from what, to what, when and
why, narrowed by filters, and never another organisation's."""

import datetime

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from plans import services
from plans.models import Action
from tenants.models import AuditEntry
from tenants.scoping import tenant_scope
from tenants.services import audit_record


def audit_url(story, **query) -> str:
    url = reverse("audit", kwargs={"tenant_slug": story.tenant.slug})
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


@pytest.fixture
def moved(story):
    """Alice moved action 1.1's due date out by three months, and said why."""
    action = story.action_in(Action.State.AGREED, due_date=datetime.date(2027, 3, 1))
    services.action_update(
        action=action,
        by=story.alice,
        due_date=datetime.date(2027, 6, 1),
        reason="The audit team is on another review until May.",
    )
    return action


def test_the_administrator_sees_who_moved_a_due_date_and_why(client, story, moved):
    client.force_login(story.erin)
    content = client.get(audit_url(story)).content.decode()
    assert "Action 1.1" in content
    assert "Details changed, by Alice Manager" in content
    assert "<strong>Due date</strong>: from 1 March 2027 to 1 June 2027" in content
    assert "The audit team is on another review until May." in content


def test_filters_narrow_the_record_by_what_who_when_and_words(client, story, moved):
    with tenant_scope(story.tenant):
        audit_record(
            tenant_id=story.tenant.pk,
            actor=story.erin,
            subject_type=AuditEntry.Subject.PARTNER,
            subject_id=story.police.pk,
            subject_label="Bedfordshire Police",
            summary="Partner renamed",
            before={"name": "Beds Police"},
            after={"name": "Bedfordshire Police"},
        )
    client.force_login(story.erin)

    def shown(**query) -> list[str]:
        page = client.get(audit_url(story, **query)).context["page"]
        # Leaving out the story's own set-up: bodies and plan made by the service itself (no
        # actor), and the action being added.
        return [
            entry.summary
            for entry in page.object_list
            if entry.actor_id is not None and entry.summary != "Action added"
        ]

    assert shown() == ["Partner renamed", "Details changed"]
    assert shown(subject="action") == ["Details changed"]
    assert shown(actor=story.erin.pk) == ["Partner renamed"]
    assert shown(q="review+until") == ["Details changed"]
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert len(shown(since=today, until=today)) == 2
    assert shown(until="1/1/2020") == []


def test_a_bad_filter_is_explained_and_nothing_is_hidden_by_it(client, story, moved):
    client.force_login(story.erin)
    response = client.get(audit_url(story, since="the+31st", until="1/1/2020"))
    assert response.status_code == 400
    content = response.content.decode()
    assert "There is a problem" in content
    assert "Enter the first date as day/month/year" in content


def test_the_last_date_must_not_come_before_the_first(client, story):
    client.force_login(story.erin)
    response = client.get(audit_url(story, since="2/1/2026", until="1/1/2026"))
    assert response.status_code == 400
    assert "The last date must be on or after the first date." in response.content.decode()


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "victor"])
def test_only_tenant_administrators_see_the_record(client, story, who):
    client.force_login(getattr(story, who))
    assert client.get(audit_url(story)).status_code == 403


def test_another_organisations_changes_never_show(client, story, moved):
    with tenant_scope(story.other_tenant):
        audit_record(
            tenant_id=story.other_tenant.pk,
            actor=story.charlie,
            subject_type=AuditEntry.Subject.PLAN,
            subject_id=story.other_plan.pk,
            subject_label="CANARY plan",
            summary="CANARY change",
            always=True,
        )
    client.force_login(story.erin)
    assert "CANARY" not in client.get(audit_url(story)).content.decode()


def test_the_page_costs_the_same_queries_however_many_changes(
    client, story, django_assert_max_num_queries
):
    with tenant_scope(story.tenant):
        for n in range(60):
            audit_record(
                tenant_id=story.tenant.pk,
                actor=story.alice if n % 2 else story.erin,
                subject_type=AuditEntry.Subject.SIGN_OFF_BODY,
                subject_id=story.lscb.pk,
                subject_label="LSCB board",
                summary=f"Quorum changed {n}",
                before={"quorum": str(n)},
                after={"quorum": str(n + 1)},
            )
    client.force_login(story.erin)
    with django_assert_max_num_queries(14):
        response = client.get(audit_url(story))
    assert len(response.context["page"].object_list) == 50


def test_nothing_is_recorded_when_nothing_changed(story):
    action = story.action_in(Action.State.AGREED, due_date=datetime.date(2027, 3, 1))
    services.action_update(action=action, by=story.alice, title=action.title)
    assert (
        not AuditEntry.objects.filter(subject_id=action.pk, subject_type="action")
        .exclude(summary="Action added")
        .exists()
    )


def test_a_change_rolled_back_with_its_transaction_leaves_no_record(story):
    action = story.action_in(Action.State.AGREED, due_date=datetime.date(2027, 3, 1))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.action_update(action=action, by=story.alice, title="A new title")
        raise RuntimeError("the request failed after the change")
    assert (
        not AuditEntry.objects.filter(subject_id=action.pk, subject_type="action")
        .exclude(summary="Action added")
        .exists()
    )
    assert Action.objects.get(pk=action.pk).title == action.title


def test_history_keeps_a_deactivated_persons_name_and_they_cannot_be_deleted(client, story, moved):
    story.alice.is_active = False
    story.alice.save()
    client.force_login(story.erin)
    assert "Details changed, by Alice Manager" in client.get(audit_url(story)).content.decode()
    action_page = reverse("action", kwargs={"tenant_slug": story.tenant.slug, "pk": moved.pk})
    assert "Alice Manager" in client.get(action_page).content.decode()
    with pytest.raises(ProtectedError):
        story.alice.delete()
