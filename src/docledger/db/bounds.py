"""What a value must be for both dialects to store it alike, checked once where values are
bound, for every column of every table.

SQLite stores almost anything: NaN in JSON (as text no JSON parser reads back), a NUL inside a
string, a name longer than its column, a 40-bit number in an INTEGER column. PostgreSQL refuses
each of them with a raw ``DataError``. So the same call succeeded on one store and failed on the
other, and the stores drifted apart. :func:`bound_columns` wraps each column's type so that such
a value raises :class:`~docledger.errors.InvalidInput` on both, before any statement is sent.
The bulk paths (COPY, executemany) convert values with the same bind processors, so they are
covered too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, MetaData, SmallInteger, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from docledger.errors import InvalidInput

#: JSON nests deeper than this only by accident (or attack); both parsers have limits near it
MAX_JSON_DEPTH = 64

_INT_BITS: list[tuple[type[TypeEngine[Any]], int]] = [
    (BigInteger, 63),
    (SmallInteger, 15),
    (Integer, 31),  # PostgreSQL's integer is 32-bit; SQLite's would take 64
]


def _check_scalar(value: Any, where: str) -> bool:
    """True when ``value`` is a JSON scalar (checked); False when it is something else."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(f"{where}: text contains a NUL character")
        return True
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{where}: {value} is not a JSON number (NaN and infinity are not)")
        return True
    return False


def check_json(value: Any, where: str, depth: int = 0) -> None:
    """A JSON document both dialects store and read back alike: finite numbers, text
    without NUL, string keys, only JSON's own types."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if _check_scalar(value, where):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where}: JSON object keys are text, not {key!r}")
            _check_scalar(key, where)
            check_json(item, where, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_json(item, where, depth + 1)
    else:
        raise InvalidInput(f"{where}: {type(value).__name__} is not a JSON value")


class Checked(TypeDecorator[Any]):
    """A column type with a check in front of the original type's own bind processing."""

    impl = String  # replaced per instance by the wrapped type
    cache_ok = True

    def __init__(self, inner: TypeEngine[Any], where: str, check: str) -> None:
        super().__init__()
        self.impl = inner  # type: ignore[assignment]
        self.inner = inner
        self.where = where
        self.check = check

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return self.inner.dialect_impl(dialect)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None:
            _CHECKS[self.check](self, value)
        return value

    @property
    def python_type(self) -> type[Any]:
        return self.inner.python_type

    def copy(self, **kw: Any) -> Checked:
        return Checked(self.inner, self.where, self.check)

    def __repr__(self) -> str:  # alembic renders the wrapped type in migrations and diffs
        return repr(self.inner)


def _text(col: Checked, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"{col.where}: expected text, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"{col.where}: text contains a NUL character")
    length = getattr(col.inner, "length", None)
    if length is not None and len(value) > length:
        raise InvalidInput(f"{col.where}: longer than {length} characters ({len(value)})")


def _integer(col: Checked, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{col.where}: expected a whole number, got {value!r}")
    bits = next(b for t, b in _INT_BITS if isinstance(col.inner, t))
    if not -(2**bits) <= value < 2**bits:
        raise InvalidInput(f"{col.where}: {value} is out of range (a {bits + 1}-bit integer)")


def _float(col: Checked, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{col.where}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidInput(f"{col.where}: {value} is not a finite number")


def _json(col: Checked, value: Any) -> None:
    check_json(value, col.where)


_CHECKS: dict[str, Callable[[Checked, Any], None]] = {
    "text": _text,
    "integer": _integer,
    "float": _float,
    "json": _json,
}


def _kind(column_type: TypeEngine[Any]) -> str | None:
    base = column_type
    if isinstance(base, JSON):
        return "json"
    if isinstance(base, String):
        return "text"
    if isinstance(base, Integer):
        return "integer"
    if isinstance(base, Float):
        return "float"
    return None


def bound_columns(metadata: MetaData) -> None:
    """Wrap the type of every text, integer, float and JSON column (idempotent)."""
    for table in metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Checked):
                continue
            if column.primary_key and isinstance(column.type, Integer):
                continue  # autoincrement keys: the database assigns them
            kind = _kind(column.type)
            if kind is not None:
                column.type = Checked(column.type, f"{table.name}.{column.name}", kind)
