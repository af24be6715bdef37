"""Which workspace a row of each table belongs to, read off the schema.

One answer serves the two places that need it: a workspace dump (which rows to write) and
PostgreSQL's row-level security (which rows a tenant may see). A table either carries
``workspace_id`` itself (``workspaces`` is keyed by it), hangs off such a table through a
non-null foreign key (an annotation's events, a run's metric chunks, a message's retrievals),
or is shared by every workspace (users, blobs, embedding spaces).
"""

from __future__ import annotations

from sqlalchemy import Column, Table

from docledger.db.base import Base


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def has_workspace(table: Table) -> bool:
    return table.name == "workspaces" or "workspace_id" in table.c


def shared(table: Table) -> bool:
    """Rows no workspace owns, or may own none (runs, jobs and models of no workspace)."""
    if table.name == "workspaces":
        return False
    if "workspace_id" in table.c:
        return bool(table.c.workspace_id.nullable)
    return owner_key(table) is None


def owner_key(table: Table) -> tuple[Column[object], Table] | None:
    """For a table without a workspace column: the foreign key (column, parent table) through
    which its rows belong to a workspace — a non-null key first, then by column name — or None
    when it has none (a shared table)."""
    if has_workspace(table):
        return None
    candidates = [
        (fk.parent, fk.column.table)
        for fk in table.foreign_keys
        if fk.column.table is not table
        and (has_workspace(fk.column.table) or owner_key(fk.column.table) is not None)
    ]
    candidates.sort(key=lambda pair: (bool(pair[0].nullable), pair[0].name))
    return candidates[0] if candidates else None
