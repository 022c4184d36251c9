"""Writes of the notifications app: event notifications, the outbox's delivery and relay, a
tenant's escalation policy, a person's preferences."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from notifications import channels, selectors
from notifications.content import Item, event_email, invitation_email
from notifications.models import (
    ChannelSettings,
    EscalationPolicy,
    Message,
    Notification,
    NotificationPreference,
)
from tenants.models import AuditEntry, Invitation, Tenant, User
from tenants.rules import administer_refusal, enforce
from tenants.scoping import across_tenants
from tenants.sealed import UNREADABLE_SECRET, SecretUnreadable, fingerprint
from tenants.services import Recorded
from tenants.text import texts_clean

log = logging.getLogger(__name__)


# --- Event notifications ----------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Something that happened, told to some people."""

    tenant: Tenant
    kind: str
    key: str
    title: str
    link: str
    action_id: int | None = None
    plan_id: int | None = None
    detail: str = ""


def notifications_send(*, event: Event, recipients: dict[int, str]) -> list[Notification]:
    """Tell each recipient (user id -> why they are told) about ``event``.

    Runs inside the caller's transaction: the notifications and their outbox messages commit or
    roll back with the change that caused them, and messages are queued only after commit.
    People who chose a daily e-mail get theirs in the next digest instead.
    """
    if not recipients:
        return []
    daily = set(
        NotificationPreference.objects.filter(
            user_id__in=recipients, events=NotificationPreference.Events.DAILY
        ).values_list("user_id", flat=True)
    )
    channel = selectors.channel_of(tenant_id=event.tenant.pk)
    notifications, messages = [], []
    for user_id, reason in recipients.items():
        notification = Notification(
            tenant=event.tenant,
            recipient_id=user_id,
            kind=event.kind,
            action_id=event.action_id,
            plan_id=event.plan_id,
            title=event.title,
            reason=reason,
            detail=event.detail,
            link=event.link,
            key=f"{event.key}:{user_id}",
            awaiting_digest=user_id in daily,
        )
        if user_id not in daily:
            subject, text, html = event_email(
                Item(event.tenant.name, event.kind, event.title, reason, event.link)
            )
            message = Message(
                recipient_id=user_id,
                tenant=event.tenant,
                kind=Message.Kind.EVENT,
                channel=channel,
                subject=subject[:250],
                body_text=text,
                body_html=html,
                key=f"event:{event.tenant.pk}:{event.key}:{user_id}",
            )
            messages.append(message)
            notification.message = message
        notifications.append(notification)
    Message.objects.bulk_create(messages)
    for notification in notifications:
        if notification.message is not None:
            notification.message_id = notification.message.pk
    Notification.objects.bulk_create(notifications)
    outbox_queue_on_commit([m.pk for m in messages])
    return notifications


def invitation_send(
    *, invitation: Invitation, link: str, secret: str, recipient: User | None
) -> Message:
    """The invitation's e-mail, in the outbox in the caller's transaction: to the person's
    account, or to the invited address when they have none yet. Each link is sent once: a
    resent invitation has a new link and so a new message. ``secret`` is the part of the link
    that opens it, kept only until the message has gone."""
    subject, text, html = invitation_email(
        tenant_name=invitation.tenant.name,
        full_name=invitation.full_name,
        role=invitation.get_role_display(),
        link=link,
        expires=timezone.localtime(invitation.expires_at),
    )
    message = Message.objects.create(
        recipient=recipient,
        address="" if recipient is not None else invitation.email,
        tenant=invitation.tenant,
        kind=Message.Kind.INVITATION,
        channel=selectors.channel_of(tenant_id=invitation.tenant_id),
        subject=subject[:250],
        body_text=text,
        body_html=html,
        secret=secret,
        key=f"invitation:{invitation.tenant_id}:{invitation.pk}:{invitation.token_hash[:16]}",
    )
    outbox_queue_on_commit([message.pk])
    return message


# --- The outbox -------------------------------------------------------------------------------


