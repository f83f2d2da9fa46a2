"""Reflect a migrated database into a plain description, and compare two descriptions.

The three tools must end at the same schema, or the timings compare different work. Each
tool names some things its own way (Django's automatic index names, Alembic's server
defaults for NOT NULL columns added later), so what is compared is what the history
defines: tables, columns with their type and nullability, indexes by their columns, and
foreign keys by their columns and target. Bookkeeping tables are left out.
"""

from __future__ import annotations

import re
from typing import Any

BOOKKEEPING = re.compile(r"^(gitmig_.*|django_migrations|alembic_version|sqlite_.*)$")
_TYPE_WORDS = {
    "bool": "boolean",
    "int": "integer",
    "character varying": "varchar",
    "timestamp without time zone": "datetime",
    "timestamp with time zone": "datetime",
    "timestamp": "datetime",
}

Description = dict[str, dict[str, Any]]


def normalise_type(raw: str) -> str:
    text = raw.lower().strip()
    base, _, rest = text.partition("(")
    base = _TYPE_WORDS.get(base.strip(), base.strip())
    return f"{base}({rest.replace(' ', '')}" if rest else base


def reflect(url: str) -> Description:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        out: Description = {}
        for table in sorted(inspector.get_table_names()):
            if BOOKKEEPING.match(table):
                continue
            columns = {
                c["name"]: (normalise_type(str(c["type"])), bool(c["nullable"]))
                for c in inspector.get_columns(table)
            }
            pk = tuple(inspector.get_pk_constraint(table).get("constrained_columns") or ())
            indexes = sorted(
                tuple(ix["column_names"]) for ix in inspector.get_indexes(table)
                if not ix.get("unique")
            )
            fks = sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            )
            out[table] = {"columns": columns, "pk": pk, "indexes": indexes, "foreign_keys": fks}
        return out
    finally:
        engine.dispose()


def differences(a: Description, b: Description, a_name: str, b_name: str,
                types: bool = True) -> list[str]:
    """What differs, in words; empty when the schemas are the same."""
    out: list[str] = []
    for table in sorted(set(a) | set(b)):
        if table not in b:
            out.append(f"table {table} only in {a_name}")
            continue
        if table not in a:
            out.append(f"table {table} only in {b_name}")
            continue
        ta, tb = a[table], b[table]
        for col in sorted(set(ta["columns"]) | set(tb["columns"])):
            ca, cb = ta["columns"].get(col), tb["columns"].get(col)
            if ca is None or cb is None:
                out.append(f"column {table}.{col} only in {a_name if cb is None else b_name}")
            elif (ca if types else ca[1]) != (cb if types else cb[1]):
                out.append(f"column {table}.{col}: {a_name} {ca}, {b_name} {cb}")
        for key in ("pk", "indexes", "foreign_keys"):
            if ta[key] != tb[key]:
                out.append(f"{key} of {table}: {a_name} {ta[key]}, {b_name} {tb[key]}")
    return out


def size(d: Description) -> str:
    columns = sum(len(t["columns"]) for t in d.values())
    indexes = sum(len(t["indexes"]) for t in d.values())
    fks = sum(len(t["foreign_keys"]) for t in d.values())
    return f"{len(d)} tables, {columns} columns, {indexes} indexes, {fks} foreign keys"
