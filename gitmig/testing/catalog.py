"""What a database holds, as plain comparable data, and the differences between two such.

The stairway compares the catalog before a migration is applied with the one after it is
unapplied again; anything a broken unapply leaves behind (or takes away) shows up here,
named, one line per difference. Read through SQLAlchemy's inspector, so it reads every
database the same way; gitmig's own tables are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Catalog = dict[str, Any]


def read(conn: Connection) -> Catalog:
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    out: Catalog = {}
    for name in sorted(insp.get_table_names()):
        if name.startswith("gitmig_"):
            continue
        columns = {
            c["name"]: {"type": str(c["type"]), "nullable": bool(c["nullable"]),
                        "default": None if c.get("default") is None else str(c["default"])}
            for c in insp.get_columns(name)
        }
        table: dict[str, Any] = {
            "columns": columns,
            "primary key": list(insp.get_pk_constraint(name).get("constrained_columns") or []),
            "foreign keys": sorted(
                f"{','.join(fk['constrained_columns'])} -> {fk['referred_table']}"
                f"({','.join(fk['referred_columns'])})"
                for fk in insp.get_foreign_keys(name)
            ),
            "indexes": sorted(
                f"{ix['name']}({','.join(str(c) for c in ix['column_names'])})"
                f"{' unique' if ix.get('unique') else ''}"
                for ix in insp.get_indexes(name)
            ),
        }
        for key, getter in (("unique constraints", insp.get_unique_constraints),
                            ("checks", insp.get_check_constraints)):
            try:
                table[key] = sorted(str(sorted(c.items(), key=str)) for c in getter(name))
            except NotImplementedError:
                pass
        out[f"table {name}"] = table
    for name in sorted(insp.get_view_names()):
        out[f"view {name}"] = True
    try:
        out["sequences"] = sorted(insp.get_sequence_names())
    except NotImplementedError:
        pass
    enums = getattr(insp, "get_enums", None)  # only where the database has enum types
    if enums is not None:
        out["enum types"] = sorted(f"{e['name']}{tuple(e['labels'])}" for e in enums())
    return out


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """One line per place where `after` differs from `before`."""
    if isinstance(before, dict) and isinstance(after, dict):
        lines: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path} {key}".strip() if path else str(key)
            if key not in after:
                lines.append(f"{where}: gone")
            elif key not in before:
                lines.append(f"{where}: left behind")
            else:
                lines += differences(before[key], after[key], where)
        return lines
    if isinstance(before, list) and isinstance(after, list) and before != after:
        gone = [x for x in before if x not in after]
        added = [x for x in after if x not in before]
        return ([f"{path}: {x} gone" for x in gone] + [f"{path}: {x} left behind" for x in added]
                or [f"{path}: {before} became {after}"])
    return [] if before == after else [f"{path}: {before!r} became {after!r}"]
