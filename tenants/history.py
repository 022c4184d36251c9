"""Tamper-evident history: each organisation's history rows form one hash chain.

The history tables (the transition log, approvals, the record of changes and published reports)
are append-only, and every row an organisation writes to any of them takes the next position in
that organisation's one chain. The row's hash covers its position, the previous row's hash and
its content, so changing a row, taking one out or putting one back in another place shows.

The database does the chaining, so no way of inserting a row can skip it (a service, a
``bulk_create``, an import, a data migration or plain SQL): on PostgreSQL a trigger on each table
locks the organisation's head row (``HistoryChainHead``) until the transaction ends, so two
transactions never take the same position, and another trigger refuses UPDATE and DELETE to
every role but the table's owner. On SQLite (the demo) a trigger does the same chaining; SQLite
has no roles, and writes one transaction at a time, so nothing needs locking there.

What a row's hash covers is a named, versioned list of its columns (``history_fields`` on each
model), not the whole row: a column added later joins a new version of the list, and rows
already written keep verifying against the version they were written with.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models

from tenants.scoping import TenantOwnedModel

# The first line of every hashed message, so a change in how messages are built shows as one.
CHAIN_FORMAT = "history-chain/1"

# How a column's value becomes text before hashing. Each kind reads the same in Python, in
# PostgreSQL and in SQLite.
NUMBER = "number"  # decimal digits
TEXT = "text"  # as stored
TIME = "time"  # UTC, to the microsecond: 2026-11-24T03:29:55.000123Z
DATE = "date"  # 2026-11-24
JSON = "json"  # the database's own text of the stored JSON (jsonb's normal form on PostgreSQL)
KINDS = (NUMBER, TEXT, TIME, DATE, JSON)

CHAIN_COLUMNS = ("chain_position", "chain_version", "chain_previous", "chain_hash")


@dataclass(frozen=True)
class HistoryFields:
    """Version ``version`` of what a table's row hash covers: its columns, in order, by kind."""

    table: str  # the model's label, lower case: "workflow.transitionlog"
    db_table: str
    version: int
    columns: tuple[tuple[str, str], ...]

    def __post_init__(self):
        for column, kind in self.columns:
            if kind not in KINDS:
                raise ValueError(f"{self.table} column {column}: unknown kind {kind!r}")


