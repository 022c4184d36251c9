"""Delivering one outbox message: the claim, retries with backoff, failure, the relay, and
GOV.UK Notify. Sent through a real SMTP server in this process."""

import datetime

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from notifications import services as notification_services
from notifications.channels import message_id_header
from notifications.models import Message
from notifications.services import (
    message_deliver,
    message_retry,
    outbox_relay,
)
from plans.models import Action
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db


def _message(story, key="event:test:1", recipient=None, **fields) -> Message:
    return Message.objects.create(
        recipient=recipient or story.bob,
        tenant=story.tenant,
        kind=Message.Kind.EVENT,
        subject="Sign-off requested: 1.1 Training",
        body_text="Text",
        body_html="<p>Text</p>",
        key=key,
        **fields,
    )


def test_message_is_sent_once_however_often_its_task_runs(story, smtp_server):
    message = _message(story)

    assert message_deliver(message_id=message.pk) == "sent"
    assert message_deliver(message_id=message.pk) == "not claimed"

    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 1
    assert smtp_server.to() == [story.bob.email]
    assert smtp_server.received[0].message_id == "<event.test.1@localhost>"


def test_mail_refused_for_now_is_retried_with_growing_delays_then_failed_with_the_error(
    story, smtp_server, settings, client
):
    settings.OUTBOX_MAX_ATTEMPTS = 4
    settings.OUTBOX_RETRY_SECONDS = 60
    settings.OUTBOX_RETRY_MAX_SECONDS = 150
    smtp_server.refuse = "451 4.7.1 Relay access denied for now"
    message = _message(story)

    delays = []
    for _ in range(3):
        assert message_deliver(message_id=message.pk) == "retry"
        message.refresh_from_db()
        assert message.status == Message.Status.PENDING
        assert "451" in message.last_error and "Relay access denied" in message.last_error
        delays.append(round((message.next_attempt_at - timezone.now()).total_seconds()))
        # Not due yet: a task run early claims nothing.
        assert message_deliver(message_id=message.pk) == "not claimed"
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert [pytest.approx(d, abs=2) for d in delays] == [60, 120, 150]

    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.attempts == 4
    assert "Relay access denied" in message.last_error
    assert smtp_server.count() == 0

    # The tenant administrator sees it, with the error, and can send it again once fixed.
    client.force_login(story.erin)
    page = client.get(f"/t/{story.tenant.slug}/settings/messages/")
    assert "Relay access denied" in page.content.decode()
    smtp_server.refuse = ""
    message_retry(message=message, by=story.erin, tenant=story.tenant)
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING and message.attempts == 0
    assert message_deliver(message_id=message.pk) == "sent"
    assert smtp_server.to() == [story.bob.email]


