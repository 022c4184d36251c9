"""Tenant scoping that fails closed.

Every tenant-owned model's default manager is scoped: a query made while no tenant is active
raises ``ScopeError`` instead of returning every tenant's rows. The request middleware and every
Celery task activate a tenant with ``tenant_scope``; code that must read across tenants (the
operator's admin, the escalation sweep, the sign-in tenant chooser) says so with
``across_tenants``.

On PostgreSQL the same two context managers drive row-level security (tenants/row_security.py):
the database is told the active tenant, or the cross-tenant path, inside each transaction
(tenants/database_scope.py). Switching django-scopes off (``scopes_disabled``) inside a tenant's
scope still leaves the database showing that tenant's rows only: only ``across_tenants`` opens
every tenant to the database.
"""

from contextlib import contextmanager
from functools import wraps

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from tenants.database_scope import ACROSS_TENANTS, DatabaseScope, database_scope_set

__all__ = [
    "ScopeError",
    "TenantOwnedModel",
    "across_tenants",
    "reads_in_one_transaction",
    "tenant_scope",
]


@contextmanager
def tenant_scope(tenant):
    # django-scopes treats a scope value of None as "no filter"; refusing it keeps the scope closed.
    if tenant is None or getattr(tenant, "pk", tenant) is None:
        raise ScopeError("tenant_scope needs a saved tenant, not None.")
    tenant_id = int(getattr(tenant, "pk", tenant))
    with database_scope_set(DatabaseScope(tenant_id=tenant_id)), scope(tenant=tenant):
        yield


@contextmanager
def across_tenants():
    """Opt out of tenant scoping, by name, for code that legitimately spans tenants.

    The one way past row-level security: the database is told, for the transactions run
    inside it, that every tenant's rows may be read and written. docs/architecture.md lists
    its callers; keep each one narrow.
    """
    with database_scope_set(ACROSS_TENANTS), scopes_disabled():
        yield


def reads_in_one_transaction(view):
    """A page that only reads runs its queries in one transaction.

    Outside a transaction, each statement under a tenant's scope is given a transaction of its
    own, and the database is told the tenant again in each: four round trips (BEGIN, the
    setting, the statement, COMMIT) where one would do, sixty more for a page of twenty reads.
    """

    @wraps(view)
    def reading(*args, **kwargs):
        with transaction.atomic():
            return view(*args, **kwargs)

    return reading


class TenantOwnedModel(models.Model):
    """Base for every row that belongs to one tenant.

    ``same_tenant_relations`` names foreign keys to other tenant-owned rows and
    ``same_tenant_people`` names foreign keys to users who must be members of the tenant:
    a relation between tenants is refused on save, whoever saves.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(tenant="tenant")

    same_tenant_relations: tuple[str, ...] = ()
    same_tenant_people: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.check_same_tenant()
        super().save(*args, **kwargs)

    def check_same_tenant(self) -> None:
        errors = {}
        for name in self.same_tenant_relations:
            field = self._meta.get_field(name)
            related_id = getattr(self, field.attname)
            if related_id is None:
                continue
            if field.is_cached(self):
                related_tenant_id = getattr(self, name).tenant_id
            else:
                related_tenant_id = (
                    field.related_model._base_manager.filter(pk=related_id)
                    .values_list("tenant_id", flat=True)
                    .first()
                )
            if related_tenant_id != self.tenant_id:
                errors[name] = f"The {field.verbose_name} must belong to the same organisation."
        for name in self.same_tenant_people:
            field = self._meta.get_field(name)
            user_id = getattr(self, field.attname)
            if user_id is None:
                continue
            from tenants.models import Membership

            if not Membership._base_manager.filter(
                tenant_id=self.tenant_id, user_id=user_id
            ).exists():
                errors[name] = f"The {field.verbose_name} must be a member of this organisation."
        if errors:
            raise ValidationError(errors)
