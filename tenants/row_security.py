"""Row-level security on PostgreSQL: the policies, the cross-tenant reference check and the
application's database role, all generated from the models.

Every table of a model with a ``tenant`` field is *tenant-owned*. Its policy shows and accepts
a row only when its tenant is the one the current transaction was told (``app.tenant_id``, set
by tenants/postgresql/ from ``tenant_scope``), or when the transaction is on the cross-tenant
path (``app.across_tenants``, set only by ``across_tenants``). A row with no tenant (a national
framework, its themes and recommendations, a digest spanning tenants) is read by everyone and
written only on the cross-tenant path. With nothing set, a query sees no tenant's rows.
``FORCE`` applies the policies to the tables' owner too; only a superuser or a role with
BYPASSRLS passes them, and the application's role is neither.

Triggers on each tenant-owned table refuse a row that refers, through any foreign key, to a
tenant-owned row of another tenant; a reference to a row with no tenant (a national framework)
is fine. The referenced row is read under the same policies, so one the transaction may not see
counts as another tenant's.

A migration calls ``row_security_sql`` with the models as they stand then; a later model is
covered by a migration calling ``row_security_apply`` again, and tests/tenants/
test_row_security.py fails for any tenant-owned table left without.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
ACROSS = "current_setting('app.across_tenants', true) = 'on'"

POLICY = "tenant_isolation"
NATIONAL_POLICY = "national_rows_readable"


def is_tenant_owned(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("tenant")
    except Exception:
        return False
    return (
        field.is_relation
        and field.concrete
        and field.related_model._meta.label_lower == "tenants.tenant"
    )


def tenant_owned_models(all_models: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    return sorted(
        (m for m in all_models if is_tenant_owned(m) and m._meta.managed and not m._meta.proxy),
        key=lambda m: m._meta.db_table,
    )


def tenant_references(model: type[models.Model]) -> list[models.ForeignKey]:
    """The foreign keys from a tenant-owned model to other tenant-owned rows."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.is_relation
        and field.many_to_one
        and field.name != "tenant"
        and is_tenant_owned(field.related_model)
    ]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def policy_sql(model: type[models.Model]) -> list[str]:
    table = _q(model._meta.db_table)
    own = f"(tenant_id = {TENANT} OR {ACROSS})"
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {table}",
        f"CREATE POLICY {POLICY} ON {table} USING {own} WITH CHECK {own}",
        f"DROP POLICY IF EXISTS {NATIONAL_POLICY} ON {table}",
    ]
    if model._meta.get_field("tenant").null:
        statements.append(
            f"CREATE POLICY {NATIONAL_POLICY} ON {table} FOR SELECT USING (tenant_id IS NULL)"
        )
    return statements


def trigger_name(model: type[models.Model]) -> str:
    return f"{model._meta.db_table}_same_tenant"


def trigger_names(model: type[models.Model]) -> list[str]:
    """The triggers checking a table's references: one after each INSERT and each UPDATE."""
    name = trigger_name(model)
    return [f"{name}_insert", f"{name}_update"]


def trigger_sql(model: type[models.Model]) -> list[str]:
    """Triggers refusing rows whose references lead to another tenant's rows; none for a model
    with no such references.

    They run once per statement over the rows it wrote (a transition table), so a set-based
    write such as the sweep's INSERT ... SELECT is checked with one anti-join per reference
    rather than one lookup per row and reference.
    """
    table = _q(model._meta.db_table)
    function = _q(trigger_name(model))
    references = tenant_references(model)
    drop = [
        *(f"DROP TRIGGER IF EXISTS {_q(name)} ON {table}" for name in trigger_names(model)),
        f"DROP FUNCTION IF EXISTS {function}()",
    ]
    if not references:
        return drop
    checks = []
    for field in references:
        column = _q(field.column)
        target = field.related_model._meta
        target_column = _q(field.target_field.column)
        message = f"{model._meta.db_table}.{field.column} refers to a row of another organisation"
        checks.append(
            f"""
    IF EXISTS (
        SELECT 1 FROM written
        WHERE written.{column} IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM {_q(target.db_table)} AS referenced
              WHERE referenced.{target_column} = written.{column}
                AND (referenced.tenant_id IS NULL
                     OR referenced.tenant_id IS NOT DISTINCT FROM written.tenant_id)))
    THEN
        RAISE EXCEPTION '{message}' USING ERRCODE = 'foreign_key_violation';
    END IF;"""
        )
    body = "".join(checks)
    insert, update = (_q(name) for name in trigger_names(model))
    return [
        *drop,
        f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{body}
    RETURN NULL;
END
$$""",
        f"CREATE TRIGGER {insert} AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {update} AFTER UPDATE ON {table} "
        f"REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def row_security_sql(all_models: Iterable[type[models.Model]]) -> list[str]:
    """Every statement that puts the policies and reference checks in place; safe to run again."""
    statements = []
    for model in tenant_owned_models(all_models):
        statements += policy_sql(model)
        statements += trigger_sql(model)
    return statements


def row_security_apply(apps, schema_editor) -> None:
    """For a migration's RunPython: the policies and checks for every tenant-owned model in the
    migration's state. Nothing on SQLite, which has no row-level security."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in row_security_sql(apps.get_models()):
        schema_editor.execute(statement)


def row_security_remove(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model in tenant_owned_models(apps.get_models()):
        table = _q(model._meta.db_table)
        for name in trigger_names(model):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {_q(name)} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {_q(trigger_name(model))}()")
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        schema_editor.execute(f"DROP POLICY IF EXISTS {NATIONAL_POLICY} ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
