"""Channels sit behind one protocol and registry (notifications/channels/), and each
organisation's settings for them are its own: stored apart, checked before anything is kept,
recorded when they change, and used by delivery."""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.urls import reverse

from notifications import channels
from notifications.channels import DeliveryFailed, Setting
from notifications.models import ChannelSettings, EscalationPolicy, Message
from notifications.selectors import channel_of
from notifications.services import escalation_policy_update, message_deliver
from tenants.models import AuditEntry
from tenants.scoping import tenant_scope
from tenants.text import one_line_text
from tests.notifications.conftest import NOTIFY_KEY
from tests.notifications.factories import message_waiting, policy_form
from tests.tenants.factories import Role, member

pytestmark = pytest.mark.django_db

TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"


def settings_url(tenant) -> str:
    return reverse("escalation_settings", kwargs={"tenant_slug": tenant.slug})


def message_to(person, tenant, channel: str, key: str = "event:test:1") -> Message:
    return message_waiting(recipient=person, tenant=tenant, channel=channel, key=key)


def opening_fails(channel: str, *, tenant_id: int | None) -> DeliveryFailed:
    try:
        with channels.opened(channel, tenant_id=tenant_id):
            pass
    except DeliveryFailed as failure:
        return failure
    raise AssertionError(f"{channel} opened")


# -- the registry -------------------------------------------------------------------------------


def test_the_registry_lists_e_mail_first_as_the_default_then_notify():
    assert channels.choices() == [
        ("email", "E-mail from this service"),
        ("notify", "GOV.UK Notify (your own service)"),
    ]
    assert channels.DEFAULT == "email"
    assert channels.channel_for("notify").own_service
    assert list(channels.setting_fields()) == ["notify_api_key", "notify_template_id"]
    with pytest.raises(LookupError, match="No channel is called 'pigeon'"):
        channels.channel_for("pigeon")


class Pigeon:
    """A channel added by its module alone: what the page, the service and delivery do with it
    comes from what it declares."""

    name = "pigeon"
    label = "Carrier pigeon"
    own_service = True
    settings = (
        Setting(
            name="loft",
            label="Pigeon loft",
            rule=one_line_text("the loft", 50),
            missing="Name the loft your pigeons fly from.",
        ),
    )

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    @contextmanager
    def opened(self, values):
        def send(message: Message, address: str) -> str:
            self.sent.append((values["loft"], address, message.key))
            return "ring-1"

        yield send


def test_a_new_channel_registered_is_offered_checked_stored_and_sent_through(
    client, story, monkeypatch
):
    pigeon = Pigeon()
    monkeypatch.setitem(channels.CHANNELS, "pigeon", pigeon)
    client.force_login(story.erin)

    page = client.get(settings_url(story.tenant)).content.decode()
    assert "Carrier pigeon" in page and 'name="pigeon_loft"' in page

    response = client.post(settings_url(story.tenant), policy_form(channel="pigeon"))
    assert response.status_code == 400
    assert "Name the loft your pigeons fly from." in response.content.decode()
    assert not ChannelSettings.objects.filter(tenant=story.tenant).exists()

    response = client.post(
        settings_url(story.tenant), policy_form(channel="pigeon", pigeon_loft="Ampthill")
    )
    assert response.status_code == 302
    assert channel_of(tenant_id=story.tenant.pk) == "pigeon"
    row = ChannelSettings.objects.get(tenant=story.tenant)
    assert (row.channel, row.chosen, row.values) == ("pigeon", True, {"loft": "Ampthill"})

    message = message_to(story.bob, story.tenant, "pigeon")
    assert message_deliver(message_id=message.pk) == "sent"
    assert pigeon.sent == [("Ampthill", story.bob.email, message.key)]
    message.refresh_from_db()
    assert message.provider_reference == "ring-1"


def test_a_message_for_a_channel_no_longer_listed_fails_at_once_with_the_reason(story):
    message = message_to(story.bob, story.tenant, "fax")

    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert (message.attempts, message.last_error) == (1, "No channel is called 'fax'.")


# -- settings per organisation ------------------------------------------------------------------


def on_notify(story):
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_api_key=NOTIFY_KEY,
        notify_template_id=TEMPLATE_ID,
    )


