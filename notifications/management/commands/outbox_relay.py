from django.core.management.base import BaseCommand

from notifications.services import outbox_relay


class Command(BaseCommand):
    help = "Queue again the outbox messages that are due and not in the broker's hands."

    def handle(self, *args, **options):
        self.stdout.write(f"Queued {outbox_relay()} message(s).")
