"""The scan of evidence waiting for a virus check, every 5 minutes, on the schedule kept in the
database beside the sweep, the relay and the import clean-up."""

from django.db import migrations

QUARANTINE_SCAN = "Evidence waiting for a virus check"


def install(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=300, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=QUARANTINE_SCAN,
        defaults={"task": "plans.quarantine_scan", "interval": every_five_minutes},
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=QUARANTINE_SCAN).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0009_evidence_quarantine"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, remove)]
