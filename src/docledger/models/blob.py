"""Every stored byte string, keyed by its SHA-256."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin


class Blob(CreatedMixin, Base):
    """A row exists only once the bytes are durable in the store (write, fsync, rename, insert).

    Blobs are shared by content, so deleting a document never deletes one; ``gc`` frees blobs that
    no row references any more.
    """

    __tablename__ = "blobs"
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("size_bytes >= 0", name="size_bytes_min"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    storage_uri: Mapped[str] = mapped_column(String(1024))
