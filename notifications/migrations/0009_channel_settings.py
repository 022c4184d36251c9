"""Each organisation's channel settings get a table of their own (notifications/channels/): the
channel chosen, the GOV.UK Notify template and key, moved out of the escalation policy. The
key stays encrypted (tenants.sealed), so ENCRYPTION_KEYS must be set, as for 0008."""

import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import notifications.models
from tenants.row_security import row_security_apply


def channel_settings_from_policies(apps, schema_editor):
    """A policy that chose Notify, or holds a Notify key or template, becomes the tenant's
    Notify settings; e-mail, the default channel, needs no row."""
    from tenants.scoping import across_tenants
    from tenants.sealed import seal, unseal

    EscalationPolicy = apps.get_model("notifications", "EscalationPolicy")
    ChannelSettings = apps.get_model("notifications", "ChannelSettings")
    # Run as the owner, whom the policies hold too unless it is a superuser.
    with across_tenants():
        for policy in EscalationPolicy._base_manager.order_by("pk"):
            key = unseal(policy.notify_api_key_sealed)
            if policy.channel != "notify" and not key and not policy.notify_template_id:
                continue
            ChannelSettings._base_manager.create(
                tenant_id=policy.tenant_id,
                channel="notify",
                chosen=policy.channel == "notify",
                values={"template_id": policy.notify_template_id},
                secrets_sealed=seal(json.dumps({"api_key": key})) if key else "",
                updated_by_id=policy.updated_by_id,
            )


def policies_from_channel_settings(apps, schema_editor):
    from tenants.scoping import across_tenants
    from tenants.sealed import seal, unseal

    EscalationPolicy = apps.get_model("notifications", "EscalationPolicy")
    ChannelSettings = apps.get_model("notifications", "ChannelSettings")
    with across_tenants():
        for row in ChannelSettings._base_manager.filter(channel="notify").order_by("pk"):
            secrets = json.loads(unseal(row.secrets_sealed) or "{}")
            policy, _ = EscalationPolicy._base_manager.get_or_create(tenant_id=row.tenant_id)
            policy.channel = "notify" if row.chosen else "email"
            policy.notify_template_id = row.values.get("template_id", "")
            policy.notify_api_key_sealed = seal(secrets.get("api_key", ""))
            policy.save()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0008_notify_key_encrypted"),
        ("tenants", "0008_row_level_security"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="channel",
            field=models.CharField(
                choices=notifications.models.channel_choices, default="email", max_length=20
            ),
        ),
        migrations.CreateModel(
            name="ChannelSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "channel",
                    models.CharField(choices=notifications.models.channel_choices, max_length=20),
                ),
                ("chosen", models.BooleanField(default=False)),
                ("values", models.JSONField(blank=True, default=dict)),
                ("secrets_sealed", models.TextField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "channel settings",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "channel"), name="channelsettings_one_per_channel"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("chosen", True)),
                        fields=("tenant",),
                        name="channelsettings_one_chosen",
                    ),
                ],
            },
        ),
        # The new table is tenant-owned: its policy and reference checks, like every other's.
        # Undone with the table itself.
        migrations.RunPython(row_security_apply, migrations.RunPython.noop),
        migrations.RunPython(
            channel_settings_from_policies, policies_from_channel_settings, elidable=False
        ),
    ]
