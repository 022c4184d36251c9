"""Celery tasks: thin wrappers that call the services."""

from collections import Counter

from celery import shared_task

from notifications.escalations import escalation_sweep
from notifications.services import message_deliver, messages_deliver, outbox_relay


@shared_task(name="notifications.messages_deliver", acks_late=True, reject_on_worker_lost=True)
def messages_deliver_task(message_ids: list[int]) -> dict[str, int]:
    return dict(Counter(messages_deliver(message_ids=message_ids).values()))


# Tasks queued one message each, before deliveries went in batches.
@shared_task(name="notifications.message_deliver", acks_late=True, reject_on_worker_lost=True)
def message_deliver_task(message_id: int) -> str:
    return message_deliver(message_id=message_id)


@shared_task(name="notifications.outbox_relay", acks_late=True)
def outbox_relay_task() -> int:
    return outbox_relay()


@shared_task(name="notifications.escalation_sweep", acks_late=True)
def escalation_sweep_task() -> dict:
    sweep = escalation_sweep()
    return {
        "sweep": sweep.pk,
        "steps": sweep.steps_created,
        "notifications": sweep.notifications_created,
        "messages": sweep.messages_created,
    }
