"""The hourly clean-up of files checked for an import (a framework or a plan) and never imported, beside the sweep and
the relay on the schedule kept in the database."""

from django.db import migrations

CLEAN_UP = "Import files never imported"


def install(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=3600, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=CLEAN_UP,
        defaults={"task": "plans.import_files_remove_old", "interval": every_hour},
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=CLEAN_UP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_message_secret"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, remove)]
