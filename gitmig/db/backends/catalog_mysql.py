"""MariaDB/MySQL's catalog, read from information_schema, in the shape gitmig.db.compare
compares. Names of constraints the server invented (`*_ibfk_N`) are kept: the scratch
database made them by the same rules."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def read(conn: Connection) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for name, kind, engine, collation, options, comment in conn.execute(sa.text(
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT"
        " FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        " AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')"
    )):
        tables[name] = {
            "options": {"kind": kind, "engine": engine, "collation": collation,
                        "options": options or "", "comment": comment or ""},
            "columns": {}, "constraints": {}, "indexes": {},
        }

    for table, name, typ, nullable, default, extra, generation, charset, collation, comment in (
        conn.execute(sa.text(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,"
            " GENERATION_EXPRESSION, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
        ))
    ):
        if table in tables:
            tables[table]["columns"][name] = {
                "type": typ, "not_null": nullable == "NO",
                "default": None if default == "NULL" else default,  # MariaDB's "no default"
                "extra": extra,
                "generated": generation or None, "charset": charset, "collation": collation,
                "comment": comment or None,
            }

    constraints: dict[tuple[str, str], dict[str, Any]] = {}
    for table, name, kind in conn.execute(sa.text(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM"
        " information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
    )):
        if table in tables:
            constraints[(table, name)] = {"kind": kind.lower(), "columns": [],
                                          "references": []}
    for table, name, column, ref_table, ref_column in conn.execute(sa.text(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME,"
        " REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"
        " WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY ORDINAL_POSITION"
    )):
        if (table, name) in constraints:
            constraints[(table, name)]["columns"].append(column)
            if ref_table is not None:
                constraints[(table, name)]["references"].append(f"{ref_table}.{ref_column}")
    for table, name, update, delete in conn.execute(sa.text(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE"
        " FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
    )):
        if (table, name) in constraints:
            constraints[(table, name)].update(on_update=update, on_delete=delete)
    for table, name, clause in conn.execute(sa.text(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = DATABASE()"
    )):
        if (table, name) in constraints:
            constraints[(table, name)]["check"] = clause
    backing: set[tuple[str, str]] = set()
    for (table, name), body in constraints.items():
        body["definition"] = _definition(body)
        tables[table]["constraints"][name] = body
        if body["kind"] in ("primary key", "unique"):
            backing.add((table, name))

    for table, name, non_unique, column, sub_part, order, kind, comment in conn.execute(sa.text(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART,"
        " COLLATION, INDEX_TYPE, INDEX_COMMENT FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    )):
        if table not in tables or (table, name) in backing:
            continue
        index = tables[table]["indexes"].setdefault(
            name, {"unique": not int(non_unique), "kind": kind, "comment": comment or None,
                   "columns": []}
        )
        shown = f"{column}({sub_part})" if sub_part else str(column)
        index["columns"].append(f"{shown} DESC" if order == "D" else shown)
    for table in tables.values():
        for index in table["indexes"].values():
            index["shape"] = f"({', '.join(index['columns'])})"
    return {"tables": tables, "types": {}, "sequences": {}}


def _definition(body: dict[str, Any]) -> str:
    """The constraint as a line of DDL would say it, for the user."""
    columns = ", ".join(body["columns"])
    if body["kind"] == "foreign key":
        refs = ", ".join(body["references"])
        return (f"FOREIGN KEY ({columns}) REFERENCES {refs} ON DELETE "
                f"{body.get('on_delete')} ON UPDATE {body.get('on_update')}")
    if body["kind"] == "check":
        return f"CHECK ({body.get('check')})"
    return f"{body['kind'].upper()} ({columns})"
