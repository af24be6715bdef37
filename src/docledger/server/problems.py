"""Errors as RFC 9457 problem documents (``application/problem+json``).

Each DocledgerError class has one status, so a client branches on the status and ``type``
exactly as a library caller branches on the class; anything unexpected is a 500 whose body
says nothing about the server's internals (the log has the traceback).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from docledger import errors

log = logging.getLogger("docledger.server")

MEDIA_TYPE = "application/problem+json"

#: most specific first: the first class an error is an instance of gives its status
STATUS: list[tuple[type[errors.DocledgerError], int]] = [
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidTransition, 409),
    (errors.IntegrityViolation, 422),
    (errors.InvalidInput, 422),
    (errors.LockTimeout, 503),
    (errors.DatabaseUnavailable, 503),
    (errors.StorageFull, 507),
    (errors.MissingDependency, 501),
]


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:docledger:problem:{kind or _slug(title.replace(' ', ''))}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: errors.DocledgerError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def from_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DocledgerError)
    status = status_of(exc)
    name = type(exc).__name__
    if status == 500:
        log.error("%s on %s %s: %s", name, request.method, request.url.path, exc)
        return problem(500, "Internal Server Error", kind="internal", instance=request.url.path)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="docledger"'
    if status == 503:
        headers["Retry-After"] = "1"
    return problem(
        status,
        name,
        str(exc),
        kind=_slug(name),
        instance=request.url.path,
        headers=headers or None,
    )


def _from_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    where = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    first = where[0] if where else {"loc": [], "msg": "invalid request"}
    detail = f"{'.'.join(first['loc'])}: {first['msg']}"
    return problem(
        422, "InvalidInput", detail, kind="invalid-input", instance=request.url.path, errors=where
    )


def _from_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    title = {404: "NotFound", 405: "MethodNotAllowed", 413: "ContentTooLarge"}.get(
        exc.status_code, "HTTPError"
    )
    return problem(
        exc.status_code,
        title,
        str(exc.detail),
        kind=_slug(title),
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


def _from_anything(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal Server Error", kind="internal", instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DocledgerError, from_error)
    app.add_exception_handler(RequestValidationError, _from_validation)
    app.add_exception_handler(HTTPException, _from_http)
    app.add_exception_handler(Exception, _from_anything)
