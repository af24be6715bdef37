"""Shared helpers for the benchmarks: timing, JSON output, database URLs."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

RESULTS = Path(__file__).parent / "results"


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def write(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))
    return path


def pg_url() -> str:
    return os.environ.get("DOCLEDGER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_pg_database(name: str) -> str:
    """Drop and create a scratch database on the benchmark server; returns its URL."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    admin = make_url(pg_url()).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


#: segments per extraction in the content benchmarks (a page-heavy document's worth)
PER_EXTRACTION = 250
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "vo", "de", "pa", "gri", "ton", "el"]


def vocabulary(rng: np.random.Generator, size: int = 4000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5)))))
    return sorted(words)


def segment_batch(rng: np.random.Generator, words: list[str], n: int) -> list[dict[str, Any]]:
    """OCR-like zones: a page every 50, text of ~15 words, boxes, confidences, labels."""
    picks = rng.integers(0, len(words), size=(n, 15))
    conf = rng.uniform(0.4, 1.0, size=n)
    out = []
    for i in range(n):
        y = 10.0 + (i % 50) * 15.0
        out.append(
            {
                "kind": "zone",
                "label": "field" if i % 3 else "header",
                "page_number": 1 + i // 50,
                "bbox": {"x0": 20.0, "y0": y, "x1": 580.0, "y1": y + 12.0, "unit": "pt"},
                "text": " ".join(words[j] for j in picks[i]),
                "confidence": round(float(conf[i]), 4),
            }
        )
    return out


def docledger_url(dialect: str, workdir: Path) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{workdir / 'docledger.db'}"
    return fresh_pg_database("bench_content_docledger")


def latencies(fn: Any, queries: np.ndarray) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for q in queries:
        t = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - t) * 1000)
    return times, results


def summary(times: list[float]) -> dict[str, float]:
    return {"p50_ms": round(median(times), 3), "p99_ms": round(percentile(times, 99), 3)}
