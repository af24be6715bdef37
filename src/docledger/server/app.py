"""The FastAPI application: ``/api/v1`` over the async surface, one ledger per process.

Every route authenticates its API key and passes the key's workspace to the library, whose
own isolation (tested method by method) makes another workspace's ids answer 404; under
PostgreSQL row-level security the calls also run on a view the database confines to that
workspace (``server/tenants.py``). Errors are
problem documents (``server/problems.py``); bodies over the limit are refused with 413
(``server/limits.py``). No CORS headers are sent: browsers keep other sites' pages out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from docledger.config import Settings, load_settings
from docledger.ledger import AsyncLedger
from docledger.server import (
    documents,
    extractions,
    findings,
    keys,
    labels,
    operations,
    problems,
    records,
    registry,
    search,
    ui,
)
from docledger.server.limits import BodyLimit
from docledger.server.tenants import Tenants

API = "/api/v1"
#: 2 GiB: a large scan or drawing set fits, a runaway client does not fill the disk
DEFAULT_MAX_BODY = 2 << 30


def create_app(
    settings: Settings | None = None,
    *,
    ledger: AsyncLedger | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
) -> FastAPI:
    """The app. With ``ledger`` it serves that (open) ledger and leaves closing it to the
    caller; otherwise it opens one from ``settings`` (default: the environment) at startup
    and closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if ledger is not None:
            app.state.tenants = await Tenants.open(ledger)
            yield
            return
        opened = await AsyncLedger.open(settings=settings or load_settings())
        app.state.ledger = opened
        app.state.tenants = await Tenants.open(opened)
        try:
            yield
        finally:
            await opened.close()

    app = FastAPI(
        title="docledger",
        summary="Documents, versions, segments with boxes, search, annotations, findings.",
        version="1",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    if ledger is not None:
        app.state.ledger = ledger
    problems.install(app)
    for module in (
        keys,
        documents,
        extractions,
        search,
        labels,
        findings,
        operations,
        records,
        registry,
    ):
        app.include_router(module.router, prefix=API)
    ui.install(app)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    return app


def configure_factory(settings: Settings, max_body_bytes: int) -> None:
    """For ``--workers N``: worker processes are spawned fresh and read their settings from
    the environment, so the parent passes its own through it."""
    import os  # noqa: PLC0415

    os.environ["DOCLEDGER_DB_URL"] = settings.resolved_db_url
    os.environ["DOCLEDGER_BLOB_ROOT"] = settings.resolved_blob_root
    os.environ["DOCLEDGER_SERVER_MAX_BODY_BYTES"] = str(max_body_bytes)


def factory() -> FastAPI:
    """What each worker process calls (see ``configure_factory``)."""
    import os  # noqa: PLC0415

    limit = int(os.environ.get("DOCLEDGER_SERVER_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
    return create_app(load_settings(), max_body_bytes=limit)
