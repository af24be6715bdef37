"""``docledger db ...``: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from docledger.cli.context import console, state
from docledger.db.engine import create_sync_engine
from docledger.services import schema

app = typer.Typer(
    help="Database schema: migrate, inspect and check for drift.", no_args_is_help=True
)


def _engine() -> Engine:
    return create_sync_engine(state.settings())


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    engine = _engine()
    try:
        schema.upgrade(engine, revision)
        console.print(f"database at {schema.schema_state(engine).current}")
    finally:
        engine.dispose()


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, or base")]) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    engine = _engine()
    try:
        schema.downgrade(engine, revision)
        console.print(f"database at {schema.schema_state(engine).current or 'base'}")
    finally:
        engine.dispose()


@app.command()
def current() -> None:
    """Show the database's revision and the newest one this docledger knows."""
    engine = _engine()
    try:
        st = schema.schema_state(engine)
        mark = "(head)" if st.at_head else f"(head is {st.head}: run `docledger db upgrade`)"
        console.print(f"{st.current or 'base'} {mark}")
    finally:
        engine.dispose()


@app.command()
def history() -> None:
    """List every migration, oldest first."""
    table = Table("revision", "down", "message")
    for rev, down, doc in schema.history():
        table.add_row(rev, down or "-", doc)
    console.print(table)


@app.command()
def check() -> None:
    """Fail (exit 1) when the models and the migrated database differ."""
    engine = _engine()
    try:
        diffs = schema.check(engine)
    finally:
        engine.dispose()
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
    engine = _engine()
    try:
        schema.revision(engine, message, autogenerate=autogenerate)
    finally:
        engine.dispose()
