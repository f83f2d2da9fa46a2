"""SQLite's catalog, read with PRAGMAs and from sqlite_master, in the shape
gitmig.db.compare compares.

Columns, indexes and foreign keys come from the PRAGMAs; what only the table's SQL text
says (CHECK and UNIQUE constraints, a named primary key) comes from its top-level items,
whitespace and quoting normalised. Unnamed table constraints are keyed by their text.

The few hundred small queries go straight to the sqlite3 connection under SQLAlchemy's
(inside the transaction SQLAlchemy began, as its own execute would): through SQLAlchemy
each costs several times the query, and `migrate` reads the catalog twice.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_CONSTRAINT_START = ("CONSTRAINT ", "PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN KEY")

Query = Callable[..., list[Any]]


def read(conn: Connection) -> dict[str, Any]:
    """The catalog of the SQLite database `conn` is on; a driver error is raised as
    SQLAlchemy's, as if SQLAlchemy had run the query."""
    import sqlalchemy as sa

    if not conn.in_transaction():
        conn.begin()  # as SQLAlchemy's own execute would (the caller rolls it back)
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)

    def query(sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return raw.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc

    return read_with(query)


def read_with(query: Query) -> dict[str, Any]:
    """The catalog, read by `query` (SQL, parameters -> rows)."""
    tables: dict[str, Any] = {}
    for name, sql in query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ):
        if name.startswith("sqlite_"):
            continue
        tables[name] = _table(query, name, sql or "")
    return {"tables": tables, "types": {}, "sequences": {}}


def _table(query: Query, name: str, sql: str) -> dict[str, Any]:
    q = name.replace('"', '""')
    columns = {
        col: {"type": typ, "not_null": bool(notnull), "default": default,
              "primary_key": pk, "hidden": hidden}
        for _, col, typ, notnull, default, pk, hidden in query(f'PRAGMA table_xinfo("{q}")')
    }
    constraints: dict[str, Any] = {}
    for item in _items(sql):
        upper = item.upper()
        if not upper.startswith(_CONSTRAINT_START):
            continue
        key = item
        if upper.startswith("CONSTRAINT "):
            key = item.split(" ", 2)[1]
            item = item.split(" ", 2)[2] if item.count(" ") >= 2 else item
        kind = next((k for k in ("PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN KEY")
                     if item.upper().startswith(k)), "constraint")
        constraints[key] = {"kind": kind.lower(), "definition": item}
    indexes: dict[str, Any] = {}
    for _, index, unique, origin, partial in query(f'PRAGMA index_list("{q}")'):
        if origin != "c":  # made by a PRIMARY KEY or UNIQUE constraint: said there
            continue
        iq = index.replace('"', '""')
        keys = [
            f"{col if col is not None else '<expression>'}{' DESC' if desc else ''}"
            for _, _, col, desc, _, key in query(f'PRAGMA index_xinfo("{iq}")')
            if key
        ]
        found = query("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                      (index,))
        text = found[0][0] if found else None
        indexes[index] = {"unique": bool(unique), "partial": bool(partial),
                          "shape": f"({', '.join(keys)})",
                          "definition": normalise(text or "").replace(f" {index} ON ", " ON ")}
    foreign: dict[int, dict[str, Any]] = {}
    for fk_id, _, target, src, dst, on_update, on_delete, _match in query(
        f'PRAGMA foreign_key_list("{q}")'
    ):
        fk = foreign.setdefault(fk_id, {"table": target, "from": [], "to": [],
                                        "on_update": on_update, "on_delete": on_delete})
        fk["from"].append(src)
        fk["to"].append(dst)
    for fk in foreign.values():
        definition = (f"FOREIGN KEY ({', '.join(fk['from'])}) REFERENCES {fk['table']} "
                      f"({', '.join(str(t) for t in fk['to'])}) ON DELETE {fk['on_delete']} "
                      f"ON UPDATE {fk['on_update']}")
        named = [k for k, c in constraints.items()
                 if c["kind"] == "foreign key" and not k.upper().startswith("FOREIGN KEY")]
        key = next((k for k in named if _same_key(constraints[k]["definition"], fk)),
                   definition)
        constraints.pop(key, None)
        for k in [k for k, c in constraints.items() if k.upper().startswith("FOREIGN KEY")
                  and _same_key(c["definition"], fk)]:
            constraints.pop(k)
        constraints[key] = {"kind": "foreign key", "definition": definition}
    return {"options": {}, "columns": columns, "constraints": constraints, "indexes": indexes}


def _same_key(text: str, fk: dict[str, Any]) -> bool:
    head = text.split(")", 1)[0]
    return [c.strip() for c in head.split("(", 1)[-1].split(",")] == fk["from"]


def normalise(sql: str) -> str:
    """SQL text with cosmetic differences removed."""
    text = re.sub(r"\s+", " ", sql).strip()
    text = re.sub(r'"([A-Za-z_][A-Za-z0-9_]*)"', r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    return re.sub(r"\s*,\s*", ", ", text)


def _items(sql: str) -> list[str]:
    """The top-level items between a CREATE TABLE's parentheses."""
    text = normalise(sql)
    start = text.find("(")
    if start < 0:
        return []
    items: list[str] = []
    depth = 0
    quote: str | None = None
    current = ""
    for ch in text[start + 1:]:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        items.append(current.strip())
    return items
