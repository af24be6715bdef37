"""The approximate (HNSW) index over a space's vector files, and the search that uses it.

usearch, chosen by measurement (100,000 x 384 clustered, 2 cores, graph degree 16): its
index file is served memory-mapped (``Index.restore(view=True)``), so a fresh process reads
no graph into memory and every process shares the page cache's one copy; quantised to int8
the index is a quarter of the float32 vectors and built fastest (10,400 vectors/s against
faiss HNSW's 8,000 and usearch float32's 4,100). faiss reads an HNSW graph into memory on
open, and hnswlib has no memory-mapped mode. The int8 distances only pick candidates: every
candidate is re-scored exactly from the float32 rows, so scores equal the exact path's.

Keys are row numbers of the files; rows appended after the build (``meta.indexed`` onwards)
are scanned exactly until ``build`` adds them. Filters are checked on the candidates' own
columns; the candidate list grows until k rows pass, and a filter too selective for that is
answered by the exact path over just the matching rows, so a query returns k rows whenever
k rows match.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from docledger.services.vector_files import DATA, Meta, VectorFiles, sync

log = logging.getLogger(__name__)

#: graph degree: at 200,000 clustered vectors 32 kept recall@10 at 0.998 where 16 gave 0.986
#: (and 0.93 at 1,000,000), for 10% more build time and a third more graph
CONNECTIVITY = 32
EXPANSION_ADD = 64
#: spaces below this many vectors are searched exactly unless an index is built by hand
MIN_ROWS = 50_000
#: expected matching rows below which the exact path is cheaper than the index
EXACT_BELOW = 20_000
#: the most candidates asked of the index before the exact path answers instead
MOST_CANDIDATES = 4_096
#: candidates re-scored exactly per result wanted (int8 distances only shortlist)
SHORTLIST = 10
#: ... at the least, under a filter: the index is asked for candidates / share, so a filter's
#: passing candidates come from a deeper search and fewer suffice (1M clustered vectors, a 10%
#: filter: recall@10 0.981 with 3 as with 10, p50 2.1 ms against 10.4 ms)
FILTERED_SHORTLIST = 3
#: the index's search list per candidate asked: 1,000,000 x 384 clustered, 100 candidates,
#: recall@10 0.957 with 2, 0.972 with 2.5 and with 3 (p50 1.73 / 1.75 / 1.78 ms)
EXPANSION = 2.5

_views: dict[Path, tuple[Path, Any]] = {}
_lock = threading.Lock()


def _metric(metric: str) -> str:
    # cosine rows are stored unit length: inner product ranks them the same
    return {"cosine": "ip", "ip": "ip", "l2": "l2sq"}[metric]


def _dtype(metric: str) -> str:
    # int8 quantisation suits unit vectors; raw inner products and distances keep halves
    return "i8" if metric == "cosine" else "f16"


def view(path: Path) -> Any:
    """The index file memory-mapped, once per process; a space's previous file is let go
    (its disk space is freed once no process maps it).

    The compiled index itself, not the ``usearch.index`` wrapper: searching needs none of the
    wrapper's checks and progress bars, and importing it (tqdm with it) cost a fresh process's
    first query a tenth of its time."""
    with _lock:
        found = _views.get(path.parent.parent)
        if found is None or found[0] != path:
            from usearch import compiled  # noqa: PLC0415 - only spaces with an index

            meta = compiled.index_dense_metadata_from_path(str(path))
            index = compiled.Index(
                ndim=meta["dimensions"],
                dtype=meta["kind_scalar"],
                metric_kind=meta["kind_metric"],
                metric_signature=compiled.MetricSignature.ArrayArraySize,
                connectivity=CONNECTIVITY,
                expansion_add=EXPANSION_ADD,
                # no key look-up table: searches only return keys (restoring 1M keys' table
                # cost 0.2 s and 100 MB per process)
                enable_key_lookups=False,
            )
            index.view_index_from_path(str(path), None)
            found = (path, index)
            _views[path.parent.parent] = found
        return found[1]


def _candidates(index: Any, query: np.ndarray[Any, Any], want: int) -> np.ndarray[Any, Any]:
    """Row numbers of the index's ``want`` best candidates, best first."""
    keys, _distances, counts, *_ = index.search_many(query.reshape(1, -1), want, False, 1)
    return np.asarray(keys[0][: int(counts[0])], dtype=np.int64)


