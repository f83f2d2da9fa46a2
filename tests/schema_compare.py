"""Compare database schemas as SQLAlchemy reflects them, on SQLite, PostgreSQL and MariaDB.

gitmig's promise is that `makemigrations` then `migrate` gives the same schema as
`metadata.create_all` of the same models. Databases describe a schema with details that
depend on *how* it was made (the order of ALTERs, names they invent for unnamed
constraints, a sequence named after the table's first name), so the raw reflection of
two equal schemas can differ. `reflected_schema` returns a plain, JSON-able dict in which
those accidents are normalised away and everything the models decide is kept:

- tables: every table except gitmig's history table (`exclude`); column order is not
  compared (a database cannot reorder columns, and gitmig does not promise an order).
- columns: the type compiled by the database's dialect (so `VARCHAR(100)`, not a Python
  object), nullability, the server default as the database reports it, autoincrement,
  identity, computed expression and comment. PostgreSQL's `nextval('t_id_seq'::regclass)`
  becomes `nextval(<sequence>)`, as the sequence keeps the name a table was created with.
- the primary key (columns in order, name if it is one the models gave), foreign keys
  (columns, target table and columns, ON DELETE / ON UPDATE; NO ACTION counts as unset),
  unique constraints, check constraints (text with whitespace collapsed) and indexes
  (name, columns or expressions, uniqueness), each as a sorted list.
- names of constraints: a constraint the models left unnamed gets a name the database
  invents, which depends on history (PostgreSQL keeps `t_a_key` after column `a` is
  renamed; MariaDB numbers foreign keys `t_ibfk_N` in creation order). Such constraints
  are compared by kind and columns only. Pass `named=` (see `explicit_names`) to say
  exactly which names the models chose; without it, names that look database-made are
  dropped (PostgreSQL `*_pkey`, `*_key`, `*_fkey`, `*_check[N]`; MariaDB `PRIMARY`,
  `*_ibfk_N`, `CONSTRAINT_N`, and a unique constraint named after one of its columns).
- indexes that only implement something else: PostgreSQL's and MariaDB's indexes behind
  unique constraints, and the index MariaDB creates by itself for a foreign key: a
  non-unique index over exactly the key's columns, while that foreign key exists, unless
  `named` lists its name. (Its name is MariaDB's choice and outlives column renames.)
  Index names are otherwise compared: gitmig requires every index to be named.
- PostgreSQL enum types (`enums`: name -> labels), so that a type left behind after its
  last column went away is a difference too.

Typical use::

    after_migrate = reflected_schema(url)
    run("migrate", "blog", "zero"); assert reflected_schema(url)["tables"] == {}
    expected = create_all_schema(Base.metadata, url)
    assert_same_schema(after_migrate, expected)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .catalog import fresh_database

HISTORY_TABLE = "gitmig_migrations"

Schema = dict[str, Any]

_PG_GENERATED = re.compile(r"(_pkey|_key|_fkey|_check\d*|_excl)$")
_MY_GENERATED = re.compile(r"(^PRIMARY$|_ibfk_\d+$|^CONSTRAINT_\d+$)")
_NEXTVAL = re.compile(r"^nextval\('[^']*'(::regclass)?\)$")


def reflected_schema(
    bind: str | Engine | Connection,
    *,
    exclude: Collection[str] = (HISTORY_TABLE,),
    named: Collection[str] | None = None,
    schema: str | None = None,
) -> Schema:
    """The schema of a database (a URL, engine or connection), normalised to compare.

    `exclude`: table names to leave out (by default gitmig's history table).
    `named`: constraint names the models gave explicitly; every other constraint name is
    treated as made up by the database. Without it a per-dialect heuristic decides.
    `schema`: the database schema to read (default: the connection's default schema).
    """
    if isinstance(bind, str):
        engine = sa.create_engine(bind, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return _reflect(conn, exclude, named, schema)
        finally:
            engine.dispose()
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return _reflect(conn, exclude, named, schema)
    return _reflect(bind, exclude, named, schema)


def explicit_names(metadata: sa.MetaData) -> set[str]:
    """Constraint and index names the models chose (named=... for reflected_schema)."""
    names: set[str] = set()
    for table in metadata.tables.values():
        for item in (*table.constraints, *table.indexes):
            name = getattr(item, "name", None)
            if isinstance(name, str) and name:
                names.add(name)
    return names


def create_all_schema(
    metadata: sa.MetaData,
    bind: str | Engine,
    *,
    named: Collection[str] | None = None,
) -> Schema:
    """Create the models' tables in an empty database, reflect them, drop them again."""
    engine = sa.create_engine(bind, poolclass=sa.pool.NullPool) if isinstance(bind, str) else bind
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
        try:
            return reflected_schema(engine, named=named)
        finally:
            with engine.begin() as conn:
                metadata.drop_all(conn)
    finally:
        if isinstance(bind, str):
            engine.dispose()


def schema_diff(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Human-readable differences between two reflected schemas (empty when equal)."""
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        out = []
        for key in sorted(set(actual) | set(expected), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in expected:
                out.append(f"{where}: only in actual: {actual[key]!r}")
            elif key not in actual:
                out.append(f"{where}: only in expected: {expected[key]!r}")
            else:
                out += schema_diff(actual[key], expected[key], where)
        return out
    if actual != expected:
        return [f"{path}: actual {actual!r} != expected {expected!r}"]
    return []


def assert_same_schema(actual: Schema, expected: Schema) -> None:
    diff = schema_diff(actual, expected)
    assert not diff, "schemas differ:\n  " + "\n  ".join(diff)


# -- reflection --------------------------------------------------------------------------


def _reflect(
    conn: Connection,
    exclude: Collection[str],
    named: Collection[str] | None,
    schema: str | None,
) -> Schema:
    dialect = conn.dialect
    family = "mysql" if dialect.name in ("mysql", "mariadb") else dialect.name
    inspector = sa.inspect(conn)
    tables = {}
    for name in sorted(inspector.get_table_names(schema=schema)):
        if name in exclude:
            continue
        tables[name] = _table(inspector, dialect, family, name, schema, named)
    out: Schema = {"tables": tables}
    if family == "postgresql":
        out["enums"] = {
            e["name"]: list(e["labels"])
            for e in inspector.get_enums(schema=schema)  # type: ignore[attr-defined]
        }
    return out


def _table(
    inspector: Any,
    dialect: sa.engine.Dialect,
    family: str,
    name: str,
    schema: str | None,
    named: Collection[str] | None,
) -> dict[str, Any]:
    columns = {}
    for col in inspector.get_columns(name, schema=schema):
        columns[col["name"]] = _column(col, dialect, family)
    column_names = set(columns)

    def keep(constraint_name: str | None, kind: str, first_column: str | None = None) -> Any:
        return _constraint_name(constraint_name, kind, family, named, column_names,
                                first_column)

    pk = inspector.get_pk_constraint(name, schema=schema)
    primary_key = {
        "name": keep(pk.get("name"), "pk"),
        "columns": list(pk.get("constrained_columns") or []),
    }

    fks = inspector.get_foreign_keys(name, schema=schema)
    foreign_keys = [
        {
            "name": keep(fk.get("name"), "fk"),
            "columns": list(fk["constrained_columns"]),
            "referred_schema": fk.get("referred_schema"),
            "referred_table": fk["referred_table"],
            "referred_columns": list(fk["referred_columns"]),
            "ondelete": _action((fk.get("options") or {}).get("ondelete")),
            "onupdate": _action((fk.get("options") or {}).get("onupdate")),
            "deferrable": (fk.get("options") or {}).get("deferrable"),
            "initially": (fk.get("options") or {}).get("initially"),
        }
        for fk in fks
    ]

    uniques_raw = inspector.get_unique_constraints(name, schema=schema)
    uniques = [
        {
            "name": keep(u.get("name"), "unique", (u.get("column_names") or [None])[0]),
            "columns": list(u["column_names"]),
        }
        for u in uniques_raw
    ]
    unique_index_names = {u.get("duplicates_index") for u in uniques_raw} - {None}

    try:
        checks_raw = inspector.get_check_constraints(name, schema=schema)
    except NotImplementedError:
        checks_raw = []
    checks = [
        {"name": keep(c.get("name"), "check"), "sqltext": _squash(c["sqltext"])}
        for c in checks_raw
    ]

    indexes = []
    for ix in inspector.get_indexes(name, schema=schema):
        if ix.get("duplicates_constraint") or ix["name"] in unique_index_names:
            continue  # the index behind a unique constraint, compared as the constraint
        cols = list(ix.get("column_names") or [])
        exprs = ix.get("expressions")
        if exprs:
            cols = [c if c is not None else _squash(e) for c, e in zip(cols, exprs, strict=False)]
        if family == "mysql" and _implicit_fk_index(ix["name"], cols, ix["unique"], fks, named):
            continue
        indexes.append({"name": ix["name"], "columns": cols, "unique": bool(ix["unique"])})

    try:
        comment = inspector.get_table_comment(name, schema=schema).get("text")
    except NotImplementedError:
        comment = None

    return {
        "columns": columns,
        "primary_key": primary_key,
        "foreign_keys": _sorted(foreign_keys),
        "unique_constraints": _sorted(uniques),
        "check_constraints": _sorted(checks),
        "indexes": _sorted(indexes),
        "comment": comment,
    }


def _column(col: Mapping[str, Any], dialect: sa.engine.Dialect, family: str) -> dict[str, Any]:
    try:
        type_text = str(col["type"].compile(dialect=dialect))
    except Exception:  # a type the dialect reflects but cannot render again
        type_text = repr(col["type"])
    default = col.get("default")
    if default is not None:
        default = str(default).strip()
        if family == "postgresql" and _NEXTVAL.match(default):
            default = "nextval(<sequence>)"
    out = {
        "type": type_text,
        "nullable": bool(col["nullable"]),
        "default": default,
        "autoincrement": col.get("autoincrement", "auto"),
        "comment": col.get("comment"),
    }
    if col.get("identity"):
        out["identity"] = dict(col["identity"])
    if col.get("computed"):
        out["computed"] = {k: (_squash(v) if isinstance(v, str) else v)
                           for k, v in col["computed"].items()}
    return out


def _constraint_name(
    name: str | None,
    kind: str,
    family: str,
    named: Collection[str] | None,
    column_names: Collection[str],
    first_column: str | None,
) -> str | None:
    if not name:
        return None
    if named is not None:
        return name if name in named else None
    if family == "postgresql" and _PG_GENERATED.search(name):
        return None
    if family == "mysql":
        if _MY_GENERATED.search(name):
            return None
        if kind == "unique" and first_column is not None and (
            name == first_column or re.fullmatch(rf"{re.escape(first_column)}_\d+", name)
        ):
            return None
    return name


def _implicit_fk_index(name: str, columns: list[Any], unique: bool,
                       fks: Iterable[Mapping[str, Any]], named: Collection[str] | None) -> bool:
    """MariaDB's own index for a foreign key, over exactly the key's columns.

    MariaDB names it after the key or its first column when it is made, and keeps that
    name when the column is renamed; so any such index counts as the key's own unless
    `named` lists its name (then the models declared it).
    """
    if unique or (named is not None and name in named):
        return False
    return any(columns == list(fk["constrained_columns"]) for fk in fks)


def _action(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).upper()
    return None if text == "NO ACTION" else text


def _squash(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=repr)


# A new empty database beside the one a URL names, dropped after: one helper for both oracles.
scratch_database = fresh_database
