"""A real ``docledger serve`` process on a free loopback port, for the acceptance tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .test_cli import docledger_bin


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(db_url: str, workdir: Path, *options: str) -> Iterator[str]:
    """The server's base URL once it answers; stopped after, and its log checked for
    tracebacks (one bad request must never print one)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCLEDGER_")}
    env["DOCLEDGER_BLOB_ROOT"] = str(workdir / "blobs")
    log = workdir / f"server-{port}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [docledger_bin(), "--db", db_url, "serve", "--port", str(port), *options],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/ui/login", timeout=2).close()  # noqa: S310
                break
            except (OSError, urllib.error.URLError):
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            raise AssertionError(f"the server did not start: {log.read_text()}")
        assert server.poll() is None, log.read_text()
        yield base
    finally:
        server.terminate()
        server.wait(20)
    assert b"Traceback" not in log.read_bytes(), log.read_text()
