"""The GOV.UK Notify key is kept encrypted (tenants.sealed): existing keys are encrypted in
place, with the newest of ENCRYPTION_KEYS."""

from django.db import migrations, models


def encrypt_keys(apps, schema_editor):
    from tenants.sealed import seal

    EscalationPolicy = apps.get_model("notifications", "EscalationPolicy")
    for policy in EscalationPolicy._base_manager.exclude(notify_api_key_sealed=""):
        policy.notify_api_key_sealed = seal(policy.notify_api_key_sealed)
        policy.save(update_fields=["notify_api_key_sealed"])


def decrypt_keys(apps, schema_editor):
    from tenants.sealed import unseal

    EscalationPolicy = apps.get_model("notifications", "EscalationPolicy")
    for policy in EscalationPolicy._base_manager.exclude(notify_api_key_sealed=""):
        policy.notify_api_key_sealed = unseal(policy.notify_api_key_sealed)
        policy.save(update_fields=["notify_api_key_sealed"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_virus_notifications"),
    ]

    operations = [
        migrations.RenameField(
            model_name="escalationpolicy",
            old_name="notify_api_key",
            new_name="notify_api_key_sealed",
        ),
        migrations.AlterField(
            model_name="escalationpolicy",
            name="notify_api_key_sealed",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(encrypt_keys, decrypt_keys, elidable=False),
    ]
