"""Online backup of a whole store into a folder, and restore into an empty one.

A backup is a folder: the database snapshot (SQLite: the online backup API, one step, so the
copy is one consistent moment while writers go on in WAL mode; PostgreSQL: ``pg_dump -Fc``
reading a snapshot exported from a repeatable-read transaction), ``blobs/`` (content-
addressed like the store: a second backup into the same folder copies only the new blobs), and
``manifest.json``: the schema revision, the row count of every table and the hash of every
blob, all read in that same snapshot. Garbage collection waits while the blobs are copied
(the blob guard), so every blob the snapshot names is still there to copy.

Restore checks the whole backup first (manifest, database file, every blob re-hashed) and
only then writes: a corrupt backup fails with the reason and the target is left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, inspect, select, text

from docledger.db.base import Base
from docledger.db.blob_guard import blob_guard
from docledger.db.dialects import dialect_of
from docledger.errors import BlobCorrupt, InvalidInput, NotFound
from docledger.services import backup_targets
from docledger.storage.base import BlobStore
from docledger.storage.local import LocalBlobStore

MANIFEST = "manifest.json"
SQLITE_FILE = "docledger.db"
PG_FILE = "docledger.pgdump"
FORMAT = 1
Progress = Callable[[int], None]


@dataclass
class BackupReport:
    dest: str
    dialect: str
    revision: str
    rows: dict[str, int]
    blobs: int
    blobs_copied: int
    bytes_copied: int
    seconds: float


@dataclass
class RestoreReport:
    source: str
    revision: str
    rows: dict[str, int]
    blobs: int
    blobs_copied: int
    problems: list[str] = field(default_factory=list)


def docledger_version() -> str:
    try:
        return metadata.version("docledger")
    except metadata.PackageNotFoundError:
        return "unknown"


def _tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables]


def _counts(conn: Any) -> dict[str, int]:
    present = set(inspect(conn).get_table_names())
    return {
        name: int(conn.execute(select(func.count()).select_from(text(name))).scalar() or 0)
        for name in _tables()
        if name in present
    }


def revision_of(conn: Any) -> str:
    """The schema revision as this connection's transaction sees it."""
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")


def _blob_list(conn: Any) -> list[tuple[str, int]]:
    rows = conn.execute(text("SELECT sha256, size_bytes FROM blobs ORDER BY sha256"))
    return [(str(sha), int(size)) for sha, size in rows]


# -- backup ---------------------------------------------------------------------------------


def backup(
    engine: Engine, store: BlobStore, dest: str | os.PathLike[str], progress: Progress | None = None
) -> BackupReport:
    started = datetime.now(UTC)
    where = backup_targets.target(dest, store)
    old_text = where.read_text(MANIFEST)
    if old_text is not None:
        old = json.loads(old_text)
        if old.get("dialect") != engine.dialect.name:
            raise InvalidInput(f"{where.name} holds a backup of a {old.get('dialect')} store")
    database = SQLITE_FILE if engine.dialect.name == "sqlite" else PG_FILE
    with where.staging() as stage, blob_guard(engine).writing():  # gc waits meanwhile
        if engine.dialect.name == "sqlite":
            revision, rows, blobs = _sqlite_snapshot(engine, stage)
        else:
            revision, rows, blobs = _pg_snapshot(engine, stage)
        into = where.blobs()
        copied, nbytes = _copy_blobs(store, into, blobs, progress)
        if isinstance(into, LocalBlobStore):
            into.sync()  # one flush for every blob copied, before the manifest names them
        where.put_file(database, stage / database)
        manifest = {
            "format": FORMAT,
            "docledger": docledger_version(),
            "dialect": engine.dialect.name,
            "revision": revision,
            "created_at": started.isoformat(),
            "database": database,
            "rows": rows,
            "blobs": dict(blobs),
        }
        temp = stage / (MANIFEST + ".part")
        temp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(temp, stage / MANIFEST)
        where.put_file(MANIFEST, stage / MANIFEST)  # last: a backup without one is unfinished
    seconds = (datetime.now(UTC) - started).total_seconds()
    return BackupReport(
        where.name, engine.dialect.name, revision, rows, len(blobs), copied, nbytes, seconds
    )


