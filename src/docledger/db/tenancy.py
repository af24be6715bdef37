"""Tenant isolation enforced by PostgreSQL itself: row-level security per workspace.

Opt-in (``docledger db enable-rls``), because it changes who may read what: every table whose
rows belong to a workspace (``db.ownership``) gets a policy that shows a row only when its
workspace is the one named by the transaction's ``docledger.workspace`` setting; tables that
hang off another (an annotation's events) show a row only when its parent row is visible, so
one setting confines the whole schema. The policies apply to the ``docledger_tenant`` role, which
owns nothing: the table owner (migrations, backups, an operator) is not confined, a tenant
cannot switch the policies off, and a connection that never names a workspace sees no
workspace's rows at all.

A ledger opened for one workspace (``Ledger.open(url, workspace="acme")``) names it at the
start of every transaction (``set_config(..., true)``, local to the transaction, so a pooled
connection never carries it into another) and, when it connected as a role that is not
already the tenant role, takes that role for the transaction (``SET LOCAL ROLE``). Whatever
the code above does — a public method given another workspace's ids, raw SQL — the database
answers with this workspace's rows only.

Shared tables stay readable by every tenant: users, blobs (a hash and a size; the bytes live in
the blob store) and embedding spaces, and runs, jobs and models that belong to no workspace.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, text

from docledger.db import ownership
from docledger.db.base import Base
from docledger.errors import InvalidInput, NotFound

ROLE = "docledger_tenant"
#: the engine execution option that carries the workspace a ledger was opened for
OPTION = "docledger_workspace"
#: ... and whether row-level security confines its transactions
ENFORCED_OPTION = "docledger_rls"
SETTING = "docledger.workspace"
POLICY = "docledger_tenant"
#: tables outside the ORM metadata that hold tenant data, and the key that owns their rows
SIDE_TABLES = {
    "fts_segments": ("segment_id", "segments"),
    "fts_pending": ("extraction_id", "extractions"),
    "vec_embeddings": ("segment_id", "segments"),
}

_FUNCTIONS = [
    # the policies' one question; '' once a transaction-local setting was reset
    "CREATE OR REPLACE FUNCTION docledger_current_workspace() RETURNS uuid "
    "LANGUAGE sql STABLE AS "
    f"$$ SELECT NULLIF(current_setting('{SETTING}', true), '')::uuid $$",
    # a tenant names its workspace by slug before it can see the workspaces table
    "CREATE OR REPLACE FUNCTION docledger_workspace_id(ref text) RETURNS uuid "
    "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS "
    "$$ SELECT id FROM workspaces WHERE slug = ref OR id::text = ref LIMIT 1 $$",
]


def _require_postgres(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise InvalidInput(
            "row-level security is PostgreSQL's: an embedded SQLite store has one tenant per "
            "file (open a ledger with workspace= to scope calls)"
        )


def _present(conn: Connection, name: str) -> bool:
    return bool(conn.execute(text(f"SELECT to_regclass('{name}') IS NOT NULL")).scalar())


def _expression(table_name: str) -> str | None:
    """The policy's condition for one table (None: shared, no policy)."""
    if table_name in SIDE_TABLES:
        side_key, side_parent = SIDE_TABLES[table_name]
        return f"EXISTS (SELECT 1 FROM {side_parent} p WHERE p.id = {table_name}.{side_key})"
    table = Base.metadata.tables[table_name]
    if table.name == "workspaces":
        return "id = docledger_current_workspace()"
    if "workspace_id" in table.c:
        mine = "workspace_id = docledger_current_workspace()"
        return f"workspace_id IS NULL OR {mine}" if table.c.workspace_id.nullable else mine
    owner = ownership.owner_key(table)
    if owner is None:
        return None
    column, parent = owner
    key = next(iter(parent.primary_key.columns)).name
    return f"EXISTS (SELECT 1 FROM {parent.name} p WHERE p.{key} = {table.name}.{column.name})"


def confined_tables(conn: Connection) -> list[str]:
    """The tables a tenant sees only its workspace's rows of (those present here)."""
    names = [t.name for t in ownership.tables() if _expression(t.name) is not None]
    names += [name for name in SIDE_TABLES if _present(conn, name)]
    return names


