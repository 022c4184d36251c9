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
from collections.abc import Sequence
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

    # An organisation with history cannot be deleted: its history would go with it.
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


# The database's side and the checks, each name imported from ``tenants.history``.
from tenants.history.checking import (  # noqa: E402
    ChainBreak,
    ChainCheck,
    ChainLink,
    chain_backfill,
    chain_link_at,
    chain_links,
    chain_verify,
    history_models,
)
from tenants.history.triggers import (  # noqa: E402
    HEAD_TABLE,
    POSTGRESQL_FUNCTIONS,
    POSTGRESQL_FUNCTIONS_DROP,
    postgresql_triggers,
    sqlite_triggers,
    triggers_install,
    triggers_remove,
)

__all__ = [
    "CHAIN_COLUMNS",
    "CHAIN_FORMAT",
    "DATE",
    "HEAD_TABLE",
    "JSON",
    "KINDS",
    "NUMBER",
    "POSTGRESQL_FUNCTIONS",
    "POSTGRESQL_FUNCTIONS_DROP",
    "TEXT",
    "TIME",
    "ChainBreak",
    "ChainCheck",
    "ChainLink",
    "HistoryFields",
    "HistoryHead",
    "HistoryRecord",
    "chain_backfill",
    "chain_hash",
    "chain_link_at",
    "chain_links",
    "chain_message",
    "chain_verify",
    "history_models",
    "postgresql_triggers",
    "sqlite_triggers",
    "triggers_install",
    "triggers_remove",
    "value_text",
]
