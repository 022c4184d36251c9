"""The chain on the database's side: the shared PostgreSQL functions, and each history table's
triggers on PostgreSQL and SQLite, generated from a version of its field list."""

from collections.abc import Iterable

from tenants.history import CHAIN_FORMAT, DATE, JSON, NUMBER, TIME, HistoryFields

HEAD_TABLE = "tenants_historychainhead"

POSTGRESQL_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION history_chain_value(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '~' ELSE length(value)::text || ':' || value END
$$;

-- Takes the organisation's next position. The first row a statement writes for an organisation
-- locks its head row until the transaction ends, so a second transaction writing the same
-- organisation's history waits here and then chains onto the first one's last row: the chain
-- never forks. Further rows of the same statement carry on from a setting local to the
-- transaction, and the statement's end moves the head row once (history_chain_head_move), so a
-- bulk insert updates the head once rather than once a row.
CREATE OR REPLACE FUNCTION history_chain_link(
    tenant bigint, fields text, content text,
    OUT next_position bigint, OUT previous text, OUT hash text
) LANGUAGE plpgsql AS $$
DECLARE
    running text := current_setting('history_chain.tenant_' || tenant, true);
BEGIN
    IF coalesce(running, '') = '' THEN
        SELECT h.position, h.hash INTO next_position, previous
            FROM {HEAD_TABLE} h WHERE h.tenant_id = tenant FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO {HEAD_TABLE} (tenant_id, position, hash) VALUES (tenant, 0, '')
                ON CONFLICT (tenant_id) DO NOTHING;
            SELECT h.position, h.hash INTO next_position, previous
                FROM {HEAD_TABLE} h WHERE h.tenant_id = tenant FOR UPDATE;
        END IF;
    ELSE
        next_position := split_part(running, ':', 1)::bigint;
        previous := split_part(running, ':', 2);
    END IF;
    next_position := next_position + 1;
    hash := encode(sha256(convert_to(concat_ws(E'\\n',
        '{CHAIN_FORMAT}', fields, 'position=' || next_position, 'previous=' || previous, content
    ), 'UTF8')), 'hex');
    PERFORM set_config(
        'history_chain.tenant_' || tenant, next_position || ':' || history_chain_link.hash, true
    );
END
$$;

CREATE OR REPLACE FUNCTION history_chain_head_move() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last record;
BEGIN
    FOR last IN
        SELECT DISTINCT ON (tenant_id) tenant_id, chain_position, chain_hash FROM inserted
            ORDER BY tenant_id, chain_position DESC
    LOOP
        UPDATE {HEAD_TABLE} SET position = last.chain_position, hash = last.chain_hash
            WHERE tenant_id = last.tenant_id AND position < last.chain_position;
        PERFORM set_config('history_chain.tenant_' || last.tenant_id, '', true);
    END LOOP;
    RETURN NULL;
END
$$;

-- History is append-only for every role but the table's owner (who runs the migrations).
CREATE OR REPLACE FUNCTION history_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'History is append-only: % of a row of % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- The head moves only as a history row is inserted (a trigger inside a trigger), or by the
-- owner.
CREATE OR REPLACE FUNCTION history_head_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1
        OR current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)
    THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'The history chain''s head moves only when history is written'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER history_head_guard BEFORE INSERT OR UPDATE OR DELETE ON {HEAD_TABLE}
    FOR EACH ROW EXECUTE FUNCTION history_head_guard();
"""

POSTGRESQL_FUNCTIONS_DROP = f"""
DROP TRIGGER IF EXISTS history_head_guard ON {HEAD_TABLE};
DROP FUNCTION IF EXISTS history_head_guard();
DROP FUNCTION IF EXISTS history_refuse_change();
DROP FUNCTION IF EXISTS history_chain_head_move();
DROP FUNCTION IF EXISTS history_chain_link(bigint, text, text);
DROP FUNCTION IF EXISTS history_chain_value(text);
"""


def _postgresql_text(column: str, kind: str) -> str:
    value = f"NEW.{column}"
    if kind in (NUMBER, JSON):
        return f"{value}::text"
    if kind == TIME:
        return f"""to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if kind == DATE:
        return f"to_char({value}, 'YYYY-MM-DD')"
    return value


def _sqlite_text(column: str, kind: str) -> str:
    value = f"NEW.{column}"
    if kind == TIME:
        # Django stores a UTC time as "2026-11-24 03:29:55.000123", leaving out a fraction of 0.
        return (
            f"CASE WHEN {value} IS NULL THEN NULL ELSE substr({value}, 1, 10) || 'T' || "
            f"substr({value}, 12, 8) || '.' || substr(substr({value}, 21) || '000000', 1, 6) "
            f"|| 'Z' END"
        )
    return f"CAST({value} AS TEXT)"


