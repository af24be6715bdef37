"""Portable column types, registered once on the declarative base.

SQLite has no native UUID, timestamp-with-time-zone or JSONB; these types give both dialects the
same Python values so repositories never branch on the dialect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from docledger.errors import InvalidInput


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp.

    Naive datetimes are rejected instead of guessed at: a wrong guess silently shifts history by
    hours. SQLite stores the UTC wall time as ISO text (which also sorts correctly); PostgreSQL
    uses ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidInput(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput("naive datetime: pass a timezone-aware value (e.g. UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


#: JSON everywhere, JSONB on PostgreSQL (indexable, compact, deduplicated keys).
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit integer primary keys that are still SQLite's fast ``INTEGER PRIMARY KEY`` rowid alias.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def json_default_list() -> list[Any]:
    return []


def json_default_dict() -> dict[str, Any]:
    return {}
