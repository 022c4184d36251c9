"""Delivering one outbox message: the claim, retries with backoff, failure, the relay, and
GOV.UK Notify. Sent through a real SMTP server in this process."""

import datetime
import threading
import time
from collections import Counter

import pytest
from django.db import OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from notifications import services as notification_services
from notifications.channels import message_id_header
from notifications.models import Message
from notifications.services import (
    message_deliver,
    message_retry,
    messages_deliver,
    outbox_relay,
)
from plans.models import Action
from tenants.models import User
from tenants.scoping import across_tenants, tenant_scope
from tests.notifications.factories import message_waiting
from tests.tenants.factories import Role, member

pytestmark = pytest.mark.django_db


def _message(story, key="event:test:1", recipient=None, **fields) -> Message:
    return message_waiting(recipient=recipient or story.bob, tenant=story.tenant, key=key, **fields)


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


def test_a_batch_goes_over_one_connection_and_each_message_keeps_its_own_outcome(
    story, smtp_server, settings
):
    """Claimed together, sent over one SMTP connection, recorded in one statement per message
    sent and one for the rest; a refusal for one address leaves the connection to the next."""
    settings.OUTBOX_RETRY_SECONDS = 60
    gone = member(story.tenant, Role.OFFICER, full_name="Gone Away")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    smtp_server.refuse_recipients = {
        story.bob.email: "550 5.1.1 No such mailbox",
        story.carol.email: "450 4.2.1 Mailbox busy, try later",
    }
    refused_for_good = _message(story, key="batch:bob")
    refused_for_now = _message(story, key="batch:carol", recipient=story.carol)
    skipped = _message(story, key="batch:gone", recipient=gone)
    sent = _message(story, key="batch:dave", recipient=story.dave)
    invitation = Message.objects.create(
        address="new.officer@example.org",
        tenant=story.tenant,
        kind=Message.Kind.INVITATION,
        subject="You are invited",
        body_text="Open https://example.org/invitations/s3cret-token/ to join.",
        body_html="<a href='https://example.org/invitations/s3cret-token/'>Join</a>",
        secret="s3cret-token",
        key="batch:invitation",
    )
    messages = [refused_for_good, refused_for_now, skipped, sent, invitation]
    statements = []

    def count(execute, sql, params, many, context):
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        outcomes = messages_deliver(message_ids=[m.pk for m in messages])

    assert outcomes == {
        refused_for_good.pk: "failed",
        refused_for_now.pk: "retry",
        skipped.pk: "skipped",
        sent.pk: "sent",
        invitation.pk: "sent",
    }
    # The claim (read and mark), each "sent" as it happens, then everything else at once.
    assert len(statements) == 2 + 2 + 1
    assert sorted(smtp_server.to()) == sorted([story.dave.email, "new.officer@example.org"])
    assert smtp_server.connections() == 1
    rows = {m.pk: m for m in Message.objects.filter(pk__in=[m.pk for m in messages])}
    assert {pk: (m.status, m.attempts) for pk, m in rows.items()} == {
        refused_for_good.pk: (Message.Status.FAILED, 1),
        refused_for_now.pk: (Message.Status.PENDING, 1),
        skipped.pk: (Message.Status.SKIPPED, 1),
        sent.pk: (Message.Status.SENT, 1),
        invitation.pk: (Message.Status.SENT, 1),
    }
    assert "550" in rows[refused_for_good.pk].last_error
    assert "No such mailbox" in rows[refused_for_good.pk].last_error
    assert "450" in rows[refused_for_now.pk].last_error
    delay = rows[refused_for_now.pk].next_attempt_at - timezone.now()
    assert delay.total_seconds() == pytest.approx(60, abs=5)
    assert rows[skipped.pk].last_error == "The recipient's account is deactivated."
    assert rows[sent.pk].last_error == "" and rows[sent.pk].sent_at is not None
    stored = rows[invitation.pk]
    assert stored.secret == "" and "s3cret-token" not in stored.body_text + stored.body_html
    [received] = [r for r in smtp_server.received if r.recipients == ["new.officer@example.org"]]
    assert "s3cret-token" in received.message.as_string()


