"""``docledger dump``: a whole store, or one workspace, as portable files (``services.portable``).

Every table is read in one snapshot (SQLite: one read transaction, which WAL keeps at one
moment while writers go on; PostgreSQL: one repeatable-read transaction), so the files agree
with each other. The blobs the dumped rows name are copied beside them under the blob guard,
as a backup does, and the manifest is written last: a folder without one is an unfinished
dump and ``load`` refuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.orm import Session

from docledger.db import ownership
from docledger.db.blob_guard import blob_guard
from docledger.db.dialects import dialect_of
from docledger.errors import InvalidInput
from docledger.repositories.workspace import WorkspaceRepository
from docledger.services import portable
from docledger.services.backup import _copy_blobs, docledger_version, revision_of
from docledger.services.portable import Progress
from docledger.storage.base import BlobStore
from docledger.storage.local import LocalBlobStore


@dataclass
class DumpReport:
    dest: Path
    workspace: str | None
    revision: str
    rows: dict[str, int]
    blobs: int
    blobs_copied: int
    seconds: float


class _TableFile:
    """One table's JSONL file, hashed and counted as it is written."""

    def __init__(self, folder: Path, table: Table) -> None:
        self.path = folder / f"{table.name}.jsonl"
        self.handle: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self.codecs = portable.encoders(table)
        self.digest = hashlib.sha256()
        self.rows = 0
        self.size = 0

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        data = "".join(portable.encode_line(row, self.codecs) for row in rows).encode()
        self.handle.write(data)
        self.digest.update(data)
        self.rows += len(rows)
        self.size += len(data)

    def close(self) -> dict[str, Any]:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return {"rows": self.rows, "bytes": self.size, "sha256": self.digest.hexdigest()}


def snapshot(engine: Engine) -> Connection:
    """A connection in one read snapshot of the whole database."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    else:
        conn = conn.execution_options(**dialect_of(engine).readonly_options())
    return conn


def stream(conn: Connection, table: Table, where: Any = None) -> Iterator[list[Any]]:
    """A table's rows in key order, in batches, through a server-side cursor."""
    query = select(*table.c).order_by(*table.primary_key.columns)
    if where is not None:
        query = query.where(where)
    result = conn.execution_options(yield_per=portable.BATCH).execute(query)
    try:
        for part in result.partitions():
            yield [tuple(row) for row in part]
    finally:
        result.close()


def dump(
    engine: Engine,
    store: BlobStore,
    dest: str | os.PathLike[str],
    *,
    workspace: str | None = None,
    progress: Progress | None = None,
) -> DumpReport:
    started = datetime.now(UTC)
    folder = Path(dest)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInput(f"{folder} is not an empty folder: dump into a new one")
    created = not folder.exists()
    try:
        # gc waits from before the snapshot: every blob it names is still there to copy
        with blob_guard(engine).writing(), snapshot(engine) as conn, conn.begin():
            (folder / portable.TABLES).mkdir(parents=True)
            revision = revision_of(conn)
            scope = None
            if workspace is not None:  # by slug or id, as every call names one
                with Session(bind=conn) as session:
                    scope = WorkspaceRepository(session).get(workspace).id
            files = _write_tables(conn, folder / portable.TABLES, scope, progress)
            blobs = _blob_keys(folder / portable.TABLES / "blobs.jsonl")
            into = LocalBlobStore(folder / portable.BLOBS, sync_each=False)
            copied, _ = _copy_blobs(store, into, blobs, None)
            into.sync()
    except BaseException:
        # nothing half-written left behind: the same folder takes the next attempt
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for part in (portable.TABLES, portable.BLOBS):
                shutil.rmtree(folder / part, ignore_errors=True)
        raise
    manifest = {
        "kind": portable.KIND,
        "format": portable.FORMAT,
        "docledger": docledger_version(),
        "dialect": engine.dialect.name,
        "revision": revision,
        "workspace": None if scope is None else str(scope),
        "created_at": started.isoformat(),
        "tables": files,
        "columns": {table.name: portable.columns_of(table) for table in portable.tables()},
        "blobs": dict(blobs),
    }
    temp = folder / (portable.MANIFEST + ".part")
    temp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(temp, folder / portable.MANIFEST)
    seconds = (datetime.now(UTC) - started).total_seconds()
    rows = {name: int(entry["rows"]) for name, entry in files.items()}
    return DumpReport(folder, workspace, revision, rows, len(blobs), copied, seconds)


