"""Celery tasks of the plans app: thin wrappers, run on the schedule kept in the database."""

from celery import shared_task
from django.conf import settings

from plans.frameworks.held import FRAMEWORK_FILES
from plans.imports.held import PLAN_FILES
from plans.services import (
    QuarantineOutcome,
    quarantine_scan,
    quarantined_evidence_scan,
    quarantined_evidence_tenant,
)
from tenants.scoping import tenant_scope


@shared_task(name="plans.import_files_remove_old", acks_late=True)
def import_files_remove_old_task() -> int:
    """Files checked for an import (a framework or a plan) and never confirmed, once older
    than IMPORT_HOLD_SECONDS."""
    return FRAMEWORK_FILES.remove_old() + PLAN_FILES.remove_old()


@shared_task(name="plans.quarantined_evidence_scan", bind=True, acks_late=True, max_retries=None)
def quarantined_evidence_scan_task(self, item_id: int) -> str:
    """A file that went into quarantine, scanned again soon after; while the scanner still
    cannot check it, again after a doubling delay, QUARANTINE_RETRIES times. The scheduled
    ``plans.quarantine_scan`` picks up whatever is still waiting after that."""
    tenant = quarantined_evidence_tenant(item_id=item_id)
    if tenant is None:
        return QuarantineOutcome.GONE
    with tenant_scope(tenant):
        outcome = quarantined_evidence_scan(item_id=item_id)
    if outcome == QuarantineOutcome.WAITING and self.request.retries < settings.QUARANTINE_RETRIES:
        raise self.retry(countdown=settings.QUARANTINE_RETRY_SECONDS * 2**self.request.retries)
    return outcome


@shared_task(name="plans.quarantine_scan", acks_late=True)
def quarantine_scan_task() -> dict[str, int]:
    """Every file still waiting for a virus check, scanned again (every 5 minutes)."""
    return quarantine_scan()
