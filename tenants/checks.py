"""System checks of the production settings that ``manage.py check --deploy`` runs."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def encryption_keys_set(app_configs, **kwargs) -> list[Error]:
    if getattr(settings, "ENCRYPTION_KEYS", None):
        return []
    return [
        Error(
            "ENCRYPTION_KEYS is not set: the GOV.UK Notify keys and single sign-on client "
            "secrets tenants save cannot be encrypted or read.",
            hint="Make a key with 'manage.py encryption_key' and set ENCRYPTION_KEYS to it "
            "(keys separated by commas, newest first).",
            id="tenants.E001",
        )
    ]
