"""Taking a body's right to sign off a plan's actions never strands an action waiting for it:
evidenced and waiting for its sign-off, or agreed (or proposed, or in progress) with that body
as its sign-off body. Refused with the reason, naming the actions, even when the action is
changed at the same moment."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from plans import services
from plans.models import Action
from plans.workflows import plan_grants
from tenants.scoping import tenant_scope
from workflow.services import transition_perform

State = Action.State


def may_sign_off(story, body) -> bool:
    return plan_grants(body.pk, story.plan.pk, story.tenant.pk, "sign_off_actions")


def test_an_evidenced_action_waiting_for_the_body_keeps_its_right(story):
    story.lscb_needs_two()
    waiting = story.action_in(State.EVIDENCED, "2.1")
    transition_perform(obj=waiting, name="sign_off", user=story.carol)  # one of two approvals

    with pytest.raises(ValidationError) as refused:
        services.action_plan_revoke_sign_off_body(plan=story.plan, body=story.lscb, by=story.erin)

    assert refused.value.messages == [
        "LSCB board is the sign-off body of 1 open action in this plan (2.1); choose another "
        "sign-off body for it first."
    ]
    assert may_sign_off(story, story.lscb)
    assert Action.objects.get(pk=waiting.pk).state == State.EVIDENCED


def test_an_agreed_action_with_the_body_as_its_sign_off_body_keeps_its_right(story):
    story.action_in(State.AGREED, "3.1", sign_off_body=story.management_team)

    with pytest.raises(ValidationError, match=r"Management team .* \(3\.1\)"):
        services.action_plan_update(plan=story.plan, by=story.erin, sign_off_bodies=[story.lscb])

    assert may_sign_off(story, story.management_team)


def test_signed_off_and_withdrawn_actions_do_not_hold_a_body(story):
    story.action_in(State.SIGNED_OFF, "4.1")
    story.action_in(State.WITHDRAWN, "4.2")

    services.action_plan_revoke_sign_off_body(plan=story.plan, body=story.lscb, by=story.erin)

    assert not may_sign_off(story, story.lscb)


@pytest.mark.django_db(transaction=True)
def test_an_action_given_the_body_while_its_right_is_taken_is_never_stranded(postgres, story):
    """A manager makes the LSCB board an action's sign-off body while the administrator takes
    the board's right away: whichever commits second sees the other, never both."""
    action = story.action("5.1", sign_off_body=story.management_team)
    changed, go = threading.Event(), threading.Event()
    outcome: dict = {}

    def change_the_action() -> None:
        try:
            with tenant_scope(story.tenant), transaction.atomic():
                services.action_update(action=action, by=story.alice, sign_off_body=story.lscb)
                changed.set()
                go.wait(timeout=20)
        except ValidationError as refusal:
            outcome["change"] = refusal
        finally:
            changed.set()
            connection.close()

    def take_the_right() -> None:
        try:
            with tenant_scope(story.tenant):
                services.action_plan_revoke_sign_off_body(
                    plan=story.plan, body=story.lscb, by=story.erin
                )
            outcome["revoke"] = "done"
        except ValidationError as refusal:
            outcome["revoke"] = refusal
        finally:
            connection.close()

    changing = threading.Thread(target=change_the_action)
    changing.start()
    changed.wait(timeout=20)
    revoking = threading.Thread(target=take_the_right)
    revoking.start()
    # Let the revocation run until it finishes or waits for the action's lock.
    deadline = time.monotonic() + 10
    while revoking.is_alive() and time.monotonic() < deadline and not _someone_waits_for_a_lock():
        time.sleep(0.05)
    go.set()
    changing.join(timeout=30)
    revoking.join(timeout=30)

    with tenant_scope(story.tenant):
        sign_off_body_id = Action.objects.get(pk=action.pk).sign_off_body_id
        stranded = sign_off_body_id == story.lscb.pk and not may_sign_off(story, story.lscb)
    assert not stranded, outcome
    assert isinstance(outcome["revoke"], ValidationError), outcome
    assert "(5.1)" in outcome["revoke"].messages[0]


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0
