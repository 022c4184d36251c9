import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("safeguarding")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_checked(sender=None, **kwargs) -> None:
    """What Django does at the start and end of each request, at the start and end of each task.

    Celery's Django fix-up closes the database connection around every task unless
    CELERY_DB_REUSE_MAX lets it live (config/settings.py); a task then opening a new one spent
    longer connecting than delivering. A reused connection is closed here once it is older than
    CONN_MAX_AGE or has failed and no longer answers, and with CONN_HEALTH_CHECKS the first query
    of the next task checks it before use, so a database restart costs one reconnection.
    """
    if sender is None or getattr(sender.request, "is_eager", False):
        return  # in-process, inside the caller's transaction: its connection is not ours
    from django.db import close_old_connections

    close_old_connections()
