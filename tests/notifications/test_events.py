"""Who hears about what happens to an action or a plan, straight away.

Each event writes an in-app notification per person and, for those who want e-mail straight
away, an outbox message in the same transaction; the e-mail goes once that transaction commits.
"""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from notifications.models import Message, Notification, NotificationPreference
from notifications.services import notification_preference_set
from plans import services as plan_services
from plans.models import Action, ActionPlan
from tests.tenants.factories import Role, member
from workflow.models import TransitionLog
from workflow.services import TransitionRefused, transition_perform

State = Action.State
Kind = Notification.Kind


def told(kind: str, **about) -> set:
    return {
        n.recipient
        for n in Notification.objects.filter(kind=kind, **about).select_related("recipient")
    }


def emails_to(mailoutbox, user, containing: str = "") -> list:
    return [m for m in mailoutbox if m.to == [user.email] and containing in m.subject]


def html_of(email) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def ready_to_submit(story, **fields) -> Action:
    """An action in progress with its evidence and completion statement in place."""
    action = story.action_in(State.IN_PROGRESS, **fields)
    lead = action.lead_officer
    plan_services.evidence_add_link(
        action=action, by=lead, url="https://example.org/audit.pdf", description="Audit report"
    )
    plan_services.action_set_completion_statement(action=action, by=lead, text="Embedded.")
    return action


# --- Evidence submitted, returned, signed off ---------------------------------------------------


def test_submitted_evidence_asks_each_board_member_to_sign_it_off_straight_away(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = ready_to_submit(story, title="Audit strategy discussions")
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="submit_evidence", user=story.bob)

    assert told(Kind.SIGN_OFF_REQUESTED, action=action) == {story.carol, story.dave}
    for person in (story.carol, story.dave):
        [email] = emails_to(mailoutbox, person, "Sign-off requested")
        assert email.subject == (
            "Central Bedfordshire Council: Sign-off requested: 1.1 Audit strategy discussions"
        )
        assert "you sit on the LSCB board, which signs off this action" in email.body
    assert emails_to(mailoutbox, story.bob, "Sign-off requested") == []


def test_a_board_member_who_submits_evidence_is_not_asked_to_sign_off_their_own(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = ready_to_submit(story, lead_officer=story.dave)
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="submit_evidence", user=story.dave)
    assert told(Kind.SIGN_OFF_REQUESTED, action=action) == {story.carol}
    assert [m.to for m in mailoutbox if "Sign-off requested" in m.subject] == [[story.carol.email]]


def test_returned_evidence_tells_the_lead_officer_and_keeps_the_reason_out_of_the_email(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = story.action_in(State.EVIDENCED)
    reason = "The minutes do not record the decision on the Smith family."
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="send_back", user=story.carol, comment=reason)

    [returned] = Notification.objects.filter(kind=Kind.RETURNED, action=action)
    assert returned.recipient == story.bob
    assert returned.detail == reason
    [email] = emails_to(mailoutbox, story.bob, "Returned")
    for part in (email.subject, email.body, html_of(email)):
        assert "Smith" not in part
        assert "minutes" not in part
    assert f"/t/central-bedfordshire/actions/{action.pk}/" in email.body


def test_signing_off_tells_the_lead_officer_and_the_plan_owner(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = story.action_in(State.EVIDENCED)
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="sign_off", user=story.carol)
    assert told(Kind.SIGNED_OFF, action=action) == {story.bob, story.alice}
    assert {m.to[0] for m in mailoutbox if "Signed off" in m.subject} == {
        story.bob.email,
        story.alice.email,
    }


def test_the_person_who_signs_off_is_not_told_they_did(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    # The management team, on which alice (the plan owner) sits, signs off this one.
    action = story.action_in(State.EVIDENCED, sign_off_body=story.management_team)
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="sign_off", user=story.alice)
    assert told(Kind.SIGNED_OFF, action=action) == {story.bob}
    assert emails_to(mailoutbox, story.alice, "Signed off") == []