def test_a_batch_sends_only_while_its_claim_holds_and_hands_the_rest_back(
    story, smtp_server, settings
):
    """A slow server: the batch stops sending before its claim could expire under it (when
    another worker could take the same messages), and hands back what it has not tried."""
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 2
    settings.EMAIL_TIMEOUT = 1
    smtp_server.before_accepting = lambda: time.sleep(0.6)
    messages = [_message(story, key=f"slow:{n}") for n in range(3)]

    outcomes = messages_deliver(message_ids=[m.pk for m in messages])

    assert list(outcomes.values()) == ["sent", "sent", "released"]
    handed_back = Message.objects.get(pk=messages[2].pk)
    assert (handed_back.status, handed_back.attempts, handed_back.claimed_at) == (
        Message.Status.PENDING,
        0,
        None,
    )
    assert handed_back.queued_at is None  # the relay's to queue again
    assert smtp_server.count() == 2


def test_connection_lost_in_a_batch_the_next_message_goes_over_a_new_one(story, smtp_server):
    """The server drops the connection (421, closing) at the first message: that one is
    retried later, the others go over a new connection."""
    smtp_server.refuse_recipients = {story.bob.email: "421 4.3.2 Shutting down"}
    first = _message(story, key="dropped:bob")
    others = [_message(story, key=f"dropped:{n}", recipient=story.carol) for n in range(2)]

    outcomes = messages_deliver(message_ids=[first.pk, *[m.pk for m in others]])

    assert outcomes == {first.pk: "retry", others[0].pk: "sent", others[1].pk: "sent"}
    assert smtp_server.count() == 2 and smtp_server.connections() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_batch_send_each_message_once(story, smtp_server, postgres):
    """A redelivered task or a relay re-queue can hand a second worker a batch while the first
    is still sending it: each message is claimed by one of them only, and sent once."""
    smtp_server.before_accepting = lambda: time.sleep(0.02)
    messages = [_message(story, key=f"twice:{n}") for n in range(40)]
    ids = [m.pk for m in messages]
    claims, errors = [], []

    def worker(wait: float):
        try:
            time.sleep(wait)
            claims.append(set(messages_deliver(message_ids=ids)))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    # The second starts while the first is sending (40 messages at 20 ms or more each).
    threads = [threading.Thread(target=worker, args=(wait,)) for wait in (0, 0.3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert not claims[0] & claims[1]
    assert claims[0] | claims[1] == set(ids)
    assert Counter(r.message_id for r in smtp_server.received) == {
        f"<twice.{n}@localhost>": 1 for n in range(40)
    }
    assert Message.objects.filter(pk__in=ids, status=Message.Status.SENT).count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_worker_waits_for_a_message_another_transaction_holds_rather_than_passing_it_over(
    story, smtp_server, postgres
):
    """The request that queued a message may still hold its row when a quick worker takes the
    task. The worker waits for the row and sends the message, instead of leaving it for the
    relay to find minutes later."""
    message = _message(story, key="held:1")
    results, errors = [], []

    def worker():
        try:
            results.append(messages_deliver(message_ids=[message.pk]))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    with across_tenants(), transaction.atomic():
        Message.objects.select_for_update().get(pk=message.pk)
        thread.start()
        time.sleep(0.5)
    thread.join(timeout=30)

    assert not errors
    assert results == [{message.pk: "sent"}]
    assert [r.message_id for r in smtp_server.received] == ["<held.1@localhost>"]


@pytest.mark.django_db(transaction=True)
def test_each_message_is_recorded_sent_before_the_server_accepts_the_next(
    story, smtp_server, postgres
):
    """A worker killed in the middle of a batch has recorded every message the server accepted
    before the one in flight, so only that one could go twice."""
    messages = [_message(story, key=f"inturn:{n}") for n in range(4)]
    recorded_before_each: list[int] = []

    def sent_so_far() -> int:
        with across_tenants():
            return Message.objects.filter(
                pk__in=[m.pk for m in messages], status=Message.Status.SENT
            ).count()

    def count_the_recorded():
        # On a connection of its own; the record of the message before may still be on its way
        # from the worker, so it is given a moment to land.
        try:
            expected = smtp_server.count() - 1
            deadline = time.monotonic() + 3
            while (found := sent_so_far()) < expected and time.monotonic() < deadline:
                time.sleep(0.01)
            recorded_before_each.append(found)
        finally:
            connection.close()

    def before_accepting():
        # The server answers from its event loop, where Django's database calls are refused.
        counting = threading.Thread(target=count_the_recorded)
        counting.start()
        counting.join()

    smtp_server.before_accepting = before_accepting
    results = messages_deliver(message_ids=[m.pk for m in messages])

    assert set(results.values()) == {"sent"}
    assert recorded_before_each == [0, 1, 2, 3]
    assert sent_so_far() == 4
