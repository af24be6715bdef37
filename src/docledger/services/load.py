"""``docledger load`` and ``docledger move``: portable rows into a store of either dialect.

A load checks everything before it writes: the manifest, the schema revision (a dump loads
into a store at the same revision), every table file against its row count and SHA-256, every
blob against its hash. Then the blobs go in (content-addressed: harmless if the load fails
later) and every row goes in within one transaction, parents before children, so a failure
leaves the target's rows as they were. The derived structures are rebuilt in that same
transaction: the full-text index for the loaded extractions, and on a PostgreSQL with
pgvector the vector copies and the per-space HNSW indexes.

``move`` is a load whose rows stream straight from another store's snapshot (no files), and
whose blobs are copied store to store.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, text

from docledger.db import vector_index
from docledger.db.blob_guard import blob_guard
from docledger.db.dialect import full_text_defer, full_text_load, refresh_statistics
from docledger.db.session import session_scope
from docledger.errors import BlobCorrupt, InvalidInput
from docledger.repositories.store_rows import StoreRowsRepository
from docledger.services import portable, schema
from docledger.services.backup import check_blobs
from docledger.services.dump import dump, snapshot, stream
from docledger.services.portable import Progress
from docledger.storage.base import BlobStore
from docledger.storage.local import LocalBlobStore

RowSource = Callable[[Table], Iterator[Sequence[Any]]]


@dataclass
class LoadReport:
    source: str
    revision: str
    rows: dict[str, int]
    inserted: dict[str, int]
    blobs: int
    blobs_copied: int
    seconds: float
    problems: list[str] = field(default_factory=list)
    #: seconds per step: rows, full_text, vectors, commit, statistics
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Rows the target already held (merged by id)."""
        return sum(self.rows.values()) - sum(self.inserted.values())


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / portable.MANIFEST
    if not path.is_file():
        raise InvalidInput(f"{folder} is not a docledger dump (no {portable.MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc}") from exc
    if (
        not isinstance(manifest, dict)
        or manifest.get("kind") != portable.KIND
        or manifest.get("format") != portable.FORMAT
    ):
        raise InvalidInput(f"{path} is not a dump manifest this docledger reads")
    if not _well_formed(manifest):
        raise InvalidInput(f"{path} is damaged: its tables, columns or blobs are not as written")
    return manifest


def _well_formed(manifest: dict[str, Any]) -> bool:
    """The shape ``dump`` writes, so a hand-edited manifest fails here, not halfway."""
    tables, columns, blobs = manifest.get("tables"), manifest.get("columns"), manifest.get("blobs")
    if not isinstance(manifest.get("revision"), str):
        return False
    if not isinstance(tables, dict) or not isinstance(columns, dict) or not isinstance(blobs, dict):
        return False
    for entry in tables.values():
        if not isinstance(entry, dict):
            return False
        rows, digest = entry.get("rows"), entry.get("sha256")
        if not isinstance(rows, int) or isinstance(rows, bool) or not isinstance(digest, str):
            return False
    return all(
        isinstance(sha, str) and isinstance(size, int) and not isinstance(size, bool)
        for sha, size in blobs.items()
    )


def _target_revision(engine: Engine) -> str:
    return schema.schema_state(engine).current or ""


def _check_schema(manifest: dict[str, Any], revision: str) -> None:
    if manifest.get("revision") != revision:
        raise InvalidInput(
            f"the dump is at schema revision {manifest.get('revision')} and the target at "
            f"{revision}: bring both to the same revision (docledger db upgrade) first"
        )
    for table in portable.tables():
        if manifest["columns"].get(table.name) != portable.columns_of(table):
            raise InvalidInput(f"the dump's columns of {table.name} differ from this schema")


