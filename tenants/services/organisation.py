"""Organisations: setting one up, and its nation."""

from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.models import AuditEntry, Tenant, User
from tenants.rules import administer_refusal, enforce
from tenants.services.audit import Recorded


@transaction.atomic
def tenant_create(
    *, name: str, slug: str, kind: str, nation: str = Tenant.Nation.ENGLAND
) -> Tenant:
    tenant = Tenant(name=name, slug=slug, kind=kind, nation=nation)
    tenant.full_clean()
    tenant.save()
    return tenant


ORGANISATION_CHANGES = Recorded(
    AuditEntry.Subject.ORGANISATION,
    labels={"nation": "Nation"},
    texts=lambda tenant: {"nation": tenant.get_nation_display()},
    name=attrgetter("name"),
    tenant_id=attrgetter("pk"),
)


@transaction.atomic
def tenant_set_nation(*, tenant: Tenant, by: User | None, nation: str) -> Tenant:
    """Choose whose bank holidays the organisation's working days skip."""
    enforce(administer_refusal(by=by, tenant=tenant))
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if nation not in Tenant.Nation.values:
        raise ValidationError({"nation": "Choose England, Wales, Scotland or Northern Ireland."})
    before = ORGANISATION_CHANGES.texts(tenant)
    tenant.nation = nation
    tenant.save(update_fields=["nation"])
    ORGANISATION_CHANGES.record(tenant, by=by, summary="Nation changed", before=before)
    return tenant
