"""``ledger.maintenance``: checking and cleaning a store, the operations behind ``docledger
verify`` and ``docledger gc``. Services all: they read every blob and walk whole tables in
transactions of their own (inside a caller's transaction they still do)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine

from docledger.db import tenancy
from docledger.db.dialect import table_row_counts
from docledger.services import backup as backups
from docledger.services import dump as dumps
from docledger.services import invariants, maintenance, portable
from docledger.services import load as loads
from docledger.services.backup import BackupReport, RestoreReport
from docledger.services.dump import DumpReport
from docledger.services.invariants import CheckResult
from docledger.services.load import LoadReport
from docledger.services.maintenance import DEFAULT_GRACE_S, GcReport, VerifyReport
from docledger.services.scope import Service, service


class Store(Protocol):
    """What ``move`` needs of its target: a ledger, or anything with an engine and blobs."""

    engine: Engine
    blobs: Any


class MaintenanceService(Service):
    @service
    def count_blobs(self) -> int:
        """How many blobs the database names (what ``verify_blobs`` will read)."""
        return maintenance.count_blob_rows(self._scope.engine)

    @service
    def verify_blobs(self, progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Re-hash every blob the database names: which are missing, which are corrupt.
        ``progress`` is called with the number of blobs done since its last call."""
        return maintenance.verify(self._scope.engine, self._scope.blobs, progress=progress)

    @service
    def check(self, *, repair: bool = False) -> list[CheckResult]:
        """Check that rows agree with each other (current versions, segment hashes, vectors,
        the full-text index, stray files); with ``repair``, fix what the store can fix."""
        return invariants.check(self._scope.engine, self._scope.blobs, repair=repair)

    @service
    def gc(self, *, dry_run: bool = False, grace_s: float = DEFAULT_GRACE_S) -> GcReport:
        """Delete blobs no row references, orphan files and interrupted uploads older than
        ``grace_s`` seconds (under the blob guard: never bytes a writer is about to name)."""
        return maintenance.gc(
            self._scope.engine, self._scope.blobs, dry_run=dry_run, grace_s=grace_s
        )

    @service
    def backup(
        self, dest: str | os.PathLike[str], *, progress: Callable[[int], None] | None = None
    ) -> BackupReport:
        """A consistent backup of the whole store into the folder (or ``s3://bucket/prefix``)
        ``dest`` while writers
        and workers keep running: the database at one moment, the blobs it names (only the
        new ones when ``dest`` holds an earlier backup) and a manifest of row counts and
        blob hashes. ``progress`` is called per blob."""
        return backups.backup(self._scope.engine, self._scope.blobs, dest, progress)

    @service
    def restore(
        self,
        source: str | os.PathLike[str],
        *,
        force: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> RestoreReport:
        """Restore a backup (folder or ``s3://bucket/prefix``) into this store, which must be
        empty (``force`` replaces what it holds). The whole backup is checked first: a missing
        or corrupt blob, or a damaged database file, fails with the reason and changes
        nothing."""
        return backups.restore(
            source, self._scope.engine, self._scope.blobs, force=force, progress=progress
        )

    @service
    def enable_rls(self) -> list[str]:
        """PostgreSQL only: confine the ``docledger_tenant`` role to one workspace's rows with
        row-level security (idempotent; run it again after ``db upgrade``). Returns the
        confined tables. Ledgers opened with ``workspace=`` then run as that role."""
        with self._scope.engine.begin() as conn:
            return tenancy.enable(conn)

    @service
    def disable_rls(self) -> None:
        """Drop the row-level security policies (the role stays)."""
        with self._scope.engine.begin() as conn:
            tenancy.disable(conn)

    @service
    def row_counts(self) -> dict[str, int]:
        """Rows per table of the whole store (what a dump or move will read)."""
        with self._scope.engine.connect() as conn:
            return table_row_counts(conn, [t.name for t in portable.tables()])

    @service
    def dump(
        self,
        dest: str | os.PathLike[str],
        *,
        workspace: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> DumpReport:
        """The whole store, or one workspace (by slug or id), as portable files in the new
        folder ``dest``: one JSONL file per table read in one snapshot, the blobs the rows
        name, a manifest. Loads into SQLite or PostgreSQL alike. ``progress`` is called per
        batch of rows written."""
        return dumps.dump(
            self._scope.engine, self._scope.blobs, dest, workspace=workspace, progress=progress
        )

    @service
    def load(
        self, source: str | os.PathLike[str], *, progress: Callable[[int], None] | None = None
    ) -> LoadReport:
        """Load a dump into this store, keeping every id; rows already here (same id) are
        left as they are, other workspaces are not touched. The whole dump is checked first
        and the rows go in in one transaction: a damaged dump or a clash changes nothing."""
        return loads.load(source, self._scope.engine, self._scope.blobs, progress=progress)

    @service
    def move(
        self,
        to: Store,
        *,
        workspace: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> LoadReport:
        """Copy this store (or one workspace) into another one, of either dialect: ``to`` is
        a ``Ledger`` (or anything with ``engine`` and ``blobs``). Rows keep their ids, vectors
        their bits; the target rebuilds its full-text index and pgvector indexes."""
        return loads.move(
            self._scope.engine,
            self._scope.blobs,
            to.engine,
            to.blobs,
            workspace=workspace,
            progress=progress,
        )
