"""Secrets the service keeps for tenants are encrypted at rest with keys from the environment,
and the keys can be rotated while the service runs."""

import io

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from notifications.models import ChannelSettings
from notifications.services import escalation_policy_update
from tenants.scoping import tenant_scope
from tenants.sealed import SecretUnreadable, new_key
from tests.tenants.factories import TOTP_SECRET, totp_code
from tests.test_settings import GOOD_KEY, load_settings

NOTIFY_KEY = "council-live-" + "0f1e2d3c4b5a6978" * 4
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"


def _save_notify_key(story, key: str = NOTIFY_KEY) -> ChannelSettings:
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_template_id=TEMPLATE_ID,
        notify_api_key=key,
    )
    return ChannelSettings.objects.get(tenant=story.tenant, channel="notify")


def _stored(row: ChannelSettings) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT secrets_sealed FROM {ChannelSettings._meta.db_table} WHERE id = %s",
            [row.pk],
        )
        return cursor.fetchone()[0]


def _key(row: ChannelSettings) -> str:
    return ChannelSettings.objects.get(pk=row.pk).secrets["api_key"]


def test_the_stored_notify_key_is_not_the_key_itself(story):
    policy = _save_notify_key(story)

    stored = _stored(policy)
    assert stored and NOTIFY_KEY not in stored
    assert _key(policy) == NOTIFY_KEY


def test_after_a_new_key_is_put_first_old_secrets_still_read_and_new_ones_use_it(story, settings):
    old_key = settings.ENCRYPTION_KEYS[0]
    policy = _save_notify_key(story)
    settings.ENCRYPTION_KEYS = [new_key(), old_key]

    assert _key(policy) == NOTIFY_KEY
    # Written now, it reads without the old key.
    _save_notify_key(story, key="council-live-second")
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS[:1]
    assert _key(policy) == "council-live-second"


def test_reencrypting_moves_every_secret_to_the_newest_key(story, settings):
    old_key = settings.ENCRYPTION_KEYS[0]
    policy = _save_notify_key(story)
    before = _stored(policy)
    newest = new_key()
    settings.ENCRYPTION_KEYS = [newest, old_key]

    out = io.StringIO()
    call_command("secrets_reencrypt", stdout=out)

    # The Notify key, and the authenticator app of each test person who has one.
    expected = 1 + Authenticator.objects.count()
    assert f"{expected} stored secrets encrypted again" in out.getvalue()
    assert _stored(policy) != before
    settings.ENCRYPTION_KEYS = [newest]
    assert _key(policy) == NOTIFY_KEY
    # Run again, there is nothing left to move.
    out = io.StringIO()
    call_command("secrets_reencrypt", stdout=out)
    assert out.getvalue().startswith("0 stored secrets")


def test_a_secret_under_a_removed_key_fails_with_what_to_do(story, settings):
    policy = _save_notify_key(story)
    settings.ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(SecretUnreadable, match="put it back in the list"):
        _key(policy)
    with pytest.raises(CommandError, match="cannot be decrypted with any key in ENCRYPTION_KEYS"):
        call_command("secrets_reencrypt", stdout=io.StringIO())


def test_without_keys_saving_a_secret_fails_with_what_to_do_and_saves_nothing(story, settings):
    settings.ENCRYPTION_KEYS = []

    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS is not set"):
        _save_notify_key(story)
    assert not ChannelSettings.objects.filter(tenant=story.tenant).exists()


def test_check_deploy_names_missing_encryption_keys(settings):
    settings.ENCRYPTION_KEYS = []
    errors = [
        error for error in run_checks(include_deployment_checks=True) if error.id == "tenants.E001"
    ]
    assert errors and "ENCRYPTION_KEYS is not set" in errors[0].msg

    settings.ENCRYPTION_KEYS = [new_key()]
    assert not [
        error for error in run_checks(include_deployment_checks=True) if error.id == "tenants.E001"
    ]


def test_a_mistyped_encryption_key_stops_start_up_naming_it():
    result = load_settings(
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="actions.example.org",
        ENCRYPTION_KEYS=f"{new_key()},not-a-key",
    )
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS: key 2 is not a key the service can use" in result.stderr


def test_production_has_no_key_unless_given_and_development_derives_one():
    code = "import config.settings as s; print(len(s.ENCRYPTION_KEYS))"
    production = load_settings(
        code, DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="actions.example.org"
    )
    development = load_settings(code, DEBUG="1")
    assert (production.stdout.strip(), development.stdout.strip()) == ("0", "1")


def test_encryption_key_prints_a_usable_key():
    out = io.StringIO()
    call_command("encryption_key", stdout=out)
    key = out.getvalue().strip()
    result = load_settings(
        DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="actions.example.org", ENCRYPTION_KEYS=key
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_upgrading_encrypts_the_notify_keys_already_stored_in_the_channel_settings(postgres):
    """Run as the owner, as migrations are, on its own connection: so the rows are committed."""
    from django.db.migrations.executor import MigrationExecutor

    from tenants.postgresql.roles import owner_connection
    from tests.tenants.factories import TenantFactory

    before = [("notifications", "0006_framework_files_schedule")]
    tenant = TenantFactory()
    with owner_connection() as owner:
        executor = MigrationExecutor(owner)
        executor.migrate(before)
        try:
            old = executor.loader.project_state(before).apps.get_model(
                "notifications", "EscalationPolicy"
            )
            old._base_manager.create(
                tenant_id=tenant.pk, channel="notify", notify_api_key=NOTIFY_KEY
            )
        finally:
            executor = MigrationExecutor(owner)
            executor.loader.build_graph()
            executor.migrate(executor.loader.graph.leaf_nodes())

    with tenant_scope(tenant):
        row = ChannelSettings._base_manager.get(tenant_id=tenant.pk)
    assert NOTIFY_KEY not in row.secrets_sealed
    assert (row.channel, row.chosen, row.secrets) == ("notify", True, {"api_key": NOTIFY_KEY})


def test_an_authenticator_apps_key_is_stored_encrypted_and_moves_to_the_newest_key(story, settings):
    stored = Authenticator.objects.get(user=story.carol, type=Authenticator.Type.TOTP)
    assert stored.data["secret"] and TOTP_SECRET not in stored.data["secret"]
    assert TOTP(stored).validate_code(totp_code())

    old_key = settings.ENCRYPTION_KEYS[0]
    newest = new_key()
    settings.ENCRYPTION_KEYS = [newest, old_key]
    call_command("secrets_reencrypt", stdout=io.StringIO())
    settings.ENCRYPTION_KEYS = [newest]

    moved = Authenticator.objects.get(pk=stored.pk)
    assert moved.data["secret"] != stored.data["secret"]
    assert TOTP(moved).validate_code(totp_code(step=1))
