"""What row-level security lets the current code see, as the database backend reads it
(tenants/postgresql/). Set only by ``tenant_scope`` and ``across_tenants`` in
tenants/scoping.py; kept apart from django-scopes' state, so switching django-scopes off inside
a tenant's scope still shows the database that tenant's rows only. Nothing here imports models,
because the database backend is loaded before them."""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseScope:
    """One tenant's rows, every tenant's (the cross-tenant path), or, with neither, only rows
    that belong to no tenant (national frameworks)."""

    tenant_id: int | None = None
    across: bool = False


NO_TENANT = DatabaseScope()
ACROSS_TENANTS = DatabaseScope(across=True)

_database_scope: ContextVar[DatabaseScope] = ContextVar("database_scope", default=NO_TENANT)


def database_scope() -> DatabaseScope:
    return _database_scope.get()


@contextmanager
def database_scope_set(value: DatabaseScope):
    token = _database_scope.set(value)
    try:
        yield
    finally:
        _database_scope.reset(token)