def test_one_organisations_channel_settings_are_never_another_organisations(client, story):
    on_notify(story)
    with tenant_scope(story.other_tenant):
        sunderland_admin = member(story.other_tenant, Role.TENANT_ADMIN, full_name="Sam Admin")

        # Not through the models, nor the table itself, which row-level security guards.
        assert not ChannelSettings.objects.exists()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {ChannelSettings._meta.db_table}")
            assert cursor.fetchone()[0] == (0 if connection.vendor == "postgresql" else 1)
        assert channel_of(tenant_id=story.other_tenant.pk) == "email"

    # Not on the other organisation's page.
    client.force_login(sunderland_admin)
    response = client.get(settings_url(story.other_tenant))
    page = response.content.decode()
    assert TEMPLATE_ID not in page and "A key is stored" not in page
    assert response.context["form"].initial["channel"] == "email"

    # Nor by delivery: a message of the other organisation marked for Notify has no key to use.
    failure = opening_fails("notify", tenant_id=story.other_tenant.pk)
    assert "no GOV.UK Notify API key is set" in str(failure) and failure.permanent


def test_a_template_id_notify_would_refuse_is_explained_and_nothing_changes(client, story):
    on_notify(story)
    client.force_login(story.erin)

    response = client.post(
        settings_url(story.tenant),
        policy_form(channel="notify", notify_template_id="welcome-template", managers_days="12"),
    )

    content = response.content.decode()
    assert response.status_code == 400
    assert '<li><a href="#id_notify_template_id' in content
    assert "Enter the template ID as GOV.UK Notify shows it on the template" in content
    row = ChannelSettings.objects.get(tenant=story.tenant)
    assert (row.values, row.secrets) == ({"template_id": TEMPLATE_ID}, {"api_key": NOTIFY_KEY})
    assert EscalationPolicy.objects.get(tenant=story.tenant).managers_days == 10


def test_choosing_e_mail_again_keeps_the_notify_settings_for_later(story):
    on_notify(story)

    escalation_policy_update(
        tenant=story.tenant, by=story.erin, channel="email", notify_template_id=TEMPLATE_ID
    )

    assert channel_of(tenant_id=story.tenant.pk) == "email"
    rows = {row.channel: row for row in ChannelSettings.objects.filter(tenant=story.tenant)}
    assert (rows["email"].chosen, rows["notify"].chosen) == (True, False)
    assert rows["notify"].secrets == {"api_key": NOTIFY_KEY}


def test_a_change_of_channel_and_template_is_recorded_as_one_entry(story):
    on_notify(story)
    new_template = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"

    escalation_policy_update(
        tenant=story.tenant, by=story.erin, channel="email", notify_template_id=new_template
    )

    entry = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ESCALATION_POLICY).latest(
        "pk"
    )
    assert entry.summary == "Escalation settings changed" and entry.actor == story.erin
    assert [(row.label, row.before, row.after) for row in entry.rows] == [
        ("Send e-mails by", "GOV.UK Notify (your own service)", "E-mail from this service"),
        ("GOV.UK Notify e-mail template ID", TEMPLATE_ID, new_template),
    ]


# -- delivery through each channel --------------------------------------------------------------


def test_e_mail_sends_every_message_of_a_block_over_one_connection(story, smtp_server):
    people = [story.bob, story.erin, story.carol]
    with channels.opened("email", tenant_id=None) as send:
        for number, person in enumerate(people):
            send(
                message_to(person, story.tenant, "email", key=f"event:test:{number}"), person.email
            )

    assert smtp_server.to() == sorted(person.email for person in people)
    assert smtp_server.connections() == 1


def test_e_mail_refused_for_one_person_still_sends_the_next_over_the_same_block(story, smtp_server):
    with channels.opened("email", tenant_id=None) as send:
        smtp_server.refuse = "554 5.7.1 Relay access denied"
        with pytest.raises(DeliveryFailed, match="554") as failure:
            send(message_to(story.bob, story.tenant, "email"), story.bob.email)
        smtp_server.refuse = ""
        send(message_to(story.erin, story.tenant, "email", key="event:test:2"), story.erin.email)

    assert failure.value.permanent
    assert smtp_server.to() == [story.erin.email]


