"""One embedding space's vectors and filter columns in files beside an SQLite database.

The in-process matrix (``vector_matrix``) loads a whole space from the database in every
process that searches: 1.7 s and a private copy per process at 100,000 vectors. Here the same
arrays live in files that every process maps read-only, so a fresh process answers its first
query in milliseconds and the page cache holds one copy for all of them.

The database stays the source of truth. ``meta.json`` records the space's ``change_counter``
and ``removal_counter`` the files reflect; a reader whose space shows other counters catches
up under a file lock before it searches (``vector_catchup.catch_up``):

- only ``change_counter`` moved: rows with ``seq`` above the files' counter are appended
  (one range over ``ix_embeddings_space_id_seq``);
- ``removal_counter`` moved too (deletes, replaced vectors, loads): the space's ids are compared
  with the database's, missing rows are tombstoned and new ones appended.

Rows are append-only within a generation folder; ``meta.json`` is replaced atomically after
the data it names is on disk, so a process killed mid-update leaves the previous state (and
bytes past its row count, which the next writer cuts off). When a third of the rows are
tombstones the live ones are copied into a new generation. Anything that does not add up (a
restored database, another store's files, unreadable files) rebuilds from the database.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docledger.ids import from_bytes
from docledger.services.vector_matrix import GATHER_BELOW, Codes, VectorMatrix, isin

log = logging.getLogger(__name__)

FORMAT = 3
#: filter columns, one file each (``page`` is the number itself, the others are codes): a
#: filter reads only its own column, contiguously
COLUMNS = ("workspace", "document", "kind", "label", "extraction", "page")
CODED = COLUMNS[:-1]
#: the files of a generation, with each row's width in bytes per dimension count
DATA = ("vectors.f32", "ids.bin", *(f"col-{name}.i32" for name in COLUMNS))


def width(name: str, dimensions: int) -> int:
    return dimensions * 4 if name == "vectors.f32" else 16 if name == "ids.bin" else 4


def hex_of(value: Any) -> str:
    """SQLite stores ids as 32 hex digits; the files key their codes the same way."""
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "").lower()


class IdColumn:
    """Segment ids as 16-byte rows, turned into UUIDs only for the rows a query returns."""

    def __init__(self, raw: np.ndarray[Any, Any]) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, row: int) -> uuid.UUID:
        return from_bytes(bytes(self.raw[row]))


@functools.cache
def boot_id() -> str:
    """This boot of the machine ("" where the system does not say): data a process wrote
    survives the process (page cache) but not the machine's crash."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


