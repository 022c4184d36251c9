"""The two database roles: the owner, which migrates, and the application's role, which owns
nothing and so cannot get past row-level security.

``owner_connection`` makes a command connect as the owner (DATABASE_OWNER_URL) to the database
the application uses; ``application_role_grant`` creates the application's role named in
DATABASE_URL (or brings it up to date) and grants it what the service needs and nothing more:
reading and writing rows, never owning, truncating or changing a table, nor passing the policies.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from psycopg import sql

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


@contextmanager
def owner_connection(alias: str = "default"):
    """Connect as the owner for the duration; the database stays the one the alias names (the
    test database, under tests). Nothing changes without DATABASE_OWNER_URL."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    connection = connections[alias]
    if owner is None or connection.vendor != "postgresql":
        yield connection
        return
    saved = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key) for key in CREDENTIALS})
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def application_role_grant(*, owner_alias: str = "default", role: str, password: str) -> str:
    """Create or update the application's login role and grant it the rows of every table the
    owner has made or will make. Run as the owner; returns what was done, for the operator."""
    with owner_connection(owner_alias) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_database(), "
            "EXISTS (SELECT FROM pg_roles WHERE rolname = %s)",
            [role],
        )
        owner, database, exists = cursor.fetchone()
        if owner == role:
            raise ValueError(
                f"The application's role {role!r} is the role these commands connect as: set "
                "DATABASE_OWNER_URL to the owner's address."
            )
        name = sql.Identifier(role)
        attributes = sql.SQL(
            "LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            "NOINHERIT"
        ).format(sql.Literal(password))
        verb = "ALTER" if exists else "CREATE"
        statements = [
            sql.SQL(verb + " ROLE {} {}").format(name, attributes),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), name),
            # The escalation sweep streams its rows by COPY into a temporary table (COPY into
            # a table under row-level security is refused). Everyone has this by default; an
            # operator who took it from PUBLIC would otherwise stop the sweep.
            sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), name),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(name),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
            # Tables and sequences later migrations create, which the owner creates.
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(sql.Identifier(owner), name),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(sql.Identifier(owner), name),
        ]
        raw = cursor.cursor
        for statement in statements:
            raw.execute(statement)
    return (
        f"{'Updated' if exists else 'Created'} role {role}: it reads and writes the rows of "
        f"database {database}'s tables, under row-level security; {owner} owns them."
    )
