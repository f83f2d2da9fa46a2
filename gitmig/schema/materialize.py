"""Schema state to SQLAlchemy objects: the state's description made concrete again.

State keeps types as the source text that rebuilds them (gitmig.schema.canonical), so this is
the inverse of canonical: evaluating that text gives a type, and a state table gives an
sa.Table that CREATE TABLE renders exactly as `metadata.create_all` would render the
model it came from. Every call builds new objects: SQLAlchemy objects are mutable and
belong to one table, so none is ever shared between two calls.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Iterator
from types import CodeType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlalchemy.types import TypeEngine

from gitmig.errors import GitmigError
from gitmig.schema import state

# The dialects' own types, imported only by a type that names them: importing all three
# costs a first `makemigrations --check` more than parsing its migrations.
_DIALECTS = ("postgresql", "mysql", "sqlite")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> tuple[CodeType, tuple[str, ...]]:
    try:
        code = compile(source, "<type>", "eval")
    except SyntaxError:
        raise GitmigError(f"column type {source!r} is not a Python expression") from None
    return code, tuple(code.co_names)


def _dialects(namespace: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """`namespace` with the dialect modules among `names` (an expression's names)."""
    for dialect in _DIALECTS:
        if dialect in names:
            namespace[dialect] = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    return namespace


@functools.lru_cache(maxsize=1024)
def _compiled_default(text: str) -> tuple[str, ...]:
    """The names a server default's expression uses (it may fail to compile: eval says so)."""
    try:
        return tuple(compile(text, "<default>", "eval").co_names)
    except SyntaxError:
        return _DIALECTS


def _namespace(source: str, names: tuple[str, ...]) -> dict[str, Any]:
    namespace = _dialects({"sa": sa}, names)
    prefix = source.split("(", 1)[0].rpartition(".")[0]
    root = prefix.split(".")[0]
    if prefix and root not in namespace:
        # A user-defined database type, written by its import path (gitmig.migrations.writer).
        try:
            importlib.import_module(prefix)
            namespace[root] = importlib.import_module(root)
        except ImportError as exc:
            raise GitmigError(f"column type {source!r} needs module {prefix!r}: {exc}") from None
    return namespace


def type_of(source: str) -> TypeEngine[Any]:
    """A fresh type object from its canonical source text, e.g. "sa.String(length=20)"."""
    code, names = _compiled(source)
    try:
        value = eval(code, _namespace(source, names))  # noqa: S307 - text from migrations
    except GitmigError:
        raise
    except Exception as exc:
        raise GitmigError(f"cannot build column type {source!r}: {exc}") from None
    if isinstance(value, type) and issubclass(value, TypeEngine):
        value = value()
    if not isinstance(value, TypeEngine):
        raise GitmigError(f"column type {source!r} is not a SQLAlchemy type")
    return value


def server_default(
    sd: state.ServerDefault | None,
) -> str | TextClause | ColumnElement[Any] | None:
    """A literal is quoted by the database; SQL (now(), true) is written as given; a
    portable expression (sa.func.now()) is spelled by each dialect."""
    if sd is None:
        return None
    if sd.kind == "expr":
        # canonical source (gitmig.schema.expressions); casts may name dialect types
        names = _compiled_default(sd.text)
        value = eval(sd.text, {"__builtins__": {}, **_dialects({"sa": sa}, names)})  # noqa: S307
        if not isinstance(value, ColumnElement):
            raise GitmigError(f"server default {sd.text!r} is not a SQL expression")
        return value
    if sd.kind == "sql":
        return sa.text(sd.text)
    return sd.text


def column(
    col: state.Column,
    *,
    foreign_keys: Iterable[state.ForeignKey] = (),
    checks: Iterable[state.Check] = (),
) -> sa.Column[Any]:
    fks = [
        sa.ForeignKey(
            f"{fk.ref_table}.{fk.ref_columns[0]}",
            name=fk.name,
            ondelete=fk.ondelete,
            onupdate=fk.onupdate,
            deferrable=fk.deferrable,
            initially=fk.initially,
            match=fk.match,
        )
        for fk in foreign_keys
    ]
    return sa.Column(
        col.name,
        type_of(col.type),
        *generated(col),
        *fks,
        *(check(c) for c in _sorted(checks)),
        primary_key=col.primary_key,
        nullable=col.nullable,
        autoincrement=col.autoincrement,
        server_default=server_default(col.server_default),
        comment=col.comment,
    )


def generated(col: state.Column) -> list[Any]:
    """A column's Sequence, Identity and Computed, fresh objects every call."""
    items: list[Any] = []
    if col.sequence is not None:
        seq = col.sequence
        items.append(sa.Sequence(seq.name, schema=seq.schema, **dict(seq.options)))
    if col.identity is not None:
        items.append(sa.Identity(always=col.identity.always, **dict(col.identity.options)))
    if col.computed is not None:
        items.append(sa.Computed(col.computed.sqltext, persisted=col.computed.persisted))
    return items


def foreign_key(fk: state.ForeignKey) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        list(fk.columns),
        [f"{fk.ref_table}.{c}" for c in fk.ref_columns],
        name=fk.name,
        ondelete=fk.ondelete,
        onupdate=fk.onupdate,
        deferrable=fk.deferrable,
        initially=fk.initially,
        match=fk.match,
    )


