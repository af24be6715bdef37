"""Where a service runs: its own transactions, or the caller's.

The rule for what is a service: an operation is a *service* when it moves blob bytes, or spans
several aggregates, or must commit in steps (an ingest commits chunk by chunk, an extraction
document by document, so one bad input never undoes the rest). Everything else is a repository
method: rows of one aggregate, inside the transaction it is handed.

A service is written once against a :class:`Scope`. Called as ``ledger.documents.create(...)``
the scope has no session: each step opens and commits a transaction of its own. Called as
``tx.documents.create(...)`` inside ``with ledger.transaction() as tx`` the scope hands every
step the caller's session, so all steps commit or none does, and the blob write guard (which
keeps ``gc`` from deleting bytes whose rows are not committed yet) is held until the caller's
transaction ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from docledger.db.blob_guard import blob_guard
from docledger.db.session import session_scope, translated_errors
from docledger.storage.base import BlobStore

F = TypeVar("F", bound=Callable[..., Any])

SERVICE_ATTR = "__docledger_service__"


def service(fn: F) -> F:
    """Mark a method as a service operation: it runs its own transactions through the scope
    (an auto-commit call must not wrap it in one), and its async twin runs in a thread."""
    setattr(fn, SERVICE_ATTR, True)
    return fn


def is_service(fn: object) -> bool:
    return bool(getattr(fn, SERVICE_ATTR, False))


@dataclass
class Shared:
    """State a ledger keeps across calls (loaded embedders), shared by every scope it makes."""

    cache: dict[str, Any] = field(default_factory=dict)


class Scope:
    """A sync engine, a blob store, and optionally the caller's open transaction."""

    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore | None,
        shared: Shared,
        *,
        session: Session | None = None,
        stack: ExitStack | None = None,
    ) -> None:
        self.engine = engine
        self._blobs = blobs
        self.shared = shared
        self.bound = session
        self._stack = stack
        self._guarding = False

    @property
    def blobs(self) -> BlobStore:
        assert self._blobs is not None, "this ledger was opened without a blob store"
        return self._blobs

    def with_session(self, session: Session) -> Scope:
        """The same scope bound to ``session`` (for one auto-commit repository call)."""
        return Scope(self.engine, self._blobs, self.shared, session=session, stack=self._stack)

    @property
    def in_transaction(self) -> bool:
        """True inside the caller's transaction: no step may commit on its own."""
        return self.bound is not None

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A transaction for one step: the caller's (flushed, not committed), or a new one."""
        if self.bound is not None:
            # a savepoint: a step that fails undoes only itself, so a service can fall back
            # (record documents one by one) without spoiling the caller's transaction
            with translated_errors(), self.bound.begin_nested():
                yield self.bound
            return
        with session_scope(self.engine, readonly=readonly) as session:
            yield session

    def writing_blobs(self) -> AbstractContextManager[None]:
        """Keep gc away while bytes are written and until the rows naming them commit: for the
        step's own transaction, or for the caller's whole transaction."""
        if self._stack is None:
            return blob_guard(self.engine).writing()
        if not self._guarding:
            self._stack.enter_context(blob_guard(self.engine).writing())
            self._guarding = True
        return nullcontext()


class Service:
    """The base of the surface classes whose operations include services: built on a scope,
    and, when the scope holds a session, also a repository over it."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        if scope.bound is not None:
            self.session = scope.bound
