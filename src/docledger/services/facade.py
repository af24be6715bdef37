"""The shape every ledger service shares: its own operations in front of a repository whose
methods stay reachable (each call in its own transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from docledger.storage.base import BlobStore


class Facade:
    def __init__(self, engine: Engine, store: BlobStore | None, repository: Any) -> None:
        self._engine = engine
        self._store_or_none = store
        self._repository = repository

    @property
    def _store(self) -> BlobStore:
        assert self._store_or_none is not None, "this service was built without a blob store"
        return self._store_or_none

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)
