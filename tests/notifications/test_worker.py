"""Delivery through real parts: Redis, a Celery worker process and an SMTP server.

These tests commit (transactional database) because the worker is another process reading the
same test database.
"""

import datetime
import threading
import time
from collections import Counter

import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from notifications.escalations import escalation_sweep
from notifications.models import Message
from notifications.services import outbox_queue, outbox_relay
from plans.models import Action
from tenants import services as tenant_services
from tenants.models import User
from tenants.postgresql.roles import owner_connection
from tenants.scoping import tenant_scope
from tests.notifications.conftest import celery_publishing_to, database_url, wait_until
from tests.notifications.factories import message_waiting
from tests.plans.factories import plan_monitored_by
from tests.tenants.factories import Role, member
from workflow.services import transition_perform

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY = datetime.date(2026, 11, 23)
FRIDAY_BEFORE = datetime.date(2026, 11, 20)


def _sent_count(ids=None, **filters) -> int:
    messages = Message.objects.filter(status=Message.Status.SENT, **filters)
    if ids is not None:
        messages = messages.filter(pk__in=ids)
    return messages.count()


def _two_sweeps_at_once(today) -> list:
    """Two sweeps of ``today`` on separate database connections, started together."""
    results, errors = [], []

    def sweep():
        try:
            results.append(escalation_sweep(today=today))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return results


def _overdue_story(story):
    """Bob leads an in-progress action due last Friday; Pat is Bedfordshire Police's contact.
    The management team (alice and mark) monitors the plan."""
    plan_monitored_by(story.plan, story.management_team)
    pat = member(story.tenant, Role.OFFICER, full_name="Pat Police", partner=story.police)
    tenant_services.partner_set_contact(partner=story.police, contact=pat)
    action = story.action_in(Action.State.IN_PROGRESS, due_date=FRIDAY_BEFORE)
    return action, pat


def test_overdue_action_reaches_each_person_once_and_later_sweeps_send_nothing(
    story, smtp_server, redis_broker, start_worker
):
    action, pat = _overdue_story(story)
    smtp_server.received.clear()

    with celery_publishing_to(redis_broker):
        start_worker(redis_broker, smtp_server)
        sweep = escalation_sweep(today=MONDAY)
        assert sweep.steps_created == 1
        wait_until(lambda: smtp_server.count() == 2, timeout=30, what="two e-mails")
        assert smtp_server.to() == sorted([story.bob.email, pat.email])
        for received in smtp_server.received:
            assert "1 item for you" in received.message["Subject"]
            body = received.message.get_payload()[0].get_payload(decode=True).decode()
            assert "Overdue: 1.1" in body and "Why you:" in body
            assert f"/t/{story.tenant.slug}/actions/{action.pk}/" in body

        # The same day again, then twice at once: nothing new to record, tell or send.
        assert escalation_sweep(today=MONDAY).messages_created == 0
        assert [s.messages_created for s in _two_sweeps_at_once(MONDAY)] == [0, 0]

        # Ten working days overdue, two sweeps at once: the monitoring body, once each.
        ten_days_on = datetime.date(2026, 12, 4)
        results = _two_sweeps_at_once(ten_days_on)
        assert sorted(s.steps_created for s in results) == [0, 1]
        wait_until(lambda: smtp_server.count() == 4, timeout=30, what="the management team")
        wait_until(
            lambda: _sent_count(kind=Message.Kind.DIGEST) == 4,
            timeout=10,
            what="the rows to be marked sent",
        )
        assert Counter(smtp_server.to()) == Counter(
            [story.bob.email, pat.email, story.alice.email, story.mark.email]
        )


