"""Whole tables written at once: what ``load`` and ``move`` add to a store.

Rows keep their ids. Into an empty table they stream straight in (one COPY on PostgreSQL, one
executemany on SQLite with foreign keys checked at commit), so rows that refer to each other
in the same table load in any order. Into a table that already holds rows they go through a
temporary table and ``INSERT ... SELECT ... ON CONFLICT (key) DO NOTHING``: a row whose id is
already there is left as it is (merge by id); any other clash (a second workspace with the
same slug, a second user with the same email) fails the whole load as a Conflict.

Integer keys (metric chunks) are not ids: two stores number them independently. A chunk keeps
its number when it is free, takes a new one when another run's chunk holds it, and is left out
when its run was already in the target (its chunks are there already).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from docledger.db.base import Base
from docledger.db.dialects import dialect_of
from docledger.errors import Conflict
from docledger.models import EmbeddingSpace

Rows = Iterable[Sequence[Any]]
Counter = Callable[[int], None]


def _processed(rows: Rows, processors: list[Any], seen: Counter | None) -> Iterator[list[Any]]:
    """Rows in the driver's form; ``seen`` hears of them a thousand at a time."""
    pending = 0
    for row in rows:
        yield [
            value if proc is None or value is None else proc(value)
            for value, proc in zip(row, processors, strict=True)
        ]
        pending += 1
        if seen is not None and pending == 1000:
            seen(pending)
            pending = 0
    if seen is not None and pending:
        seen(pending)


class StoreRowsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        #: keys of rows the target held before this load, for tables that own integer-keyed rows
        self.pre_existing: dict[str, set[Any]] = {}

    @property
    def _conn(self) -> Any:
        return self.session.connection()

    def _q(self, name: str) -> str:
        return str(self._conn.dialect.identifier_preparer.quote(name))

    def begin_load(self) -> None:
        dialect_of(self._conn).defer_foreign_keys(self._conn)
        if self._conn.dialect.name == "postgresql":
            # timestamps that arrive as text without an offset (SQLite's) are UTC
            self._conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")

    def count(self, table: Table) -> int:
        return int(self.session.execute(select(func.count()).select_from(table)).scalar() or 0)

    def free_workspace_slugs(self, incoming: Sequence[tuple[Any, str]]) -> int:
        """Make room for incoming workspaces whose slug an empty target workspace holds (the
        ``default`` one every new store has); a slug held by a workspace with rows is a
        Conflict. Returns the workspaces removed."""
        workspaces = Base.metadata.tables["workspaces"]
        removed = 0
        for key, slug in incoming:
            held = self.session.execute(
                select(workspaces.c.id).where(workspaces.c.slug == slug, workspaces.c.id != key)
            ).scalar()
            if held is None:
                continue
            for table in Base.metadata.sorted_tables:
                if (
                    "workspace_id" in table.c
                    and self.session.execute(
                        select(table.c.workspace_id).where(table.c.workspace_id == held).limit(1)
                    ).first()
                ):
                    raise Conflict(
                        f"the target has another workspace {slug!r} ({held}) that holds rows"
                    )
            self.session.execute(workspaces.delete().where(workspaces.c.id == held))
            removed += 1
        return removed

    def same_spaces(self, incoming: Sequence[Mapping[str, Any]]) -> dict[Any, Any]:
        """Incoming embedding spaces the target has under another id (a built-in space each
        store created on first use): {incoming id: target id}. A space of the same name with
        another model, dimension or metric is a Conflict: its vectors would not compare."""
        spaces = EmbeddingSpace.__table__
        found: dict[Any, Any] = {}
        for space in incoming:
            held = self.session.execute(
                select(spaces.c.id, spaces.c.model, spaces.c.dimensions, spaces.c.metric).where(
                    spaces.c.name == space["name"], spaces.c.id != space["id"]
                )
            ).first()
            if held is None:
                continue
            if (held.model, held.dimensions, held.metric) != (
                space["model"],
                space["dimensions"],
                space["metric"],
            ):
                raise Conflict(
                    f"the target's embedding space {space['name']!r} holds {held.model} "
                    f"vectors ({held.dimensions}, {held.metric}); the dump's holds "
                    f"{space['model']} ({space['dimensions']}, {space['metric']})"
                )
            found[space["id"]] = held.id
        return found

    def insert(
        self, table: Table, rows: Rows, seen: Counter | None = None, *, driver_form: bool = False
    ) -> int:
        """Add rows (Python values in the table's column order, or with ``driver_form`` values
        the target's driver takes as they are); returns how many were new."""
        conn = self._conn
        dialect = conn.dialect
        prep = dialect.identifier_preparer
        names = [column.name for column in table.c]
        quoted = ", ".join(prep.quote(name) for name in names)
        processors = [
            None if driver_form else column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in table.c
        ]
        target = prep.format_table(table)
        before = self.count(table)
        if before == 0:
            dialect_of(conn).load_rows(
                conn, target, quoted, len(names), _processed(rows, processors, seen)
            )
            self.pre_existing[table.name] = set()
            return self.count(table)
        stage = f"dl_stage_{table.name}"
        dialect_of(conn).stage(conn, target, stage)
        # a failure rolls the temporary table back with everything else
        dialect_of(conn).load_rows(
            conn, stage, quoted, len(names), _processed(rows, processors, seen)
        )
        added = self._merge(table, stage, names) - before
        conn.exec_driver_sql(f"DROP TABLE {stage}")
        return added

    def _merge(self, table: Table, stage: str, names: list[str]) -> int:
        conn = self._conn
        q = self._q
        keys = [column.name for column in table.primary_key.columns]
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in keys)
        if len(keys) == 1:
            existing = self.session.execute(
                text(f"SELECT t.{q(keys[0])} FROM {table.name} t JOIN {stage} s ON {on}").columns(
                    table.c[keys[0]]
                )
            )
            self.pre_existing[table.name] = {row[0] for row in existing}
        columns = ", ".join(q(name) for name in names)
        picked = ", ".join(f"s.{q(name)}" for name in names)
        integer_key = len(keys) == 1 and isinstance(table.c[keys[0]].type, Integer)
        if integer_key:
            self._drop_known_owners(table, stage)
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({columns}) SELECT {picked} FROM {stage} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {on}) "
            f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO NOTHING"
        )
        if integer_key:
            self._renumber(table, stage, names, keys[0])
        return self.count(table)

    def _owner(self, table: Table) -> tuple[str, str] | None:
        fks = sorted(
            (fk for fk in table.foreign_keys if not fk.parent.nullable),
            key=lambda fk: fk.parent.name,
        )
        return (fks[0].parent.name, fks[0].column.table.name) if fks else None

    def _drop_known_owners(self, table: Table, stage: str) -> None:
        owner = self._owner(table)
        if owner is None:
            return
        column, parent = owner
        known = sorted(self.pre_existing.get(parent, set()), key=str)
        if known:
            statement = text(f"DELETE FROM {stage} WHERE {self._q(column)} = :key").bindparams(
                bindparam("key", type_=table.c[column].type)
            )
            self.session.execute(statement, [{"key": key} for key in known])

    def _renumber(self, table: Table, stage: str, names: list[str], key: str) -> None:
        """Rows whose integer key another owner's row holds get the next free numbers."""
        owner = self._owner(table)
        if owner is None:
            return
        conn = self._conn
        dialect = dialect_of(conn)
        dialect.reset_sequence(conn, table.name, key)
        q = self._q
        rest = [q(name) for name in names if name != key]
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(rest)}) "
            f"SELECT {', '.join('s.' + name for name in rest)} FROM {stage} s "
            f"WHERE EXISTS (SELECT 1 FROM {table.name} t WHERE t.{q(key)} = s.{q(key)} "
            f"AND t.{q(owner[0])} <> s.{q(owner[0])}) ORDER BY s.{q(key)}"
        )
        dialect.reset_sequence(conn, table.name, key)

    def reset_sequences(self, tables: Sequence[Table]) -> None:
        conn = self._conn
        for table in tables:
            keys = list(table.primary_key.columns)
            if len(keys) == 1 and isinstance(keys[0].type, Integer):
                dialect_of(conn).reset_sequence(conn, table.name, keys[0].name)

    def bump_spaces(self, space_ids: Iterable[Any]) -> None:
        """Spaces that gained vectors move their counters: caches reload, and the vector files
        rescan the space (loaded rows carry the source's ``seq``, not this store's)."""
        ids = list(space_ids)
        if ids:
            self.session.execute(
                update(EmbeddingSpace)
                .where(EmbeddingSpace.id.in_(ids))
                .values(
                    change_counter=EmbeddingSpace.change_counter + 1,
                    removal_counter=EmbeddingSpace.removal_counter + 1,
                )
            )
