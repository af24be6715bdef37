"""The portable dump format: one JSONL file per table, the blobs, and a manifest.

A dump is independent of the database it came from, so a store moves between SQLite and
PostgreSQL through it (``docledger dump`` / ``load`` / ``move``). Each line of
``tables/<table>.jsonl`` is a JSON array of one row's values in the manifest's column order.
Values are written in their Python form, encoded so that they come back identical on either
dialect: UUIDs as text, timestamps as ISO 8601 with their UTC offset (microseconds kept), bytes
(the float32 vectors among them) as base64, so a vector is the same bits after any number of
moves, JSON as JSON. The manifest names every file with its row count and SHA-256, so a
truncated or edited table file is caught before anything is written.

Which rows a workspace dump holds is decided here too (``workspace_filters``): the rows that
carry the workspace's id, the rows hanging off those (an annotation's events, a run's metric
chunks), and, from the tables every workspace shares (users, blobs, embedding spaces, runs of
no workspace), only the rows the dumped ones refer to.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, LargeBinary, Table, Uuid, select

from docledger.db import ownership
from docledger.db.base import Base
from docledger.db.bounds import Checked
from docledger.db.types import UTCDateTime
from docledger.errors import InvalidInput

MANIFEST = "manifest.json"
TABLES = "tables"
BLOBS = "blobs"
KIND = "docledger-dump"
FORMAT = 1
#: rows per write batch (and per read from a live source)
BATCH = 5000

Progress = Callable[[int], None]
Encoder = Callable[[Any], Any]


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return ownership.tables()


def table_named(name: str) -> Table:
    found = Base.metadata.tables.get(name)
    if found is None:
        raise InvalidInput(f"the dump names a table this docledger does not have: {name!r}")
    return found


def column_kind(column: Any) -> str:
    """How a column's values are written: uuid, datetime, bytes, json or plain."""
    type_ = column.type
    if isinstance(type_, Checked):
        type_ = type_.inner
    if isinstance(type_, Uuid):
        return "uuid"
    if isinstance(type_, UTCDateTime):
        return "datetime"
    if isinstance(type_, LargeBinary):
        return "bytes"
    if isinstance(type_, JSON):
        return "json"
    return "plain"


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


_ENCODERS: dict[str, Encoder] = {
    "uuid": str,
    "datetime": datetime.isoformat,
    "bytes": _encode_bytes,
}


def _decode_uuid(value: str) -> Any:
    import uuid  # noqa: PLC0415 - the module is tiny; kept beside its one use

    return uuid.UUID(value)


def _decode_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise InvalidInput(f"a dump timestamp without a UTC offset: {value!r}")
    return parsed


_DECODERS: dict[str, Encoder] = {
    "uuid": _decode_uuid,
    "datetime": _decode_datetime,
    "bytes": base64.b64decode,
}


def encoders(table: Table) -> list[Encoder | None]:
    return [_ENCODERS.get(column_kind(column)) for column in table.c]


def decoders(table: Table) -> list[Encoder | None]:
    return [_DECODERS.get(column_kind(column)) for column in table.c]


def encode_line(row: Iterable[Any], codecs: list[Encoder | None]) -> str:
    values = [
        value if codec is None or value is None else codec(value)
        for value, codec in zip(row, codecs, strict=True)
    ]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n"


def decode_line(line: str, codecs: list[Encoder | None], where: str) -> list[Any]:
    try:
        values = json.loads(line)
    except ValueError as exc:
        raise InvalidInput(f"{where} is not a JSON row: {exc}") from exc
    if not isinstance(values, list) or len(values) != len(codecs):
        raise InvalidInput(f"{where} does not hold {len(codecs)} values")
    try:
        return [
            value if codec is None or value is None else codec(value)
            for value, codec in zip(values, codecs, strict=True)
        ]
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{where} holds a value of the wrong kind: {exc}") from exc


def columns_of(table: Table) -> list[list[str]]:
    """What the manifest records of a table's columns (name, kind), checked on load."""
    return [[column.name, column_kind(column)] for column in table.c]


# -- which rows a workspace dump holds --------------------------------------------------------


def workspace_filters(workspace_id: Any) -> dict[str, ColumnElement[bool]]:
    """The WHERE clause of every table's rows owned by one workspace (tables every workspace
    shares are absent: their rows come along by reference, see ``references``)."""
    filters: dict[str, ColumnElement[bool]] = {}
    for table in tables():
        if table.name == "workspaces":
            filters[table.name] = table.c.id == workspace_id
        elif "workspace_id" in table.c:
            filters[table.name] = table.c.workspace_id == workspace_id
        elif (owner := ownership.owner_key(table)) is not None:
            column, parent = owner
            key = next(iter(parent.primary_key.columns))
            filters[table.name] = column.in_(select(key).where(filters[parent.name]))
    return filters


def references(table: Table) -> list[tuple[int, Table]]:
    """(column position, referred table) of every key to a table whose rows are shared."""
    positions = {column.name: index for index, column in enumerate(table.c)}
    found = []
    for fk in table.foreign_keys:
        parent = fk.column.table
        if ownership.shared(parent) and fk.column is next(iter(parent.primary_key.columns)):
            found.append((positions[fk.parent.name], parent))
    return found


def batched(rows: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
