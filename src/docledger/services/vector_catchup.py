"""Keeping a space's vector files current: catch-up, rescan, compaction, the writer lock.

See ``docledger.services.vector_files`` for the layout and the rules. Only one process writes a
space's files at a time (``writing``, an exclusive ``flock`` on ``<space>/lock``); readers
never wait for it, since every state a writer commits is complete before ``meta.json`` names it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from docledger.services.vector_files import (
    CODED,
    COLUMNS,
    DATA,
    Meta,
    VectorFiles,
    ahead,
    behind,
    hex_of,
    matches,
    sync,
    width,
)
from docledger.services.vector_matrix import Codes

log = logging.getLogger(__name__)

#: rows fetched from the database per statement while catching up
FETCH = 20_000
#: rows one catch-up appends from which it fsyncs its state (smaller ones are caught up
#: again from the database after a crash of the machine)
DURABLE_ROWS = 10_000
#: share of tombstoned rows above which the live rows move to a new generation
COMPACT_ABOVE = 0.33

_ROWS = text(
    """SELECT e.segment_id, e.vector, s.workspace_id, v.document_id, s.kind, s.label,
              s.extraction_id, s.page_number
       FROM embeddings e JOIN segments s ON s.id = e.segment_id
       JOIN document_versions v ON v.id = s.version_id
       WHERE e.space_id = :space AND e.vector IS NOT NULL AND e.seq > :after
       ORDER BY e.seq, e.id"""
)
_BY_IDS = """SELECT e.segment_id, e.vector, s.workspace_id, v.document_id, s.kind, s.label,
                    s.extraction_id, s.page_number
             FROM embeddings e JOIN segments s ON s.id = e.segment_id
             JOIN document_versions v ON v.id = s.version_id
             WHERE e.space_id = :space AND e.vector IS NOT NULL AND e.segment_id IN ({marks})"""
_IDS = text("SELECT segment_id FROM embeddings WHERE space_id = :space AND vector IS NOT NULL")


@contextlib.contextmanager
def writing(folder: Path) -> Iterator[None]:
    """One writer per space at a time, across processes (readers never wait)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _Writer:
    """Appends to one generation's files; ``commit`` makes the new state visible."""

    def __init__(self, folder: Path, meta: Meta, space: Any) -> None:
        self.folder, self.meta, self.space = folder, meta, space
        self.gen = folder / f"gen-{meta.generation}"
        self.gen.mkdir(parents=True, exist_ok=True)
        n = meta.rows
        self.handles = {}
        for name in DATA:
            path = self.gen / name
            fh = open(path, "r+b" if path.exists() else "w+b")  # noqa: SIM115
            fh.truncate(n * width(name, space.dimensions))  # past the last commit: a killed
            fh.seek(n * width(name, space.dimensions))  # writer's leftovers
            self.handles[name] = fh
        stored = (
            json.loads((self.gen / meta.codes).read_text())
            if (self.gen / meta.codes).exists()
            else {name: [] for name in CODED}
        )
        self.codes = {name: Codes({v: i for i, v in enumerate(stored[name])}) for name in CODED}
        self.counts = {
            name: np.asarray(stored.get("counts", {}).get(name, []), dtype=np.int64)
            for name in COLUMNS
        }
        self.dead = (
            np.fromfile(self.gen / meta.dead, dtype=np.bool_, count=n)
            if meta.dead is not None
            else np.zeros(n, dtype=np.bool_)
        )
        self.added = 0
        self._ids: np.ndarray[Any, Any] | None = None

    def _count(self, table: dict[str, np.ndarray[Any, Any]], sign: int) -> None:
        for name, column in table.items():
            seen = np.bincount(column + 1 if name == "page" else column)
            have = self.counts[name]
            if len(have) < len(seen):
                have = np.concatenate([have, np.zeros(len(seen) - len(have), dtype=np.int64)])
            have[: len(seen)] += sign * seen
            self.counts[name] = have

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows as the SQL above returns them, from SQLite (ids as hex text)."""
        d = self.space.dimensions
        # a vector of another length (damage `verify` reports and repairs) is left out
        rows = [r for r in rows if len(r[1]) == d * 4]
        if not rows:
            return
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(-1, d).copy()
        if self.space.metric == "cosine":
            norms = np.linalg.norm(vectors, axis=1)
            vectors /= np.where(norms > 0, norms, 1.0)[:, None]
        table = {  # the SQL's columns 2..6 are the coded ones, in COLUMNS order
            name: self.codes[name].encode([r[2 + i] for r in rows]) for i, name in enumerate(CODED)
        }
        table["page"] = np.array([-1 if r[7] is None else r[7] for r in rows], dtype=np.int32)
        self.handles["vectors.f32"].write(vectors.astype("<f4").tobytes())
        self.handles["ids.bin"].write(b"".join(bytes.fromhex(hex_of(r[0])) for r in rows))
        for name, column in table.items():
            self.handles[f"col-{name}.i32"].write(column.astype("<i4").tobytes())
        self._count(table, +1)
        self.dead = np.concatenate([self.dead, np.zeros(len(rows), dtype=np.bool_)])
        self._ids = None
        self.added += len(rows)

    def ids(self) -> np.ndarray[Any, Any]:
        """Every row's id as 16-byte strings (rows appended so far included)."""
        if self._ids is None:
            fh = self.handles["ids.bin"]
            fh.flush()
            count = self.meta.rows + self.added
            raw = np.fromfile(self.gen / "ids.bin", dtype=np.uint8, count=count * 16)
            self._ids = raw.view("S16") if count else np.zeros(0, dtype="S16")
        return self._ids

    def kill(self, hex_ids: Sequence[str]) -> int:
        """Tombstone the live rows of these segments; returns how many."""
        if not hex_ids:
            return 0
        wanted = np.array([bytes.fromhex(h) for h in hex_ids], dtype="S16")
        hit = np.flatnonzero(np.isin(self.ids(), wanted) & ~self.dead)
        if len(hit):
            table = {}
            for name in COLUMNS:
                fh = self.handles[f"col-{name}.i32"]
                fh.flush()
                column = np.fromfile(self.gen / f"col-{name}.i32", dtype="<i4")
                table[name] = column[hit]
            self._count(table, -1)
        self.dead[hit] = True
        return len(hit)

    def commit(self, counter: int, removals: int) -> Meta:
        """Make the appended rows and tombstones the current state. Small catch-ups are not
        fsynced (a dozen fsyncs cost a search after every write 80 ms): a process killed
        after this keeps them (page cache), a machine that crashes falls back to the last
        durable state and catches up again from the database."""
        durable = self.meta.rows == 0 or self.added >= DURABLE_ROWS
        for fh in self.handles.values():
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
            fh.close()
        rows = self.meta.rows + self.added
        stamp = f"{counter}-{removals}-{rows}"
        codes = f"codes-{stamp}.json"
        with open(self.gen / codes, "w") as out:
            json.dump(
                {
                    **{name: list(self.codes[name].values) for name in CODED},
                    "counts": {name: self.counts[name].tolist() for name in COLUMNS},
                },
                out,
            )
        dead = None
        if self.dead.any():
            dead = f"dead-{stamp}.bin"
            with open(self.gen / dead, "wb") as raw:
                raw.write(self.dead.tobytes())
        if durable:
            sync([self.gen / codes, *([self.gen / dead] if dead else [])])
        meta = Meta(**{**self.meta.__dict__})
        meta.counter, meta.removals, meta.rows = counter, removals, rows
        meta.codes, meta.dead = codes, dead
        meta.write(self.folder, durable=durable)
        self.meta = meta
        _tidy(self.folder, meta)
        return meta