def outbox_queue_on_commit(message_ids: list[int]) -> None:
    # Robust: by the time this runs the step that wrote the messages has committed, so a failure
    # here (a broker or database connection lost) must not show the person an error for a step
    # that was taken; the messages stay unqueued and the relay queues them within the minute.
    if message_ids:
        transaction.on_commit(lambda: outbox_queue(message_ids), robust=True)


def outbox_queue(message_ids: Iterable[int]) -> int:
    """Hand messages to the broker, OUTBOX_BATCH_SIZE to a task. If the broker is down, they
    stay pending and unqueued, and the relay queues them once it is back; the caller's request
    is not held up."""
    from notifications.tasks import messages_deliver_task

    message_ids = list(message_ids)
    if not message_ids:
        return 0
    # Stamped before the broker has them, not after: a worker may take a task the moment it is
    # published, and a stamp written after its claim would mark as waiting in the broker a
    # message the worker has already taken (and hold its row while the worker claims it).
    stamp = timezone.now()
    Message.objects.filter(pk__in=message_ids, queued_at__isnull=True).update(queued_at=stamp)
    size = settings.OUTBOX_BATCH_SIZE
    queued: list[int] = []
    for start in range(0, len(message_ids), size):
        batch = message_ids[start : start + size]
        try:
            messages_deliver_task.delay(batch)
        except Exception as error:  # kombu's and socket errors alike: the broker did not take it
            log.warning(
                "Broker unavailable (%s); %d message(s) left pending for the outbox relay.",
                error,
                len(message_ids) - len(queued),
            )
            break
        queued += batch
    unqueued = message_ids[len(queued) :]
    if unqueued:
        Message.objects.filter(pk__in=unqueued, queued_at=stamp).update(queued_at=None)
    return len(queued)


def _retry_delay(attempts: int) -> datetime.timedelta:
    seconds = settings.OUTBOX_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def _undeliverable(message: Message) -> str:
    if message.recipient_id is not None and not message.recipient.is_active:
        return "The recipient's account is deactivated."
    if not (message.to_address or "").strip():
        return "The recipient has no e-mail address."
    return ""


def message_deliver(*, message_id: int) -> str:
    """Send one outbox message: what ``messages_deliver`` did with it, or "not claimed"."""
    return messages_deliver(message_ids=[message_id]).get(message_id, "not claimed")


def messages_deliver(*, message_ids: Iterable[int]) -> dict[int, str]:
    """Send a batch of outbox messages, each at most once per claim, over one connection to
    each channel; returns what became of each message claimed: "sent", "retry", "failed",
    "skipped", or "released" (handed back unsent, the batch having run out of time).

    The claim is conditional: of two workers given the same message (a redelivered task, a
    relay re-queue), one claims and sends it; the other finds nothing to do. A claim left
    "being sent" by a worker that died is taken over once it is older than the claim timeout.
    Each message is recorded sent as soon as the server has accepted it, so a worker killed in
    the middle of a batch can have sent only the one message in flight without recording it;
    the other outcomes, which no crash can turn into a second copy, are recorded together at
    the end.

    The task knows only the messages' ids, and a digest belongs to no tenant, so delivery
    reads and marks its rows on the cross-tenant path.
    """
    with across_tenants():
        return _messages_deliver(list(message_ids))


