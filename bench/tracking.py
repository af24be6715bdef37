"""Tracking benchmarks (issue 6).

1. Metrics: 1,000,000 points (100 keys x 10,000 steps) in batches of 10,000 through
   ``run.log_metrics_batch``, against the raw driver writing the same rows into the same table
   (``metric_chunks``: one row per key and batch, grouped and JSON-encoded by hand; sqlite3
   executemany, psycopg COPY), in the same run. MLflow's own SQLAlchemy tracking store
   (``log_batch``, 1,000 points per call, its maximum) is the peer: it runs in its own virtual
   environment (``--mlflow-python``; MLflow pins its own dependencies) on a database next to
   ours (same disk, same server) because its tables (``runs``, ``metrics``) would collide with
   docledger's in one database. It logs 100,000 points; its rate is points/s like ours.
2. Lineage: a PDF-training graph of about 100,000 entities; upstream/downstream queries from
   random entities, p50/p99, and the upstream of a model (thousands of nodes).

    python bench/tracking.py [--dialect sqlite|postgresql] [--mlflow-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, median, percentile, write

MLFLOW_CHILD = r"""
import sys, time
from mlflow.entities import Metric
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
uri, artifacts, keys, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = SqlAlchemyStore(uri, artifacts)
exp = store.create_experiment("bench")
run = store.create_run(exp, "bench", 0, [], "bench")
points = [(f"key{k}", float(s), s) for s in range(steps) for k in range(keys)]
t0 = time.perf_counter()
for start in range(0, len(points), 1000):
    batch = [Metric(k, v, 0, s) for k, v, s in points[start:start + 1000]]
    store.log_batch(run.info.run_id, metrics=batch, params=[], tags=[])
