"""SQLAlchemy schema objects to state, in one canonical form.

Models and migration files both pass through here, so a column declared in a model and the
same column written into a migration always come out equal. Types are kept as the source
text that rebuilds them, which is both their canonical form and what the writer prints.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import enum
import hashlib
import math
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import functions as sa_functions
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import ClauseElement, False_, TextClause, True_

from gitmig.errors import GitmigError
from gitmig.schema import expressions
from gitmig.schema.serializer import literal
from gitmig.schema.state import (
    Check,
    Column,
    Computed,
    ForeignKey,
    Identity,
    Index,
    Sequence,
    ServerDefault,
    Table,
    Unique,
    table_key,
)
from gitmig.schema.typesource import DIALECT_PREFIXES, type_source


def server_default_of(col: sa.Column[Any]) -> ServerDefault | None:
    sd = col.server_default
    if sd is None or not isinstance(sd, sa.DefaultClause):
        return None
    arg = sd.arg
    if isinstance(arg, str):
        return ServerDefault("literal", arg)
    if isinstance(arg, TextClause):
        return ServerDefault("sql", arg.text)
    if isinstance(arg, ClauseElement):
        portable = _portable_expression(arg)
        if portable is None and not expressions.spelled_alike(arg):
            portable = expressions.source(arg)
        if portable is not None:
            return ServerDefault("expr", portable)
        return ServerDefault("sql", expressions.compiled(arg))
    return ServerDefault("literal", str(arg))


def _portable_expression(arg: ClauseElement) -> str | None:
    """sa.func.now() and sa.true() are kept as expressions: each database spells them its
    own way (CURRENT_TIMESTAMP, 1), as create_all would."""
    if isinstance(arg, sa_functions.FunctionElement) and not list(arg.clauses):
        name = getattr(arg, "name", None)
        if isinstance(name, str) and name.isidentifier():
            return f"sa.func.{name}()"
    if isinstance(arg, True_):
        return "sa.true()"
    if isinstance(arg, False_):
        return "sa.false()"
    return None


def _scalar_default(col: sa.Column[Any]) -> Any:
    """The model's scalar default as a value a migration can hold, or None.

    Existing rows get this value when the column is added NOT NULL, so it must be written
    into the file as a plain literal: enum members become what the Enum type stores,
    dates their ISO text; anything else (callables, objects) is not usable.
    """
    d = col.default
    if d is None or not getattr(d, "is_scalar", False):
        return None
    value = d.arg  # type: ignore[attr-defined]
    if isinstance(value, enum.Enum):
        lookup = getattr(col.type, "_valid_lookup", None) or {}
        value = lookup.get(value, value.name)
    elif isinstance(value, (datetime.date, datetime.time)):
        value = value.isoformat()
    elif isinstance(value, decimal.Decimal):
        value = float(value) if value.is_finite() else None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) else None


def column_state(col: sa.Column[Any]) -> Column:
    if col.type is None or isinstance(col.type, sqltypes.NullType):
        raise GitmigError(f"column {col.name!r} has no type; give it one such as sa.Integer()")
    try:
        typ = type_source(col.type)
    except GitmigError as exc:
        table = getattr(col, "table", None)
        where = f"{table.name}.{col.name}" if isinstance(table, sa.Table) else str(col.name)
        why = ("; gitmig asks each database's dialect without a connection, so "
               "load_dialect_impl must not need one (server_version_info is None)"
               if "load_dialect_impl" in exc.message else "")
        raise GitmigError(f"column {where}: {exc.message}{why}", hint=exc.hint) from None
    return Column(
        name=str(col.name),
        type=typ,
        nullable=bool(col.nullable),
        primary_key=bool(col.primary_key),
        autoincrement=col.autoincrement if col.autoincrement in (True, False) else "auto",
        server_default=server_default_of(col),
        comment=col.comment,
        identity=identity_of(col),
        computed=computed_of(col),
        sequence=sequence_of(col),
        default=_scalar_default(col),
    )


IDENTITY_OPTIONS = ("on_null", "start", "increment", "minvalue", "maxvalue", "nominvalue",
                    "nomaxvalue", "cycle", "cache", "order")
SEQUENCE_OPTIONS = (*IDENTITY_OPTIONS[1:], "optional")


def _options(obj: Any, names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    out = []
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, (bool, int, float)) and not (name == "optional" and not value):
            out.append((name, value))
    return tuple(out)


def identity_of(col: sa.Column[Any]) -> Identity | None:
    ident = col.identity
    if ident is None:
        return None
    return Identity(always=bool(ident.always), options=_options(ident, IDENTITY_OPTIONS))


def computed_of(col: sa.Column[Any]) -> Computed | None:
    comp = col.computed
    if comp is None:
        return None
    text = comp.sqltext
    sql = text if isinstance(text, str) else text.text if isinstance(text, TextClause) else str(
        text.compile(compile_kwargs={"literal_binds": True, "include_table": False})
    )
    return Computed(sqltext=sql, persisted=comp.persisted)


def sequence_of(col: sa.Column[Any]) -> Sequence | None:
    seq = col.default
    if not isinstance(seq, sa.Sequence):
        return None
    return Sequence(
        name=str(seq.name),
        schema=str(seq.schema) if seq.schema else None,
        options=_options(seq, SEQUENCE_OPTIONS),
    )


# The longest identifier the target database takes (None: no limit is checked). Set by
# `name_limit` around reading the models; replayed migration files already hold short names.
_LIMIT: list[int | None] = [None]


@contextlib.contextmanager
def name_limit(limit: int | None) -> Iterator[None]:
    """Keep generated names within `limit` characters, refuse given ones longer."""
    saved = _LIMIT[0]
    _LIMIT[0] = limit
    try:
        yield
    finally:
        _LIMIT[0] = saved


def fit_name(name: str, limit: int, what: str = "name", of: str = "") -> str:
    """A convention-made name shortened as SQLAlchemy's compiler shortens it at create_all
    (the first limit-8 characters, "_" and the last four hex digits of its MD5); a name
    the models give verbatim is refused when longer than `limit`."""
    from sqlalchemy.sql.elements import _truncated_label

    if len(name) <= limit:
        return str(name)
    if isinstance(name, _truncated_label):
        digest = hashlib.md5(str(name).encode("utf-8"), usedforsecurity=False).hexdigest()
        return str(name)[: limit - 8] + "_" + digest[-4:]
    raise GitmigError(f"{what} {str(name)!r}{of} is {len(name)} characters long, "
                      f"more than the {limit} the database allows")


def _name(obj: Any) -> str | None:
    name = getattr(obj, "name", None)
    if not (isinstance(name, str) and name):
        return None
    limit = _LIMIT[0]
    if limit is not None:
        kind = "index" if isinstance(obj, sa.Index) else "constraint"
        return fit_name(name, limit, kind + " name")
    return str(name)


def _split_target(fullname: str) -> tuple[str, str]:
    table, _, column = fullname.rpartition(".")
    return table, column


def foreign_key_state(fkc: sa.ForeignKeyConstraint) -> ForeignKey:
    targets = [_split_target(e.target_fullname) for e in fkc.elements]
    # Database names, not Python keys: sa.Column("author_id", key="author") is author_id.
    columns = [
        str(e.parent.name) if isinstance(getattr(e, "parent", None), sa.Column) else str(key)
        for e, key in zip(fkc.elements, fkc.column_keys, strict=True)
    ]
    return ForeignKey(
        columns=tuple(columns),
        ref_table=str(targets[0][0]),
        ref_columns=tuple(str(c) for _, c in targets),
        name=_name(fkc),
        ondelete=fkc.ondelete.upper() if fkc.ondelete else None,
        onupdate=fkc.onupdate.upper() if fkc.onupdate else None,
        **_fk_options(fkc),
    )


def _fk_options(fk: Any) -> dict[str, Any]:
    """DEFERRABLE, INITIALLY and MATCH as the models say them (use_alter is not schema)."""
    return {
        "deferrable": fk.deferrable,
        "initially": fk.initially.upper() if fk.initially else None,
        "match": fk.match.upper() if fk.match else None,
    }


def column_foreign_keys(col: sa.Column[Any]) -> list[ForeignKey]:
    """Foreign keys declared on a lone column (AddColumn), before it joins a table."""
    out = []
    for fk in col.foreign_keys:
        table, column = _split_target(fk.target_fullname)
        out.append(
            ForeignKey(
                columns=(str(col.name),),
                ref_table=str(table),
                ref_columns=(str(column),),
                name=_name(fk),
                ondelete=fk.ondelete.upper() if fk.ondelete else None,
                onupdate=fk.onupdate.upper() if fk.onupdate else None,
                **_fk_options(fk),
            )
        )
    return out


def sql_text(clause: Any) -> str:
    if isinstance(clause, str):
        return clause
    if isinstance(clause, TextClause):
        return clause.text
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


def unique_state(uc: sa.UniqueConstraint) -> Unique:
    return Unique(columns=tuple(str(c.name) for c in uc.columns), name=_name(uc),
                  options=index_options(uc.dialect_kwargs))


def check_state(cc: sa.CheckConstraint, column: str | None = None) -> Check:
    return Check(sqltext=sql_text(cc.sqltext), name=_name(cc), column=column)


def column_checks(col: sa.Column[Any]) -> list[Check]:
    """The checks declared on the column itself (written inside its definition)."""
    return [check_state(c, column=str(col.name)) for c in col.constraints
            if isinstance(c, sa.CheckConstraint) and not getattr(c, "_type_bound", False)]


def index_state(ix: sa.Index) -> Index:
    name = _name(ix)
    if not name:
        raise GitmigError(f"an index on table {ix.table.name if ix.table is not None else '?'} "
                          "has no name; give it one, e.g. sa.Index('ix_table_col', ...)")
    cols = []
    for expr in ix.expressions:
        if isinstance(expr, sa.Column):
            cols.append(str(expr.name))
        elif isinstance(expr, str):
            cols.append(str(expr))
        else:
            cols.append(expression_sql(expr))
    return Index(name=name, columns=tuple(cols), unique=bool(ix.unique),
                 options=index_options(ix.dialect_kwargs))


def expression_sql(expr: Any) -> str:
    """An index expression or WHERE clause as SQL without table names, as DDL writes it."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, TextClause):
        return expr.text
    return str(expr.compile(compile_kwargs={"include_table": False, "literal_binds": True}))