def _messages_deliver(message_ids: list[int]) -> dict[int, str]:
    started = time.monotonic()
    now = timezone.now()
    messages = _messages_claim(message_ids, now)
    ours = Message.objects.filter(status=Message.Status.SENDING, claimed_at=now)
    # Claims expire: a message is sent only while the server's timeout still fits before then.
    last_start = started + settings.OUTBOX_CLAIM_TIMEOUT_SECONDS - settings.EMAIL_TIMEOUT
    results: dict[int, str] = {}
    outcomes: dict[int, dict[str, object]] = {}
    sent = SentRecords(ours)
    for (channel, tenant_id), group in groupby(messages, key=_channel_of):
        to_send = []
        for message in group:
            if skip_reason := _undeliverable(message):
                results[message.pk] = "skipped"
                outcomes[message.pk] = {
                    "status": Message.Status.SKIPPED,
                    "last_error": skip_reason,
                    **_secret_gone(message),
                }
            else:
                to_send.append(message)
        if not to_send:
            continue
        try:
            with channels.opened(channel, tenant_id=tenant_id) as send:
                for message in to_send:
                    if time.monotonic() > last_start:
                        results[message.pk] = "released"
                        outcomes[message.pk] = {
                            "status": Message.Status.PENDING,
                            "attempts": message.attempts - 1,
                            "claimed_at": None,
                        }
                    else:
                        results[message.pk] = _message_send(message, send, sent, outcomes)
        except channels.DeliveryFailed as failure:
            # The channel could not be made ready (its settings missing, its server not
            # answering): what it would have sent fails, or waits to be tried again, for that.
            for message in to_send:
                if message.pk not in results:
                    results[message.pk] = _message_not_taken(message, failure, outcomes)
        finally:
            # Before the next group's channel reads its settings, or anything else uses the
            # connection: the last record's answer.
            sent.confirm()
    if outcomes:
        _outcomes_record(ours, outcomes)
    return results


def _channel_of(message: Message) -> tuple[str, int | None]:
    return message.channel, message.tenant_id


def _messages_claim(message_ids: list[int], now: datetime.datetime) -> list[Message]:
    """Claim the messages of ``message_ids`` that are due, or whose claim a dead worker
    abandoned, in one transaction, read and marked "being sent" by this worker. Grouped by
    channel and tenant, to send each group over one connection.

    A row locked by someone else is waited for, not passed over: the lock may be the
    ``queued_at`` stamp of the very request that queued this task, which a worker quicker than
    that request would otherwise skip, leaving the message to the relay minutes later. Once the
    lock is released PostgreSQL reads the row again and checks it against the conditions, so
    of two workers claiming the same message the second finds it taken; both lock in the same
    order (the ORDER BY), so they never deadlock over a batch."""
    abandoned = now - datetime.timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)
    with transaction.atomic():
        messages = list(
            Message.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk__in=message_ids)
            .filter(
                Q(status=Message.Status.PENDING, next_attempt_at__lte=now)
                | Q(status=Message.Status.SENDING, claimed_at__lt=abandoned)
            )
            .order_by("channel", "tenant_id", "pk")
        )
        # Out of the broker's hands now: a claim that a dead worker abandons is the relay's.
        Message.objects.filter(pk__in=[message.pk for message in messages]).update(
            status=Message.Status.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            queued_at=None,
        )
    for message in messages:
        message.attempts += 1
    return messages


def _message_send(
    message: Message,
    send: channels.Send,
    sent: SentRecords,
    outcomes: dict[int, dict[str, object]],
) -> str:
    try:
        reference = send(message, message.to_address)
    except channels.DeliveryFailed as failure:
        return _message_not_taken(message, failure, outcomes)
    sent.record(
        message,
        status=Message.Status.SENT,
        sent_at=timezone.now(),
        last_error="",
        provider_reference=reference,
        **_secret_gone(message),
    )
    return "sent"


class SentRecords:
    """Each message a worker has claimed recorded as sent the moment the server accepts it.

    On PostgreSQL the record goes to the database at once and the worker goes on to the next
    message without waiting for the answer, which it reads before recording the next one (or
    before anything else uses the connection): the database writes one while the mail server
    takes the other. A worker killed between the two has still sent the record; what a killed
    worker can send twice stays the one message in flight. A record that fails (the connection
    lost) is written again, and waited for, on a fresh connection (``_outcome_record``).
    """

    def __init__(self, ours: QuerySet[Message]):
        self.ours = ours
        self.waiting: tuple[int, dict[str, object]] | None = None

    def record(self, message: Message, **fields) -> None:
        self.confirm()
        mine = self.ours.filter(pk=message.pk)
        if (
            not hasattr(connection, "send_unanswered")
            or connection.in_atomic_block
            or not connection.get_autocommit()
        ):
            # SQLite; or inside a caller's transaction, whose commit the record waits for anyway.
            _outcome_record(mine, **fields)
            return
        # The UPDATE that ``mine.update(**fields)`` would run, sent without waiting.
        update = mine.query.chain(UpdateQuery)
        update.add_update_values(fields)
        try:
            connection.send_unanswered(*update.get_compiler(connection.alias).as_sql())
        except (OperationalError, InterfaceError):
            _outcome_record(mine, **fields)
            return
        self.waiting = (message.pk, fields)

    def confirm(self) -> None:
        """Read the last record's answer; write it again on a fresh connection if it was lost."""
        if self.waiting is None:
            return
        pk, fields = self.waiting
        self.waiting = None
        try:
            connection.answer_read()
        except (OperationalError, InterfaceError) as error:
            log.warning(
                "Recording a delivery failed (%s); trying again on a new connection.", error
            )
            connection.close()
            _outcome_record(self.ours.filter(pk=pk), **fields)


