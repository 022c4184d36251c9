"""The channel, Notify key and template live in the channel settings now (0009)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0009_channel_settings"),
    ]

    operations = [
        migrations.RemoveField(model_name="escalationpolicy", name="channel"),
        migrations.RemoveField(model_name="escalationpolicy", name="notify_api_key_sealed"),
        migrations.RemoveField(model_name="escalationpolicy", name="notify_template_id"),
    ]
