"""Reading the chain back: chaining rows written before the triggers, and checking an
organisation's chain row by row, recomputing each hash in Python."""

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models

from tenants.history import (
    CHAIN_COLUMNS,
    JSON,
    HistoryFields,
    HistoryRecord,
    chain_hash,
    value_text,
)


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
    if broken is None:
        broken = _beyond_the_head(tenant_id)
    return ChainCheck(rows=rows, head_position=head_position, head_hash=head_hash, broken=broken)


def _beyond_the_head(tenant_id: int) -> ChainBreak | None:
    """A row past the head once the head is read again: the head was moved back. (A row
    written while the check ran moved the head past it in its own transaction, so reading the
    head after the row shows it.)"""
    newest = None
    for model in history_models():
        position = model.objects.filter(tenant_id=tenant_id).aggregate(
            newest=models.Max("chain_position")
        )["newest"]
        if position is not None and (newest is None or position > newest[0]):
            newest = (position, model._meta.label_lower)
    if newest is None:
        return None
    head = _model("tenants.historychainhead").objects.filter(tenant_id=tenant_id).first()
    if head is not None and head.position >= newest[0]:
        return None
    at = head.position if head else 0
    return ChainBreak(
        at,
        "tenants.historychainhead",
        None,
        f"link broken: the head is at {at} but {newest[1]} has a row at position {newest[0]} "
        "(the head was moved back)",
    )


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
