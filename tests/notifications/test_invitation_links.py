"""An invitation's link opens a membership, so the outbox keeps it only while the e-mail may
still be sent: once the e-mail has gone, failed for good or was skipped, the stored copy holds
no working link, and no page ever shows one."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from notifications.models import Message
from notifications.services import message_deliver, message_retry
from tenants import services as tenant_services
from tests.tenants.factories import Role, UserFactory

PASSWORD = "plum orchard ladder 47"


def invite(story, email="nina@example.org") -> tuple[Message, str]:
    """An invitation's e-mail, waiting in the outbox, and the token its link carries."""
    tenant_services.invitation_create(
        tenant=story.tenant, by=story.erin, email=email, full_name="Nina New", role=Role.OFFICER
    )
    message = Message.objects.filter(key__startswith="invitation:").latest("pk")
    return message, message.secret


def test_the_waiting_e_mail_carries_the_link_and_keeps_its_secret_apart(story):
    message, token = invite(story)

    assert message.kind == Message.Kind.INVITATION
    assert len(token) > 20
    assert f"/invitations/{message.key.split(':')[2]}/{token}/" in message.body_text
    assert token in message.body_html


def test_once_sent_the_stored_copy_holds_no_working_link(story, smtp_server):
    message, token = invite(story)

    assert message_deliver(message_id=message.pk) == "sent"

    [received] = smtp_server.received
    assert token in received.message.as_string()  # the person got the working link
    message.refresh_from_db()
    assert token not in message.body_text and token not in message.body_html
    assert "/invitations/" in message.body_text and "[removed]" in message.body_text
    assert message.secret == ""
    # The link that went out still works: only the stored copy lost it.
    pk = int(message.key.split(":")[2])
    _, user = tenant_services.invitation_accept(
        invitation_id=pk, token=token, full_name="Nina New", password=PASSWORD
    )
    assert user.email == "nina@example.org"


def test_a_failure_that_will_be_retried_keeps_the_link_for_the_retry(story, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    smtp_server.refuse = "451 4.3.0 Try again later"
    message, token = invite(story)

    assert message_deliver(message_id=message.pk) == "retry"

    message.refresh_from_db()
    assert message.secret == token and token in message.body_text


def test_an_e_mail_that_failed_for_good_keeps_no_working_link(story, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    smtp_server.refuse = "554 5.7.1 Relay access denied"
    message, token = invite(story)

    assert message_deliver(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert token not in message.body_text + message.body_html + message.secret


def test_a_skipped_e_mail_keeps_no_working_link(story):
    person = UserFactory(email="known@example.org")
    message, token = invite(story, email=person.email)
    person.is_active = False
    person.save()

    assert message_deliver(message_id=message.pk) == "skipped"

    message.refresh_from_db()
    assert token not in message.body_text + message.body_html + message.secret


def test_a_failed_invitation_is_not_sent_again_as_it_was(story, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    smtp_server.refuse = "554 5.7.1 Relay access denied"
    message, _ = invite(story)
    message_deliver(message_id=message.pk)
    message.refresh_from_db()

    with pytest.raises(ValidationError, match="Send the invitation again from People"):
        message_retry(message=message, by=story.erin, tenant=story.tenant)

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.FAILED, 1)


# -- the pages ---------------------------------------------------------------------------------


def test_the_e_mails_not_sent_page_never_shows_a_working_link(client, story, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    smtp_server.refuse = "554 5.7.1 Relay access denied"
    failed, failed_token = invite(story, email="failed@example.org")
    message_deliver(message_id=failed.pk)
    waiting, waiting_token = invite(story, email="waiting@example.org")
    # Waiting long enough to be listed, and not sent yet: its link still works.
    Message.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )

    client.force_login(story.erin)
    page = client.get(reverse("messages_not_sent", kwargs={"tenant_slug": story.tenant.slug}))

    content = page.content.decode()
    assert "failed@example.org" in content and "waiting@example.org" in content
    assert failed_token not in content and waiting_token not in content
    assert "Send the invitation again from People" in content
    assert reverse("message_send_again", args=[story.tenant.slug, failed.pk]) not in content


def test_the_operators_admin_shows_a_waiting_invitation_without_its_link(client, story):
    message, token = invite(story)
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)

    page = client.get(reverse("admin:notifications_message_change", args=[message.pk]))

    assert page.status_code == 200
    content = page.content.decode()
    assert "You are invited to join" in content and token not in content


# -- invitation e-mails written before the secret was kept apart ----------------------------------


def test_older_invitation_e_mails_are_marked_and_lose_the_links_already_sent(story):
    waiting, waiting_token = invite(story, email="waiting@example.org")
    sent, sent_token = invite(story, email="sent@example.org")
    Message.objects.filter(pk=waiting.pk).update(kind=Message.Kind.EVENT, secret="")
    Message.objects.filter(pk=sent.pk).update(
        kind=Message.Kind.EVENT, secret="", status=Message.Status.SENT
    )
    migration = importlib.import_module("notifications.migrations.0005_message_secret")

    migration.invitations_keep_their_secret_apart(apps, None)

    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert (waiting.kind, waiting.secret) == (Message.Kind.INVITATION, waiting_token)
    assert sent.kind == Message.Kind.INVITATION and sent.secret == ""
    assert sent_token not in sent.body_text + sent.body_html
