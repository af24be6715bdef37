"""``docledger keys ...`` (API keys for the HTTP server) and ``docledger serve``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from docledger.cli.context import console, state
from docledger.errors import ConfigurationError, MissingDependency

keys = typer.Typer(help="API keys for the HTTP server.", no_args_is_help=True)


@keys.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'ci' or 'review UI'")],
    workspace: Annotated[str, typer.Option(help="Workspace (slug or id)")] = "default",
    role: Annotated[str, typer.Option(help="viewer, editor or owner")] = "viewer",
    actor: Annotated[
        str | None, typer.Option(help="User (email or id) the key's changes are recorded under")
    ] = None,
) -> None:
    """Issue a key. It is printed once: the store keeps only its hash."""
    with state.ledger() as ledger:
        issued = ledger.api_keys.create(workspace, name, role, actor=actor)
    console.print(
        f"created {issued.key.role} key {issued.key.prefix} for workspace {workspace} "
        "(shown once, keep it safe):"
    )
    print(issued.secret)  # plain, so scripts can capture it


@keys.command("ls")
def keys_ls(
    workspace: Annotated[str, typer.Option(help="Workspace (slug or id)")] = "default",
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys")] = False,
) -> None:
    """List a workspace's keys (never their secrets)."""
    with state.ledger() as ledger:
        page = ledger.api_keys.list(workspace=workspace, include_revoked=revoked, limit=1000)
    table = Table("prefix", "name", "role", "acts for", "created", "revoked")
    for key in page.items:
        table.add_row(
            key.prefix,
            key.name,
            key.role,
            key.actor or "",
            key.created_at.isoformat(timespec="seconds"),
            key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "",
        )
    console.print(table)


@keys.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's prefix (from keys ls) or id")],
    workspace: Annotated[str | None, typer.Option(help="Only within this workspace")] = None,
) -> None:
    """Revoke a key for good: every later request with it gets 401."""
    with state.ledger() as ledger:
        revoked = ledger.api_keys.revoke(key, workspace=workspace)
    console.print(f"revoked key {revoked.prefix} ({revoked.name})")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8765,
    workers: Annotated[int, typer.Option(help="Worker processes", min=1, max=64)] = 1,
    max_body_mib: Annotated[
        int, typer.Option(help="Largest request body accepted (MiB)", min=1)
    ] = 2048,
) -> None:
    """Serve the HTTP API under /api/v1 (OpenAPI at /api/v1/openapi.json, docs at
    /api/v1/docs). Requests need an API key: docledger keys create NAME --role editor."""
    try:
        import uvicorn  # noqa: PLC0415 - the server extra is optional

        from docledger.server import app as server_app  # noqa: PLC0415
    except ImportError as exc:
        raise MissingDependency(
            "the HTTP server needs the server extra: pip install 'docledger[server]'"
        ) from exc
    settings = state.settings()
    with state.ledger():  # fails here, with the usual message, when the store cannot open
        pass
    limit = max_body_mib * 1024 * 1024
    console.print(f"docledger serving {settings.masked_url()} on http://{host}:{port}/api/v1")
    try:
        if workers == 1:
            uvicorn.run(
                server_app.create_app(settings, max_body_bytes=limit),
                host=host,
                port=port,
                log_level="warning",
            )
        else:  # each worker process builds its own app (and its own engine) from the factory
            server_app.configure_factory(settings, limit)
            uvicorn.run(
                "docledger.server.app:factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
            )
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc}") from exc


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")
    app.command("serve")(serve)
