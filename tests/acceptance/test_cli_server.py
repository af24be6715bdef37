"""``docledger keys ...`` and a real ``docledger serve`` process on loopback."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .served import served
from .test_cli import run


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

    # two worker processes: each builds the app from the factory and the environment
    with served(db_url, tmp_path, "--workers", "2") as root:
        base = f"{root}/api/v1"
        status, _, _ = _call(f"{base}/whoami", None)
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
        (version,) = json.loads(_call(f"{base}/documents/note.txt/versions", key)[1])
        assert headers["ETag"] == f'"{version["sha256"]}"'

        assert dl("keys", "revoke", prefix).returncode == 0
        status, body, headers = _call(f"{base}/whoami", key)
        assert status == 401
        assert headers.get("Content-Type").startswith("application/problem+json")
