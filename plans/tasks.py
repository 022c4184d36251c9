"""Celery tasks of the plans app: thin wrappers, run on the schedule kept in the database."""

from celery import shared_task

from plans.frameworks.held import FRAMEWORK_FILES
from plans.imports.held import PLAN_FILES


@shared_task(name="plans.import_files_remove_old", acks_late=True)
def import_files_remove_old_task() -> int:
    """Files checked for an import (a framework or a plan) and never confirmed, once older
    than IMPORT_HOLD_SECONDS."""
    return FRAMEWORK_FILES.remove_old() + PLAN_FILES.remove_old()
