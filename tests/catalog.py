"""The test oracle: a database's catalog, read from the database's own system tables.

gitmig promises that a migrated database equals `create_all` of the same models. A judge
built on SQLAlchemy's reflection (or on gitmig's code) shares their blind spots: a
`CHAR` that should be `CHAR(32)`, a lost primary key, an enum whose labels changed order.
This module asks each database directly and keeps every detail it reports:

- PostgreSQL (`pg_catalog`): columns with `format_type` (length, precision, timezone,
  array), `pg_get_expr` defaults, identity, generated expressions, non-default
  collations, comments; constraints with `pg_get_constraintdef`; indexes with
  `pg_get_indexdef`; enums with their labels in order; domains; sequences with their
  options and owner; triggers; schemas other than `public`.
- MariaDB/MySQL (`information_schema` and `SHOW CREATE TABLE`): tables with engine,
  collation, options and comment; columns with the full `COLUMN_TYPE`, default, extra,
  generation, character set, collation, comment; constraints, foreign key rules, check
  clauses, index columns with prefix length and order; and `SHOW CREATE TABLE` with its
  lines sorted (column order is not compared) and the `AUTO_INCREMENT=N` counter dropped.
- SQLite (`PRAGMA` and `sqlite_master`): `table_xinfo`, `index_list` / `index_xinfo`,
  `foreign_key_list`, and each object's SQL text with whitespace collapsed, simple
  identifiers unquoted and a table's top-level items (columns and constraints) sorted.

Column order never counts. Names count, except, when `unnamed=True` (the models left
constraints unnamed), the names a database invents for them (PostgreSQL `*_pkey`,
`*_key`, `*_fkey`, `*_check`; MariaDB `*_ibfk_N`, `CONSTRAINT_N`), which become
`<unnamed>`. gitmig's history table `gitmig_migrations` is left out.

    assert_same_catalog(migrated_url, create_all_url)   # raises with a readable diff
    assert is_empty(dump_catalog(url))                   # after `migrate blog zero`
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

HISTORY_TABLE = "gitmig_migrations"
UNNAMED = "<unnamed>"

Catalog = dict[str, Any]

_PG_INVENTED = re.compile(r"_(pkey|key|fkey|check|excl)\d*$")
_MY_INVENTED = re.compile(r"(_ibfk_\d+|^CONSTRAINT_\d+)$")


def dump_catalog(
    url: str, *, unnamed: bool = False, exclude: Collection[str] = (HISTORY_TABLE,)
) -> Catalog:
    """The normalized, JSON-able catalog of the database at `url`."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            family = conn.dialect.name
            if family == "postgresql":
                catalog = _postgresql(conn, set(exclude), unnamed)
            elif family in ("mysql", "mariadb"):
                catalog = _mysql(conn, set(exclude), unnamed)
            elif family == "sqlite":
                catalog = _sqlite(conn, set(exclude))
            else:  # pragma: no cover - only the three supported databases are tested
                raise ValueError(f"no catalog reader for {family}")
    finally:
        engine.dispose()
    return json.loads(json.dumps(catalog, sort_keys=True, default=str))


def is_empty(catalog: Catalog) -> bool:
    """True when nothing the models could make is left (no table, type, sequence...)."""
    return not any(catalog.values())


def catalog_diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Every place where two catalogs differ, one readable line each."""
    if isinstance(a, dict) and isinstance(b, dict):
        lines: list[str] = []
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else str(key)
            if key not in b:
                lines.append(f"{where}: only in A: {_short(a[key])}")
            elif key not in a:
                lines.append(f"{where}: only in B: {_short(b[key])}")
            else:
                lines.extend(catalog_diff(a[key], b[key], where))
        return lines
    if isinstance(a, list) and isinstance(b, list) and a != b:
        only_a = [x for x in a if x not in b]
        only_b = [x for x in b if x not in a]
        if not only_a and not only_b:
            return [f"{path}: same items, other order: A {_short(a)} / B {_short(b)}"]
        return [f"{path}: only in A: {_short(x)}" for x in only_a] + [
            f"{path}: only in B: {_short(x)}" for x in only_b
        ]
    return [] if a == b else [f"{path}: A {_short(a)} != B {_short(b)}"]


def assert_same_catalog(
    url_a: str, url_b: str, *, unnamed: bool = False, labels: tuple[str, str] = ("A", "B")
) -> None:
    """Fail, listing each difference, unless the two databases hold the same schema."""
    diff = catalog_diff(dump_catalog(url_a, unnamed=unnamed), dump_catalog(url_b, unnamed=unnamed))
    if diff:
        text = "\n".join(f"  {line}" for line in diff)
        text = text.replace("only in A", f"only in {labels[0]}")
        text = text.replace("only in B", f"only in {labels[1]}")
        raise AssertionError(f"catalogs differ ({labels[0]} vs {labels[1]}):\n{text}")


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new empty database on the server of `url` (a new file for SQLite), dropped after."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        base = Path(parsed.database or "db.sqlite3")
        path = base.with_name(f"oracle_{uuid.uuid4().hex[:10]}.sqlite3")
        try:
            yield parsed.set(database=str(path)).render_as_string(hide_password=False)
        finally:
            path.unlink(missing_ok=True)
        return
    name = f"gm_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            force = " WITH (FORCE)" if parsed.get_backend_name() == "postgresql" else ""
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
    finally:
        admin.dispose()


def create_all(metadata: sa.MetaData, url: str) -> None:
    """`metadata.create_all` on `url`: the side of the comparison gitmig must match."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 400 else text[:397] + "..."


