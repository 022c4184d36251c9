import datetime

from django.core.management.base import BaseCommand, CommandError

from notifications.escalations import escalation_sweep


class Command(BaseCommand):
    help = (
        "Run the escalation sweep now, as the daily scheduled task does: record the escalation "
        "steps reached and write one digest per person. Running it again creates nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="Sweep as of this date (YYYY-MM-DD) instead of today, to catch up a missed day.",
        )

    def handle(self, *args, date=None, **options):
        today = None
        if date:
            try:
                today = datetime.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"--date must look like 2026-11-23, not '{date}'.") from None
        sweep = escalation_sweep(today=today)
        self.stdout.write(
            f"Sweep of {sweep.today}: {sweep.steps_created} escalation step(s), "
            f"{sweep.notifications_created} notification(s), {sweep.messages_created} e-mail(s)."
        )
