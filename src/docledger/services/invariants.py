"""The database's own invariants, for ``verify`` (and what ``verify --repair`` can fix from
the store itself).

The blob check asks "are the bytes right?"; these ask "do the rows agree with each other?":
a document's current version exists, a built-in extractor's segment hash is its text's hash,
a vector has its space's length, the full-text index holds exactly the indexed segments, and
the blob root holds no file no row names. Each finding says how many rows are affected, shows
a few, and whether it was repaired.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, exists, func, not_, select, update

from docledger.db.dialect import full_text_drift, full_text_rebuild
from docledger.db.dialects import dialect_of
from docledger.db.session import session_scope
from docledger.models import Blob as BlobRow
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Embedding as EmbeddingRow
from docledger.models import EmbeddingSpace as SpaceRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Segment as SegmentRow
from docledger.storage.base import BlobStore

_BATCH = 2000
_SHOWN = 5


@dataclass
class CheckResult:
    """One broken invariant: what, how many rows, a few of them, and whether it was fixed."""

    check: str
    count: int
    examples: list[str] = field(default_factory=list)
    repaired: bool = False
    hint: str = ""


def _current_versions(engine: Engine, repair: bool) -> CheckResult:
    has_current = exists().where(
        VersionRow.document_id == DocumentRow.id,
        VersionRow.version_number == DocumentRow.current_version,
    )
    has_any = exists().where(VersionRow.document_id == DocumentRow.id)
    broken = (DocumentRow.current_version.is_not(None) & not_(has_current)) | (
        DocumentRow.current_version.is_(None) & has_any
    )
    with session_scope(engine, readonly=not repair) as session:
        ids = list(session.scalars(select(DocumentRow.id).where(broken)))
        if repair and ids:
            newest = (
                select(func.max(VersionRow.version_number))
                .where(VersionRow.document_id == DocumentRow.id)
                .scalar_subquery()
            )
            for part in range(0, len(ids), 500):
                session.execute(
                    update(DocumentRow)
                    .where(DocumentRow.id.in_(ids[part : part + 500]))
                    .values(current_version=newest)
                )
    return CheckResult(
        "documents whose current version does not exist",
        len(ids),
        [str(i) for i in ids[:_SHOWN]],
        repaired=repair and bool(ids),
        hint="repair points them at their newest version",
    )


def _segment_hashes(engine: Engine, repair: bool, builtin: set[str]) -> CheckResult:
    """Segments of docledger's own extractors, whose hash is always their text's."""
    bad: list[tuple[Any, str]] = []
    last: Any = None
    while True:
        with session_scope(engine, readonly=True) as session:
            stmt = (
                select(SegmentRow.id, SegmentRow.text, SegmentRow.content_hash)
                .join(ExtractionRow, ExtractionRow.id == SegmentRow.extraction_id)
                .where(ExtractionRow.extractor.in_(sorted(builtin)), SegmentRow.text.is_not(None))
                .order_by(SegmentRow.id)
                .limit(_BATCH)
            )
            if last is not None:
                stmt = stmt.where(SegmentRow.id > last)
            rows = session.execute(stmt).all()
        if not rows:
            break
        last = rows[-1][0]
        for sid, text, digest in rows:
            want = hashlib.sha256((text or "").encode()).hexdigest()
            if digest != want:
                bad.append((sid, want))
    if repair and bad:
        with session_scope(engine) as session:
            table: Table = SegmentRow.__table__  # type: ignore[assignment]
            session.execute(  # one executemany, not a statement per row
                update(table)
                .where(table.c.id == bindparam("sid"))
                .values(content_hash=bindparam("want")),
                [{"sid": sid, "want": want} for sid, want in bad],
            )
    return CheckResult(
        "segments whose content hash is not their text's",
        len(bad),
        [str(sid) for sid, _ in bad[:_SHOWN]],
        repaired=repair and bool(bad),
        hint="repair recomputes the hash from the text",
    )


def _embeddings(engine: Engine, repair: bool) -> CheckResult:
    wrong_length = and_(
        EmbeddingRow.vector.is_not(None),
        func.length(EmbeddingRow.vector) != SpaceRow.dimensions * 4,
    )
    wrong_tenant = exists().where(
        SegmentRow.id == EmbeddingRow.segment_id,
        SegmentRow.workspace_id != EmbeddingRow.workspace_id,
    )
    with session_scope(engine, readonly=not repair) as session:
        rows = session.execute(
            select(EmbeddingRow.id, EmbeddingRow.space_id)
            .join(SpaceRow, SpaceRow.id == EmbeddingRow.space_id)
            .where(wrong_length | wrong_tenant)
        ).all()
        if repair and rows:
            from sqlalchemy import delete  # noqa: PLC0415

            ids = [r.id for r in rows]
            for part in range(0, len(ids), 500):
                session.execute(
                    delete(EmbeddingRow).where(EmbeddingRow.id.in_(ids[part : part + 500]))
                )
            session.execute(
                update(SpaceRow)
                .where(SpaceRow.id.in_({r.space_id for r in rows}))
                .values(
                    change_counter=SpaceRow.change_counter + 1,
                    removal_counter=SpaceRow.removal_counter + 1,
                )
            )
    return CheckResult(
        "embeddings that do not match their space or segment",
        len(rows),
        [str(r.id) for r in rows[:_SHOWN]],
        repaired=repair and bool(rows),
        hint="repair deletes them; `docledger embed` makes them again",
    )


def _full_text(engine: Engine, repair: bool) -> CheckResult:
    with session_scope(engine, readonly=True) as session:
        missing, extra = full_text_drift(session)
    if repair and (missing or extra):
        with session_scope(engine) as session:
            full_text_rebuild(session)
    return CheckResult(
        "full-text index entries missing or left over",
        missing + extra,
        [f"{missing} missing", f"{extra} left over"] if missing or extra else [],
        repaired=repair and bool(missing or extra),
        hint="repair rebuilds the index from the segments",
    )


def _vector_files(engine: Engine, repair: bool) -> CheckResult:
    """The files beside an SQLite database against its rows (none elsewhere)."""
    root = dialect_of(engine).vector_folder(engine.url)
    found: list[str] = []
    damaged: list[Path] = []
    if root is not None and root.exists():
        from docledger.services import vector_catchup as vc  # noqa: PLC0415
        from docledger.services import vector_files as vf  # noqa: PLC0415
        from docledger.services.search_scope import Space  # noqa: PLC0415

        inode = vf.database_inode(Path(str(engine.url.database)))
        with session_scope(engine, readonly=True) as session:
            for row in session.execute(select(SpaceRow)).scalars():
                space = Space(row.id, row.model, row.dimensions, row.metric,
                              row.change_counter, row.removal_counter)  # fmt: skip
                folder = vf.folder_of(root, row.id)
                wrong = vc.disagreements(session.connection(), folder, space, inode)
                found.extend(f"{row.name}: {w}" for w in wrong)
                if wrong:
                    damaged.append(folder)
    if repair:
        for folder in damaged:
            shutil.rmtree(folder, ignore_errors=True)
    return CheckResult(
        "vector files that disagree with the database",
        len(found),
        found[:_SHOWN],
        repaired=repair and bool(damaged),
        hint="repair removes them: the next search rebuilds them from the database",
    )


def _orphan_files(engine: Engine, store: BlobStore) -> CheckResult:
    orphans: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        with session_scope(engine, readonly=True) as session:
            known = set(session.scalars(select(BlobRow.sha256).where(BlobRow.sha256.in_(pending))))
        orphans.extend(sha for sha in pending if sha not in known)
        pending.clear()

    for sha in store.iter_shas():
        pending.append(sha)
        if len(pending) >= 500:
            flush()
    if pending:
        flush()
    return CheckResult(
        "blob files no row names",
        len(orphans),
        orphans[:_SHOWN],
        hint="garbage, not damage: `docledger gc` frees them",
    )


def check(
    engine: Engine,
    store: BlobStore,
    *,
    repair: bool = False,
    builtin_extractors: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[CheckResult]:
    """Every invariant; with ``repair``, fix what the store itself can fix."""
    if builtin_extractors is None:
        from docledger.extractors import available  # noqa: PLC0415

        builtin_extractors = set(available())
    checks: list[tuple[str, Callable[[], CheckResult]]] = [
        ("current versions", lambda: _current_versions(engine, repair)),
        ("segment hashes", lambda: _segment_hashes(engine, repair, builtin_extractors)),
        ("embeddings", lambda: _embeddings(engine, repair)),
        ("full-text index", lambda: _full_text(engine, repair)),
        ("vector files", lambda: _vector_files(engine, repair)),
        ("blob files", lambda: _orphan_files(engine, store)),
    ]
    found = []
    for name, run in checks:
        if progress is not None:
            progress(name)
        found.append(run())
    return found
