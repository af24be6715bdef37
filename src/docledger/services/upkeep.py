"""``ledger.maintenance``: checking and cleaning a store, the operations behind ``docledger
verify`` and ``docledger gc``. Services all: they read every blob and walk whole tables in
transactions of their own (inside a caller's transaction they still do)."""

from __future__ import annotations

import os
from collections.abc import Callable

from docledger.services import backup as backups
from docledger.services import invariants, maintenance
from docledger.services.backup import BackupReport, RestoreReport
from docledger.services.invariants import CheckResult
from docledger.services.maintenance import DEFAULT_GRACE_S, GcReport, VerifyReport
from docledger.services.scope import Service, service


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
        """A consistent backup of the whole store into the folder ``dest`` while writers
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
        """Restore a backup folder into this store, which must be empty (``force`` replaces
        what it holds). The whole backup is checked first: a missing or corrupt blob, or a
        damaged database file, fails with the reason and changes nothing."""
        return backups.restore(
            source, self._scope.engine, self._scope.blobs, force=force, progress=progress
        )
