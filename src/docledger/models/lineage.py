"""Lineage edges: a run used (in) or produced (out) an entity."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import one_of
from docledger.vocab import EntityType, LineageDirection


class LineageEdge(IdMixin, CreatedMixin, Base):
    """What a run consumed (``in``) and produced (``out``).

    ``entity_id`` is text because blobs are keyed by SHA-256, everything else by UUID.
    """

    __tablename__ = "lineage_edges"
    __table_args__ = (
        UniqueConstraint("run_id", "direction", "entity_type", "entity_id"),
        one_of("direction", LineageDirection),
        one_of("entity_type", EntityType),
        Index("ix_lineage_edges_entity_type_entity_id", "entity_type", "entity_id"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(64))
