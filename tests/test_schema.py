"""Schema rules every tenant-owned table keeps (docs/architecture.md, principle 1)."""

from django.apps import apps
from django.db import models

from tenants.scoping import TenantOwnedModel


def tenant_owned_models():
    return [
        m for m in apps.get_models() if issubclass(m, TenantOwnedModel) and not m._meta.abstract
    ]


def test_there_are_tenant_owned_models_to_check():
    names = {m.__name__ for m in tenant_owned_models()}
    assert {"Action", "ActionPlan", "Membership", "TransitionLog", "Approval"} <= names


def test_every_tenant_owned_table_has_a_required_tenant():
    for model in tenant_owned_models():
        field = model._meta.get_field("tenant")
        assert not field.null, model


def test_every_unique_constraint_and_index_includes_the_tenant():
    for model in tenant_owned_models():
        meta = model._meta
        for fields in meta.unique_together:
            assert "tenant" in fields, (model, fields)
        for constraint in meta.constraints:
            if isinstance(constraint, models.UniqueConstraint):
                assert "tenant" in constraint.fields, (model, constraint.name)
        for index in meta.indexes:
            assert "tenant" in index.fields, (model, index.name)
        for field in meta.local_fields:
            if field.unique and not field.primary_key:
                raise AssertionError(f"{model.__name__}.{field.name} is unique across tenants")


def test_default_manager_of_every_tenant_owned_model_is_scoped():
    from tenants.scoping import ScopeError

    for model in tenant_owned_models():
        try:
            model._default_manager.filter(pk=1).exists()
        except ScopeError:
            continue
        raise AssertionError(f"{model.__name__} can be queried without a tenant")