def test_worker_killed_mid_batch_every_message_arrives(
    story, smtp_server, redis_broker, start_worker, settings
):
    """SIGKILL in the middle of 500 messages, then a restart: every message is delivered and
    marked sent once. The one message the worker was sending at the instant of the kill can
    have reached the server already; it is then delivered again with the same Message-ID (a
    mail client shows it once), and never more than that."""
    # Short timeouts so the test need not wait the production five minutes for the relay.
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 3
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 5
    people = [
        member(
            story.tenant, Role.OFFICER, full_name=f"Officer {n}", email=f"officer{n}@example.org"
        )
        for n in range(5)
    ]
    messages = Message.objects.bulk_create(
        Message(
            recipient=people[n % len(people)],
            tenant=story.tenant,
            kind=Message.Kind.EVENT,
            subject=f"Message {n}",
            body_text=f"Body {n}",
            body_html=f"<p>Body {n}</p>",
            key=f"batch:{n}",
        )
        for n in range(500)
    )
    ids = [m.pk for m in messages]
    smtp_server.received.clear()
    worker_env = {"OUTBOX_CLAIM_TIMEOUT_SECONDS": 3, "EMAIL_TIMEOUT": 2}

    with celery_publishing_to(redis_broker):
        worker = start_worker(redis_broker, smtp_server, **worker_env)
        assert outbox_queue(ids) == 500
        wait_until(lambda: _sent_count(ids) >= 100, timeout=60, what="100 messages sent")
        worker.kill()
        sent_at_kill = _sent_count(ids)
        assert sent_at_kill < 500, "the kill came after the batch had finished"

        worker.start()
        # The message the dead worker was sending waits out the claim timeout, and the one it
        # had taken from the queue but not started is lost with it (Redis gives unacknowledged
        # tasks back only after an hour); the relay, run every minute by beat, queues both again.
        wait_until(
            lambda: outbox_relay() >= 0 and _sent_count(ids) == 500,
            timeout=120,
            interval=1,
            what="the rest of the batch",
        )

    assert Message.objects.filter(pk__in=ids, status=Message.Status.SENT).count() == 500
    received = Counter(r.message_id for r in smtp_server.received)
    expected = {f"<batch.{n}@localhost>" for n in range(500)}
    assert set(received) == expected
    duplicates = {key: count for key, count in received.items() if count > 1}
    print(f"killed after {sent_at_kill} of 500 sent; delivered twice: {sorted(duplicates)}")
    assert len(duplicates) <= 1 and all(count == 2 for count in duplicates.values()), duplicates


def test_message_committed_while_redis_is_down_is_delivered_once_it_is_back(
    story, smtp_server, private_redis, start_worker
):
    action = story.action_in(Action.State.IN_PROGRESS)
    smtp_server.received.clear()

    with celery_publishing_to(private_redis.url):
        private_redis.stop()
        # The officer submits evidence while the broker is down: the step is taken and the
        # request is not held up; the messages wait in the outbox.
        from plans import services as plan_services

        plan_services.evidence_add_link(
            action=action, by=story.bob, url="https://example.org/audit.pdf", description="Audit"
        )
        plan_services.action_set_completion_statement(action=action, by=story.bob, text="Done.")
        outcome = transition_perform(obj=action, name="submit_evidence", user=story.bob)
        assert outcome.fired
        pending = Message.objects.filter(status=Message.Status.PENDING)
        assert sorted(pending.values_list("recipient__email", flat=True)) == sorted(
            [story.carol.email, story.dave.email]
        )
        assert not pending.filter(queued_at__isnull=False).exists()

        private_redis.start()
        start_worker(private_redis.url, smtp_server)
        assert outbox_relay() == 2
        wait_until(lambda: smtp_server.count() == 2, timeout=30, what="two e-mails")
        wait_until(
            lambda: (
                _sent_count(kind=Message.Kind.EVENT, subject__contains="Sign-off requested") == 2
            ),
            timeout=10,
            what="the rows to be marked sent",
        )
        # The relay again, and redelivered tasks, change nothing.
        assert outbox_relay() == 0
        sign_off_requests = Message.objects.filter(subject__contains="Sign-off requested")
        assert outbox_queue(list(sign_off_requests.values_list("pk", flat=True))) == 2
        broker = redis.Redis.from_url(private_redis.url)
        wait_until(lambda: broker.llen("celery") == 0, timeout=10, what="the worker to take them")
        time.sleep(1)  # each takes milliseconds; a second copy would have arrived by now

    assert sorted(smtp_server.to()) == sorted([story.carol.email, story.dave.email])