def _rows(conn: Connection, sql: str, **params: Any) -> list[Any]:
    return list(conn.execute(sa.text(sql), params))


# --- PostgreSQL -------------------------------------------------------------------------

_PG_USER_NAMESPACE = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
)


def _postgresql(conn: Connection, exclude: set[str], unnamed: bool) -> Catalog:
    current = conn.scalar(sa.text("SELECT current_schema()"))

    def qualified(schema: str, name: str) -> str:
        return name if schema == current else f"{schema}.{name}"

    def local(text: str | None) -> str | None:
        # An object's own schema prefix is spelled only when it is not the current one.
        return None if text is None else text.replace(f"{current}.", "")

    def invented(name: str) -> str:
        return UNNAMED if unnamed and _PG_INVENTED.search(name) else name

    tables: dict[str, Any] = {}
    by_oid: dict[int, dict[str, Any]] = {}
    for oid, schema, name, kind, persistence, options, comment, partkey, viewdef in _rows(
        conn,
        "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions,"
        " obj_description(c.oid, 'pg_class'),"
        " CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,"
        " CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_PG_USER_NAMESPACE}",
    ):
        if name in exclude:
            continue
        table = {
            "kind": kind, "persistence": persistence, "options": sorted(options or []),
            "comment": comment, "partition_key": partkey, "view": local(viewdef),
            "columns": {}, "constraints": [], "indexes": {}, "triggers": {},
        }
        tables[qualified(schema, name)] = by_oid[oid] = table
    oids = list(by_oid)

    for relid, name, typ, notnull, default, identity, generated, collation, comment, dims in _rows(
        conn,
        "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,"
        " CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,"
        " col_description(a.attrelid, a.attnum), a.attndims"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
        " WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY(:oids)",
        oids=oids,
    ):
        by_oid[relid]["columns"][name] = {
            "type": local(typ), "not_null": notnull,
            "default": local(default) if not generated else None,
            "generated": {"s": "stored", "v": "virtual"}.get(generated) and local(default),
            "identity": {"a": "always", "d": "by default"}.get(identity),
            "collation": collation, "comment": comment, "array_dims": dims,
        }

    for relid, name, kind, definition, comment in _rows(
        conn,
        "SELECT con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid),"
        " obj_description(con.oid, 'pg_constraint')"
        " FROM pg_constraint con WHERE con.conrelid = ANY(:oids)",
        oids=oids,
    ):
        by_oid[relid]["constraints"].append(
            {"name": invented(name), "kind": kind, "definition": local(definition),
             "comment": comment}
        )

    for relid, name, definition, backs_constraint, comment in _rows(
        conn,
        "SELECT i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid),"
        " EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid"
        "  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')),"
        " obj_description(i.indexrelid, 'pg_class')"
        " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " WHERE i.indrelid = ANY(:oids)",
        oids=oids,
    ):
        if backs_constraint:
            continue  # the constraint's definition says all of it
        definition = local(definition) or ""
        # The name is the key; the definition is compared without it.
        body = definition.replace(f" {name} ON ", " ON ", 1).replace(f' "{name}" ON ', " ON ", 1)
        by_oid[relid]["indexes"][name] = {"definition": body, "comment": comment}

    for relid, name, definition in _rows(
        conn,
        "SELECT tgrelid, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE NOT tgisinternal AND tgrelid = ANY(:oids)",
        oids=oids,
    ):
        by_oid[relid]["triggers"][name] = local(definition)

    for table in tables.values():
        table["constraints"].sort(key=lambda c: (c["kind"], c["definition"], c["name"]))

    enums = {
        qualified(schema, name): list(labels)
        for schema, name, labels in _rows(
            conn,
            "SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)"
            " FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid"
            f" JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {_PG_USER_NAMESPACE}"
            " GROUP BY n.nspname, t.typname",
        )
    }
    domains = {
        qualified(schema, name): {
            "type": local(base), "not_null": notnull, "default": default,
            "checks": sorted(checks or []),
        }
        for schema, name, base, notnull, default, checks in _rows(
            conn,
            "SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod),"
            " t.typnotnull, t.typdefault,"
            " (SELECT array_agg(pg_get_constraintdef(c.oid)) FROM pg_constraint c"
            "  WHERE c.contypid = t.oid)"
            " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            f" WHERE t.typtype = 'd' AND {_PG_USER_NAMESPACE}",
        )
    }
    other_types = {
        qualified(schema, name): kind
        for schema, name, kind in _rows(
            conn,
            "SELECT n.nspname, t.typname, t.typtype FROM pg_type t"
            " JOIN pg_namespace n ON n.oid = t.typnamespace"
            " LEFT JOIN pg_class c ON c.oid = t.typrelid"
            f" WHERE t.typtype IN ('b', 'c', 'r', 'm') AND {_PG_USER_NAMESPACE}"
            " AND t.typcategory <> 'A' AND (t.typrelid = 0 OR c.relkind = 'c')",
        )
    }
    sequences = {
        qualified(schema, name): {
            "type": typ, "start": start, "increment": inc, "min": low, "max": high,
            "cache": cache, "cycle": cycle, "owned_by": local(owner), "dependency": deptype,
        }
        for schema, name, typ, start, inc, low, high, cache, cycle, owner, deptype in _rows(
            conn,
            "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart,"
            " s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,"
            " own.owner, own.deptype"
            " FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN LATERAL (SELECT dn.nspname || '.' || dc.relname || '.' || a.attname"
            "   AS owner, d.deptype FROM pg_depend d"
            "   JOIN pg_class dc ON dc.oid = d.refobjid"
            "   JOIN pg_namespace dn ON dn.oid = dc.relnamespace"
            "   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
            "   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
            "   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
            "   LIMIT 1) own ON true"
            f" WHERE {_PG_USER_NAMESPACE}",
        )
        if not (owner and owner.split(".")[-2] in exclude)
    }
    schemas = sorted(
        name for (name,) in _rows(
            conn,
            f"SELECT n.nspname FROM pg_namespace n WHERE {_PG_USER_NAMESPACE}"
            " AND n.nspname <> 'public'",
        )
    )
    return {
        "tables": tables, "enums": enums, "domains": domains, "types": other_types,
        "sequences": sequences, "schemas": schemas,
    }


