"""HTTP server benchmark (issue 19): ``docledger serve`` on 127.0.0.1 against the same work
through the library in this process, in one run. The load generator runs here; every loop is
bounded in count and time.

search   text search over --segments zones (default 100,000) from --clients concurrent clients
         (default 50): the server's throughput and p50/p99 vs the same queries through
         ``AsyncLedger`` in-process with the same concurrency. Targets: >= 0.5x, p99 < 100 ms.
         Then the server's p50/p99 in an open loop (requests sent at a fixed rate, 25, 50, 75%
         of the closed loop's throughput): the latency a client sees when the server is not
         saturated by construction.
upload   --files uploads of 4 KiB (default 1,000), --clients at a time, vs ``documents.create``
         in-process, one at a time. Target >= 0.5x.
big      one --big-mib upload (default 1024) and its download, on a freshly started server:
         throughput and the server process's peak RSS (VmHWM). Target <= 150 MB.

    python bench/server.py [--dialect sqlite|postgresql] [--only search|upload|big ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import docledger_url, segment_batch, summary, vocabulary, write
from http_load import Connections, encode, multipart

from docledger import AsyncLedger, Ledger, load_settings
from docledger.schemas.extraction import SegmentIn

BIN = Path(sys.executable).with_name("docledger")
DEADLINE_S = 300.0  # no phase's load loop runs longer than this


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def served(
    url: str, blobs: str, workdir: Path, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCLEDGER_")}
    env["DOCLEDGER_BLOB_ROOT"] = blobs
    log = (workdir / f"server-{port}.log").open("wb")
    server = subprocess.Popen(
        [str(BIN), "--db", url, "serve", "--port", str(port), "--workers", str(workers)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/openapi.json", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        yield base, server
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def corpus(ledger: Ledger, segments: int) -> list[str]:
    """Documents of 250 zones each, and the queries: two words drawn from the zones' own."""
    rng = np.random.default_rng(7)
    words = vocabulary(rng)
    per = 250
    for d in range(segments // per):
        added = ledger.documents.create(f"doc {d}".encode(), external_key=f"doc-{d}")
        zones = [SegmentIn(**z) for z in segment_batch(rng, words, per)]
        ledger.extractions.record(added.version_id, "zones", "1", {}, zones)
    return [f"{words[i]} {words[j]}" for i, j in rng.integers(0, len(words), size=(2000, 2))]


async def _load(queries: list[str], clients: int, one: Any) -> dict[str, Any]:
    """``clients`` workers take queries off one list; bounded by the list and DEADLINE_S."""
    times: list[float] = []
    pending = list(queries)
    stop = time.perf_counter() + DEADLINE_S

    async def worker() -> None:
        while pending and time.perf_counter() < stop:
            q = pending.pop()
            t = time.perf_counter()
            await one(q)
            times.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - start
    return {"requests": len(times), "per_s": round(len(times) / wall, 1), **summary(times)}


async def _paced(queries: list[str], rate: float, one: Any) -> dict[str, Any]:
    """Open loop: query i is sent at start + i / rate whatever came back before, and its
    latency counts from that moment (time spent queued for a free client counts too), so a
    slow answer cannot slow the load that measures it. Bounded by the list and DEADLINE_S."""
    times: list[float] = []
    start = time.perf_counter()

    async def send(i: int, q: str) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await one(q)
        times.append((time.perf_counter() - due) * 1000)

    count = min(len(queries), int(rate * DEADLINE_S))
    await asyncio.gather(*(send(i, q) for i, q in enumerate(queries[:count])))
    return {"rate_per_s": rate, "requests": len(times), **summary(times)}


def search_part(url: str, blobs: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(db_url=url, blob_root=blobs)
    with Ledger.open(settings=settings) as ledger:
        queries = corpus(ledger, args.segments)
        key = ledger.api_keys.create("default", "bench", "viewer").secret
    queries = queries[: args.queries]

    async def in_process() -> dict[str, Any]:
        async with AsyncLedger.open(settings=settings) as aledger:

            async def one(q: str) -> None:
                await aledger.search.text(q, k=10)

            await one(queries[0])  # warm
            return await _load(queries, args.clients, one)

    library = asyncio.run(in_process())
    with served(url, blobs, workdir, args.server_workers) as (base, _):

        async def over_http() -> dict[str, Any]:
            limits = httpx.Limits(max_connections=args.clients)
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as c:

                async def one(q: str) -> None:
                    r = await c.post("/search", json={"query": q, "mode": "text", "k": 10})
                    r.raise_for_status()

                await one(queries[0])
                closed = await _load(queries, args.clients, one)
                paced = [
                    await _paced(queries, round(share * closed["per_s"], 1), one)
                    for share in (0.25, 0.5, 0.75)
                ]
                return {**closed, "open_loop": paced}

        server = asyncio.run(over_http())
    return {
        "segments": args.segments,
        "clients": args.clients,
        "server_workers": args.server_workers,
        "server": server,
        "library_in_process": library,
        "ratio": round(server["per_s"] / library["per_s"], 3),
        "targets": {"ratio": 0.5, "server_p99_ms": 100},
    }


def upload_part(url: str, blobs: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(db_url=url, blob_root=blobs)
    rng = np.random.default_rng(11)
    files = [rng.bytes(4096) for _ in range(3 * args.files)]  # new bytes for every upload
    with Ledger.open(settings=settings) as ledger:
        key = ledger.api_keys.create("default", "bench-up", "editor").secret
        t = time.perf_counter()
        for i, data in enumerate(files[: args.files]):
            ledger.documents.create(data, external_key=f"lib-{i}.bin")
        library = args.files / (time.perf_counter() - t)
    with served(url, blobs, workdir) as (base, _):

        async def over_http() -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {key}"}
            todo = list(enumerate(files[args.files : 2 * args.files]))
            async with httpx.AsyncClient(base_url=base, headers=headers) as c:

                async def one(item: Any) -> None:
                    i, data = item
                    r = await c.post("/documents", files={"file": (f"up-{i}.bin", data)})
                    r.raise_for_status()

                return await _load(todo, args.clients, one)

        server = asyncio.run(over_http())
        port = int(base.split(":")[2].split("/")[0])
        host = f"127.0.0.1:{port}"
        raw_requests = []
        for i, data in enumerate(files[2 * args.files :]):
            body, kind = multipart("file", f"raw-{i}.bin", data)
            auth = {"Authorization": f"Bearer {key}", "Content-Type": kind}
            raw_requests.append(encode("POST", "/api/v1/documents", host, auth, body))

        async def over_raw() -> dict[str, Any]:
            async with Connections("127.0.0.1", port, args.clients) as pool:
                return await _load(raw_requests, args.clients, pool.send)

        raw = asyncio.run(over_raw())
    return {
        "files": args.files,
        "size_bytes": 4096,
        "server_httpx_client": server,
        "server_light_client": raw,
        "library_in_process_per_s": round(library, 1),
        "ratio_httpx_client": round(server["per_s"] / library, 3),
        "ratio_light_client": round(raw["per_s"] / library, 3),
        "target_ratio": 0.5,
    }


def big_part(url: str, blobs: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    source = workdir / "big.bin"
    chunk = np.random.default_rng(3).bytes(1 << 20)
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(args.big_mib):
            out.write(chunk)
            digest.update(chunk)
    with Ledger.open(settings=load_settings(db_url=url, blob_root=blobs)) as ledger:
        key = ledger.api_keys.create("default", "bench-big", "editor").secret
    headers = {"Authorization": f"Bearer {key}"}
    with served(url, blobs, workdir) as (base, server):
        start_rss = _peak_rss_mb(server.pid)
        with httpx.Client(base_url=base, headers=headers, timeout=600) as c:
            t = time.perf_counter()
            with source.open("rb") as f:
                r = c.post("/documents", files={"file": ("big.bin", f)})
            r.raise_for_status()
            up = time.perf_counter() - t
            t = time.perf_counter()
            got = hashlib.sha256()
            with c.stream("GET", "/documents/big.bin/content") as response:
                response.raise_for_status()
                for part in response.iter_bytes(1 << 20):
                    got.update(part)
            down = time.perf_counter() - t
        peak = _peak_rss_mb(server.pid)
    source.unlink()
    assert got.hexdigest() == digest.hexdigest(), "the download differs from the upload"
    return {
        "size_mib": args.big_mib,
        "upload_mib_s": round(args.big_mib / up, 1),
        "download_mib_s": round(args.big_mib / down, 1),
        "server_rss_after_start_mb": round(start_rss, 1),
        "server_peak_rss_mb": round(peak, 1),
        "target_peak_rss_mb": 150,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--only", action="append", choices=["search", "upload", "big"])
    parser.add_argument(
        "--server-workers", type=int, default=1, help="docledger serve --workers (search part)"
    )
    args = parser.parse_args()
    parts = {"search": search_part, "upload": upload_part, "big": big_part}
    result: dict[str, Any] = {"dialect": args.dialect}
    for name, part in parts.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            url = docledger_url(args.dialect, workdir)
            result[name] = part(url, str(workdir / "blobs"), workdir, args)
    write(f"server_{args.dialect}", result)


if __name__ == "__main__":
    main()
