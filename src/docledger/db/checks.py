"""CHECK constraint and partial index builders shared by the models (named through the
metadata convention)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, text

from docledger.vocab import values


def one_of(column: str, vocabulary: object, *, nullable: bool = False) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values(vocabulary))
    expr = f"{column} IN ({allowed})"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=f"{column}_valid")


def unit_interval(column: str) -> CheckConstraint:
    """0..1 scores (confidence, strength); NULL means unknown."""
    return CheckConstraint(
        f"{column} IS NULL OR ({column} >= 0 AND {column} <= 1)", name=f"{column}_0_1"
    )


def at_least(column: str, minimum: int, *, nullable: bool = False) -> CheckConstraint:
    expr = f"{column} >= {minimum}"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=f"{column}_min")


def partial_index(name: str, *columns: str, where: str) -> Index:
    """An index over the rows ``where`` holds, the same on both dialects (a query uses it on
    SQLite only when its WHERE repeats the condition as written)."""
    condition = text(where)
    return Index(name, *columns, sqlite_where=condition, postgresql_where=condition)