def test_recipient_without_address_or_deactivated_is_skipped_and_the_rest_delivered(
    story, smtp_server, redis_broker, start_worker
):
    gone = member(story.tenant, Role.OFFICER, full_name="Gone Away")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    no_address = member(story.tenant, Role.OFFICER, full_name="No Address")
    User.objects.filter(pk=no_address.pk).update(email="")
    recipients = [story.bob, gone, story.carol, no_address, story.dave]
    with tenant_scope(story.tenant):
        messages = Message.objects.bulk_create(
            Message(
                recipient=person,
                tenant=story.tenant,
                kind=Message.Kind.EVENT,
                subject="Sign-off requested",
                body_text="Body",
                body_html="<p>Body</p>",
                key=f"skip-batch:{n}",
            )
            for n, person in enumerate(recipients)
        )
    smtp_server.received.clear()

    with celery_publishing_to(redis_broker):
        start_worker(redis_broker, smtp_server)
        outbox_queue([m.pk for m in messages])
        wait_until(
            lambda: (
                not Message.objects.filter(
                    pk__in=[m.pk for m in messages],
                    status__in=[Message.Status.PENDING, Message.Status.SENDING],
                ).exists()
            ),
            timeout=30,
            what="the batch to be handled",
        )

    assert sorted(smtp_server.to()) == sorted(
        [story.bob.email, story.carol.email, story.dave.email]
    )
    skipped = {
        m.recipient_id: m.last_error for m in Message.objects.filter(status=Message.Status.SKIPPED)
    }
    assert skipped == {
        gone.pk: "The recipient's account is deactivated.",
        no_address.pk: "The recipient has no e-mail address.",
    }


def test_database_connection_lost_between_the_accept_and_the_record_the_message_arrives_once(
    story, smtp_server, redis_broker, start_worker, settings
):
    """PostgreSQL drops the worker's connection (a restart) after the SMTP server has taken a
    message and before the worker has recorded it sent: the worker records it on a new
    connection, so its claim never expires and the relay never sends it again."""
    timeouts = {"EMAIL_TIMEOUT": 10, "OUTBOX_CLAIM_TIMEOUT_SECONDS": 11}
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = timeouts["OUTBOX_CLAIM_TIMEOUT_SECONDS"]
    message = message_waiting(
        recipient=story.bob,
        tenant=story.tenant,
        subject="Sign-off requested",
        key="restart:1",
    )
    received, connection_killed = threading.Event(), threading.Event()

    def hold_the_answer_until_the_connection_is_killed():
        if not received.is_set():
            received.set()
            connection_killed.wait(timeout=30)

    smtp_server.received.clear()
    smtp_server.before_accepting = hold_the_answer_until_the_connection_is_killed

    with celery_publishing_to(redis_broker):
        start_worker(
            redis_broker,
            smtp_server,
            DATABASE_URL=database_url() + "?application_name=outbox-worker",
            **timeouts,
        )
        outbox_queue([message.pk])
        assert received.wait(timeout=30), "the worker sent nothing"
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'outbox-worker' AND datname = current_database()"
            )
            assert [killed for (killed,) in cursor.fetchall()] == [True]
        connection_killed.set()
        # The relay, as beat runs it, would send it again were its claim left to expire.
        wait_until(
            lambda: outbox_relay() >= 0 and _sent_count([message.pk]) == 1,
            timeout=40,
            interval=0.5,
            what="the message to be recorded sent",
        )

    assert Counter(r.message_id for r in smtp_server.received) == {"<restart.1@localhost>": 1}
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 1)


