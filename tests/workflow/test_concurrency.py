"""Two board members pressing "Sign off" at the same moment, on separate PostgreSQL connections."""

import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from plans.models import Action
from tenants.scoping import tenant_scope
from workflow.models import Approval, TransitionLog
from workflow.services import TransitionRefused, transition_perform

ROUNDS = 50


def press_together(tenant, action, people) -> list:
    """Each person takes ``sign_off`` in their own thread and connection, released together."""
    barrier = threading.Barrier(len(people))
    results: list = [None] * len(people)

    def press(index, person):
        try:
            with tenant_scope(tenant):
                barrier.wait(timeout=10)
                results[index] = transition_perform(obj=action, name="sign_off", user=person)
        except TransitionRefused as refusal:
            results[index] = refusal
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(i, p)) for i, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def sign_off_logs(action) -> int:
    return TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Action),
        object_id=action.pk,
        to_state=Action.State.SIGNED_OFF,
    ).count()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_sign_offs_transition_once(postgres, story):
    for round_number in range(ROUNDS):
        action = story.action_in(Action.State.EVIDENCED, reference=f"7.{round_number}")
        results = press_together(story.tenant, action, [story.carol, story.dave])

        fired = [r for r in results if not isinstance(r, TransitionRefused) and r.fired]
        refusals = [r for r in results if isinstance(r, TransitionRefused)]
        assert len(fired) == 1, results
        assert len(refusals) == 1 and "not possible while this is signed off" in str(refusals[0])
        assert Action.objects.get(pk=action.pk).state == Action.State.SIGNED_OFF
        assert sign_off_logs(action) == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_approvals_meet_a_quorum_of_two_once(postgres, story):
    story.lscb_needs_two()
    for round_number in range(ROUNDS // 5):
        action = story.action_in(Action.State.EVIDENCED, reference=f"8.{round_number}")
        results = press_together(story.tenant, action, [story.carol, story.dave])

        assert not any(isinstance(r, TransitionRefused) for r in results), results
        assert sorted(r.fired for r in results) == [False, True]
        assert Approval.objects.filter(object_id=action.pk, transition="sign_off").count() == 2
        assert sign_off_logs(action) == 1
