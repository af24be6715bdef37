"""A ledger on a file copied from the migrated SQLite template (tests of SQLite's own
machinery: checkpoints, the write gate)."""

from __future__ import annotations

from pathlib import Path

from docledger import Ledger
from docledger.config import load_settings


def open_copy(tmp_path: Path, sqlite_template: Path, **settings: object) -> Ledger:
    path = tmp_path / "docledger.db"
    if not path.exists():
        path.write_bytes(sqlite_template.read_bytes())
    return Ledger.open(
        settings=load_settings(
            db_url=f"sqlite:///{path}", blob_root=str(tmp_path / "blobs"), **settings
        )
    )
