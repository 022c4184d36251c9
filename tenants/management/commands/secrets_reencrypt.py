"""Encrypt every stored secret again with the newest of ENCRYPTION_KEYS."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tenants.sealed import reencrypt_all


class Command(BaseCommand):
    help = (
        "Encrypt every stored secret (GOV.UK Notify keys, single sign-on client secrets, "
        "authenticator app keys) again "
        "with the first key of ENCRYPTION_KEYS, so older keys can then be removed from the list. "
        "Safe to run while the service is up, and again."
    )

    def handle(self, *args, **options):
        try:
            rewritten = reencrypt_all()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{rewritten} stored secret{'s' if rewritten != 1 else ''} encrypted again with the "
            "newest key; older keys can now be removed from ENCRYPTION_KEYS."
        )