def test_relay_runs_while_a_thousand_deliveries_wait_and_queues_none_of_them_again(
    story, smtp_server, redis_broker, start_worker
):
    """A thousand deliveries wait in the broker behind a slow SMTP server. The relay, sent by
    name as beat sends it, runs at once all the same, and queues the message the broker never
    had; the thousand, queued longer ago than OUTBOX_REQUEUE_AFTER_SECONDS but still waiting,
    it leaves alone."""

    def event(key: str) -> Message:
        return Message(
            recipient=story.bob,
            tenant=story.tenant,
            kind=Message.Kind.EVENT,
            subject="Sign-off requested",
            body_text="Body",
            body_html="<p>Body</p>",
            key=key,
        )

    waiting = Message.objects.bulk_create(event(f"backlog:{n}") for n in range(1000))
    # Written while the broker was down: it waits for the relay.
    never_queued = Message.objects.bulk_create([event("backlog:never-queued")])[0]
    smtp_server.before_accepting = lambda: time.sleep(0.2)
    broker = redis.Redis.from_url(redis_broker)

    with celery_publishing_to(redis_broker):
        start_worker(redis_broker, smtp_server, OUTBOX_REQUEUE_AFTER_SECONDS=1)
        for message in waiting:
            outbox_queue([message.pk])  # a task each
        time.sleep(1.5)  # every one of them queued longer ago than the worker's relay allows
        queued_at = dict(
            Message.objects.filter(pk__in=[m.pk for m in waiting]).values_list("pk", "queued_at")
        )
        in_the_queue = broker.llen("celery")
        assert in_the_queue > 900

        celery_app.send_task("notifications.outbox_relay")
        wait_until(
            lambda: Message.objects.filter(pk=never_queued.pk, queued_at__isnull=False).exists(),
            timeout=15,
            what="the relay to queue the message the broker never had",
        )
        assert broker.llen("celery") <= in_the_queue + 1

    still_waiting = Message.objects.filter(
        pk__in=[m.pk for m in waiting], status=Message.Status.PENDING
    )
    assert still_waiting.count() > 900
    assert {m.pk: m.queued_at for m in still_waiting} == {
        m.pk: queued_at[m.pk] for m in still_waiting
    }


def _worker_connections(application_name: str) -> list[tuple[int, datetime.datetime]]:
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(
            # This database only: another test run on the same server may have a worker of the
            # same name.
            "SELECT pid, backend_start FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [application_name],
        )
        return cursor.fetchall()


def test_worker_keeps_its_database_connection_from_task_to_task_and_tenant_to_tenant(
    story, smtp_server, redis_broker, start_worker
):
    """Opening a connection for every task cost more than the delivery. The worker keeps one,
    and each transaction on it still tells the database its own tenant: a message of each of
    two tenants, one after the other, both sent, on the same connection. One that PostgreSQL
    dropped meanwhile is replaced before the next task uses it."""
    with tenant_scope(story.other_tenant):
        charlie_hears = message_waiting(
            recipient=story.charlie,
            tenant=story.other_tenant,
            subject="Plan endorsed",
            key="reuse:sunderland",
        )
    bob_hears = message_waiting(
        recipient=story.bob,
        tenant=story.tenant,
        subject="Sign-off requested",
        key="reuse:central-bedfordshire",
    )
    after_restart = message_waiting(
        recipient=story.dave,
        tenant=story.tenant,
        subject="Sign-off requested",
        key="reuse:after-restart",
    )
    smtp_server.received.clear()

    with celery_publishing_to(redis_broker):
        start_worker(
            redis_broker,
            smtp_server,
            DATABASE_URL=database_url() + "?application_name=reusing-worker",
        )
        outbox_queue([charlie_hears.pk])

        def charlie_heard():
            with tenant_scope(story.other_tenant):
                return _sent_count([charlie_hears.pk]) == 1

        wait_until(charlie_heard, timeout=30, what="the first")
        first = _worker_connections("reusing-worker")
        outbox_queue([bob_hears.pk])
        wait_until(lambda: _sent_count([bob_hears.pk]) == 1, timeout=30, what="the second")
        second = _worker_connections("reusing-worker")
        assert len(first) == 1, "the worker closed its connection after the task"
        assert second == first

        # PostgreSQL restarts while the worker is idle: the next task checks the connection
        # it kept before using it, and opens a new one.
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'reusing-worker' AND datname = current_database()"
            )
        outbox_queue([after_restart.pk])
        wait_until(lambda: _sent_count([after_restart.pk]) == 1, timeout=30, what="the third")
        assert _worker_connections("reusing-worker") != first

    assert smtp_server.to() == sorted([story.charlie.email, story.bob.email, story.dave.email])