print(len(points) / (time.perf_counter() - t0))
"""


CHUNK_COLUMNS = (
    "run_id, key, n_points, first_step, last_step, last_value, min_value, max_value, points, at"
)


def raw_chunks(points: list[tuple[str, float, int]]) -> list[tuple[Any, ...]]:
    """What a hand-written writer of docledger's table does: one row per key of a batch, its
    points as JSON [step, value] pairs, and the summary columns."""
    by_key: dict[str, list[tuple[int, float]]] = {}
    for key, value, step in points:
        by_key.setdefault(key, []).append((step, value))
    rows = []
    for key, pairs in by_key.items():
        steps = [s for s, _ in pairs]
        values = [v for _, v in pairs]
        top = max(steps)
        last = max(i for i, s in enumerate(steps) if s == top)
        rows.append(
            (
                key,
                len(pairs),
                min(steps),
                top,
                values[last],
                min(values),
                max(values),
                json.dumps(pairs),
            )
        )
    return rows


def metric_points(keys: int, steps: int) -> list[tuple[str, float, int]]:
    return [(f"key{k}", float(s) / 3.0, s) for s in range(steps) for k in range(keys)]


def bench_metrics(url: str, keys: int, steps: int, batch: int) -> dict[str, float]:
    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.db.types import utcnow  # noqa: PLC0415

    points = metric_points(keys, steps)
    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
        with ledger.runs.start("bench-docledger", "training") as run:
            t0 = time.perf_counter()
            for start in range(0, len(points), batch):
                run.log_metrics_batch(points[start : start + batch])
            ours = len(points) / (time.perf_counter() - t0)
        with ledger.runs.start("bench-raw", "training") as raw_run:
            raw_id = raw_run.id
        engine = ledger.engine
        raw = engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            t0 = time.perf_counter()
            postgres = engine.dialect.name == "postgresql"
            run_value = raw_id if postgres else raw_id.hex
            for start in range(0, len(points), batch):
                now = utcnow() if postgres else utcnow().replace(tzinfo=None).isoformat(sep=" ")
                rows = [
                    (run_value, *chunk, now) for chunk in raw_chunks(points[start : start + batch])
                ]
                if postgres:
                    with (
                        driver.cursor() as cur,
                        cur.copy(f"COPY metric_chunks ({CHUNK_COLUMNS}) FROM STDIN") as copy,
                    ):
                        for row in rows:
                            copy.write_row(row)
                    driver.commit()
                else:
                    cur = driver.cursor()
                    cur.execute("BEGIN IMMEDIATE")
                    cur.executemany(
                        f"INSERT INTO metric_chunks ({CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        rows,
                    )
                    cur.execute("COMMIT")
            theirs = len(points) / (time.perf_counter() - t0)
        finally:
            raw.close()
    return {
        "docledger_points_per_s": round(ours),
        "raw_driver_points_per_s": round(theirs),
        "ratio_vs_raw": round(ours / theirs, 3),
    }


def bench_mlflow(python: str, url: str, work: Path, keys: int, steps: int) -> float:
    artifacts = work / "mlflow-artifacts"
    out = subprocess.run(
        [python, "-c", MLFLOW_CHILD, url, str(artifacts), str(keys), str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_lineage(url: str, docs: int, samples: int) -> dict[str, Any]:
    """A PDF-training graph: docs -> extraction runs -> (extraction + 2 segments) per doc;
    label runs over 100 extractions -> 100 annotations; snapshot runs over 2,000 annotations
    -> a dataset; a training run per dataset -> a model."""
    from sqlalchemy import insert  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.db.session import session_scope  # noqa: PLC0415
    from docledger.db.types import utcnow  # noqa: PLC0415
    from docledger.ids import new_id  # noqa: PLC0415
    from docledger.models import LineageEdge, Run  # noqa: PLC0415

    rng = random.Random(1)
    runs: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    now = utcnow()
    entities: list[tuple[str, str]] = []

    def add_run(kind: str, ins: list[tuple[str, str]], outs: list[tuple[str, str]]) -> None:
        rid = new_id()
        runs.append(
            {
                "id": rid,
                "kind": kind,
                "name": kind,
                "status": "succeeded",
                "params": {},
                "tags": [],
                "created_at": now,
            }
        )
        for direction, group in (("in", ins), ("out", outs)):
            edges.extend(
                {
                    "id": new_id(),
                    "run_id": rid,
                    "direction": direction,
                    "entity_type": t,
                    "entity_id": i,
                    "created_at": now,
                }
                for t, i in group
            )

    extractions = []
    for _ in range(docs):
        doc = ("document", str(uuid.uuid4()))
        ext = ("extraction", str(uuid.uuid4()))
        segs = [("segment", str(uuid.uuid4())) for _ in range(2)]
        add_run("extraction", [doc], [ext, *segs])
        extractions.append(ext)
        entities += [doc, ext, *segs]
    annotations = []
    for start in range(0, len(extractions), 100):
        group = extractions[start : start + 100]
        notes = [("annotation", str(uuid.uuid4())) for _ in group]
        add_run("pipeline", group, notes)
        annotations += notes
        entities += notes
    models = []
    for start in range(0, len(annotations), 2000):
        dataset = ("dataset", str(uuid.uuid4()))
        add_run("pipeline", annotations[start : start + 2000], [dataset])
        model = ("model_version", str(uuid.uuid4()))
        add_run("training", [dataset], [model])
        models.append(model)
        entities += [dataset, model]
    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
        with session_scope(ledger.engine) as session:
            for start in range(0, len(runs), 5000):
                session.execute(insert(Run.__table__), runs[start : start + 5000])
            for start in range(0, len(edges), 20000):
                session.execute(insert(LineageEdge.__table__), edges[start : start + 20000])
        from docledger.db.dialect import refresh_statistics  # noqa: PLC0415

        refresh_statistics(ledger.engine, ["lineage_edges", "runs"])
        times = []
        for _ in range(samples):
            kind, key = rng.choice(entities)
            walk = ledger.lineage.upstream if rng.random() < 0.5 else ledger.lineage.downstream
            t0 = time.perf_counter()
            walk((kind, key))
            times.append((time.perf_counter() - t0) * 1000)
        model_times = []
        sizes = []
        for model in models:
            t0 = time.perf_counter()
            sizes.append(len(ledger.lineage.upstream(model)))
            model_times.append((time.perf_counter() - t0) * 1000)
    return {
        "entities": len(entities),
        "edges": len(edges),
        "runs": len(runs),
        "random_entity_ms": {
            "p50": round(median(times), 2),
            "p99": round(percentile(times, 99), 2),
        },
        "model_upstream_ms": {
            "p50": round(median(model_times), 2),
            "max": round(max(model_times), 2),
            "nodes": sizes[0],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--mlflow-python", default=os.environ.get("MLFLOW_PYTHON"))
    parser.add_argument("--lineage-docs", type=int, default=25_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dl-tbench-"))

    def url(tag: str, driver: str = "") -> str:
        if args.dialect == "sqlite":
            return f"sqlite:///{work / f'{tag}.db'}"
        base = fresh_pg_database(f"bench_tracking_{tag}")
        return base.replace("postgresql+psycopg", driver or "postgresql")

    results: dict[str, Any] = {
        "dialect": args.dialect,
        "points": args.keys * args.steps,
        "batch": args.batch,
    }
    results["metrics"] = bench_metrics(url("metrics"), args.keys, args.steps, args.batch)
    if args.mlflow_python:
        mlflow_steps = max(1, args.steps // 10)
        rate = bench_mlflow(args.mlflow_python, url("mlflow"), work, args.keys, mlflow_steps)
        results["mlflow_log_batch_points_per_s"] = round(rate)
        results["mlflow_points"] = args.keys * mlflow_steps
        results["ratio_vs_mlflow"] = round(results["metrics"]["docledger_points_per_s"] / rate, 1)
    results["lineage"] = bench_lineage(url("lineage"), args.lineage_docs, args.samples)
    results["targets"] = {"ratio_vs_mlflow": 20, "ratio_vs_raw": 0.5, "lineage_p99_ms": 50}
    write(f"tracking-{args.dialect}", results)


if __name__ == "__main__":
    main()
