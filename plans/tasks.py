"""Celery tasks of the plans app: thin wrappers, run on the schedule kept in the database."""

from celery import shared_task

from plans.frameworks.held import held_files_remove_old


@shared_task(name="plans.framework_files_remove_old", acks_late=True)
def framework_files_remove_old_task() -> int:
    return held_files_remove_old()