def build(files: VectorFiles, progress: Callable[[int], None] | None = None) -> Meta:
    """A new index over the live rows (or the old one extended by the rows added since);
    the caller holds the space's writer lock. Returns the state naming it."""
    from usearch.index import Index  # noqa: PLC0415

    meta = files.meta
    gen = files.folder / f"gen-{meta.generation}"
    old = gen / meta.index if meta.index else None
    start = meta.indexed if old is not None and old.exists() else 0
    restored = Index.restore(str(old), view=False) if old is not None and start else None
    if restored is not None:
        index = restored
    else:
        index = Index(
            ndim=meta.dimensions,
            metric=_metric(meta.metric),
            dtype=_dtype(meta.metric),
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
        )
    rows: np.ndarray[Any, Any] = np.arange(start, meta.rows, dtype=np.uint64)
    if files.dead is not None:
        rows = rows[~files.dead[start:]]
    threads = os.cpu_count() or 1
    for first in range(0, len(rows), 50_000):
        part = rows[first : first + 50_000]
        index.add(part, np.ascontiguousarray(files.vectors[part.astype(np.int64)]),
                  threads=threads)  # fmt: skip
        if progress is not None:
            progress(len(part))
    name = f"ann-{meta.counter}-{meta.removals}-{meta.rows}.usearch"
    tmp = gen / (name + ".tmp")
    index.save(str(tmp))
    sync([tmp])
    os.replace(tmp, gen / name)
    # the index names rows by number: the rows it covers become durable with it
    sync([gen / n for n in (*DATA, meta.codes, meta.dead) if n])
    fresh = Meta(**{**meta.__dict__})
    fresh.index, fresh.indexed = name, meta.rows
    fresh.write(files.folder, durable=True)
    return fresh


def needs_build(meta: Meta, minimum: int = MIN_ROWS) -> bool:
    """Big enough for an index, and without one or with many rows outside it."""
    if meta.rows < minimum:
        return False
    outside = meta.rows - (meta.indexed if meta.index else 0)
    return outside > max(1_000, meta.rows // 20)


def _share(files: VectorFiles, mask_args: dict[str, Any]) -> float:
    """The expected share of rows passing the filter: each column's own share from its code
    counts (exact for one filter, a product of shares for several)."""
    counts = files.counts()
    live = max(files.live(), 1)
    share = 1.0
    for name, key in (("workspace", "workspace_id"), ("document", "documents"),
                      ("kind", "kinds"), ("label", "labels")):  # fmt: skip
        wanted = mask_args.get(key)
        if wanted is None or (key != "workspace_id" and not wanted):
            continue
        values = [wanted] if key == "workspace_id" else list(wanted)
        codes = files.lookup(name, values)
        share *= float(counts[name][codes].sum()) / live if len(codes) else 0.0
    if mask_args.get("pages"):
        low, high = mask_args["pages"]
        pages = counts["page"]
        share *= float(pages[max(low + 1, 0) : max(high + 2, 0)].sum()) / live
    if mask_args.get("excluded"):
        codes = files.lookup("extraction", list(mask_args["excluded"]))
        share *= 1.0 - float(counts["extraction"][codes].sum()) / live if len(codes) else 1.0
    return share


def nearest(
    files: VectorFiles, q: np.ndarray[Any, Any], k: int, ef: int, mask_args: dict[str, Any]
) -> list[tuple[uuid.UUID, float]] | None:
    """Top k through the index, or None when the exact path should answer."""
    meta = files.meta
    if meta.index is None:
        return None
    share = _share(files, mask_args)
    if share * files.live() < max(EXACT_BELOW, k):
        return None
    try:
        index = view(files.folder / f"gen-{meta.generation}" / meta.index)
    except (OSError, RuntimeError, ValueError) as exc:  # replaced meanwhile: exact this time
        log.info("ANN index of %s unavailable (%s): exact search", files.folder.name, exc)
        return None
    query = q.astype(np.float32)
    if meta.metric == "cosine":
        query = query / (float(np.linalg.norm(query)) or 1.0)
    enough = k * max(FILTERED_SHORTLIST, round(SHORTLIST * min(share, 1.0)))
    # a filter's share is an estimate: half again as many candidates, so one pass usually
    # yields enough; with nothing filtered out every candidate passes and none are spare
    # (and tombstoned rows the index still holds never pass: asked for in proportion)
    slack = (1.0 if share >= 1.0 else 1.5) * meta.rows / max(files.live(), 1)
    want = min(MOST_CANDIDATES, max(enough, math.ceil(slack * enough / max(share, 1e-9))))
    # unfiltered, a few tombstones among the candidates cost a little depth, not a new search
    need = enough if share < 1.0 else max(k, enough * 4 // 5)
    delta = np.arange(meta.indexed, meta.rows)
    extra = delta[files.mask(**mask_args, rows=delta)] if len(delta) else delta
    while True:
        index.expansion_search = max(ef, int(EXPANSION * want))
        found = _candidates(index, query, want)
        passing = found[files.mask(**mask_args, rows=found)] if len(found) else found
        exhausted = len(found) < want  # every indexed row was a candidate
        if len(passing) >= need or exhausted or want >= MOST_CANDIDATES:
            rows = np.concatenate([passing, extra]) if len(extra) else passing
            if len(rows) < k and not exhausted:
                return None  # too selective for the index: the exact path decides
            return files.top_rows(query, k, rows)
        want = min(MOST_CANDIDATES, want * 4)
