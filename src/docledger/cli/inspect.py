"""``docledger init``, ``tables`` and ``doctor``: create a store and look inside it."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import inspect

from docledger.cli.context import console, state, styled
from docledger.db.dialect import capabilities, table_row_counts
from docledger.db.session import translated_errors
from docledger.errors import DocledgerError
from docledger.services import schema


def init() -> None:
    """Create the database (if needed) and migrate it to the newest schema."""
    with state.engine() as engine:
        schema.upgrade(engine)
        st = schema.schema_state(engine)
    console.print(f"docledger store ready: {state.settings().masked_url()} (schema {st.current})")


def tables() -> None:
    """List every table with its row count."""
    with state.engine() as engine, translated_errors(), engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        counts = table_row_counts(conn, names)
        conn.rollback()
    if not names:
        console.print("no tables: run `docledger init`")
        raise typer.Exit(1)
    table = Table("table", "rows")
    for name in names:
        table.add_row(name, f"{counts[name]:,}")
    console.print(table)


def doctor() -> None:
    """Print the resolved configuration, the server, the migration state and optional features."""
    settings = state.settings()
    info = Table("setting", "value", show_header=False)
    info.add_row("database", settings.masked_url())
    info.add_row("dialect", settings.dialect_name)
    info.add_row("data dir", str(settings.data_dir))
    info.add_row("blob root", settings.resolved_blob_root)
    if settings.dialect_name == "sqlite":
        info.add_row(
            "sqlite pragmas",
            f"journal_mode={settings.sqlite_journal_mode} synchronous={settings.sqlite_synchronous}"
            f" busy_timeout={settings.sqlite_busy_timeout_ms}ms",
        )
    else:
        info.add_row(
            "pool",
            f"size={settings.pool_size} overflow={settings.pool_max_overflow} "
            f"pre_ping={settings.pool_pre_ping} recycle={settings.pool_recycle_s}s",
        )
    healthy = True
    with state.engine() as engine:
        try:
            caps = capabilities(engine)
            st = schema.schema_state(engine)
            info.add_row("server version", caps.server_version)
            state_text = f"{st.current or 'empty'} (head {st.head})"
            if not st.at_head:
                state_text += " - run `docledger db upgrade`"
                healthy = False
            info.add_row("schema", state_text)
            info.add_row("FTS5" if caps.dialect == "sqlite" else "full-text", _yes(caps.fts5))
            if caps.dialect == "sqlite":
                info.add_row("sqlite-vec", _yes(caps.sqlite_vec))
            else:
                info.add_row(
                    "pgvector",
                    "installed"
                    if caps.pgvector_installed
                    else "available"
                    if caps.pgvector_available
                    else "no (exact search is used)",
                )
        except DocledgerError as exc:
            info.add_row("connection", styled(f"{type(exc).__name__}: {exc}", "red"))
            healthy = False
    console.print(info)
    if not healthy:
        raise typer.Exit(1)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(tables)
    app.command()(doctor)
