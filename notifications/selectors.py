"""Reads of the notifications app: a person's notifications in one tenant, the tenant's policy
and the tenant's messages that did not go. Each is a constant number of queries."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from notifications.channels import DEFAULT as DEFAULT_CHANNEL
from notifications.models import (
    ChannelSettings,
    EscalationPolicy,
    Message,
    Notification,
    NotificationPreference,
)
from tenants.models import Tenant, User
from tenants.scoping import tenant_scope

# A pending message older than this has had its first attempt and the relay's first re-queue,
# so something is holding it up.
STALE_PENDING_AFTER = datetime.timedelta(minutes=15)


def notifications_of_user(*, tenant: Tenant, user: User) -> QuerySet[Notification]:
    """The person's own notifications in this tenant, newest first."""
    return Notification.objects.filter(tenant=tenant, recipient=user).order_by("-created_at", "-pk")


def unread_count(*, tenant: Tenant, user: User) -> int:
    return Notification.objects.filter(tenant=tenant, recipient=user, read_at__isnull=True).count()


def escalation_policy_of(*, tenant: Tenant) -> EscalationPolicy:
    """The tenant's policy, or an unsaved one holding the defaults it escalates by without one."""
    policy = EscalationPolicy.objects.filter(tenant=tenant).select_related("updated_by").first()
    return policy if policy is not None else EscalationPolicy(tenant=tenant)


def channel_settings_of(*, tenant: Tenant) -> dict[str, ChannelSettings]:
    """The tenant's settings for each channel it has given any, by channel name."""
    rows = ChannelSettings.objects.filter(tenant=tenant).select_related("updated_by")
    return {row.channel: row for row in rows}


def channel_of(*, tenant_id: int) -> str:
    """The channel the tenant's messages go by."""
    chosen = (
        ChannelSettings.objects.filter(tenant_id=tenant_id, chosen=True)
        .values_list("channel", flat=True)
        .first()
    )
    return chosen or DEFAULT_CHANNEL


def channel_values_of(*, tenant_id: int, channel: str) -> dict[str, str]:
    """Everything the tenant gives ``channel`` to send with, secrets decrypted; empty when it
    has given nothing. Delivery knows only the message's tenant, so this sets its scope."""
    with tenant_scope(tenant_id):
        row = ChannelSettings.objects.filter(tenant_id=tenant_id, channel=channel).first()
    return row.everything() if row is not None else {}


def messages_of_tenant(*, tenant: Tenant) -> QuerySet[Message]:
    """Messages a tenant's administrator may see: the tenant's own, and digests that carry at
    least one of its notifications.

    A digest may also carry items from the recipient's other tenants, so pages show what the
    message row says about delivery (subject, status, error), never its body. The subquery
    rather than a join with DISTINCT keeps the bodies out of any sort or comparison.
    """
    carrying = Notification.objects.filter(tenant=tenant, message__isnull=False).values(
        "message_id"
    )
    return Message.objects.filter(Q(tenant=tenant) | Q(pk__in=carrying))


def messages_not_sent(*, tenant: Tenant, now: datetime.datetime | None = None) -> QuerySet[Message]:
    """The tenant's messages that failed, were not sent, or are still waiting long after they
    were written; newest first, without their bodies."""
    stale_before = (now or timezone.now()) - STALE_PENDING_AFTER
    return (
        messages_of_tenant(tenant=tenant)
        .filter(
            Q(status__in=[Message.Status.FAILED, Message.Status.SKIPPED])
            | Q(status=Message.Status.PENDING, created_at__lt=stale_before)
        )
        .select_related("recipient")
        .defer("body_text", "body_html")
        .order_by("-created_at", "-pk")
    )


def events_preference_of(*, user: User) -> str:
    """How the person chose to hear about events; straight away until they choose."""
    chosen = (
        NotificationPreference.objects.filter(user=user).values_list("events", flat=True).first()
    )
    return chosen or NotificationPreference.Events.IMMEDIATE
