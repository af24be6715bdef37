"""A light HTTP/1.1 load generator for bench/server.py.

The load generator shares the machine's two cores with the server it measures. httpx spends
about as much CPU per small request as the server does (multipart encoding, header objects,
response parsing), so with it a benchmark measures the client as much as the server. This
client encodes every request before the clock starts and keeps connections alive over plain
asyncio streams, the way a native load generator (wrk, hey) would; the benchmark reports
both clients' figures.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """One file field as ``multipart/form-data``: (body, content type)."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def encode(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def post_json(path: str, host: str, headers: dict[str, str], payload: Any) -> bytes:
    body = json.dumps(payload).encode()
    return encode("POST", path, host, {**headers, "Content-Type": "application/json"}, body)


class Connections:
    """``size`` kept-alive connections; a request takes one, sends its bytes, reads the answer
    (``Content-Length`` bodies: every docledger JSON answer has one)."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def __aenter__(self) -> Connections:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))
        return self

    async def __aexit__(self, *exc: object) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self.idle.get()
        try:
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = None
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is None:
                raise RuntimeError("an answer without Content-Length")
            body = await reader.readexactly(length)
        except BaseException:
            writer.close()
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))
            raise
        self.idle.put_nowait((reader, writer))
        if status >= 400:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        return status, body
