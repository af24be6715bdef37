"""Keyset pagination, written once: every ``list`` orders by a few columns ending with the id,
and a page's cursor is the sort key of its last row.

Keyset rather than offset paging: a page costs the same at row 10 and at row 10 million, and
rows inserted while a client pages through never make it skip or repeat a row.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from docledger.errors import InvalidInput
from docledger.repositories.base import check_limit
from docledger.schemas.common import Page

T = TypeVar("T")

#: a sort key: the column and whether it descends
Key = tuple[InstrumentedAttribute[Any], bool]


def _encode(values: Sequence[Any]) -> str:
    """The sort key, each value tagged with its type (dates and ids come back as such)."""
    tagged: list[list[Any]] = []
    for value in values:
        if isinstance(value, datetime):
            tagged.append(["d", value.isoformat()])
        elif isinstance(value, uuid.UUID):
            tagged.append(["u", str(value)])
        elif isinstance(value, int) and not isinstance(value, bool):
            tagged.append(["i", value])
        else:
            tagged.append(["s", str(value)])
    raw = json.dumps(tagged, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


_DECODE: dict[str, Callable[[Any], Any]] = {
    "d": datetime.fromisoformat,
    "u": lambda v: uuid.UUID(_text(v)),
    "i": _whole,
    "s": _text,
}


def _decode(cursor: object, keys: Sequence[Key]) -> list[Any]:
    if not isinstance(cursor, str) or not cursor or len(cursor) > 4000:
        raise InvalidInput("a cursor is the next_cursor text of an earlier page")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tagged = json.loads(raw)
        if not isinstance(tagged, list) or len(tagged) != len(keys):
            raise ValueError(cursor)
        out = []
        for item in tagged:
            if not isinstance(item, list) or len(item) != 2 or item[0] not in _DECODE:
                raise ValueError(cursor)
            out.append(_DECODE[item[0]](item[1]))
        return out
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc


def _after(keys: Sequence[Key], values: Sequence[Any]) -> Any:
    """Rows past ``values`` in the (k1, k2, ...) order: k1 beyond, or k1 equal and k2 beyond..."""
    terms = []
    for n, (column, descending) in enumerate(keys):
        beyond = column < values[n] if descending else column > values[n]
        equal = [keys[i][0] == values[i] for i in range(n)]
        terms.append(and_(*equal, beyond))
    return or_(*terms)


def page(
    session: Session,
    stmt: Select[Any],
    keys: Sequence[Key],
    convert: Callable[[Any], T],
    *,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """The page of ``stmt`` (selecting one ORM entity) after ``cursor``, ``limit`` rows long."""
    check_limit(limit)
    if cursor is not None:
        stmt = stmt.where(_after(keys, _decode(cursor, keys)))
    stmt = stmt.order_by(*(c.desc() if d else c.asc() for c, d in keys)).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = _encode([getattr(last, c.key) for c, _ in keys]) if last is not None else None
    return Page(items=[convert(r) for r in rows[:limit]], next_cursor=next_cursor)
