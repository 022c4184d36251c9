"""The schedule, kept in the database (django-celery-beat) so an operator can change it in the
admin without a deployment: the escalation sweep daily at 07:00 London time, the outbox relay
every minute."""

from django.db import migrations

SWEEP = "Escalation sweep (daily digest)"
RELAY = "Outbox relay"


def install(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    seven_am, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="7",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Europe/London",
    )
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=SWEEP,
        defaults={"task": "notifications.escalation_sweep", "crontab": seven_am},
    )
    PeriodicTask.objects.get_or_create(
        name=RELAY,
        defaults={"task": "notifications.outbox_relay", "interval": every_minute},
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[SWEEP, RELAY]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, remove)]