def check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every table file whole (row count, SHA-256) and every blob there with its hash."""
    for name, entry in manifest["tables"].items():
        portable.table_named(name)
        path = folder / portable.TABLES / f"{name}.jsonl"
        if not path.is_file():
            raise InvalidInput(f"the dump has no table file {name}.jsonl")
        digest = hashlib.sha256()
        lines = 0
        with open(path, "rb") as handle:
            for line in handle:
                digest.update(line)
                lines += 1
        if lines != entry["rows"] or digest.hexdigest() != entry["sha256"]:
            raise InvalidInput(
                f"the dump's {name}.jsonl is damaged: {lines} rows where the manifest lists "
                f"{entry['rows']}, or its content changed"
            )
    check_blobs(LocalBlobStore(folder / portable.BLOBS), manifest["blobs"], "dump")


def _file_rows(folder: Path) -> RowSource:
    def rows(table: Table) -> Iterator[Sequence[Any]]:
        path = folder / portable.TABLES / f"{table.name}.jsonl"
        if not path.is_file():
            return
        codecs = portable.decoders(table)
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                yield portable.decode_line(line, codecs, f"{table.name}.jsonl line {number}")

    return rows


def _copy_blobs(source: BlobStore, target: BlobStore, shas: Sequence[str]) -> int:
    """Blobs the target lacks, made durable at once before any row names them."""
    into = target.bulk() if isinstance(target, LocalBlobStore) else target
    copied = _copy_each(source, into, shas)
    if isinstance(into, LocalBlobStore):
        into.sync()
    return copied


def _copy_each(source: BlobStore, target: BlobStore, shas: Sequence[str]) -> int:
    copied = 0
    for sha in shas:
        if target.exists(sha):
            continue
        with source.open(sha) as handle:
            stored = target.put_stream(handle)
        if stored.sha256 != sha:
            raise BlobCorrupt(f"blob {sha} read back as {stored.sha256}")
        copied += 1
    return copied


def load(
    source: str | os.PathLike[str],
    engine: Engine,
    store: BlobStore,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    started = datetime.now(UTC)
    folder = Path(source)
    manifest = read_manifest(folder)
    _check_schema(manifest, _target_revision(engine))
    check_files(folder, manifest)
    copied = _copy_blobs(LocalBlobStore(folder / portable.BLOBS), store, list(manifest["blobs"]))
    rows = {name: int(entry["rows"]) for name, entry in manifest["tables"].items()}
    phases: dict[str, float] = {}
    inserted = write_rows(engine, _file_rows(folder), progress, phases)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return LoadReport(
        str(folder),
        manifest["revision"],
        rows,
        inserted,
        len(manifest["blobs"]),
        copied,
        seconds,
        phases=phases,
    )


def move(
    engine: Engine,
    store: BlobStore,
    target: Engine,
    target_store: BlobStore,
    *,
    workspace: str | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """This store (or one workspace of it) into ``target``, through a temporary dump folder
    when a workspace is chosen (its rows are picked by reference), straight otherwise."""
    started = datetime.now(UTC)
    if _where(engine) == _where(target):
        raise InvalidInput("the target is this store: move into another database")
    revision = _target_revision(engine)
    if _target_revision(target) != revision:
        raise InvalidInput(
            f"the target is at another schema revision than {revision}: upgrade both first"
        )
    if workspace is not None:
        with tempfile.TemporaryDirectory(prefix="docledger-move-") as temp:
            dump(engine, store, Path(temp) / "dump", workspace=workspace)
            report = load(Path(temp) / "dump", target, target_store, progress=progress)
        report.source = str(engine.url.render_as_string(hide_password=True))
        return report
    # gc waits from before the snapshot: every blob it names is still there to copy
    with blob_guard(engine).writing(), snapshot(engine) as conn, conn.begin():
        rows = _counts(conn)
        blob_rows = conn.execute(text("SELECT sha256 FROM blobs ORDER BY sha256")).all()
        shas = [str(row[0]) for row in blob_rows]
        copied = _copy_blobs(store, target_store, shas)

        # SQLite to PostgreSQL: SQLite's stored forms (UUIDs as 32 hex digits, UTC timestamps
        # as text, JSON as text, vectors as bytes) are what PostgreSQL's COPY reads into
        # uuid, timestamptz (the load runs in UTC), jsonb and bytea: no Python value is made
        # per field on the way. Other pairs go through the Python values.
        raw = engine.dialect.name == "sqlite" and target.dialect.name == "postgresql"

        def source_rows(table: Table) -> Iterator[Sequence[Any]]:
            if raw:
                yield from _sqlite_rows(conn, table)
                return
            for part in stream(conn, table):
                yield from part

        phases: dict[str, float] = {}
        inserted = write_rows(target, source_rows, progress, phases, driver_form=raw)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return LoadReport(
        engine.url.render_as_string(hide_password=True),
        revision,
        rows,
        inserted,
        len(shas),
        copied,
        seconds,
        phases=phases,
    )


def _sqlite_rows(conn: Any, table: Table) -> Iterator[Sequence[Any]]:
    """A table's rows as SQLite stores them, read in the snapshot's transaction."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        columns = ", ".join(f'"{c.name}"' for c in table.c)
        keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        cursor.execute(f"SELECT {columns} FROM {table.name} ORDER BY {keys}")
        while part := cursor.fetchmany(portable.BATCH):
            yield from part
    finally:
        cursor.close()


