"""``docledger workspaces ...`` and ``docledger users ...``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from docledger.cli.context import console, state
from docledger.errors import InvalidInput
from docledger.schemas.common import every

workspaces = typer.Typer(help="Workspaces (tenants, projects).", no_args_is_help=True)
users = typer.Typer(help="Users and their preferences.", no_args_is_help=True)


@workspaces.command("ls")
def workspaces_ls() -> None:
    """List workspaces."""
    with state.ledger() as ledger:
        rows = list(every(ledger.workspaces.list, limit=1000))
    table = Table("slug", "name", "id", "created")
    for ws in rows:
        table.add_row(ws.slug, ws.name, str(ws.id), ws.created_at.isoformat(timespec="seconds"))
    console.print(table)


@workspaces.command("create")
def workspaces_create(
    slug: Annotated[str, typer.Argument(help="Short unique name: a-z, 0-9, - and _")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Create a workspace."""
    with state.ledger() as ledger:
        ws = ledger.workspaces.create(slug, name)
    console.print(f"created workspace {ws.slug} ({ws.id})")


@users.command("ls")
def users_ls() -> None:
    """List users."""
    with state.ledger() as ledger:
        rows = list(every(ledger.users.list, limit=1000))
    table = Table("email", "name", "role", "id")
    for user in rows:
        table.add_row(user.email, user.name, user.role, str(user.id))
    console.print(table)


@users.command("create")
def users_create(
    email: Annotated[str, typer.Argument()],
    name: Annotated[str | None, typer.Option()] = None,
    role: Annotated[str, typer.Option(help="admin, member or service")] = "member",
    workspace: Annotated[
        str | None, typer.Option(help="Also grant this workspace (slug or id) as editor")
    ] = None,
) -> None:
    """Create a user (and optionally add them to a workspace) in one transaction."""
    with state.ledger() as ledger, ledger.transaction() as tx:
        user = tx.users.create(email, name, role)
        if workspace:
            tx.memberships.create(workspace, user.id, "editor")
    console.print(f"created user {user.email} ({user.id})")


@users.command("prefs")
def users_prefs(
    user: Annotated[str, typer.Argument(help="Email or id")],
    set_json: Annotated[
        str | None, typer.Option("--set", help="JSON object merged into the preferences")
    ] = None,
) -> None:
    """Show a user's preferences, or merge new ones in with --set."""
    with state.ledger() as ledger:
        if set_json is None:
            prefs = ledger.users.get(user).preferences
        else:
            try:
                patch = json.loads(set_json)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"--set is not valid JSON: {exc}") from exc
            if not isinstance(patch, dict):
                raise InvalidInput("--set must be a JSON object")
            prefs = ledger.users.set_preferences(user, patch).preferences
    console.print_json(json.dumps(prefs))