def _message_not_taken(
    message: Message,
    failure: channels.DeliveryFailed,
    outcomes: dict[int, dict[str, object]],
) -> str:
    error = str(failure)[:2000]
    if failure.permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        log.error(
            "Message %s failed after %s attempt(s): %s", message.pk, message.attempts, failure
        )
        outcomes[message.pk] = {
            "status": Message.Status.FAILED,
            "last_error": error,
            **_secret_gone(message),
        }
        return "failed"
    outcomes[message.pk] = {
        "status": Message.Status.PENDING,
        "last_error": error,
        # The relay queues it again once the delay has passed: no long ETA tasks.
        "next_attempt_at": timezone.now() + _retry_delay(message.attempts),
    }
    return "retry"


def _outcomes_record(ours: QuerySet[Message], outcomes: dict[int, dict[str, object]]) -> int:
    """Record several messages' outcomes in one UPDATE: each field is set, message by message,
    from a CASE on the message's id."""
    assignments = {}
    for name in {name for outcome in outcomes.values() for name in outcome}:
        field = Message._meta.get_field(name)
        cases = [
            When(pk=pk, then=Value(outcome[name], output_field=field))
            for pk, outcome in outcomes.items()
            if name in outcome
        ]
        assignments[name] = Case(*cases, default=F(name), output_field=field)
    return _outcome_record(ours.filter(pk__in=list(outcomes)), **assignments)


# Seconds to wait before each new try at recording an outcome: about seven seconds in all, enough
# for PostgreSQL to restart or fail over, and short beside the claim timeout.
OUTCOME_RETRY_DELAYS = (0.1, 0.3, 1, 2, 4)


def _outcome_record(messages: QuerySet[Message], **outcome) -> int:
    """Record what the channel did with claimed messages, on a fresh connection if the one
    in use was lost.

    Once the server has accepted a message, losing the record that it was sent means sending it
    again when the claim expires: a database restart between the two would deliver every
    message then in flight twice. So a connection that fails here is closed and the update tried
    again on a new one, for a few seconds, before the task gives up and leaves the claim to
    expire. Inside a transaction the caller's earlier writes went with the connection, so
    nothing is tried again there.
    """
    for delay in OUTCOME_RETRY_DELAYS:
        try:
            return messages.update(**outcome)
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block:
                raise
            log.warning(
                "Recording a delivery failed (%s); trying again on a new connection.", error
            )
            connection.close()
            time.sleep(delay)
    return messages.update(**outcome)


def _secret_gone(message: Message) -> dict[str, str]:
    """What a message's row becomes once it can no longer be sent: its bodies without the
    secret, which nobody needs any more and nobody reading the row may use."""
    if not message.secret:
        return {}
    return {
        "body_text": message.without_secret(message.body_text),
        "body_html": message.without_secret(message.body_html),
        "secret": "",
    }


def outbox_relay(*, limit: int = 5000) -> int:
    """Queue again what is due and not in the broker's hands: never queued (the broker was down
    at commit), due for a retry, queued long ago and never picked up (the broker lost it), or
    claimed by a worker that died. Every tenant's outbox at once: on the cross-tenant path."""
    with across_tenants():
        return _outbox_relay(limit)