_CLAUSE_OPTIONS = ("_where",)


def index_options(kwargs: Any) -> tuple[tuple[str, str], ...]:
    """Dialect keywords of an index in canonical form: (keyword, value source) pairs."""
    out = []
    for key in sorted(kwargs):
        value = kwargs[key]
        if value is None:
            continue
        if key.endswith(_CLAUSE_OPTIONS) or isinstance(value, ClauseElement):
            source = f"sa.text({literal(expression_sql(value))})"
        elif isinstance(value, dict):
            source = literal({str(k if isinstance(k, str) else k.name): v
                              for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))})
        elif isinstance(value, (list, tuple)):
            source = literal([v if isinstance(v, str) else str(v.name) for v in value])
        else:
            source = literal(value)
        out.append((str(key), source))
    return tuple(out)


def table_state(table: sa.Table, app: str = "") -> Table:
    uniques = []
    checks = []
    fks = []
    for c in table.constraints:
        if isinstance(c, sa.ForeignKeyConstraint):
            fks.append(foreign_key_state(c))
        elif isinstance(c, sa.UniqueConstraint):
            uniques.append(unique_state(c))
        elif isinstance(c, sa.CheckConstraint):
            if getattr(c, "_type_bound", False):
                continue  # comes back from the column's type (Boolean, Enum)
            checks.append(check_state(c))
    for col in table.columns:
        checks += column_checks(col)
    pk = table.primary_key
    limit = _LIMIT[0]
    if limit is not None:
        fit_name(str(table.name), limit, "table name")
        for col in table.columns:
            fit_name(str(col.name), limit, "column name", f" of table {table.name}")
    return Table(
        name=str(table.name),
        schema=str(table.schema) if table.schema else None,
        app=app,
        columns=tuple(column_state(c) for c in table.columns),
        pk_name=_name(pk) if pk is not None and len(pk.columns) else None,
        foreign_keys=frozenset(fks),
        uniques=frozenset(uniques),
        checks=frozenset(checks),
        indexes=frozenset(index_state(ix) for ix in table.indexes),
        comment=str(table.comment) if table.comment is not None else None,
        options=index_options(table.dialect_kwargs),
    )


def table_of(
    name: str,
    schema: str | None,
    items: tuple[Any, ...],
    comment: str | None,
    options: dict[str, Any] | None = None,
) -> Table:
    """A CreateTable's arguments as state, read through a throwaway sa.Table."""
    t = sa.Table(name, sa.MetaData(), *items, schema=schema, comment=comment, **(options or {}))
    return table_state(t)


__all__ = [
    "column_state",
    "column_foreign_keys",
    "table_state",
    "table_of",
    "type_source",
    "DIALECT_PREFIXES",
    "table_key",
]
