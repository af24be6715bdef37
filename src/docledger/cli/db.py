"""``docledger db ...``: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import text

from docledger.cli.context import console, state
from docledger.db import tenancy, vector_index
from docledger.db.dialects import dialect_of
from docledger.db.session import translated_errors
from docledger.services import schema

app = typer.Typer(
    help="Database schema: migrate, inspect and check for drift.", no_args_is_help=True
)


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    with state.engine() as engine:
        schema.upgrade(engine, revision)
        console.print(f"database at {schema.schema_state(engine).current}")


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, or base")]) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    with state.engine() as engine:
        schema.downgrade(engine, revision)
        console.print(f"database at {schema.schema_state(engine).current or 'base'}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one this docledger knows."""
    with state.engine() as engine:
        st = schema.schema_state(engine)
        mark = "(head)" if st.at_head else f"(head is {st.head}: run `docledger db upgrade`)"
        console.print(f"{st.current or 'base'} {mark}")


@app.command()
def history() -> None:
    """List every migration, oldest first."""
    table = Table("revision", "down", "message")
    for rev, down, doc in schema.history():
        table.add_row(rev, down or "-", doc)
    console.print(table)


@app.command()
def pgvector() -> None:
    """Install pgvector copies and an HNSW index per space (PostgreSQL with the extension).

    Migrations do this when the extension is there at upgrade time; run this after a server
    gains pgvector later. Idempotent; fails (exit 1) when the extension is missing.
    """
    with state.engine() as engine:
        schema.ensure_ready(engine)
        if not dialect_of(engine).vector_index:
            console.print("pgvector is PostgreSQL only; SQLite searches on the exact path")
            raise typer.Exit(1)
        with translated_errors(), engine.begin() as conn:
            enabled = vector_index.enable(conn)
            copies = conn.execute(text(f"SELECT count(*) FROM {vector_index.TABLE}")).scalar()
        if not enabled:
            console.print("the server has no usable pgvector extension; exact search stays on")
            raise typer.Exit(1)
    console.print(f"pgvector enabled: {copies} vectors indexed")


@app.command("enable-rls")
def enable_rls() -> None:
    """Enforce tenancy in PostgreSQL: row-level security confines the docledger_tenant role
    to the workspace each transaction names (run as the tables' owner; idempotent, run again
    after `db upgrade`). Ledgers opened for one workspace then run as that role."""
    with state.engine() as engine:
        schema.ensure_ready(engine)
        with translated_errors(), engine.begin() as conn:
            confined = tenancy.enable(conn)
    console.print(
        f"row-level security on {len(confined)} tables for role {tenancy.ROLE}; "
        f"set {tenancy.SETTING} per transaction (Ledger.open(url, workspace=...))"
    )


@app.command("disable-rls")
def disable_rls() -> None:
    """Drop the row-level security policies (the role and its grants stay)."""
    with state.engine() as engine, translated_errors(), engine.begin() as conn:
        tenancy.disable(conn)
    console.print("row-level security off")


@app.command()
def check() -> None:
    """Fail (exit 1) when the models and the migrated database differ."""
    with state.engine() as engine:
        diffs = schema.check(engine)
    if diffs:
        for line in diffs:
            console.print(line, highlight=False)
        raise typer.Exit(1)
    console.print("no drift: models and migrations agree")


@app.command()
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does")],
    autogenerate: Annotated[bool, typer.Option(help="Compare models to the database")] = True,
) -> None:
    """For contributors: write a new migration into the package (database must be at head)."""
    with state.engine() as engine:
        schema.revision(engine, message, autogenerate=autogenerate)