def _outbox_relay(limit: int) -> int:
    now = timezone.now()
    abandoned = now - datetime.timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)
    # A message queued and not yet claimed is either waiting in the broker or lost there. While
    # deliveries wait in the broker's queue it is taken to be among them (they are taken in
    # order, so it will come), however long the backlog: queueing it again would only lengthen
    # the queue. Once the queue is empty, one queued long enough ago was lost.
    not_in_the_broker = Q(queued_at__isnull=True)
    if not deliveries_waiting():
        requeue_before = now - datetime.timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
        not_in_the_broker |= Q(queued_at__lt=requeue_before)
    due = (
        Message.objects.filter(
            Q(status=Message.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Message.Status.SENDING, claimed_at__lt=abandoned)
        )
        .filter(not_in_the_broker)
        .order_by("next_attempt_at")
        .values_list("pk", "channel", "tenant_id")[:limit]
    )
    # A task's batch goes over one connection per channel and tenant: the fewer, the better.
    ids = [pk for pk, *_ in sorted(due, key=lambda row: (row[1], row[2] or 0))]
    if ids:
        # Cleared first so outbox_queue stamps the time they were queued again.
        Message.objects.filter(pk__in=ids).update(queued_at=None)
    return outbox_queue(ids)


def deliveries_waiting() -> bool:
    """Whether delivery tasks wait in the broker's queue. When the broker cannot say, they may."""
    from celery import current_app
    from kombu.exceptions import ChannelError

    if current_app.conf.task_always_eager:
        return False  # nothing waits: each task ran when it was queued
    try:
        with current_app.connection_for_read() as broker:
            queue = broker.default_channel.queue_declare(
                queue=current_app.conf.task_default_queue, passive=True
            )
    except ChannelError:
        return False  # no such queue: Redis drops a list once it is empty
    except Exception as error:  # kombu's and socket errors alike
        log.warning("The broker did not say how many deliveries wait (%s).", error)
        return True
    return queue.message_count > 0


def message_retry(*, message: Message, by: User, tenant: Tenant) -> Message:
    """A tenant administrator sends a failed message again, for instance after fixing an
    address or the Notify key."""
    enforce(administer_refusal(by=by, tenant=tenant, what="do this"))
    if message.kind == Message.Kind.INVITATION:
        raise ValidationError(
            "An invitation's link is taken out of its e-mail once the e-mail fails, so it cannot "
            "be sent again as it was. Send the invitation again from People: it gets a new link."
        )
    # A digest belongs to no tenant (it may carry several tenants' items), so only the
    # cross-tenant path may write it; the page offers it only to a tenant whose items it carries.
    writing = across_tenants() if message.tenant_id is None else nullcontext()
    with transaction.atomic(), writing:
        updated = Message.objects.filter(pk=message.pk, status=Message.Status.FAILED).update(
            status=Message.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            queued_at=None,
        )
        if not updated:
            raise ValidationError("Only a failed message can be sent again.")
        outbox_queue_on_commit([message.pk])
    message.refresh_from_db()
    return message


# --- Settings ----------------------------------------------------------------------------------


POLICY_FIELDS = (
    "reminder_days_before",
    "overdue_days",
    "managers_days",
    "chair_days",
    "sign_off_waiting_days",
)


@transaction.atomic
def escalation_policy_update(
    *, tenant: Tenant, by: User, channel: str | None = None, **values: int | str | None
) -> EscalationPolicy:
    """Change a tenant's escalation policy and how its e-mails are sent: ``channel`` chosen,
    and each channel's settings named as the page names them (``notify_template_id``). A secret
    given as None or blank keeps the stored one. Every problem is reported at once and nothing
    is changed; the change is recorded as one entry."""
    enforce(administer_refusal(by=by, tenant=tenant, what="do this"))
    known = channels.setting_fields()
    given = {name: values.pop(name) for name in list(values) if name in known}
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"Not part of the policy: {', '.join(sorted(unknown))}")
    texts = texts_clean(
        **{name: (known[name][1].rule, value) for name, value in given.items() if value is not None}
    )

    # The policy's lock also queues two changes of the tenant's channel settings one behind
    # the other.
    policy, _ = EscalationPolicy.objects.select_for_update().get_or_create(tenant=tenant)
    rows = {
        row.channel: row
        for row in ChannelSettings.objects.select_for_update().filter(tenant=tenant)
    }
    before = POLICY_CHANGES.texts(policy)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_by = by
    errors: dict[str, list[str]] = {}
    try:
        policy.full_clean(exclude=["tenant"])
    except ValidationError as error:
        errors.update(error.message_dict)

    changed = _channel_settings_apply(tenant, by, rows, channel, texts, errors)
    if errors:
        raise ValidationError(errors)
    policy.save()
    # The one chosen row first loses its mark, so the next may take it.
    for row in sorted(changed, key=lambda row: row.chosen):
        row.save()
    POLICY_CHANGES.record(policy, by=by, summary="Escalation settings changed", before=before)
    return policy