def _tidy(folder: Path, meta: Meta) -> None:
    """Files neither the current nor the durable state names (open maps of other processes
    keep their inodes)."""
    fallback = Meta._load(folder / "durable.json")
    states = [meta] + ([fallback] if fallback is not None else [])
    keep = {*DATA} | {n for st in states for n in (st.codes, st.dead, st.index) if n}
    generations = {f"gen-{st.generation}" for st in states}
    for gen in folder.glob("gen-*"):
        if gen.name not in generations:
            shutil.rmtree(gen, ignore_errors=True)
            continue
        for path in gen.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)


def catch_up(session: Any, folder: Path, space: Any, inode: int, *, rebuild: bool = False) -> Meta:
    """Bring the files to the space's counters under the writer lock, reading the database
    in ``session``'s snapshot; returns the state (a newer one another process wrote meanwhile
    is returned as it is). ``rebuild``: start over from the database whatever is there."""
    with writing(folder):
        meta = Meta.read(folder)
        if (
            meta is not None
            and not rebuild
            and (matches(meta, space, inode) or ahead(meta, space, inode))
        ):
            return meta
        conn = session.connection()
        if meta is None or rebuild or not behind(meta, space, inode):
            generation = 1 if meta is None else meta.generation + 1
            meta = Meta(space.id.hex, space.dimensions, space.metric, 0, 0, generation, 0,
                        None, "codes-none.json", None, 0, inode)  # fmt: skip
            shutil.rmtree(folder / f"gen-{generation}", ignore_errors=True)
            writer = _Writer(folder, meta, space)
            _append_since(conn, writer, space, -1)
        else:
            writer = _Writer(folder, meta, space)
            if meta.removals != space.removal_counter:
                _rescan(conn, writer, space)
            else:
                _append_since(conn, writer, space, meta.counter)
        meta = writer.commit(space.change_counter, space.removal_counter)
        if meta.rows and writer.dead.sum() > COMPACT_ABOVE * meta.rows:
            meta = _compact(folder, meta, space)
        return meta