def unique(u: state.Unique) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*u.columns, name=u.name, **dialect_kwargs(u.options))


def check(c: state.Check) -> sa.CheckConstraint:
    return sa.CheckConstraint(sa.text(c.sqltext), name=c.name)


def constraint(c: state.Constraint) -> sa.Constraint:
    if isinstance(c, state.ForeignKey):
        return foreign_key(c)
    if isinstance(c, state.Unique):
        return unique(c)
    return check(c)


def index_elements(ix: state.Index, column_names: Iterable[str]) -> list[str | TextClause]:
    """Column names stay names; anything else (lower(name)) is an SQL expression."""
    names = set(column_names)
    return [c if c in names or _IDENTIFIER.match(c) else sa.text(c) for c in ix.columns]


def dialect_kwargs(options: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Dialect keywords as SQLAlchemy takes them (postgresql_where=sa.text(...))."""
    return {key: eval(source, {"__builtins__": {}, "sa": sa})  # noqa: S307 - canonical
            for key, source in options}


def index_kwargs(ix: state.Index) -> dict[str, Any]:
    return dialect_kwargs(ix.options)


def index(ix: state.Index, column_names: Iterable[str]) -> sa.Index:
    return sa.Index(ix.name, *index_elements(ix, column_names), unique=ix.unique,
                    **index_kwargs(ix))


def _sorted(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=repr)


def column_checks(t: state.Table, name: str) -> list[state.Check]:
    """The checks declared on one column, written inside its definition."""
    return [c for c in t.checks if c.column == name]


def foreign_keys_in_order(t: state.Table) -> list[state.ForeignKey]:
    """A table's foreign keys in the order create_all emits them: a key declared on a
    column is made when its column joins the table, so in column order. MariaDB numbers
    unnamed keys in that order (post_ibfk_1, post_ibfk_2), so the order is schema there."""
    position = {c.name: i for i, c in enumerate(t.columns)}

    def key(fk: state.ForeignKey) -> tuple[list[int], str]:
        return [position.get(c, len(position)) for c in fk.columns], repr(fk)

    return sorted(t.foreign_keys, key=key)


def table_items(
    t: state.Table, *, indexes: bool = True, constraints: bool = True
) -> list[Any]:
    """Columns, then the primary key's name, constraints and indexes, in a stable order."""
    items: list[Any] = [column(c, checks=column_checks(t, c.name)) for c in t.columns]
    if t.pk_name and t.primary_key:
        items.append(sa.PrimaryKeyConstraint(*t.primary_key, name=t.pk_name))
    if constraints:
        items += [foreign_key(fk) for fk in foreign_keys_in_order(t)]
        items += [unique(u) for u in _sorted(t.uniques)]
        items += [check(c) for c in _sorted(t.checks) if c.column is None]
    if indexes:
        names = [c.name for c in t.columns]
        items += [index(ix, names) for ix in _sorted(t.indexes)]
    return items


def table(
    t: state.Table,
    metadata: sa.MetaData | None = None,
    *,
    indexes: bool = True,
    constraints: bool = True,
) -> sa.Table:
    """The whole table as an sa.Table, in its own MetaData unless one is given."""
    return sa.Table(
        t.name,
        metadata if metadata is not None else sa.MetaData(),
        *table_items(t, indexes=indexes, constraints=constraints),
        schema=t.schema,
        comment=t.comment,
        **dialect_kwargs(t.options),
    )


def metadata(s: state.SchemaState) -> sa.MetaData:
    """Every table of a state in one MetaData, so foreign keys resolve between them."""
    md = sa.MetaData()
    for key in sorted(s.tables):
        table(s.tables[key], md)
    return md


def enum_types(t: state.Table) -> Iterator[tuple[str, sa.Enum]]:
    """(column name, type) of each native, named enum a table uses (PostgreSQL types)."""
    for col in t.columns:
        if "enum" not in col.type.lower():
            continue
        typ = type_of(col.type)
        item = getattr(typ, "item_type", None)  # ARRAY(Enum(...))
        for candidate in (typ, item):
            if isinstance(candidate, sa.Enum) and candidate.native_enum and candidate.name:
                yield col.name, candidate


def enum_key(e: sa.Enum) -> tuple[str | None, str]:
    return (e.schema, str(e.name))
