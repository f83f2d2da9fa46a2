"""A schema state as JSON and back, so a state can cross a process boundary.

Models of another revision are imported in a child process; what comes back is this JSON.
The round trip is exact: `from_json(to_json(s)) == s`, and it keeps what equality does not
compare too (a column's Python-side default, column order). Sets are written sorted, so
the same state always gives the same text.
"""

from __future__ import annotations

import json
from typing import Any

from gitmig.schema.state import (
    Check,
    Column,
    Computed,
    ForeignKey,
    Identity,
    Index,
    SchemaState,
    Sequence,
    ServerDefault,
    Table,
    Unique,
)

FORMAT = 1
_SCALARS = (str, int, float, bool, type(None))


def to_json(state: SchemaState) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "tables": [_table(state.tables[key]) for key in sorted(state.tables)],
    }


def from_json(data: dict[str, Any]) -> SchemaState:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a gitmig schema state (format {FORMAT})")
    tables = [_read_table(t) for t in data["tables"]]
    return SchemaState({t.key: t for t in tables})


def dumps(state: SchemaState) -> str:
    return json.dumps(to_json(state), sort_keys=True, separators=(",", ":"))


def loads(text: str) -> SchemaState:
    return from_json(json.loads(text))


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda d: json.dumps(d, sort_keys=True))


def _table(t: Table) -> dict[str, Any]:
    return {
        "name": t.name,
        "schema": t.schema,
        "app": t.app,
        "pk_name": t.pk_name,
        "comment": t.comment,
        "options": [list(o) for o in t.options],
        "columns": [_column(c) for c in t.columns],
        "foreign_keys": _sorted(
            [
                {
                    "columns": list(fk.columns),
                    "ref_table": fk.ref_table,
                    "ref_columns": list(fk.ref_columns),
                    "name": fk.name,
                    "ondelete": fk.ondelete,
                    "onupdate": fk.onupdate,
                    "deferrable": fk.deferrable,
                    "initially": fk.initially,
                    "match": fk.match,
                }
                for fk in t.foreign_keys
            ]
        ),
        "uniques": _sorted([
            {"columns": list(u.columns), "name": u.name, "options": [list(o) for o in u.options]}
            for u in t.uniques
        ]),
        "checks": _sorted([{"sqltext": c.sqltext, "name": c.name, "column": c.column}
                           for c in t.checks]),
        "indexes": _sorted(
            [
                {"name": i.name, "columns": list(i.columns), "unique": i.unique,
                 "options": [list(o) for o in i.options]}
                for i in t.indexes
            ]
        ),
    }


def _column(c: Column) -> dict[str, Any]:
    sd = c.server_default
    return {
        "name": c.name,
        "type": c.type,
        "nullable": c.nullable,
        "primary_key": c.primary_key,
        "autoincrement": c.autoincrement,
        "server_default": None if sd is None else {"kind": sd.kind, "text": sd.text},
        "comment": c.comment,
        **_generated(c),
        # canonical.column_state keeps only plain scalars here; anything else cannot be
        # written into a migration either, so it is dropped rather than mangled.
        "default": c.default if isinstance(c.default, _SCALARS) else None,
    }


def _generated(c: Column) -> dict[str, Any]:
    """Identity, Computed and Sequence (None when a column has none)."""
    i, g, q = c.identity, c.computed, c.sequence
    return {
        "identity": None if i is None else {"always": i.always, "options": i.options},
        "computed": None if g is None else {"sqltext": g.sqltext, "persisted": g.persisted},
        "sequence": (None if q is None else
                     {"name": q.name, "schema": q.schema, "options": q.options}),
    }


def _pairs(items: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((str(k), v) for k, v in items)


def _read_table(d: dict[str, Any]) -> Table:
    return Table(
        name=d["name"],
        schema=d["schema"],
        app=d["app"],
        pk_name=d["pk_name"],
        comment=d["comment"],
        options=tuple((k, v) for k, v in d.get("options", ())),
        columns=tuple(_read_column(c) for c in d["columns"]),
        foreign_keys=frozenset(
            ForeignKey(
                columns=tuple(fk["columns"]),
                ref_table=fk["ref_table"],
                ref_columns=tuple(fk["ref_columns"]),
                name=fk["name"],
                ondelete=fk["ondelete"],
                onupdate=fk["onupdate"],
                deferrable=fk.get("deferrable"),
                initially=fk.get("initially"),
                match=fk.get("match"),
            )
            for fk in d["foreign_keys"]
        ),
        uniques=frozenset(
            Unique(tuple(u["columns"]), u["name"], tuple((k, v) for k, v in u.get("options", ())))
            for u in d["uniques"]
        ),
        checks=frozenset(Check(c["sqltext"], c["name"], c.get("column")) for c in d["checks"]),
        indexes=frozenset(
            Index(i["name"], tuple(i["columns"]), bool(i["unique"]),
                  tuple((k, v) for k, v in i.get("options", ())))
            for i in d["indexes"]
        ),
    )


def _read_column(d: dict[str, Any]) -> Column:
    sd = d["server_default"]
    return Column(
        name=d["name"],
        type=d["type"],
        nullable=d["nullable"],
        primary_key=d["primary_key"],
        autoincrement=d["autoincrement"],
        server_default=None if sd is None else ServerDefault(sd["kind"], sd["text"]),
        comment=d["comment"],
        identity=(Identity(i["always"], _pairs(i["options"]))
                  if (i := d.get("identity")) else None),
        computed=Computed(c["sqltext"], c["persisted"]) if (c := d.get("computed")) else None,
        sequence=(Sequence(q["name"], q["schema"], _pairs(q["options"]))
                  if (q := d.get("sequence")) else None),
        default=d["default"],
    )
