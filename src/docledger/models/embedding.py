"""Embedding spaces (one model, dimension and metric each) and one vector per segment and space."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import one_of
from docledger.db.types import json_default_dict
from docledger.vocab import EmbeddingMetric


class EmbeddingSpace(IdMixin, CreatedMixin, Base):
    """Re-embedding with a new model makes a new space; the old space is never disturbed.

    ``change_counter`` moves on every write to the space, so in-process vector caches know when
    to reload without rescanning the table.
    """

    __tablename__ = "embedding_spaces"
    __table_args__ = (
        one_of("metric", EmbeddingMetric),
        CheckConstraint("dimensions >= 1 AND dimensions <= 16000", name="dimensions_range"),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    model: Mapped[str] = mapped_column(String(300))
    dimensions: Mapped[int]
    metric: Mapped[str] = mapped_column(String(8), default="cosine")
    change_counter: Mapped[int] = mapped_column(BigInteger, default=0)
    #: moves when vectors are removed or replaced (deletes by trigger, migration 0018), the
    #: only writes after which the vector files beside an SQLite database rescan the space
    removal_counter: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)


class Embedding(IdMixin, CreatedMixin, Base):
    """A float32 little-endian vector, or only a pointer (``external_ref``) into another store."""

    __tablename__ = "embeddings"
    __table_args__ = (
        UniqueConstraint("segment_id", "space_id"),
        Index("ix_embeddings_space_id_seq", "space_id", "seq"),
        CheckConstraint("vector IS NOT NULL OR external_ref IS NOT NULL", name="has_vector_or_ref"),
    )

    workspace_id: Mapped[uuid.UUID]  # denormalised tenant key
    space_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("embedding_spaces.id", ondelete="CASCADE")
    )
    segment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    external_ref: Mapped[str | None] = mapped_column(String(300))
    #: the space's ``change_counter`` of the write that last stored this row: what changed
    #: since counter C is one index range (the vector files' catch-up)
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