def _channel_settings_apply(
    tenant: Tenant,
    by: User,
    rows: dict[str, ChannelSettings],
    chosen: str | None,
    texts: dict[str, str],
    errors: dict[str, list[str]],
) -> list[ChannelSettings]:
    """The tenant's channel settings as the change leaves them, unsaved, with what is wrong
    with them added to ``errors``."""
    if chosen is not None and chosen not in channels.CHANNELS:
        errors["channel"] = ["Choose how e-mails are sent."]
        return []
    changed = []
    for channel in channels.CHANNELS.values():
        row = rows.get(channel.name)
        mine = {
            setting: texts[channels.field_name(channel.name, setting.name)]
            for setting in channel.settings
            if channels.field_name(channel.name, setting.name) in texts
        }
        is_chosen = channel.name == chosen if chosen is not None else bool(row and row.chosen)
        if row is not None and row.chosen == is_chosen and not mine:
            continue
        if row is None:
            # Settings for a channel not chosen are kept once given, never made up.
            if not is_chosen and not any(mine.values()):
                continue
            row = ChannelSettings(tenant=tenant, channel=channel.name)
        row.chosen = is_chosen
        for setting, value in mine.items():
            if not setting.secret:
                row.values = {**row.values, setting.name: value}
            elif value:
                row.secret_set(setting.name, value)
        row.updated_by = by
        try:
            row.full_clean(exclude=["tenant"])
        except ValidationError as error:
            errors.update(error.message_dict)
        changed.append(row)
    return changed


def _policy_labels() -> dict[str, str]:
    return {
        **{
            name: EscalationPolicy._meta.get_field(name).verbose_name.capitalize()
            for name in POLICY_FIELDS
        },
        "channel": "Send e-mails by",
        **{name: setting.label for name, (_, setting) in channels.setting_fields().items()},
    }


def _policy_texts(policy: EscalationPolicy) -> dict[str, str]:
    texts = {name: str(getattr(policy, name) or "") for name in POLICY_FIELDS}
    rows = {row.channel: row for row in ChannelSettings.objects.filter(tenant_id=policy.tenant_id)}
    chosen = next((name for name, row in rows.items() if row.chosen), channels.DEFAULT)
    texts["channel"] = channels.channel_for(chosen).label
    for name, (channel, setting) in channels.setting_fields().items():
        row = rows.get(channel.name)
        if row is None:
            texts[name] = ""
        elif setting.secret:
            # A secret is shown as a fingerprint, enough to see that it changed.
            texts[name] = _secret_fingerprint(row, setting.name)
        else:
            texts[name] = row.values.get(setting.name, "")
    return texts


def _secret_fingerprint(row: ChannelSettings, name: str) -> str:
    try:
        return fingerprint(row.secrets.get(name, ""))
    except SecretUnreadable:
        return UNREADABLE_SECRET


POLICY_CHANGES = Recorded(
    AuditEntry.Subject.ESCALATION_POLICY,
    _policy_labels(),
    _policy_texts,
    name=lambda policy: "Escalations",
)


def notification_preference_set(*, user: User, events: str) -> NotificationPreference:
    if events not in NotificationPreference.Events.values:
        raise ValidationError("Choose straight away or once a day.")
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"events": events}
    )
    return preference


def notifications_mark_read(*, tenant: Tenant, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read: the ones named, or all."""
    unread = Notification.objects.filter(tenant=tenant, recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
