"""Schema state and migrations (Alembic), on the ledger's own engine.

docledger never migrates an existing database behind the user's back: a database below head
raises :class:`MigrationRequired` naming ``docledger db upgrade``. Only a brand-new, empty database
is brought to head without asking.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, inspect, text

import docledger.models  # noqa: F401 - registers every table
from docledger.db.base import Base
from docledger.db.session import translated_errors
from docledger.errors import ConfigurationError, MigrationRequired

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a function needs it: opening a ledger only compares the stored
# revision with the newest shipped one (shipped_head), and Alembic was a tenth of the
# package's import time, which every worker process and CLI command pays.

VERSION_TABLE = "alembic_version"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


def _script_location() -> str:
    return str(resources.files("docledger") / "migrations")


def alembic_config(*, stdout: io.StringIO | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - lazy, see above

    cfg = Config(stdout=stdout) if stdout is not None else Config()
    cfg.set_main_option("script_location", _script_location())
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(Path(_script_location()) / "versions"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - lazy, see above

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise ConfigurationError(f"the docledger migrations have {len(heads)} heads, expected 1")
    return heads[0]


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    empty: bool

    @property
    def at_head(self) -> bool:
        return self.current == self.head


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection in a transaction: a new one from an engine, or the caller's own."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as conn:
            yield conn


@functools.cache
def shipped_head() -> str:
    """The newest migration shipped, from the file names alone (``NNNN_slug.py``, numbered in
    order; a test checks it is Alembic's own head): what ``ensure_ready`` compares with."""
    versions = Path(_script_location()) / "versions"
    numbers = [m.group(1) for p in versions.iterdir() if (m := _REVISION_FILE.match(p.name))]
    if not numbers:
        raise ConfigurationError(f"no migrations found in {versions}")
    return max(numbers)


def schema_state(bind: Engine | Connection) -> SchemaState:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - lazy, see above

    with translated_errors(), _connection(bind) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = set(inspect(conn).get_table_names())
    managed = set(Base.metadata.tables)
    return SchemaState(current=current, head=head_revision(), empty=not (tables & managed))


@contextmanager
def _migration_connection(bind: Engine | Connection, *, changes: bool) -> Iterator[Connection]:
    """The connection migrations run on. SQLite: foreign keys are off while they run, and
    checked before commit. A migration that changes a table's constraints rebuilds it (copy,
    DROP, rename), and with foreign keys on, the DROP deletes every child row through ON DELETE
    CASCADE: rebuilding ``jobs`` emptied ``job_events`` until this was added (a test keeps it
    so). The PRAGMA only works outside a transaction, so it is set on the driver connection
    before the migration's transaction begins, and set back before the connection is pooled
    again."""
    if isinstance(bind, Connection) or bind.dialect.name != "sqlite":
        with _connection(bind) as conn:
            if changes and conn.dialect.name == "sqlite" and _has_user_tables(conn):
                raise ConfigurationError(
                    "migrate a SQLite database through its engine, not a connection: table "
                    "rebuilds need foreign keys off, which a transaction cannot switch"
                )
            yield conn
        return
    with bind.connect() as conn:
        raw: Any = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise ConfigurationError(
                        f"migration left {len(broken)} rows whose foreign key points nowhere "
                        f"(first: {tuple(broken[0])}); nothing was changed"
                    )
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def _has_user_tables(conn: Connection) -> bool:
    return bool(inspect(conn).get_table_names())


def _run(
    bind: Engine | Connection, fn: str, *args: object, stdout: io.StringIO | None = None
) -> None:
    from alembic import command  # noqa: PLC0415 - lazy, see above
    from alembic.util.exc import CommandError  # noqa: PLC0415

    cfg = alembic_config(stdout=stdout)
    changes = fn in {"upgrade", "downgrade"}
    with translated_errors(), _migration_connection(bind, changes=changes) as conn:
        cfg.attributes["connection"] = conn
        try:
            getattr(command, fn)(cfg, *args)
        except CommandError as exc:
            raise ConfigurationError(f"migration failed: {exc}") from exc


def upgrade(bind: Engine | Connection, revision: str = "head") -> None:
    """Migrate up. On SQLite pass the engine: migrations there run with foreign keys off (see
    ``_migration_connection``), which a connection already in a transaction cannot do."""
    _run(bind, "upgrade", revision)


def downgrade(bind: Engine | Connection, revision: str) -> None:
    """Migrate down; on SQLite pass the engine, as for ``upgrade``."""
    _run(bind, "downgrade", revision)


def history() -> list[tuple[str, str | None, str]]:
    """(revision, down_revision, message), oldest first."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - lazy, see above

    script = ScriptDirectory.from_config(alembic_config())
    revs = list(script.walk_revisions())
    revs.reverse()
    out: list[tuple[str, str | None, str]] = []
    for rev in revs:
        down = rev.down_revision
        out.append(
            (
                rev.revision,
                down if isinstance(down, str) or down is None else ",".join(down),
                rev.doc or "",
            )
        )
    return out


def check(bind: Engine | Connection) -> list[str]:
    """Differences between the models and the database at head; empty means no drift."""
    from alembic.util.exc import AutogenerateDiffsDetected  # noqa: PLC0415 - lazy, see above

    if not schema_state(bind).at_head:
        raise MigrationRequired(
            "the database is not at head; run `docledger db upgrade` before `db check`"
        )
    try:
        _run(bind, "check", stdout=io.StringIO())
    except ConfigurationError as exc:
        if isinstance(exc.__cause__, AutogenerateDiffsDetected):
            return [line for line in str(exc.__cause__).splitlines() if line.strip()]
        raise
    return []


def revision(engine: Engine, message: str, *, autogenerate: bool = True) -> None:
    """For contributors: write a new migration file into the package's versions folder."""
    from alembic import command  # noqa: PLC0415 - lazy, see above

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=autogenerate)


def ensure_ready(bind: Engine | Connection) -> None:
    """Create a brand-new database at head; refuse a database below head. The common case
    (at head) is one query and no Alembic."""
    with translated_errors(), _connection(bind) as conn:
        tables = set(inspect(conn).get_table_names())
        current = (
            conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
            if VERSION_TABLE in tables
            else None
        )
    if current == shipped_head():
        return
    if current is None and not tables & set(Base.metadata.tables):
        upgrade(bind)
        return
    raise MigrationRequired(
        f"the database is at revision {current or 'none'}, docledger needs {shipped_head()}: "
        "run `docledger db upgrade`"
    )