def _blob_keys(path: Path) -> list[tuple[str, int]]:
    codecs = portable.decoders(portable.table_named("blobs"))
    names = [c.name for c in portable.table_named("blobs").c]
    sha, size = names.index("sha256"), names.index("size_bytes")
    with open(path, encoding="utf-8") as handle:
        rows = [portable.decode_line(line, codecs, str(path)) for line in handle]
    return sorted((str(row[sha]), int(row[size])) for row in rows)


def _write_tables(
    conn: Connection, folder: Path, scope: Any, progress: Progress | None
) -> dict[str, dict[str, Any]]:
    """Every table's rows (or the workspace's and, from shared tables, what they name)."""
    files = {table.name: _TableFile(folder, table) for table in portable.tables()}
    try:
        filters = portable.workspace_filters(scope) if scope is not None else None
        wanted: dict[str, set[Any]] = {}
        have: dict[str, set[Any]] = {}
        for table in portable.tables():
            where = None
            if filters is not None:
                if table.name not in filters:
                    continue
                where = filters[table.name]
            for rows in stream(conn, table, where):
                files[table.name].write(rows)
                if filters is not None:
                    _note(table, rows, wanted, have)
                if progress is not None:
                    progress(len(rows))
        if filters is not None:
            _write_referenced(conn, files, wanted, have, progress)
        return {name: entry.close() for name, entry in files.items()}
    except BaseException:
        for entry in files.values():
            entry.handle.close()
        raise


def _note(
    table: Table,
    rows: Sequence[Sequence[Any]],
    wanted: dict[str, set[Any]],
    have: dict[str, set[Any]],
) -> None:
    """Remember the shared rows these rows name, and which shared rows are already written."""
    if ownership.shared(table):
        key = [c.name for c in table.c].index(next(iter(table.primary_key.columns)).name)
        have.setdefault(table.name, set()).update(row[key] for row in rows)
    for position, parent in portable.references(table):
        values = {row[position] for row in rows if row[position] is not None}
        if values:
            wanted.setdefault(parent.name, set()).update(values)


def _write_referenced(
    conn: Connection,
    files: dict[str, _TableFile],
    wanted: dict[str, set[Any]],
    have: dict[str, set[Any]],
    progress: Progress | None,
) -> None:
    """Rows of shared tables that dumped rows name, until nothing new is named (a run of no
    workspace names its parent run, a model its artifact blob)."""
    while True:
        missing = {
            name: keys - have.get(name, set())
            for name, keys in wanted.items()
            if keys - have.get(name, set())
        }
        if not missing:
            return
        for name, keys in missing.items():
            table = portable.table_named(name)
            key = next(iter(table.primary_key.columns))
            ordered = sorted(keys, key=str)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                rows = [tuple(row) for row in conn.execute(select(*table.c).where(key.in_(chunk)))]
                if "workspace_id" in table.c:
                    position = [c.name for c in table.c].index("workspace_id")
                    foreign = [row for row in rows if row[position] is not None]
                    if foreign:
                        raise InvalidInput(
                            f"rows of this workspace name {name} of another workspace "
                            f"({foreign[0][0]}): the workspace cannot be dumped on its own"
                        )
                files[name].write(rows)
                have.setdefault(name, set()).update(chunk)
                _note(table, rows, wanted, have)
                if progress is not None:
                    progress(len(rows))