def _append_since(conn: Any, writer: _Writer, space: Any, after: int) -> None:
    result = conn.execute(_ROWS, {"space": space.id.hex, "after": after})
    while rows := result.fetchmany(FETCH):
        writer.append(rows)


def _rescan(conn: Any, writer: _Writer, space: Any) -> None:
    """Deletes, replacements or a load: compare the whole space with the database."""
    there = {r[0] for r in conn.execute(_IDS, {"space": space.id.hex})}
    ids = writer.ids()
    live = ids[~writer.dead]
    here = {bytes(b).hex() for b in live.tolist()}
    changed = {
        r[0]
        for r in conn.execute(
            text(
                "SELECT segment_id FROM embeddings WHERE space_id = :space "
                "AND vector IS NOT NULL AND seq > :after"
            ),
            {"space": space.id.hex, "after": writer.meta.counter},
        )
    }
    gone = (here - there) | (changed & here)
    writer.kill(sorted(gone))
    wanted = sorted((there - here) | changed)
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        marks = ", ".join(f":i{n}" for n in range(len(part)))
        params = {"space": space.id.hex, **{f"i{n}": v for n, v in enumerate(part)}}
        writer.append(conn.execute(text(_BY_IDS.format(marks=marks)), params).all())


def _compact(folder: Path, meta: Meta, space: Any) -> Meta:
    """Copy the live rows into a new generation (the index is rebuilt by ``build``)."""
    old = VectorFiles.open(folder, meta)
    live = np.flatnonzero(~old.dead) if old.dead is not None else np.arange(meta.rows)
    fresh = Meta(**{**meta.__dict__})
    fresh.generation, fresh.rows, fresh.dead, fresh.index, fresh.indexed = (
        meta.generation + 1, 0, None, None, 0
    )  # fmt: skip
    gen = folder / f"gen-{fresh.generation}"
    shutil.rmtree(gen, ignore_errors=True)
    gen.mkdir(parents=True)
    sources = {"vectors.f32": old.vectors, "ids.bin": old.ids.raw}  # type: ignore[attr-defined]
    sources.update({f"col-{name}.i32": old.columns[name] for name in COLUMNS})
    for name, source in sources.items():
        with open(gen / name, "wb") as fh:
            for start in range(0, len(live), 100_000):
                fh.write(np.ascontiguousarray(source[live[start : start + 100_000]]).tobytes())
            fh.flush()
            os.fsync(fh.fileno())
    fresh.rows = len(live)
    shutil.copy(folder / f"gen-{meta.generation}" / meta.codes, gen / meta.codes)
    sync([gen / meta.codes])
    fresh.write(folder, durable=True)
    _tidy(folder, fresh)
    log.info("vector files of space %s compacted to %d rows", space.id, fresh.rows)
    return fresh


def disagreements(conn: Any, folder: Path, space: Any, inode: int) -> list[str]:
    """What ``verify`` finds wrong in a space's files against the database (read in ``conn``'s
    snapshot): rows missing or left over, vectors that differ, an index that cannot be read.
    Files behind the database are not wrong (the next search catches them up)."""
    meta = Meta.read(folder)
    if meta is None:
        return [] if not (folder / "meta.json").exists() else ["meta.json cannot be read"]
    if not matches(meta, space, inode):
        return [] if behind(meta, space, inode) else ["the files are not this store's"]
    try:
        files = VectorFiles.open(folder, meta)
    except (OSError, ValueError) as exc:
        return [f"the files cannot be read: {exc}"]
    live = np.flatnonzero(~files.dead) if files.dead is not None else np.arange(meta.rows)
    rows = {bytes(files.ids.raw[r]).hex(): int(r) for r in live}  # type: ignore[attr-defined]
    found: list[str] = []
    result = conn.execute(_ROWS, {"space": space.id.hex, "after": -1})
    while batch := result.fetchmany(FETCH):
        for segment, blob, *_ in batch:
            key = hex_of(segment)
            row = rows.pop(key, None)
            if row is None:
                found.append(f"segment {key} is missing")
                continue
            vector = np.frombuffer(blob, dtype="<f4")
            if len(vector) != space.dimensions:  # the embeddings check names the row itself
                found.append(f"segment {key} has a vector of another length")
                continue
            if space.metric == "cosine":
                vector = vector / (float(np.linalg.norm(vector)) or 1.0)
            if not np.allclose(files.vectors[row], vector, rtol=1e-5, atol=1e-6):
                found.append(f"segment {key} has another vector")
    found.extend(f"segment {key} is left over" for key in rows)
    if meta.index is not None:
        from docledger.services.vector_ann import view  # noqa: PLC0415

        try:
            if len(view(folder / f"gen-{meta.generation}" / meta.index)) > meta.indexed:
                found.append("the index holds more rows than the files")
        except (OSError, RuntimeError, ValueError) as exc:
            found.append(f"the index cannot be read: {exc}")
    return found
