"""Outbox messages for the notifications tests."""

from itertools import count

from notifications.models import Message
from tenants.models import Tenant, User

_keys = count(1)


def message_waiting(
    *,
    recipient: User,
    tenant: Tenant,
    key: str = "",
    subject: str = "Sign-off requested: 1.1 Training",
    **fields,
) -> Message:
    """An event's e-mail in the outbox, due now and not yet queued."""
    return Message.objects.create(
        recipient=recipient,
        tenant=tenant,
        kind=fields.pop("kind", Message.Kind.EVENT),
        subject=subject,
        body_text=fields.pop("body_text", "Text"),
        body_html=fields.pop("body_html", "<p>Text</p>"),
        key=key or f"event:test:{next(_keys)}",
        **fields,
    )


def policy_form(**changes) -> dict:
    """The escalation settings page's form as it stands for a new organisation, with
    ``changes``."""
    return {
        "reminder_days_before": "5",
        "overdue_days": "1",
        "managers_days": "10",
        "chair_days": "20",
        "sign_off_waiting_days": "10",
        "channel": "email",
        "notify_api_key": "",
        "notify_template_id": "",
        **changes,
    }
