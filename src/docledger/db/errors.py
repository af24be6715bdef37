"""The one place that turns driver errors into docledger errors.

PostgreSQL is classified by SQLSTATE and reports the violated constraint's name; SQLite is
classified by its extended result code (``sqlite_errorname``), with the constraint named in the
message. Message text is only ever used to *name* the constraint, never to classify the error.
"""

from __future__ import annotations

import re

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy import exc as sa_exc

from docledger import errors

_PG_STATES: dict[str, type[errors.DocledgerError]] = {
    "23505": errors.Conflict,
    "23503": errors.ForeignKeyViolation,
    "23514": errors.CheckViolation,
    "23502": errors.NotNullViolation,
    "23P01": errors.Conflict,  # exclusion violation
    "55P03": errors.LockTimeout,  # lock_not_available (lock_timeout)
    "57014": errors.LockTimeout,  # query_canceled (statement_timeout)
    "40P01": errors.Conflict,  # deadlock: the loser may retry
    "40001": errors.Conflict,  # serialization failure: the loser may retry
    "42501": errors.PermissionDenied,  # insufficient_privilege, row-level security included
    "53100": errors.StorageFull,  # disk_full
    "53200": errors.StorageFull,  # out_of_memory (the server's, not ours)
}

_SQLITE_CODES: dict[str, type[errors.DocledgerError]] = {
    "SQLITE_CONSTRAINT_UNIQUE": errors.Conflict,
    "SQLITE_CONSTRAINT_PRIMARYKEY": errors.Conflict,
    "SQLITE_CONSTRAINT_FOREIGNKEY": errors.ForeignKeyViolation,
    "SQLITE_CONSTRAINT_CHECK": errors.CheckViolation,
    "SQLITE_CONSTRAINT_NOTNULL": errors.NotNullViolation,
    "SQLITE_BUSY": errors.LockTimeout,
    "SQLITE_BUSY_SNAPSHOT": errors.Conflict,
    "SQLITE_LOCKED": errors.LockTimeout,
    "SQLITE_CANTOPEN": errors.DatabaseUnavailable,
    "SQLITE_READONLY": errors.DatabaseUnavailable,
    "SQLITE_FULL": errors.StorageFull,
}

_SQLITE_CONSTRAINT = re.compile(r"constraint failed: (.+)$")


def _pg_info(orig: BaseException) -> tuple[str | None, str | None]:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    if constraint is None:
        constraint = getattr(orig, "constraint_name", None)  # asyncpg
    return state, constraint


def _sqlite_constraint_name(detail: str) -> str:
    """Name a SQLite UNIQUE violation ("t.a, t.b") by its constraint, as PostgreSQL would."""
    from docledger.db.base import Base  # noqa: PLC0415 - avoid importing models at module load

    parts = [p.strip() for p in detail.split(",")]
    if not parts or any("." not in p for p in parts):
        return detail
    table_name = parts[0].split(".", 1)[0]
    columns = [p.split(".", 1)[1] for p in parts]
    table = Base.metadata.tables.get(table_name)
    if table is not None:
        candidates = [
            c for c in table.constraints if isinstance(c, UniqueConstraint | PrimaryKeyConstraint)
        ] + [i for i in table.indexes if i.unique]
        for constraint in candidates:
            if [c.name for c in constraint.columns] == columns and constraint.name:
                return str(constraint.name)
    return detail


def _pg_class(state: str) -> type[errors.DocledgerError] | None:
    if state in _PG_STATES:
        return _PG_STATES[state]
    if state.startswith("08"):  # connection exception
        return errors.DatabaseUnavailable
    if state.startswith("22"):  # data exception: a value the column cannot hold
        return errors.InvalidInput
    return None


def translate(exc: sa_exc.DBAPIError) -> errors.DocledgerError | None:
    """The docledger error for a driver error, or None when it is not one we classify."""
    orig = exc.orig
    if orig is None:
        return None
    state, constraint = _pg_info(orig)
    cls: type[errors.DocledgerError] | None = None
    if state is not None:
        cls = _pg_class(str(state))
    else:
        code = getattr(orig, "sqlite_errorname", None)
        if code is not None:
            cls = _SQLITE_CODES.get(str(code))
            match = _SQLITE_CONSTRAINT.search(str(orig).strip())
            if match:
                constraint = _sqlite_constraint_name(match.group(1))
        elif isinstance(exc, sa_exc.OperationalError):
            cls = errors.DatabaseUnavailable  # e.g. psycopg could not connect: no SQLSTATE
        elif isinstance(exc, sa_exc.DataError):
            cls = errors.InvalidInput  # refused by the driver before sending (NUL in text)
    if cls is None:
        if isinstance(exc, sa_exc.IntegrityError):
            cls = errors.IntegrityViolation
        else:
            return None
    detail = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    message = f"{(cls.__doc__ or '').strip()} ({detail})"
    if issubclass(cls, errors.IntegrityViolation):
        return cls(message, constraint=constraint)
    return cls(message)
