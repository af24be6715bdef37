"""``docledger keys ...`` and a real ``docledger serve`` process on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .test_cli import docledger_bin, run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _call(url: str, key: str | None, data: bytes | None = None, **headers: str) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def test_keys_and_a_served_store(db_url: str, tmp_path: Path) -> None:
    def dl(*args: str) -> subprocess.CompletedProcess[str]:
        return run("--db", db_url, *args, cwd=tmp_path)

    made = dl("keys", "create", "uploader", "--role", "editor")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("dlk_")
    prefix = key[4:16]
    listed = dl("keys", "ls")
    assert prefix in listed.stdout
    assert key.split(".", 1)[1] not in listed.stdout
    refused = dl("keys", "create", "x", "--role", "admin")
    assert refused.returncode == 1
    assert "InvalidInput" in refused.stderr
    assert "Traceback" not in refused.stderr

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCLEDGER_")}
    env["DOCLEDGER_BLOB_ROOT"] = str(tmp_path / "blobs")
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            # two worker processes: each builds the app from the factory and the environment
            [docledger_bin(), "--db", db_url, "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(150):
            try:
                status, _, _ = _call(f"{base}/whoami", None)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        assert status == 401
        status, body, _ = _call(f"{base}/whoami", key)
        assert status == 200
        assert json.loads(body)["key"]["prefix"] == prefix

        boundary = "docledgerboundary"
        payload = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="note.txt"\r\nContent-Type: text/plain\r\n\r\n'
            "Fire doors close on their own.\r\n"
            f"--{boundary}--\r\n"
        ).encode()
        status, body, _ = _call(
            f"{base}/documents",
            key,
            payload,
            **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert status == 201, body
        status, body, headers = _call(f"{base}/documents/note.txt/content", key)
        assert status == 200
        assert body == b"Fire doors close on their own."
        assert (
            headers["ETag"]
            == f'"{json.loads(_call(f"{base}/documents/note.txt/versions", key)[1])[0]["sha256"]}"'
        )

        assert dl("keys", "revoke", prefix).returncode == 0
        status, body, headers = _call(f"{base}/whoami", key)
        assert status == 401
        assert headers.get("Content-Type").startswith("application/problem+json")
    finally:
        server.terminate()
        server.wait(20)
    assert b"Traceback" not in log.read_bytes()