def test_an_unreachable_mail_server_fails_the_block_for_a_retry(story, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: nothing listens

    with pytest.raises(DeliveryFailed) as failure, channels.opened("email", tenant_id=None):
        pass
    assert not failure.value.permanent


def test_notify_sends_each_message_of_a_block_with_the_organisations_own_key(story, fake_notify):
    on_notify(story)

    with channels.opened("notify", tenant_id=story.tenant.pk) as send:
        references = [
            send(message_to(person, story.tenant, "notify", key=f"event:test:{n}"), person.email)
            for n, person in enumerate([story.bob, story.erin])
        ]

    assert references == ["9f1c1b1e-0000-4000-8000-000000000001"] * 2
    assert [r["email_address"] for r in fake_notify.requests] == [story.bob.email, story.erin.email]
    assert {r["template_id"] for r in fake_notify.requests} == {TEMPLATE_ID}


def test_notify_with_a_key_the_encryption_keys_cannot_read_waits_for_a_retry(story, settings):
    from tenants.sealed import new_key

    on_notify(story)
    settings.ENCRYPTION_KEYS = [new_key()]

    failure = opening_fails("notify", tenant_id=story.tenant.pk)
    assert "put it back in the list" in str(failure) and not failure.permanent


def test_a_digest_belonging_to_no_organisation_cannot_go_through_notify(story):
    failure = opening_fails("notify", tenant_id=None)
    assert "belongs to none" in str(failure) and failure.permanent


# -- upgrading ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_upgrading_moves_each_policys_channel_and_notify_settings_and_downgrading_returns_them(
    postgres,
):
    """Run as the owner, as migrations are, on its own connection: so the rows are committed."""
    from django.db.migrations.executor import MigrationExecutor

    from tenants.postgresql.roles import owner_connection
    from tenants.scoping import across_tenants
    from tenants.sealed import seal, unseal
    from tests.tenants.factories import TenantFactory

    before = [("notifications", "0008_notify_key_encrypted")]
    on_notify, on_email, untouched = TenantFactory.create_batch(3)

    def policies(executor) -> dict[int, tuple]:
        old = executor.loader.project_state(before).apps.get_model(
            "notifications", "EscalationPolicy"
        )
        return {
            p.tenant_id: (p.channel, unseal(p.notify_api_key_sealed), p.notify_template_id)
            for p in old._base_manager.all()
        }

    def upgrade(owner) -> None:
        executor = MigrationExecutor(owner)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    def moved() -> dict[tuple[int, str], tuple]:
        with across_tenants():
            return {
                (row.tenant_id, row.channel): (row.chosen, row.values, row.secrets)
                for row in ChannelSettings.objects.all()
            }

    with owner_connection() as owner:
        executor = MigrationExecutor(owner)
        executor.migrate(before)
        try:
            old = executor.loader.project_state(before).apps.get_model(
                "notifications", "EscalationPolicy"
            )
            old._base_manager.create(
                tenant_id=on_notify.pk,
                channel="notify",
                notify_api_key_sealed=seal(NOTIFY_KEY),
                notify_template_id=TEMPLATE_ID,
            )
            # Chose e-mail again after trying Notify: the template is kept, not chosen.
            old._base_manager.create(
                tenant_id=on_email.pk, channel="email", notify_template_id=TEMPLATE_ID
            )
            old._base_manager.create(tenant_id=untouched.pk, channel="email", managers_days=12)
            stored = policies(executor)
        finally:
            upgrade(owner)

    assert moved() == {
        (on_notify.pk, "notify"): (True, {"template_id": TEMPLATE_ID}, {"api_key": NOTIFY_KEY}),
        (on_email.pk, "notify"): (False, {"template_id": TEMPLATE_ID}, {}),
    }
    with tenant_scope(untouched):
        assert EscalationPolicy.objects.get(tenant=untouched).managers_days == 12

    with owner_connection() as owner:
        executor = MigrationExecutor(owner)
        executor.migrate(before)
        try:
            assert policies(executor) == stored
        finally:
            upgrade(owner)
    assert moved()[(on_notify.pk, "notify")][2] == {"api_key": NOTIFY_KEY}
