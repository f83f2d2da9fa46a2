"""PostgreSQL's catalog, read from pg_catalog, in the shape gitmig.db.compare compares.

The server's own renderings (format_type, pg_get_expr, pg_get_constraintdef,
pg_get_indexdef) are kept as they are: the expected side is read the same way from a
scratch database into which the same migrations ran, so equal schemas give equal text
whatever the server's spelling of a default, a type alias or an index expression.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gitmig.db.history.rows import SCHEMA_INFO

USER_NAMESPACE = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
)
_USING = re.compile(r" USING \w+ ")


def read(conn: Connection) -> dict[str, Any]:
    """Every user schema's objects; a tenant's own schema only when the connection works
    in one (a fleet's schema per tenant: the others are other tenants', not this one's
    drift or unmanaged tables)."""
    tenant = conn.info.get(SCHEMA_INFO)
    current = tenant or conn.scalar(sa.text("SELECT current_schema()"))
    namespace = USER_NAMESPACE if tenant is None else "n.nspname = :tenant"
    scope = {} if tenant is None else {"tenant": tenant}

    def qualified(schema: str, name: str) -> str:
        return name if schema == current else f"{schema}.{name}"

    def local(text: str | None) -> str | None:
        return None if text is None else text.replace(f"{current}.", "")

    tables: dict[str, Any] = {}
    by_oid: dict[int, dict[str, Any]] = {}
    for oid, schema, name, kind, persistence, options, comment, partkey in conn.execute(sa.text(
        "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions,"
        " obj_description(c.oid, 'pg_class'),"
        " CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p', 'f') AND {namespace}"
    ), scope):
        table = {
            "options": {"kind": kind, "persistence": persistence,
                        "storage": sorted(options or []), "comment": comment,
                        "partition_key": partkey},
            "columns": {}, "constraints": {}, "indexes": {},
        }
        tables[qualified(schema, name)] = by_oid[oid] = table
    oids = list(by_oid)

    for relid, name, typ, notnull, default, identity, generated, collation, comment in (
        conn.execute(sa.text(
            "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
            " pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,"
            " CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,"
            " col_description(a.attrelid, a.attnum)"
            " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
            " WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY(:oids)"
        ), {"oids": oids})
    ):
        by_oid[relid]["columns"][name] = {
            "type": local(typ), "not_null": notnull,
            "default": local(default) if not generated else None,
            "generated": local(default) if generated else None,
            "identity": {"a": "always", "d": "by default"}.get(identity),
            "collation": collation, "comment": comment,
        }

    for relid, name, kind, definition in conn.execute(sa.text(
        "SELECT con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid)"
        " FROM pg_constraint con WHERE con.conrelid = ANY(:oids)"
    ), {"oids": oids}):
        by_oid[relid]["constraints"][name] = {
            "kind": {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check",
                     "x": "exclusion"}.get(kind, kind),
            "definition": local(definition),
        }

    for relid, name, definition, unique in conn.execute(sa.text(
        "SELECT i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique"
        " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " WHERE i.indrelid = ANY(:oids) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        "  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
        "  AND c.contype IN ('p', 'u', 'x'))"
    ), {"oids": oids}):
        text = local(definition) or ""
        shape = _USING.split(text, 1)[-1]  # "(slug)", "(lower(title)) WHERE ..."
        by_oid[relid]["indexes"][name] = {
            "unique": unique,
            "definition": text.replace(f" {name} ON ", " ON ", 1)
                              .replace(f' "{name}" ON ', " ON ", 1),
            "shape": shape,
        }

    enums = {
        qualified(schema, name): {"labels": list(labels)}
        for schema, name, labels in conn.execute(sa.text(
            "SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)"
            " FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid"
            f" JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {namespace}"
            " GROUP BY n.nspname, t.typname"
        ), scope)
    }
    sequences = {
        qualified(schema, name): {
            "type": typ, "increment": inc, "min": low, "max": high, "cycle": cycle,
            "owned_by": owner,
        }
        for schema, name, typ, inc, low, high, cycle, owner in conn.execute(sa.text(
            "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL),"
            " s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,"
            " (SELECT dc.relname FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid"
            "   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
            "   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)"
            " FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
            f" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {namespace}"
        ), scope)
    }
    return {"tables": tables, "types": enums, "sequences": sequences}