def test_mail_refused_for_good_fails_at_once_with_the_reason(story, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 6
    smtp_server.refuse = "554 5.7.1 Relay access denied"
    message = _message(story)

    assert message_deliver(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.FAILED, 1)
    assert "554" in message.last_error and "Relay access denied" in message.last_error
    assert smtp_server.count() == 0


def test_server_that_recovers_gets_the_message_once(story, smtp_server, settings):
    settings.OUTBOX_RETRY_SECONDS = 0
    smtp_server.refuse = "451 4.3.0 Try again later"
    message = _message(story)
    assert message_deliver(message_id=message.pk) == "retry"

    smtp_server.refuse = ""
    assert message_deliver(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Message.Status.SENT, 2, "")
    assert smtp_server.count() == 1


def test_unreachable_server_is_a_retry_not_a_crash(story, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: nothing listens
    message = _message(story)
    assert message_deliver(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert "ConnectionRefusedError" in message.last_error


def test_only_a_failed_message_can_be_sent_again_and_only_by_the_tenant_admin(story):
    from django.core.exceptions import PermissionDenied, ValidationError

    message = _message(story, status=Message.Status.SENT)
    with pytest.raises(ValidationError, match="Only a failed message"):
        message_retry(message=message, by=story.erin, tenant=story.tenant)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED)
    with pytest.raises(PermissionDenied):
        message_retry(message=message, by=story.alice, tenant=story.tenant)
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED


def test_relay_queues_what_the_broker_never_had_and_leaves_fresh_work_alone(
    story, smtp_server, django_capture_on_commit_callbacks
):
    never_queued = _message(story, key="event:relay:1")
    just_queued = _message(story, key="event:relay:2", queued_at=timezone.now())
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    lost_by_broker = _message(story, key="event:relay:3", queued_at=long_ago)
    abandoned = _message(
        story,
        key="event:relay:4",
        status=Message.Status.SENDING,
        claimed_at=long_ago,
        attempts=1,
        queued_at=long_ago,
    )
    retry_later = _message(
        story, key="event:relay:5", next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    sent = _message(story, key="event:relay:6", status=Message.Status.SENT, queued_at=long_ago)

    # Tasks run in this process here, so queuing is delivering.
    assert outbox_relay() == 3

    statuses = dict(Message.objects.values_list("key", "status"))
    assert statuses == {
        never_queued.key: Message.Status.SENT,
        just_queued.key: Message.Status.PENDING,
        lost_by_broker.key: Message.Status.SENT,
        abandoned.key: Message.Status.SENT,
        retry_later.key: Message.Status.PENDING,
        sent.key: Message.Status.SENT,
    }
    assert smtp_server.count() == 3
    assert outbox_relay() == 0


def test_tenant_on_notify_sends_through_its_own_service_with_the_message_key(
    story, fake_notify, on_notify
):
    message = _message(story, channel="notify")

    assert message_deliver(message_id=message.pk) == "sent"

    [request] = fake_notify.requests
    assert request["path"] == "/v2/notifications/email"
    assert request["auth"].startswith("Bearer ")
    assert request["email_address"] == story.bob.email
    assert request["template_id"] == "f33517ff-2a88-4f6e-b855-c550268ce08a"
    assert request["reference"] == message.key
    assert request["personalisation"] == {"subject": message.subject, "body": message.body_text}
    message.refresh_from_db()
    assert message.provider_reference == "9f1c1b1e-0000-4000-8000-000000000001"


def test_notify_refusing_the_request_fails_at_once_with_its_reason(story, fake_notify, on_notify):
    fake_notify.status = 400
    message = _message(story, channel="notify")

    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.attempts == 1
    assert "GOV.UK Notify 400" in message.last_error
    assert "team-only API key" in message.last_error


def test_notify_unavailable_is_retried(story, fake_notify, on_notify):
    fake_notify.status = 503
    message = _message(story, channel="notify")
    assert message_deliver(message_id=message.pk) == "retry"


def test_a_failure_queueing_after_a_step_commits_shows_the_step_taken_and_the_relay_sends_it(
    client, story, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    """The messages a step writes are queued after it commits; losing the connection then
    must not turn a step that was taken into an error page (the person would take it again
    and be refused)."""

    def connection_lost(message_ids):
        raise OperationalError("server closed the connection unexpectedly")

    action = story.action_in(Action.State.EVIDENCED)
    with tenant_scope(story.tenant):
        before = set(Message.objects.values_list("pk", flat=True))
    monkeypatch.setattr(notification_services, "outbox_queue", connection_lost)
    client.force_login(story.carol)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(
                "action_step",
                kwargs={"tenant_slug": story.tenant.slug, "pk": action.pk, "name": "sign_off"},
            )
        )

    assert response.status_code == 302
    with tenant_scope(story.tenant):
        assert Action.objects.get(pk=action.pk).state == Action.State.SIGNED_OFF
        written = Message.objects.exclude(pk__in=before)
        assert written.exists()
        assert set(written.values_list("status", "queued_at")) == {(Message.Status.PENDING, None)}
        waiting = set(written.values_list("pk", flat=True))
    assert mailoutbox == []

    monkeypatch.undo()
    outbox_relay()
    with tenant_scope(story.tenant):
        sent = list(Message.objects.filter(pk__in=waiting))
    assert {message.status for message in sent} == {Message.Status.SENT}
    delivered = [email.extra_headers["Message-ID"] for email in mailoutbox]
    for message in sent:
        assert delivered.count(message_id_header(message)) == 1
