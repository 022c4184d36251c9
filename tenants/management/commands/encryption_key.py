"""Print a new key for ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from tenants.sealed import new_key


class Command(BaseCommand):
    help = (
        "Print a new random key for ENCRYPTION_KEYS. To rotate, put it first in the list, keep "
        "the old keys after it, restart, run secrets_reencrypt, then drop the old keys."
    )

    def handle(self, *args, **options):
        self.stdout.write(new_key())
