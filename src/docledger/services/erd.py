"""Render the schema as a Mermaid ER diagram, straight from the model metadata.

``docs/schema.md`` embeds this output and a test keeps the two equal, so the diagram cannot
drift from the tables.
"""

from __future__ import annotations

from sqlalchemy import Table

import docledger.models  # noqa: F401 - registers every table
from docledger.db.base import Base


def _type_name(table: Table, column: str) -> str:
    col = table.c[column]
    try:
        name = col.type.compile()
    except Exception:
        name = type(col.type).__name__
    return name.split("(")[0].replace(" ", "_").lower()


def mermaid() -> str:
    lines = ["erDiagram"]
    tables = sorted(Base.metadata.tables.values(), key=lambda t: t.name)
    for table in tables:
        for fk in sorted(table.foreign_key_constraints, key=lambda f: str(f.name or "")):
            parent = fk.referred_table.name
            label = ",".join(c.name for c in fk.columns)
            nullable = any(c.nullable for c in fk.columns)
            right = "o|" if nullable else "||"
            lines.append(f'    {parent} {right}--o{{ {table.name} : "{label}"')
    for table in tables:
        lines.append(f"    {table.name} {{")
        pk = {c.name for c in table.primary_key.columns}
        fks = {c.parent.name for c in table.foreign_keys}
        for col in table.columns:
            keys = ",".join(k for k, on in (("PK", col.name in pk), ("FK", col.name in fks)) if on)
            suffix = f" {keys}" if keys else ""
            lines.append(f"        {_type_name(table, col.name)} {col.name}{suffix}")
        lines.append("    }")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