def _sqlite_snapshot(
    engine: Engine, folder: Path
) -> tuple[str, dict[str, int], list[tuple[str, int]]]:
    source = engine.url.database
    if not source or source == ":memory:":
        raise InvalidInput("an in-memory database has nothing to back up")
    target = folder / SQLITE_FILE
    temp = folder / (SQLITE_FILE + ".part")
    temp.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(temp)
    try:
        src.backup(dst)  # one step: one consistent moment, writers go on (WAL)
    finally:
        dst.close()
        src.close()
    copy = create_engine(f"sqlite:///{temp}")
    try:
        with copy.connect() as conn:
            revision, rows, blobs = revision_of(conn), _counts(conn), _blob_list(conn)
    finally:
        copy.dispose()
    os.replace(temp, target)
    return revision, rows, blobs


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise InvalidInput(f"{name} is not on PATH: install PostgreSQL's client tools")
    return found


def _run(args: list[str], engine: Engine | None = None) -> subprocess.CompletedProcess[str]:
    """PostgreSQL's own tools, with arguments we built (no shell), connected to the engine's
    database when given. The password goes in the tool's environment, not on its command
    line, which any user of the machine can read in the process list."""
    env = dict(os.environ)
    if engine is not None:
        url = engine.url._replace(password=None).set(drivername="postgresql")
        args = [*args, f"--dbname={url.render_as_string(hide_password=False)}"]
        if engine.url.password is not None:
            env["PGPASSWORD"] = str(engine.url.password)
    return subprocess.run(args, capture_output=True, text=True, check=False, env=env)  # noqa: S603


def _pg_snapshot(engine: Engine, folder: Path) -> tuple[str, dict[str, int], list[tuple[str, int]]]:
    """Counts, blob list and ``pg_dump`` all read one exported snapshot."""
    pg_dump = _tool("pg_dump")
    target = folder / PG_FILE
    temp = folder / (PG_FILE + ".part")
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            revision, rows, blobs = revision_of(conn), _counts(conn), _blob_list(conn)
            done = _run(
                [pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                 f"--file={temp}"],
                engine,
            )  # fmt: skip
    if done.returncode != 0:
        temp.unlink(missing_ok=True)
        raise InvalidInput(f"pg_dump failed: {done.stderr.strip().splitlines()[-1:]}")
    os.replace(temp, target)
    return revision, rows, blobs


def _copy_blobs(
    store: BlobStore,
    into: BlobStore,
    blobs: list[tuple[str, int]],
    progress: Progress | None,
) -> tuple[int, int]:
    copied = nbytes = 0
    for sha, size in blobs:
        if not into.exists(sha):
            with store.open(sha) as handle:  # verified as read: a corrupt blob stops here
                stored = into.put_stream(handle)
            if stored.sha256 != sha:
                raise BlobCorrupt(f"blob {sha} read back as {stored.sha256}")
            copied += 1
            nbytes += size
        if progress is not None:
            progress(1)
    return copied, nbytes


# -- restore --------------------------------------------------------------------------------


def read_manifest(where: backup_targets.BackupTarget) -> dict[str, Any]:
    text_ = where.read_text(MANIFEST)
    if text_ is None:
        raise InvalidInput(f"{where.name} is not a docledger backup (no {MANIFEST})")
    try:
        manifest = json.loads(text_)
    except ValueError as exc:
        raise InvalidInput(f"{where.name}/{MANIFEST} is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{where.name}/{MANIFEST} is not a backup manifest this docledger reads")
    rows, blobs = manifest.get("rows"), manifest.get("blobs")
    if (
        not isinstance(rows, dict)
        or not isinstance(blobs, dict)
        or manifest.get("dialect") not in {"sqlite", "postgresql"}
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in rows.values())
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in blobs.values())
    ):
        raise InvalidInput(
            f"{where.name}/{MANIFEST} is damaged: its counts or blobs are not as written"
        )
    return manifest


def check_blobs(
    store: BlobStore, blobs: dict[str, int], what: str, progress: Progress | None = None
) -> None:
    """Every blob a manifest lists is in ``store`` with its size and hash (``what`` names
    its owner in the error: the backup, the dump)."""
    for sha, size in blobs.items():
        try:
            with store.open(sha) as handle:  # verified as it is read
                seen = 0
                while chunk := handle.read(1024 * 1024):
                    seen += len(chunk)
        except NotFound as exc:
            raise InvalidInput(f"the {what} is missing blob {sha}") from exc
        except BlobCorrupt as exc:
            raise InvalidInput(f"the {what}'s blob {sha} is corrupt") from exc
        if seen != size:
            raise InvalidInput(f"the {what}'s blob {sha} has {seen} bytes, not {size}")
        if progress is not None:
            progress(1)


