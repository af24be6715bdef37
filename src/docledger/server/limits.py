"""A request body larger than the limit gets 413 and stores nothing: refused at once from
``Content-Length``, or mid-stream for a chunked body (the handler then sees a disconnect,
so an upload in progress is abandoned before any row is written)."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docledger.server.problems import MEDIA_TYPE


class TooLarge(HTTPException):
    """Raised from ``receive``: FastAPI passes an HTTPException met while reading a body on
    (where any other error would become a 400), so the client gets the 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def _body(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "urn:docledger:problem:content-too-large",
            "title": "ContentTooLarge",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
        }
    ).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = _body(self.limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge(self.limit)
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except TooLarge:  # read outside a route (no handler answered): answer here
            if not started:
                await self._refuse(send)
