"""Framework files held between a check and its confirmation are removed once older than
IMPORT_HOLD_SECONDS, by periodic work on the database schedule, whether or not the
session that held them ever comes back."""

import hashlib
import importlib
import os
import time

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from plans.frameworks import held
from plans.models import Framework
from plans.tasks import import_files_remove_old_task

CONTENT = b"theme_number,theme,number,title,text\n1,Leadership,1,Lead,Text\n"


def held_file_aged(path: str, seconds: int) -> str:
    saved = default_storage.save(path, ContentFile(CONTENT))
    then = time.time() - seconds
    os.utime(default_storage.path(saved), (then, then))
    return saved


def test_an_old_held_file_goes_and_a_fresh_one_stays(story, settings):
    settings.IMPORT_HOLD_SECONDS = 3600
    old = held_file_aged(f"framework-imports/{story.tenant.pk}/{story.erin.pk}/old", 3700)
    old_national = held_file_aged("framework-imports/national/1/old", 7200)
    fresh = held_file_aged(f"framework-imports/{story.tenant.pk}/{story.erin.pk}/fresh", 3500)
    old_plan = held_file_aged(f"plan-imports/{story.tenant.pk}/{story.alice.pk}/old", 3700)
    evidence = held_file_aged("evidence/keep-me", 10 * 3600)

    assert import_files_remove_old_task() == 3

    assert not default_storage.exists(old) and not default_storage.exists(old_national)
    assert not default_storage.exists(old_plan)
    assert default_storage.exists(fresh)
    assert default_storage.exists(evidence)  # only files held for an import are ever removed


def test_the_limit_is_the_setting(story, settings):
    path = held_file_aged("framework-imports/national/1/file", 600)
    settings.IMPORT_HOLD_SECONDS = 900
    assert import_files_remove_old_task() == 0
    settings.IMPORT_HOLD_SECONDS = 300
    assert import_files_remove_old_task() == 1
    assert not default_storage.exists(path)


def test_nothing_held_is_nothing_to_do(db):
    assert import_files_remove_old_task() == 0


def test_the_clean_up_runs_every_hour_on_the_database_schedule(db):
    # Installed by a data migration; run again here because tests that truncate tables empty
    # the schedule for the tests after them.
    schedule = importlib.import_module("notifications.migrations.0006_framework_files_schedule")
    schedule.install(apps, None)

    scheduled = PeriodicTask.objects.get(task="plans.import_files_remove_old")
    assert scheduled.enabled
    assert (scheduled.interval.every, scheduled.interval.period) == (3600, "seconds")
    celery_app.loader.import_default_modules()
    assert "plans.import_files_remove_old" in celery_app.tasks


def test_a_check_older_than_the_limit_is_not_imported(client, story, settings):
    settings.IMPORT_HOLD_SECONDS = 600
    client.force_login(story.erin)
    path = held_file_aged(f"framework-imports/{story.tenant.pk}/{story.erin.pk}/held", 700)
    session = client.session
    session[held.SESSION_KEY] = {
        "t": {
            "tenant": story.tenant.pk,
            "path": path,
            "name": "review.csv",
            "sha256": hashlib.sha256(CONTENT).hexdigest(),
            "details": {"title": "Review", "short_name": "review"},
            "at": time.time() - 700,
        }
    }
    session.save()

    response = client.post(
        reverse("framework_import_confirm", kwargs={"tenant_slug": story.tenant.slug}),
        {"token": "t"},
        follow=True,
    )

    assert "waited too long to be confirmed" in response.content.decode()
    assert not Framework.objects.filter(short_name="review").exists()