class HistoryRecord(TenantOwnedModel):
    """Base of every history table: written once, never changed or deleted, chained.

    The chain columns are filled by the database as the row is inserted; a model instance
    saved by Django holds them as empty until it is read again.
    """

    # History outlives nothing it belongs to: an organisation with history cannot be deleted.
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    chain_position = models.PositiveBigIntegerField(null=True, editable=False)
    chain_version = models.PositiveSmallIntegerField(null=True, editable=False)
    chain_previous = models.CharField(max_length=64, null=True, editable=False)
    chain_hash = models.CharField(max_length=64, null=True, editable=False)

    # {version: ((column, kind), ...)}: every version ever used, never changed once released.
    history_fields: ClassVar[dict[int, tuple[tuple[str, str], ...]]] = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("History is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("History is never deleted.")

    @classmethod
    def history_versions(cls) -> list[HistoryFields]:
        return [
            HistoryFields(cls._meta.label_lower, cls._meta.db_table, version, columns)
            for version, columns in sorted(cls.history_fields.items())
        ]


@dataclass(frozen=True)
class HistoryHead:
    """Where an organisation's chain had got to at a moment: what a report prints, and what
    ``audit_verify --head`` checks. Written ``position:hash``."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}" if self.position else "none (no history yet)"


# --- The hashed message, in Python ----------------------------------------------------------


def value_text(kind: str, value) -> str | None:
    """``value`` of a column of ``kind`` as the text the hash covers (None stays None)."""
    if value is None:
        return None
    if kind == NUMBER:
        return str(int(value))
    if kind == TIME:
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == DATE:
        return value.isoformat()
    return str(value)


def _encoded(text: str | None) -> str:
    # Length-prefixed, so no value can be made to read as two, and empty differs from missing.
    return "~" if text is None else f"{len(text)}:{text}"


def chain_message(
    fields: HistoryFields, *, position: int, previous: str, texts: Sequence[str | None]
) -> str:
    """The text whose SHA-256 is a row's hash: position, previous hash and content."""
    lines = [
        CHAIN_FORMAT,
        f"{fields.table}/{fields.version}",
        f"position={position}",
        f"previous={previous}",
    ]
    lines += [
        f"{column}={_encoded(text)}"
        for (column, _kind), text in zip(fields.columns, texts, strict=True)
    ]
    return "\n".join(lines)


def chain_hash(
    fields: HistoryFields, *, position: int, previous: str, texts: Sequence[str | None]
) -> str:
    message = chain_message(fields, position=position, previous=previous, texts=texts)
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


# --- The same, in the database --------------------------------------------------------------

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


# --- Chaining rows written before the triggers ------------------------------------------------


def _json_name(column: str) -> str:
    return f"chain_text_{column}"


def _row_texts(row: dict, fields: HistoryFields) -> list[str | None]:
    return [
        row[_json_name(column)] if kind == JSON else value_text(kind, row[column])
        for column, kind in fields.columns
    ]


def _rows(queryset, versions: Sequence[HistoryFields], extra: Sequence[str] = ()):
    """``queryset`` as dicts of every column the ``versions`` cover, JSON as the database's
    text of it, and the ``extra`` columns."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    columns = {column: kind for fields in versions for column, kind in fields.columns}
    texts = {
        _json_name(column): Cast(column, TextField())
        for column, kind in columns.items()
        if kind == JSON
    }
    plain = [column for column, kind in columns.items() if kind != JSON]
    return queryset.annotate(**texts).values(*plain, *texts, *extra)


def chain_backfill(apps, schema_editor, tables: Sequence[tuple[HistoryFields, Sequence[str]]]):
    """Chain the rows already written, each organisation's in the order they were written.

    ``tables``: each table's version of its fields, and the columns saying when a row was
    written, the first not empty counting (a step recorded later was written when recorded).
    Ties (one transaction's rows) go by table in the order given, then by id.
    """
    head_model = apps.get_model("tenants", "HistoryChainHead")
    found = []
    models_of = {}
    for order, (fields, written) in enumerate(tables):
        model = apps.get_model(fields.table)
        models_of[fields.table] = model
        for row in _rows(model._base_manager.all(), [fields], extra=written):
            at = next(row[column] for column in written if row[column] is not None)
            found.append((row["tenant_id"], at, order, row["id"], fields, _row_texts(row, fields)))
    found.sort(key=lambda entry: entry[:4])
    heads: dict[int, tuple[int, str]] = {}
    updates: dict[str, list] = {table: [] for table in models_of}
    for tenant_id, _at, _order, row_id, fields, texts in found:
        position, previous = heads.get(tenant_id, (0, ""))
        position += 1
        hashed = chain_hash(fields, position=position, previous=previous, texts=texts)
        heads[tenant_id] = (position, hashed)
        updates[fields.table].append(
            models_of[fields.table](
                id=row_id,
                chain_position=position,
                chain_version=fields.version,
                chain_previous=previous,
                chain_hash=hashed,
            )
        )
    for table, rows in updates.items():
        models_of[table]._base_manager.bulk_update(rows, CHAIN_COLUMNS, batch_size=1000)
    head_model._base_manager.bulk_create(
        head_model(tenant_id=tenant_id, position=position, hash=hashed)
        for tenant_id, (position, hashed) in heads.items()
    )


# --- Checking a chain -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainLink:
    """One history row as the chain sees it."""

    position: int | None
    table: str
    row_id: int
    version: int | None
    previous: str | None
    hash: str | None
    texts: tuple[str | None, ...]


@dataclass(frozen=True)
class ChainBreak:
    """The first place an organisation's chain does not hold, in words for the person checking."""

    position: int | None
    table: str
    row_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "no position"
        row = f"{self.table} row {self.row_id}" if self.row_id is not None else self.table
        return f"{where}, {row}: {self.problem}"


@dataclass(frozen=True)
class ChainCheck:
    rows: int
    head_position: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def history_models() -> list[type[HistoryRecord]]:
    from django.apps import apps

    return sorted(
        (model for model in apps.get_models() if issubclass(model, HistoryRecord)),
        key=lambda model: model._meta.label_lower,
    )


def _links(model: type[HistoryRecord], tenant_id: int, up_to: int):
    versions = {fields.version: fields for fields in model.history_versions()}
    rows = _rows(
        model.objects.filter(
            models.Q(chain_position__lte=up_to) | models.Q(chain_position__isnull=True),
            tenant_id=tenant_id,
        ).order_by(models.F("chain_position").asc(nulls_first=True), "pk"),
        list(versions.values()),
        extra=CHAIN_COLUMNS,
    )
    for row in rows.iterator(chunk_size=2000):
        fields = versions.get(row["chain_version"])
        yield ChainLink(
            position=row["chain_position"],
            table=model._meta.label_lower,
            row_id=row["id"],
            version=row["chain_version"],
            previous=row["chain_previous"],
            hash=row["chain_hash"],
            texts=tuple(_row_texts(row, fields)) if fields else (),
        )


def chain_links(tenant_id: int, up_to: int):
    """Every history row of the organisation, in chain order (rows without a position first)."""
    import heapq

    return heapq.merge(
        *(_links(model, tenant_id, up_to) for model in history_models()),
        key=lambda link: -1 if link.position is None else link.position,
    )


def _link_problem(link: ChainLink, expected: int, previous: str) -> str | None:
    if link.position is None:
        return (
            "not in the chain: the row has no position or hash, so it was written with the "
            "chaining trigger switched off"
        )
    if link.position < expected:
        return f"a second row at position {link.position}: rows were copied or the chain forked"
    if link.position > expected:
        missing = (
            f"position {expected} is"
            if link.position == expected + 1
            else f"positions {expected} to {link.position - 1} are"
        )
        return f"row missing: {missing} not in any history table (deleted), just before this row"
    versions = {fields.version: fields for fields in _model(link.table).history_versions()}
    fields = versions.get(link.version)
    if fields is None:
        return f"content changed: version {link.version} of its fields does not exist"
    if link.previous != previous:
        return (
            "link broken: the previous hash it records is not the hash of the row before it "
            "(that row, or this one, was changed)"
        )
    if chain_hash(fields, position=link.position, previous=previous, texts=link.texts) != link.hash:
        return "content changed: the row's hash does not match its content"
    return None


def _model(table: str) -> type[HistoryRecord]:
    from django.apps import apps

    return apps.get_model(table)


def chain_verify(*, tenant_id: int) -> ChainCheck:
    """Check the organisation's chain from its first row to its head, stopping at the first
    break. The head is read first and rows after it are left out, so history written while the
    check runs does not count against it."""
    head = _model("tenants.historychainhead").objects.filter(tenant_id=tenant_id).first()
    head_position, head_hash = (head.position, head.hash) if head else (0, "")
    expected, previous, broken = 1, "", None
    for link in chain_links(tenant_id, up_to=head_position):
        problem = _link_problem(link, expected, previous)
        if problem:
            broken = ChainBreak(link.position, link.table, link.row_id, problem)
            break
        expected, previous = expected + 1, link.hash
    rows = expected - 1
    if broken is None and (head_position, head_hash) != (rows, previous):
        if head_position > rows:
            missing = (
                f"position {head_position} is"
                if head_position == rows + 1
                else f"positions {rows + 1} to {head_position} are"
            )
            problem = f"row missing: the head is at {head_position}, and {missing} gone (deleted)"
        else:
            problem = "link broken: the head does not match the last row of the chain"
        broken = ChainBreak(head_position, "tenants.historychainhead", None, problem)
    return ChainCheck(rows=rows, head_position=head_position, head_hash=head_hash, broken=broken)


def chain_link_at(*, tenant_id: int, position: int) -> ChainLink | None:
    """The organisation's history row at ``position``, or None."""
    for model in history_models():
        row = (
            model.objects.filter(tenant_id=tenant_id, chain_position=position)
            .values("id", "chain_version", "chain_previous", "chain_hash")
            .first()
        )
        if row:
            return ChainLink(
                position,
                model._meta.label_lower,
                row["id"],
                row["chain_version"],
                row["chain_previous"],
                row["chain_hash"],
                (),
            )
    return None