@dataclass
class Meta:
    space: str
    dimensions: int
    metric: str
    counter: int
    removals: int
    generation: int
    rows: int
    dead: str | None  # tombstone file of this state, None when no row is dead
    codes: str
    index: str | None  # the ANN index file, None when there is none
    indexed: int  # rows [0, indexed) are in the index; later ones are searched exactly
    database: int  # the database file's inode: files of another (restored) store never count
    boot: str = ""  # the boot the state was written in
    durable: bool = False  # fsynced: survives a crash of the machine

    @classmethod
    def read(cls, folder: Path) -> Meta | None:
        """The current state; after the machine restarted, the last state that was fsynced
        (small catch-ups are not: a lost tail is caught up again from the database)."""
        meta = cls._load(folder / "meta.json")
        if meta is not None and not meta.durable and meta.boot != boot_id():
            return cls._load(folder / "durable.json")
        return meta

    @classmethod
    def _load(cls, path: Path) -> Meta | None:
        try:
            data = json.loads(path.read_text())
            if data.pop("format", None) != FORMAT:
                return None
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def write(self, folder: Path, *, durable: bool) -> None:
        """Replace the state atomically. ``durable``: the data it names were fsynced by the
        caller, and so is this (it also becomes the state to fall back to after a crash)."""
        self.boot, self.durable = boot_id(), durable or not boot_id()
        names = ("durable.json", "meta.json") if self.durable else ("meta.json",)
        for name in names:
            tmp = folder / (name + ".tmp")
            with open(tmp, "w") as fh:
                json.dump({"format": FORMAT, **self.__dict__}, fh)
                if self.durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, folder / name)
        if self.durable:
            _sync_dir(folder)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync(paths: Sequence[Path]) -> None:
    for path in paths:
        if path.exists():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _map(path: Path, dtype: Any, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    if shape[0] == 0:
        return np.zeros(shape, dtype=dtype)
    # a plain array over the map: numpy's memmap subclass costs per indexing call
    return np.memmap(path, dtype=dtype, mode="r", shape=shape).view(np.ndarray)


class VectorFiles(VectorMatrix):
    """The files of one space as a ``VectorMatrix`` whose arrays are memory maps."""

    folder: Path
    meta: Meta
    dead: np.ndarray[Any, np.dtype[np.bool_]] | None
    _counts: dict[str, np.ndarray[Any, Any]]
    _live: int

    @classmethod
    def open(cls, folder: Path, meta: Meta) -> VectorFiles:
        gen = folder / f"gen-{meta.generation}"
        n, d = meta.rows, meta.dimensions
        vectors = _map(gen / "vectors.f32", np.float32, (n, d))
        ids = _map(gen / "ids.bin", np.uint8, (n, 16))
        stored = json.loads((gen / meta.codes).read_text())
        codes = {name: Codes({v: i for i, v in enumerate(stored[name])}) for name in CODED}
        columns = {name: _map(gen / f"col-{name}.i32", np.int32, (n,)) for name in COLUMNS}
        sq = np.zeros(0, dtype=np.float32)  # computed per gathered row (l2 only)
        files = cls(meta.counter, meta.metric, IdColumn(ids), vectors, sq, columns, codes)  # type: ignore[arg-type]
        files.folder, files.meta = folder, meta
        files._counts = {
            name: np.asarray(v, dtype=np.int64) for name, v in stored["counts"].items()
        }
        files.dead = (
            np.fromfile(gen / meta.dead, dtype=np.bool_, count=n).copy()
            if meta.dead is not None
            else None
        )
        files._live = n - (int(files.dead.sum()) if files.dead is not None else 0)
        return files

    def mask(
        self,
        workspace_id: uuid.UUID,
        documents: Sequence[uuid.UUID] | None = None,
        kinds: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
        pages: tuple[int, int] | None = None,
        excluded: Sequence[uuid.UUID] = (),
        rows: np.ndarray[Any, Any] | None = None,
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """The matrix's filter over codes keyed as SQLite stores ids; tombstones never."""
        selected = super().mask(
            hex_of(workspace_id),  # type: ignore[arg-type]
            [hex_of(d) for d in documents] if documents else documents,  # type: ignore[misc]
            kinds,
            labels,
            pages,
            [hex_of(e) for e in excluded],  # type: ignore[misc]
            rows,
        )
        if self.dead is not None:
            selected &= ~(self.dead if rows is None else self.dead[rows])
        return selected

    def _sq(self, rows: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
        if self.metric != "l2":
            return self.sq_norms  # unused by the other metrics' scores
        picked = self.vectors if rows is None else self.vectors[rows]
        return np.asarray(np.einsum("ij,ij->i", picked, picked))  # not worth a file

    def live(self) -> int:
        return self._live  # counted once: a state's tombstones never change

    def lookup(self, name: str, values: Sequence[Any]) -> np.ndarray[Any, Any]:
        uuids = name in ("workspace", "document", "extraction")
        return self.codes[name].lookup([hex_of(v) for v in values] if uuids else list(values))

    def counts(self) -> dict[str, np.ndarray[Any, Any]]:
        """Live rows per code of each column (per page + 1 for pages), kept by the writer:
        the selectivity of a filter without a pass over the rows."""
        return self._counts

    def candidates(self, mask_args: dict[str, Any]) -> np.ndarray[Any, Any] | None:
        """The rows within the filter, found through its most selective column first (the
        other conditions are checked on those rows only): a 1% filter reads one column.
        None when the filter keeps most rows (scoring them all is cheaper than gathering)."""
        counts, best_rows = self.counts(), float(self.live())
        best: tuple[str, Any] | None = None
        for name, key in (("document", "documents"), ("label", "labels"), ("kind", "kinds"),
                          ("workspace", "workspace_id")):  # fmt: skip
            wanted = mask_args.get(key)
            if wanted is None or (key != "workspace_id" and not wanted):
                continue
            codes = self.lookup(name, [wanted] if key == "workspace_id" else list(wanted))
            rows = float(counts[name][codes].sum()) if len(codes) else 0.0
            if rows < best_rows:
                best, best_rows = (name, codes), rows
        if mask_args.get("pages"):
            low, high = mask_args["pages"]
            rows = float(counts["page"][max(low + 1, 0) : max(high + 2, 0)].sum())
            if rows < best_rows:
                best, best_rows = ("page", (low, high)), rows
        if best is None or best_rows > GATHER_BELOW * self.live():
            return None
        name, wanted = best
        column = self.columns[name]
        if name == "page":
            first = np.flatnonzero((column >= wanted[0]) & (column <= wanted[1]))
        else:
            first = np.flatnonzero(isin(column, wanted, len(self.codes[name].values)))
        return np.asarray(first[self.mask(**mask_args, rows=first)])


# --- keeping the files current -----------------------------------------------------------


def folder_of(root: Path, space_id: uuid.UUID) -> Path:
    return root / space_id.hex


def meta_signature(folder: Path) -> tuple[int, ...] | None:
    """meta.json as stat sees it: every write replaces the file (a new inode, new change
    time), so an equal signature means the state already read; None when unreadable."""
    try:
        st = os.stat(folder / "meta.json")
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def database_inode(database: Path) -> int:
    try:
        return os.stat(database).st_ino
    except OSError:
        return 0


def same_store(meta: Meta, space: Any, inode: int) -> bool:
    return (
        meta.space == space.id.hex
        and meta.dimensions == space.dimensions
        and meta.metric == space.metric
        and meta.database == inode
    )


def matches(meta: Meta, space: Any, inode: int) -> bool:
    """The files are exactly the space as this snapshot sees it."""
    return (
        same_store(meta, space, inode)
        and meta.counter == space.change_counter
        and meta.removals == space.removal_counter
    )


def behind(meta: Meta, space: Any, inode: int) -> bool:
    """The files can be brought to the space's counters by catching up."""
    return (
        same_store(meta, space, inode)
        and meta.counter <= space.change_counter
        and meta.removals <= space.removal_counter
    )


def ahead(meta: Meta, space: Any, inode: int) -> bool:
    """The files reflect writes this snapshot does not see (or another store's)."""
    return same_store(meta, space, inode) and not behind(meta, space, inode)
