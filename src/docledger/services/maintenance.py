"""fsck for the store: ``verify`` checks rows against bytes, ``gc`` frees what nothing uses.

gc never races an ingest into a dangling row: writers hold the blob guard shared from their
first put until the rows naming the bytes commit, and gc deletes only while holding it
exclusive (``docledger.db.blob_guard``); the foreign keys (ON DELETE RESTRICT) refuse to
delete a blob row that is still named.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, exists, func, not_, select

from docledger.db.base import Base
from docledger.db.blob_guard import blob_guard
from docledger.db.session import session_scope
from docledger.db.types import utcnow
from docledger.errors import BlobCorrupt, InvalidInput, NotFound
from docledger.models import Blob as BlobRow
from docledger.storage.base import CHUNK, BlobStore

DEFAULT_GRACE_S = 3600.0
_BATCH = 500

Progress = Callable[[int], None]


@dataclass
class VerifyReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


@dataclass
class GcReport:
    dry_run: bool
    temp_files: int = 0
    unreferenced_rows: int = 0
    deleted_blobs: int = 0
    orphan_files: int = 0
    bytes_freed: int = 0


def _blob_rows(engine: Engine) -> Iterator[list[Any]]:
    last = ""
    while True:
        with session_scope(engine, readonly=True) as session:
            rows = list(
                session.execute(
                    select(BlobRow.sha256, BlobRow.size_bytes)
                    .where(BlobRow.sha256 > last)
                    .order_by(BlobRow.sha256)
                    .limit(_BATCH)
                )
            )
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def count_blob_rows(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(BlobRow)) or 0)


def verify(engine: Engine, store: BlobStore, progress: Progress | None = None) -> VerifyReport:
    """Re-hash every blob a row names; report the missing and the corrupt ones."""
    report = VerifyReport()
    for rows in _blob_rows(engine):
        for sha, size in rows:
            report.checked += 1
            try:
                handle = store.open(sha)
            except NotFound:
                report.missing.append(sha)
                continue
            digest = hashlib.sha256()
            seen = 0
            try:
                with handle:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
                        seen += len(chunk)
            except BlobCorrupt:
                pass  # the digest below says so too
            if digest.hexdigest() != sha or seen != size:
                report.corrupt.append(sha)
            if progress:
                progress(1)
    return report


def _referenced(sha_column: Any) -> list[ColumnElement[bool]]:
    """SQL: some row of some table points at this blob (derived from the foreign keys, so a
    new table that references blobs is covered without touching gc)."""
    return [
        exists().where(fk.parent == sha_column)
        for table in Base.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.table.name == "blobs"
    ]


def gc(
    engine: Engine, store: BlobStore, *, dry_run: bool = False, grace_s: float = DEFAULT_GRACE_S
) -> GcReport:
    """Delete temp files, unreferenced blobs and orphan files older than ``grace_s`` seconds.

    Every deletion happens inside the blob guard's exclusive section (``db.blob_guard``), so
    no writer is between storing bytes and committing the row that names them: the grace
    period is a policy (keep recent garbage a while), not what keeps data safe."""
    if not isinstance(grace_s, int | float) or isinstance(grace_s, bool):
        raise InvalidInput("the grace period is a number of seconds")
    if not 0 <= grace_s < 10**10:  # NaN and infinity fail this too
        raise InvalidInput("the grace period is a finite number of seconds, 0 or more")
    report = GcReport(dry_run=dry_run)
    guard = blob_guard(engine)
    cutoff = utcnow() - timedelta(seconds=grace_s)
    refs = _referenced(BlobRow.sha256)
    unreferenced = and_(BlobRow.created_at <= cutoff, *(not_(r) for r in refs))
    if dry_run:
        with session_scope(engine, readonly=True) as session:
            count, size = session.execute(
                select(func.count(), func.coalesce(func.sum(BlobRow.size_bytes), 0)).where(
                    unreferenced
                )
            ).one()
        report.unreferenced_rows, report.bytes_freed = int(count), int(size)
    else:
        with guard.collecting():  # no put is in flight: every temp file is abandoned
            report.temp_files = store.clean_temp(older_than_s=grace_s)
    while not dry_run:
        with guard.collecting():
            with session_scope(engine) as session:
                chosen = list(
                    session.scalars(select(BlobRow.sha256).where(unreferenced).limit(_BATCH))
                )
                # RETURNING: exactly the rows deleted (one still named is left alone)
                batch = (
                    list(
                        session.execute(
                            delete(BlobRow)
                            .where(BlobRow.sha256.in_(chosen), unreferenced)
                            .returning(BlobRow.sha256, BlobRow.size_bytes)
                        )
                    )
                    if chosen
                    else []
                )
            if not chosen:
                break
            report.unreferenced_rows += len(batch)
            # the rows are gone and no writer can name the bytes again before we let go
            for sha, size in batch:
                if store.delete(sha):
                    report.deleted_blobs += 1
                    report.bytes_freed += size
    # Files with no row at all (a put whose transaction never committed).
    pending: list[str] = []

    def flush(shas: list[str]) -> None:
        with contextlib.ExitStack() as stack:
            if not dry_run:
                stack.enter_context(guard.collecting())
            with session_scope(engine, readonly=True) as session:
                known = set(session.scalars(select(BlobRow.sha256).where(BlobRow.sha256.in_(shas))))
            for sha in shas:
                if sha in known:
                    continue
                size = store.size(sha)
                if size is None:
                    continue
                if dry_run or store.delete(sha, older_than_s=grace_s):
                    report.orphan_files += 1
                    report.bytes_freed += size

    for sha in store.iter_shas():
        pending.append(sha)
        if len(pending) >= _BATCH:
            flush(pending)
            pending = []
    if pending:
        flush(pending)
    return report