def enable(conn: Connection) -> list[str]:
    """Create the tenant role, its grants and the policies (idempotent: run it again after
    ``db upgrade`` so new tables are covered). Returns the confined tables."""
    _require_postgres(conn)
    conn.execute(
        text(
            "DO $$ BEGIN CREATE ROLE " + ROLE + " NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    )
    if not conn.execute(text(f"SELECT pg_has_role(current_user, '{ROLE}', 'MEMBER')")).scalar():
        conn.execute(text(f"GRANT {ROLE} TO current_user"))  # so ledgers may SET ROLE to it
    for statement in _FUNCTIONS:
        conn.execute(text(statement))
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {ROLE}"))
    conn.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}")
    )
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}"))
    conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {ROLE}"))
    names = confined_tables(conn)
    for name in names:
        condition = _expression(name)
        conn.execute(text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
        conn.execute(text(f"DROP POLICY IF EXISTS {POLICY} ON {name}"))
        conn.execute(
            text(
                f"CREATE POLICY {POLICY} ON {name} TO {ROLE} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )
        )
    return names


def disable(conn: Connection) -> None:
    """Drop the policies (the role and its grants stay: other databases may use the role)."""
    _require_postgres(conn)
    for name in confined_tables(conn):
        conn.execute(text(f"DROP POLICY IF EXISTS {POLICY} ON {name}"))
        conn.execute(text(f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY"))


def enabled(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text("SELECT count(*) FROM pg_policies WHERE schemaname = 'public' AND policyname = :p"),
        {"p": POLICY},
    ).scalar()
    return bool(found)


@dataclass(frozen=True)
class Tenant:
    """One workspace a ledger is opened for, and whether the database enforces it."""

    workspace_id: uuid.UUID
    enforced: bool
    take_role: bool


def tenant(conn: Connection, workspace: str | uuid.UUID) -> Tenant:
    """The workspace named by slug or id, asked the way a tenant may ask."""
    enforced = enabled(conn)
    take_role = False
    if enforced:
        found = conn.execute(
            text("SELECT docledger_workspace_id(:ref)"), {"ref": str(workspace)}
        ).scalar()
        take_role = not conn.execute(text("SELECT current_user = :r"), {"r": ROLE}).scalar()
    else:
        found = conn.execute(
            text("SELECT id FROM workspaces WHERE slug = :ref OR CAST(id AS TEXT) = :key"),
            {"ref": str(workspace), "key": _key_text(conn, workspace)},
        ).scalar()
    conn.rollback()
    if found is None:
        raise NotFound(f"no workspace {workspace!s}")
    key = found if isinstance(found, uuid.UUID) else uuid.UUID(str(found))
    return Tenant(key, enforced, take_role)


def _key_text(conn: Connection, workspace: str | uuid.UUID) -> str:
    """An id as the database spells it (SQLite keeps UUIDs as 32 hex digits)."""
    try:
        key = uuid.UUID(str(workspace))
    except ValueError:
        return ""
    return key.hex if conn.dialect.name == "sqlite" else str(key)


def install(engine: Engine, who: Tenant) -> None:
    """Name the workspace (and take the tenant role) at the start of every transaction of
    this engine's connections, when the database enforces tenancy."""
    if not who.enforced:
        return
    statements = [f"SET LOCAL ROLE {ROLE}"] if who.take_role else []
    statements.append(f"SELECT set_config('{SETTING}', '{who.workspace_id}', true)")

    @event.listens_for(engine, "begin")
    def _name_workspace(conn: Connection) -> None:
        cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()


def confine(engine: Engine, workspace: str | uuid.UUID) -> Engine:
    """``engine`` for one workspace: its transactions confined to it where the database
    enforces tenancy, and the workspace every call defaults to (``default_workspace``)."""
    with engine.connect() as conn:
        who = tenant(conn, workspace)
    return confined(engine, who)


def confined(engine: Engine, who: Tenant) -> Engine:
    install(engine, who)
    return engine.execution_options(**options(who))


def view(engine: Engine, who: Tenant) -> Engine:
    """``engine`` for one workspace, sharing its connection pool: the workspace is named by
    a listener on the view alone (listeners on an option engine do not reach the engine it
    was made from), so one pool serves many workspaces, each transaction confined to one."""
    option_engine = engine.execution_options(**options(who))
    install(option_engine, who)
    return option_engine


def options(who: Tenant) -> dict[str, Any]:
    """The execution options that mark an engine as opened for ``who``."""
    return {OPTION: str(who.workspace_id), ENFORCED_OPTION: who.enforced}


def enforced(bind: Any) -> bool:
    """Whether row-level security confines this engine's (or connection's) transactions.

    Then a statement must not insert a parent row and its children at once (a writable CTE):
    the children's policy looks the parent up, and rows a sibling CTE inserts are not visible
    within the same statement."""
    try:
        return bool(bind.get_execution_options().get(ENFORCED_OPTION))
    except AttributeError:
        return False


def default_workspace(bind: Any) -> str | None:
    """The workspace a ledger was opened for (None: the store's default one)."""
    try:
        options = bind.get_execution_options()
    except AttributeError:
        return None
    found = options.get(OPTION)
    return str(found) if found is not None else None
