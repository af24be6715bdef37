"""Alembic environment: runs on the connection docledger hands over (see services/schema.py)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import JSON, Column, Connection, create_engine

import docledger.models  # noqa: F401 - registers every table on the metadata
from docledger.db.base import Base
from docledger.db.bounds import Checked

target_metadata = Base.metadata

#: Tables docledger creates outside the ORM metadata (full-text and vector indexes are added by
#: migrations as raw DDL); autogenerate must not propose dropping them.
UNMANAGED_PREFIXES = ("fts_", "vec_")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Skip unmanaged tables before reflection (their pgvector columns have no SQLAlchemy type)."""
    if type_ == "table" and name:
        return not name.startswith(UNMANAGED_PREFIXES) and not name.startswith("sqlite_")
    return True


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and reflected and compare_to is None and name:
        return not name.startswith(UNMANAGED_PREFIXES) and not name.startswith("sqlite_")
    return True


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render docledger's portable types by name, so migrations use the same definitions;
    a checked column (``docledger.db.bounds``) renders as the type it wraps."""
    if type_ == "type" and isinstance(obj, Checked):
        obj = obj.inner
        if not (isinstance(obj, JSON) and getattr(obj, "_variant_mapping", None)):
            return f"sa.{obj!r}"
    if type_ == "type" and isinstance(obj, JSON) and getattr(obj, "_variant_mapping", None):
        return "docledger.db.types.JSONType"
    return False


def compare_type(
    ctx: Any, inspected: Column[Any], metadata: Column[Any], _i: Any, metadata_type: Any
) -> bool | None:
    """Compare a checked column by the type it wraps (the check is Python-side only)."""
    if isinstance(metadata_type, Checked):
        plain: Column[Any] = Column(metadata.name, metadata_type.inner)
        return bool(ctx.impl.compare_type(inspected, plain))
    return None


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        # A contributor tool may hand over a subset of the metadata (one migration per phase).
        target_metadata=context.config.attributes.get("target_metadata", target_metadata),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=compare_type,
        include_name=include_name,
        include_object=include_object,
        render_item=render_item,
        transaction_per_migration=True,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the docledger migrations")
    engine = create_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("docledger migrations run online only (use `docledger db upgrade`)")
run_migrations_online()
