"""The public surface, named once: each ledger attribute and the class that implements it.

``ledger.X``, ``tx.X`` and ``aledger.X`` are three ways to call the same class's methods:
in a transaction of their own, in the caller's, or awaited. Repository classes take a session;
service classes (services/scope.py) take a scope, which may hold a session.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from docledger.deprecation import alias_of
from docledger.repositories import (
    AnnotationRepository,
    DatasetRepository,
    EmbeddingRepository,
    JobRepository,
    MembershipRepository,
    PageImageRepository,
    Repository,
    SegmentRepository,
    UserRepository,
    WorkspaceRepository,
)
from docledger.repositories.api_key import ApiKeyRepository
from docledger.repositories.base import READONLY_ATTR
from docledger.repositories.conversation import ConversationRepository
from docledger.repositories.lease import LeaseRepository
from docledger.repositories.lineage import LineageRepository
from docledger.services.exports import ExportService
from docledger.services.extraction import ExtractionService
from docledger.services.findings import FindingService
from docledger.services.ingest import DocumentService
from docledger.services.scope import Scope, Service, is_service
from docledger.services.search import SearchService
from docledger.services.tracking import ModelService, RunService
from docledger.services.upkeep import MaintenanceService

#: attribute name -> implementing class, in the order the docs list them
SURFACE: dict[str, type[Repository] | type[Service]] = {
    "workspaces": WorkspaceRepository,
    "users": UserRepository,
    "memberships": MembershipRepository,
    "api_keys": ApiKeyRepository,
    "documents": DocumentService,
    "page_images": PageImageRepository,
    "extractions": ExtractionService,
    "segments": SegmentRepository,
    "embeddings": EmbeddingRepository,
    "search": SearchService,
    "annotations": AnnotationRepository,
    "datasets": DatasetRepository,
    "jobs": JobRepository,
    "leases": LeaseRepository,
    "runs": RunService,
    "model_versions": ModelService,
    "findings": FindingService,
    "conversations": ConversationRepository,
    "exports": ExportService,
    "lineage": LineageRepository,
    "maintenance": MaintenanceService,
}


def build(cls: type[Any], scope: Scope, session: Session | None = None) -> Any:
    """An instance of a surface class over ``session`` (or the scope's own)."""
    if issubclass(cls, Service):
        return cls(scope if session is None else scope.with_session(session))
    bound = session if session is not None else scope.bound
    assert bound is not None, f"{cls.__name__} needs a session"
    return cls(bound)


def methods(cls: type[Any]) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The public methods of a surface class, in definition order, base classes first."""
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen or not callable(value):
                continue
            if isinstance(value, staticmethod | classmethod | type):
                continue
            if klass in {object, Repository, Service}:
                continue
            seen.add(name)
    for name in sorted(seen, key=lambda n: _order(cls, n)):
        yield name, getattr(cls, name)


def _order(cls: type[Any], name: str) -> tuple[int, int]:
    fn = inspect.unwrap(getattr(cls, name))
    code = getattr(fn, "__code__", None)
    depth = next(i for i, k in enumerate(reversed(cls.__mro__)) if name in vars(k))
    return depth, code.co_firstlineno if code is not None else 0


def readonly(fn: object) -> bool:
    return bool(getattr(fn, READONLY_ATTR, False))


def kind(fn: object) -> str:
    """How a method is reached: ``service`` (its own transactions; a thread when async),
    ``rows`` (one transaction; ``run_sync`` when async), or ``alias`` (a deprecated name)."""
    if alias_of(fn) is not None:
        return "alias"
    return "service" if is_service(fn) else "rows"