# --- MariaDB / MySQL --------------------------------------------------------------------


def _mysql(conn: Connection, exclude: set[str], unnamed: bool) -> Catalog:
    def invented(name: str | None) -> str | None:
        return UNNAMED if unnamed and name and _MY_INVENTED.search(name) else name

    tables: dict[str, Any] = {}
    sequences: dict[str, Any] = {}
    for name, kind, engine, collation, options, comment in _rows(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT"
        " FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    ):
        if name in exclude:
            continue
        if kind == "SEQUENCE":
            (_, text), = _rows(conn, f"SHOW CREATE SEQUENCE `{name}`")
            sequences[name] = text
            continue
        tables[name] = {
            "kind": kind, "engine": engine, "collation": collation,
            "options": options or "", "comment": comment or "",
            "columns": {}, "constraints": {}, "indexes": {}, "show_create": [],
        }

    for table, name, typ, nullable, default, extra, generation, charset, collation, comment in (
        _rows(
            conn,
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,"
            " GENERATION_EXPRESSION, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
        )
    ):
        if table in tables:
            tables[table]["columns"][name] = {
                "type": typ, "nullable": nullable, "default": default, "extra": extra,
                "generated": generation, "charset": charset, "collation": collation,
                "comment": comment,
            }

    constraints: dict[tuple[str, str], dict[str, Any]] = {}
    for table, name, kind in _rows(
        conn,
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM"
        " information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
    ):
        if table in tables:
            constraints[(table, name)] = {"kind": kind, "columns": [], "references": []}
    for table, name, column, ref_table, ref_column in _rows(
        conn,
        "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME,"
        " REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"
        " WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY ORDINAL_POSITION",
    ):
        if (table, name) in constraints:
            constraints[(table, name)]["columns"].append(column)
            if ref_table is not None:
                constraints[(table, name)]["references"].append(f"{ref_table}.{ref_column}")
    for table, name, update, delete, match in _rows(
        conn,
        "SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE, MATCH_OPTION"
        " FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
    ):
        if (table, name) in constraints:
            constraints[(table, name)].update(on_update=update, on_delete=delete, match=match)
    for table, name, clause in _rows(
        conn,
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = DATABASE()",
    ):
        if (table, name) in constraints:
            constraints[(table, name)]["check"] = clause
    names: set[str] = set()
    for (table, name), body in constraints.items():
        shown = invented(name) or name
        if shown != name:
            names.add(name)
        tables[table]["constraints"].setdefault(shown, []).append(body)
    for table in tables.values():
        for bodies in table["constraints"].values():
            bodies.sort(key=repr)

    for table, name, non_unique, _position, column, sub_part, order, kind, comment in _rows(
        conn,
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART,"
        " COLLATION, INDEX_TYPE, INDEX_COMMENT FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = DATABASE() ORDER BY SEQ_IN_INDEX",
    ):
        if table not in tables:
            continue
        shown = invented(name) or name
        if shown != name:
            names.add(name)
        index = tables[table]["indexes"].setdefault(
            shown, {"unique": not non_unique, "kind": kind, "comment": comment, "columns": []}
        )
        index["columns"].append([column, sub_part, order])

    for name, table in tables.items():
        if table["kind"] == "VIEW":
            (definition,) = _rows(
                conn,
                "SELECT VIEW_DEFINITION FROM information_schema.VIEWS"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t",
                t=name,
            )[0]
            table["show_create"] = [definition]
            continue
        (_, text), = _rows(conn, f"SHOW CREATE TABLE `{name}`")
        table["show_create"] = _mysql_show_create(text, names)
    return {"tables": tables, "sequences": sequences}


def _mysql_show_create(text: str, invented_names: set[str]) -> list[str]:
    """SHOW CREATE TABLE as a sorted list of lines, without the AUTO_INCREMENT counter."""
    for name in invented_names:
        text = text.replace(f"`{name}`", f"`{UNNAMED}`")
    lines = text.split("\n")
    items = sorted(line.strip().rstrip(",") for line in lines[1:] if line.startswith("  "))
    tail = " ".join(line for line in lines[1:] if not line.startswith("  "))
    tail = re.sub(r" AUTO_INCREMENT=\d+", "", tail)
    return [lines[0], *items, tail]


# --- SQLite -----------------------------------------------------------------------------


def _sqlite(conn: Connection, exclude: set[str]) -> Catalog:
    tables: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for kind, name, table, sql in _rows(
        conn, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    ):
        if name.startswith("sqlite_") or table in exclude:
            continue
        if kind == "table":
            tables[name] = {"sql": _sqlite_sql(sql, table=True)}
        elif sql is not None:
            others[f"{kind} {name}"] = {"table": table, "sql": _sqlite_sql(sql, table=False)}

    for name, table in tables.items():
        q = name.replace('"', '""')
        table["columns"] = {
            col: {"type": typ, "not_null": bool(notnull), "default": default,
                  "pk_position": pk, "hidden": hidden}
            for _, col, typ, notnull, default, pk, hidden in _rows(
                conn, f'PRAGMA table_xinfo("{q}")'
            )
        }
        indexes: dict[str, Any] = {}
        automatic: list[Any] = []
        for _, index, unique, origin, partial in _rows(conn, f'PRAGMA index_list("{q}")'):
            iq = index.replace('"', '""')
            keys = [
                [col, bool(desc), coll]
                for _, _, col, desc, coll, key in _rows(conn, f'PRAGMA index_xinfo("{iq}")')
                if key
            ]
            body = {"unique": bool(unique), "origin": origin, "partial": bool(partial),
                    "columns": keys}
            if index.startswith("sqlite_autoindex_"):
                automatic.append(body)  # its number follows the order of the table's text
            else:
                indexes[index] = body
        table["indexes"] = indexes
        table["automatic_indexes"] = sorted(automatic, key=repr)
        keys_by_id: dict[int, dict[str, Any]] = {}
        for fk_id, _, target, src, dst, on_update, on_delete, match in _rows(
            conn, f'PRAGMA foreign_key_list("{q}")'
        ):
            fk = keys_by_id.setdefault(
                fk_id, {"table": target, "from": [], "to": [], "on_update": on_update,
                        "on_delete": on_delete, "match": match},
            )
            fk["from"].append(src)
            fk["to"].append(dst)
        table["foreign_keys"] = sorted(keys_by_id.values(), key=repr)
    return {"tables": tables, "objects": others}


def _sqlite_sql(sql: str, *, table: bool) -> str | list[str]:
    """SQL text with cosmetic differences removed; a table's items sorted."""
    text = re.sub(r"\s+", " ", sql).strip()
    text = re.sub(r'"([A-Za-z_][A-Za-z0-9_]*)"', r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    text = re.sub(r"\s*,\s*", ", ", text)
    if not table:
        return text
    start = text.index("(")
    end = _closing(text, start)
    items = sorted(_split_top_level(text[start + 1:end]))
    return [text[:start].strip(), *items, text[end + 1:].strip()]


def _closing(text: str, start: int) -> int:
    depth = 0
    quote: str | None = None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


def _split_top_level(body: str) -> list[str]:
    items: list[str] = []
    depth = 0
    quote: str | None = None
    current = ""
    for ch in body:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        items.append(current.strip())
    return items