def _check_sqlite(source: Path, manifest: dict[str, Any]) -> None:
    path = source / SQLITE_FILE
    if not path.is_file():
        raise InvalidInput(f"the backup has no {SQLITE_FILE}")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = db.execute("PRAGMA quick_check").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"the backup's database is damaged: {exc}") from exc
    if not ok or ok[0] != "ok":
        raise InvalidInput(f"the backup's database is damaged: {ok}")
    copy = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with copy.connect() as conn:
            rows = _counts(conn)
    except Exception as exc:
        raise InvalidInput(f"the backup's database is damaged: {exc}") from exc
    finally:
        copy.dispose()
    if rows != manifest["rows"]:
        raise InvalidInput("the backup's database does not hold the rows its manifest lists")


def _check_pg(source: Path) -> None:
    path = source / PG_FILE
    if not path.is_file():
        raise InvalidInput(f"the backup has no {PG_FILE}")
    listed = _run([_tool("pg_restore"), "--list", str(path)])
    if listed.returncode != 0:
        raise InvalidInput(f"the backup's dump is damaged: {listed.stderr.strip()[:200]}")


def target_is_empty(engine: Engine) -> bool:
    """No rows but the default workspace (a freshly created or migrated store counts as empty)."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for name in _tables():
            if name not in present:
                continue
            count = int(conn.execute(select(func.count()).select_from(text(name))).scalar() or 0)
            if count > (1 if name == "workspaces" else 0):
                return False
    return True


def restore(
    source_dir: str | os.PathLike[str],
    engine: Engine,
    store: BlobStore,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    where = backup_targets.target(source_dir, store)
    manifest = read_manifest(where)
    if manifest["dialect"] != engine.dialect.name:
        raise InvalidInput(
            f"a {manifest['dialect']} backup restores into {manifest['dialect']}; to move a store "
            "between dialects use dump and load"
        )
    database = SQLITE_FILE if engine.dialect.name == "sqlite" else PG_FILE
    with where.staging() as stage:
        where.get_file(database, stage / database)
        # everything checked before anything is written
        if engine.dialect.name == "sqlite":
            _check_sqlite(stage, manifest)
        else:
            _check_pg(stage)
        blobs = where.blobs()
        check_blobs(blobs, manifest["blobs"], "backup")
        if not force and not target_is_empty(engine):
            raise InvalidInput(
                "the target store is not empty: restore into an empty one, or --force"
            )
        into = store.bulk() if isinstance(store, LocalBlobStore) else store
        copied = 0
        for sha in manifest["blobs"]:
            if not into.exists(sha):
                with blobs.open(sha) as handle:
                    into.put_stream(handle)
                copied += 1
            if progress is not None:
                progress(1)
        if isinstance(into, LocalBlobStore):
            into.sync()  # every copied blob durable before the database names it
        if engine.dialect.name == "sqlite":
            _restore_sqlite(stage, engine)
        else:
            _restore_pg(stage, engine)
    with engine.connect() as conn:
        rows, revision = _counts(conn), revision_of(conn)
    problems = [] if rows == manifest["rows"] else ["row counts differ from the manifest"]
    return RestoreReport(where.name, revision, rows, len(manifest["blobs"]), copied, problems)


def _restore_sqlite(source: Path, engine: Engine) -> None:
    target = engine.url.database
    assert target
    engine.dispose()  # no pooled connection keeps the old file open
    into = Path(target)
    into.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=into.parent, delete=False, suffix=".restore") as temp:
        with open(source / SQLITE_FILE, "rb") as src:
            shutil.copyfileobj(src, temp, 1024 * 1024)
        temp.flush()
        os.fsync(temp.fileno())
    for suffix in ("-wal", "-shm"):
        Path(target + suffix).unlink(missing_ok=True)
    os.replace(temp.name, into)
    vectors = dialect_of(engine).vector_folder(engine.url)
    if vectors is not None:  # the old store's vector files: rebuilt from the restored rows
        shutil.rmtree(vectors, ignore_errors=True)


def _restore_pg(source: Path, engine: Engine) -> None:
    engine.dispose()
    with engine.connect() as conn:  # a clean schema: pg_restore recreates every object
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.commit()
    engine.dispose()
    done = _run(
        [_tool("pg_restore"), "--no-owner", "--exit-on-error", str(source / PG_FILE)], engine
    )
    if done.returncode != 0:
        raise InvalidInput(f"pg_restore failed: {done.stderr.strip()[:300]}")