# --- Lead officers and delegates -----------------------------------------------------------------


def test_the_officer_named_lead_on_a_new_action_is_told(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        action = story.action(title="Audit strategy discussions")
    assert told(Kind.MADE_LEAD, action=action) == {story.bob}
    [email] = emails_to(mailoutbox, story.bob)
    assert email.subject == (
        "Central Bedfordshire Council: You are the lead officer: 1.1 Audit strategy discussions"
    )


def test_a_new_lead_officer_is_told_when_the_lead_changes_and_only_then(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = story.action()
    olu = member(story.tenant, Role.OFFICER, full_name="Olu Officer")
    with django_capture_on_commit_callbacks(execute=True):
        plan_services.action_update(action=action, by=story.alice, title="Retitled")
        plan_services.action_update(action=action, by=story.alice, lead_officer=olu)
        plan_services.action_update(action=action, by=story.alice, title="Retitled again")
    assert told(Kind.MADE_LEAD, action=action) == {story.bob, olu}
    assert Notification.objects.filter(kind=Kind.MADE_LEAD, recipient=olu).count() == 1
    assert [m.to for m in mailoutbox] == [[olu.email]]


def test_a_manager_who_makes_themselves_lead_is_not_told(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        own = story.action("1.1", lead_officer=story.alice)
        other = story.action("1.2")
        plan_services.action_update(action=other, by=story.mark, lead_officer=story.mark)
    assert told(Kind.MADE_LEAD, action=own) == set()
    assert told(Kind.MADE_LEAD, action=other) == {story.bob}
    assert emails_to(mailoutbox, story.alice) == []
    assert emails_to(mailoutbox, story.mark) == []


def test_a_delegate_is_told_each_time_they_are_added(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = story.action_in(State.IN_PROGRESS)
    dina = member(story.tenant, Role.OFFICER, full_name="Dina Delegate")
    with django_capture_on_commit_callbacks(execute=True):
        plan_services.action_delegate(action=action, by=story.bob, delegate=dina)
        plan_services.action_delegate(action=action, by=story.bob, delegate=dina)  # already one
    assert Notification.objects.filter(kind=Kind.MADE_DELEGATE, recipient=dina).count() == 1
    assert len(emails_to(mailoutbox, dina, "You can now deliver")) == 1

    with django_capture_on_commit_callbacks(execute=True):
        plan_services.action_delegate_remove(action=action, by=story.bob, delegate=dina)
        plan_services.action_delegate(action=action, by=story.alice, delegate=dina)
    assert Notification.objects.filter(kind=Kind.MADE_DELEGATE, recipient=dina).count() == 2
    assert len(emails_to(mailoutbox, dina, "You can now deliver")) == 2


# --- Plans ---------------------------------------------------------------------------------------


def test_a_submitted_plan_goes_to_its_owning_body_except_whoever_submitted_it(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    story.action()
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=story.plan, name="submit", user=story.mark)
    assert told(Kind.PLAN_SUBMITTED, plan=story.plan) == {story.dave}
    [email] = emails_to(mailoutbox, story.dave, "Submitted for endorsement")
    assert f"/t/central-bedfordshire/plans/{story.plan.pk}/" in email.body
    assert emails_to(mailoutbox, story.mark, "Submitted") == []


def test_a_plan_submitted_by_someone_outside_the_owning_body_goes_to_every_member(story):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    assert told(Kind.PLAN_SUBMITTED, plan=story.plan) == {story.dave, story.mark}


def test_the_plan_owner_hears_when_the_plan_is_endorsed(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=story.plan, name="endorse", user=story.dave)
    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.ENDORSED
    assert told(Kind.PLAN_ENDORSED, plan=story.plan) == {story.alice}
    assert [m.to for m in mailoutbox] == [[story.alice.email]]


# --- Only what commits is told -------------------------------------------------------------------


class Abandoned(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transition_tells_nobody_and_sends_nothing(story, mailoutbox):
    action = ready_to_submit(story)
    mailoutbox.clear()

    with pytest.raises(Abandoned), transaction.atomic():
        transition_perform(obj=action, name="submit_evidence", user=story.bob)
        raise Abandoned

    assert Action.objects.get(pk=action.pk).state == State.IN_PROGRESS
    assert not Notification.objects.filter(kind=Kind.SIGN_OFF_REQUESTED).exists()
    assert not Message.objects.filter(subject__contains="Sign-off requested").exists()
    assert mailoutbox == []

    # The same step, committed, is told and sent.
    with transaction.atomic():
        transition_perform(obj=action, name="submit_evidence", user=story.bob)
    assert told(Kind.SIGN_OFF_REQUESTED, action=action) == {story.carol, story.dave}
    assert sorted(m.to[0] for m in mailoutbox) == sorted([story.carol.email, story.dave.email])
    assert set(
        Message.objects.filter(subject__contains="Sign-off requested").values_list(
            "status", flat=True
        )
    ) == {Message.Status.SENT}


def test_a_step_whose_notifications_cannot_be_written_is_not_taken(story, monkeypatch):
    action = ready_to_submit(story)

    def outbox_unavailable(**kwargs):
        raise RuntimeError("The outbox cannot be written.")

    monkeypatch.setattr("notifications.receivers.notifications_send", outbox_unavailable)
    with pytest.raises(RuntimeError, match="outbox"):
        transition_perform(obj=action, name="submit_evidence", user=story.bob)
    assert Action.objects.get(pk=action.pk).state == State.IN_PROGRESS
    assert not TransitionLog.objects.filter(
        object_id=action.pk, transition="submit_evidence"
    ).exists()


def test_a_refused_transition_writes_nothing(story, mailoutbox, django_capture_on_commit_callbacks):
    action = ready_to_submit(story)
    notifications, messages = Notification.objects.count(), Message.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(TransitionRefused):
            transition_perform(obj=action, name="submit_evidence", user=story.victor)
        with pytest.raises(TransitionRefused):
            transition_perform(obj=action, name="sign_off", user=story.carol)
    assert (Notification.objects.count(), Message.objects.count()) == (notifications, messages)
    assert callbacks == []
    assert mailoutbox == []


# --- The e-mail itself ---------------------------------------------------------------------------


def test_each_event_email_carries_its_outbox_key_as_message_id(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    action = ready_to_submit(story)
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="submit_evidence", user=story.bob)
    log = TransitionLog.objects.get(
        content_type=ContentType.objects.get_for_model(Action),
        object_id=action.pk,
        transition="submit_evidence",
    )
    host = urlsplit(settings.SITE_URL).hostname
    for person in (story.carol, story.dave):
        [email] = emails_to(mailoutbox, person, "Sign-off requested")
        key = f"event:{story.tenant.pk}:log:{log.pk}:{person.pk}"
        assert Message.objects.get(recipient=person, key=key).status == Message.Status.SENT
        assert email.message()["Message-ID"] == f"<{key.replace(':', '.')}@{host}>"


def test_someone_who_chose_a_daily_email_is_not_emailed_straight_away(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    notification_preference_set(user=story.carol, events=NotificationPreference.Events.DAILY)
    action = ready_to_submit(story)
    with django_capture_on_commit_callbacks(execute=True):
        transition_perform(obj=action, name="submit_evidence", user=story.bob)

    [for_carol] = Notification.objects.filter(recipient=story.carol, action=action)
    assert for_carol.awaiting_digest
    assert for_carol.message is None
    assert not Message.objects.filter(recipient=story.carol).exists()
    assert emails_to(mailoutbox, story.carol) == []
    assert len(emails_to(mailoutbox, story.dave, "Sign-off requested")) == 1