def _where(engine: Engine) -> tuple[Any, ...]:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return ("sqlite", os.path.realpath(url.database or ""))
    return (url.get_backend_name(), url.host, url.port or 5432, url.database)


def _counts(conn: Any) -> dict[str, int]:
    from docledger.db.dialect import table_row_counts  # noqa: PLC0415

    return table_row_counts(conn, [table.name for table in portable.tables()])


def write_rows(
    engine: Engine,
    source: RowSource,
    progress: Progress | None,
    phases: dict[str, float] | None = None,
    *,
    driver_form: bool = False,
) -> dict[str, int]:
    """Every table's rows in one transaction, then the derived indexes; ``phases`` gets the
    seconds each step took (rows, full_text, vectors, statistics)."""
    clock = _Clock(phases)
    inserted: dict[str, int] = {}
    extractions: list[Any] = []
    spaces_before: set[Any] = set()
    space_map: dict[Any, Any] = {}
    with session_scope(engine) as session:
        repo = StoreRowsRepository(session)
        repo.begin_load()
        for table in portable.tables():
            rows: Iterator[Sequence[Any]] = source(table)
            names = [c.name for c in table.c]
            if table.name == "workspaces":
                incoming = list(rows)
                at_id, at_slug = names.index("id"), names.index("slug")
                repo.free_workspace_slugs([(row[at_id], row[at_slug]) for row in incoming])
                rows = iter(incoming)
            elif table.name == "embedding_spaces":
                spaces = [dict(zip(names, row, strict=True)) for row in rows]
                space_map = repo.same_spaces(spaces)
                kept = [space for space in spaces if space["id"] not in space_map]
                rows = iter([tuple(space[name] for name in names) for space in kept])
            elif table.name == "embeddings" and space_map:
                rows = _renamed(rows, names.index("space_id"), space_map)
            elif table.name == "extractions":
                rows = _remember(rows, extractions, names.index("id"))
            inserted[table.name] = repo.insert(table, rows, progress, driver_form=driver_form)
            if table.name == "embedding_spaces":
                spaces_before = repo.pre_existing.get(table.name, set()) | set(space_map.values())
        repo.reset_sequences(portable.tables())
        clock.lap("rows")
        if extractions:
            full_text_defer(session, extractions)
            full_text_load(session)
        clock.lap("full_text")
        if inserted.get("embeddings"):
            repo.bump_spaces(spaces_before)
            conn = session.connection()
            if vector_index.present(conn):
                vector_index.enable(conn)  # copies every new vector, builds missing indexes
        clock.lap("vectors")
    clock.lap("commit")
    refresh_statistics(engine, [name for name, count in inserted.items() if count])
    clock.lap("statistics")
    return inserted


class _Clock:
    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.into is not None:
            self.into[name] = round(now - self.last, 3)
        self.last = now


def _renamed(
    rows: Iterator[Sequence[Any]], at: int, mapping: dict[Any, Any]
) -> Iterator[Sequence[Any]]:
    for row in rows:
        yield [*row[:at], mapping[row[at]], *row[at + 1 :]] if row[at] in mapping else row


def _remember(rows: Iterator[Sequence[Any]], into: list[Any], at: int) -> Iterator[Sequence[Any]]:
    for row in rows:
        into.append(row[at])
        yield row