def postgresql_triggers(fields: HistoryFields) -> tuple[str, str]:
    """SQL installing ``fields``'s chaining and append-only triggers on PostgreSQL, and SQL
    removing them."""
    table = fields.db_table
    content = ",\n            ".join(
        f"'{column}=' || history_chain_value({_postgresql_text(column, kind)})"
        for column, kind in fields.columns
    )
    install = f"""
CREATE OR REPLACE FUNCTION {table}_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    link record;
BEGIN
    SELECT * INTO link FROM history_chain_link(NEW.tenant_id, '{fields.table}/{fields.version}',
        concat_ws(E'\\n',
            {content}
        ));
    NEW.chain_position := link.next_position;
    NEW.chain_version := {fields.version};
    NEW.chain_previous := link.previous;
    NEW.chain_hash := link.hash;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS {table}_chain ON {table};
CREATE TRIGGER {table}_chain BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_chain();
DROP TRIGGER IF EXISTS {table}_chain_head ON {table};
CREATE TRIGGER {table}_chain_head AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION history_chain_head_move();
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION history_refuse_change();
"""
    remove = f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP TRIGGER IF EXISTS {table}_chain_head ON {table};
DROP TRIGGER IF EXISTS {table}_chain ON {table};
DROP FUNCTION IF EXISTS {table}_chain();
"""
    return install, remove


def sqlite_triggers(fields: HistoryFields) -> tuple[list[str], list[str]]:
    """Statements installing ``fields``'s chaining trigger on SQLite, and removing it.

    SQLite cannot change the row in a trigger before it is written, so the trigger fills the
    chain columns straight after. ``SHA256`` is the function Django registers on each of its
    SQLite connections: a row inserted through any other connection is refused for want of it.
    """
    table = fields.db_table
    newline = "char(10)"

    def encoded(column: str, kind: str) -> str:
        text = _sqlite_text(column, kind)
        return f"CASE WHEN ({text}) IS NULL THEN '~' ELSE length({text}) || ':' || ({text}) END"

    head = f"(SELECT {{}} FROM {HEAD_TABLE} WHERE tenant_id = NEW.tenant_id)"
    parts = [
        f"'{CHAIN_FORMAT}'",
        f"'{fields.table}/{fields.version}'",
        "'position=' || (" + head.format("position + 1") + ")",
        "'previous=' || " + head.format("hash"),
    ]
    parts += [f"'{column}=' || {encoded(column, kind)}" for column, kind in fields.columns]
    message = f" || {newline} || ".join(parts)
    install = [
        f"DROP TRIGGER IF EXISTS {table}_chain",
        f"""CREATE TRIGGER {table}_chain AFTER INSERT ON {table}
BEGIN
    INSERT INTO {HEAD_TABLE} (tenant_id, position, hash)
        SELECT NEW.tenant_id, 0, ''
        WHERE NOT EXISTS (SELECT 1 FROM {HEAD_TABLE} WHERE tenant_id = NEW.tenant_id);
    UPDATE {table} SET
        chain_position = {head.format("position + 1")},
        chain_version = {fields.version},
        chain_previous = {head.format("hash")},
        chain_hash = SHA256({message})
        WHERE id = NEW.id;
    UPDATE {HEAD_TABLE} SET
        position = position + 1,
        hash = (SELECT chain_hash FROM {table} WHERE id = NEW.id)
        WHERE tenant_id = NEW.tenant_id;
END""",
    ]
    return install, [f"DROP TRIGGER IF EXISTS {table}_chain"]


def triggers_install(schema_editor, versions: Iterable[HistoryFields]) -> None:
    """Install the chaining (and, on PostgreSQL, append-only) triggers for ``versions``, each the
    version new rows of its table are written with."""
    vendor = schema_editor.connection.vendor
    for fields in versions:
        if vendor == "postgresql":
            schema_editor.execute(postgresql_triggers(fields)[0], params=None)
        elif vendor == "sqlite":
            for statement in sqlite_triggers(fields)[0]:
                schema_editor.execute(statement, params=None)


def triggers_remove(schema_editor, versions: Iterable[HistoryFields]) -> None:
    vendor = schema_editor.connection.vendor
    for fields in versions:
        if vendor == "postgresql":
            schema_editor.execute(postgresql_triggers(fields)[1], params=None)
        elif vendor == "sqlite":
            for statement in sqlite_triggers(fields)[1]:
                schema_editor.execute(statement, params=None)
