"""What running an operation needs, shared by gitmig.db.ddl and the backends.

The Context an operation runs in, the registry of how each operation runs (gitmig.db.ddl
and its ddl_* modules fill it), and the helpers the backends call: restating a column for
Alembic, creating a foreign key, finding an unnamed constraint's name, SQLite's table
rebuild, one-off backfill values. This module imports no backend and not gitmig.db.ddl, so
both can import it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.schema import materialize
from gitmig.schema.state import Check, Column, Constraint, ForeignKey, SchemaState, Table, Unique

if TYPE_CHECKING:  # Alembic is imported where DDL runs, not by every backend's user
    from alembic.operations import Operations


class BackendHooks(Protocol):
    """What the DDL asks of ctx.backend; gitmig.db.backends.base.Backend implements it.

    A protocol, so that this module need not import the backends (they import it).
    """

    name: str

    def default_constraint_name(self, table: Table, c: Constraint) -> str: ...
    def existing_extra(self, table: Table, col: Column) -> dict[str, Any]: ...
    def before_operation(self, op: ops.Operation, ctx: Context) -> None: ...
    def after_operation(self, op: ops.Operation, ctx: Context) -> None: ...
    def alter_table_comment(self, op: ops.AlterTableComment, ctx: Context) -> None: ...
    def add_column(self, op: ops.AddColumn, ctx: Context) -> None: ...
    def drop_column(self, op: ops.DropColumn, ctx: Context) -> None: ...
    def alter_column(self, op: ops.AlterColumn, ctx: Context) -> None: ...
    def drop_index(self, op: ops.DropIndex, ctx: Context) -> None: ...
    def add_constraint(self, op: ops.AddConstraint, ctx: Context) -> None: ...
    def drop_constraint_op(self, op: ops.DropConstraint, ctx: Context) -> None: ...
    def drop_constraint(self, ctx: Context, table: Table, c: Constraint) -> None: ...
    # keys, renames, enums and table options (gitmig.db.ddl_keys, ddl_enums, ddl_tables)
    def create_primary_key(self, op: ops.CreatePrimaryKey, ctx: Context) -> None: ...
    def drop_primary_key_op(self, op: ops.DropPrimaryKey, ctx: Context) -> None: ...
    def drop_primary_key(self, ctx: Context, table: Table) -> None: ...
    def add_column_to_key(self, op: ops.AddColumn, ctx: Context, new: sa.Column[Any]) -> None: ...
    def key_recreated(self, ctx: Context, before: Table, after: Table) -> None: ...
    def number_key_column(self, ctx: Context, table: Table, column: str) -> None: ...
    def rename_constraint(self, op: ops.RenameConstraint, ctx: Context) -> None: ...
    def rename_index(self, op: ops.RenameIndex, ctx: Context) -> None: ...
    def alter_enum(self, op: ops.AlterEnum, ctx: Context, old: tuple[str, ...]) -> None: ...
    def alter_table_options(self, op: ops.AlterTableOptions, ctx: Context,
                            changed: set[str]) -> None: ...
    def set_table_schema(self, op: ops.SetTableSchema, ctx: Context) -> None: ...
    # the safe forms (gitmig lint): concurrent indexes, constraints validated later
    def create_index(self, op: ops.CreateIndex, ctx: Context) -> None: ...
    def validate_constraint(self, op: ops.ValidateConstraint, ctx: Context) -> None: ...


@dataclass
class Context:
    """Where an operation runs, and the schema on either side of it."""

    operations: Operations
    backend: BackendHooks
    dialect: Dialect
    before: SchemaState
    after: SchemaState
    connection: Connection | None = None  # None when only printing SQL with no database
    as_sql: bool = False  # printing (sqlmigrate), not executing
    output: TextIO | None = None

    def note(self, text: str) -> None:
        """A comment in printed SQL; nothing when executing."""
        if self.as_sql and self.output is not None:
            for line in text.splitlines():
                self.output.write(f"-- {line}\n")
            self.output.write("\n")

    def quote(self, name: str) -> str:
        return str(self.dialect.identifier_preparer.quote(name))

    def qualified(self, name: str, schema: str | None) -> str:
        """A table's (or index's) name, quoted, with its schema when it has one."""
        return f"{self.quote(schema)}.{self.quote(name)}" if schema else self.quote(name)

    def select(self, expression: str, fallback: str) -> str:
        """What the database answers to SELECT expression; fallback when only printing."""
        if self.connection is None or self.as_sql:
            return fallback
        found = self.connection.execute(sa.text(f"SELECT {expression}")).scalar()
        return str(found or fallback)


@functools.singledispatch
def _run(op: ops.Operation, ctx: Context) -> None:
    raise GitmigError(f"gitmig cannot run {type(op).__name__} on a database yet")


_Obj = TypeVar("_Obj")
# Objects of one kind (enum types, sequences) that the given tables use, by name.
Collect = Callable[[Iterable[Table | None]], Mapping[Any, _Obj]]


def brought_in(op: ops.Operation, ctx: Context, collect: Collect[_Obj]) -> list[_Obj]:
    """The objects the operation's tables use afterwards that no table used before: CREATE
    TABLE and ALTER COLUMN do not create them, so they are created first."""
    if not op.tables():
        return []
    before = collect(ctx.before.tables.values())
    after = collect(ctx.after.get(k) for k in sorted(op.tables()))
    return [after[k] for k in sorted(after, key=str) if k not in before]


def left_unused(op: ops.Operation, ctx: Context, collect: Collect[_Obj]) -> list[_Obj]:
    """The objects the operation's tables used before that no table uses afterwards: DROP
    TABLE leaves them behind, so they are dropped after it."""
    if not op.tables():
        return []
    after = collect(ctx.after.tables.values())
    before = collect(ctx.before.get(k) for k in sorted(op.tables()))
    return [before[k] for k in sorted(before, key=str) if k not in after]


def backfill_default(op: ops.AddColumn, typ: sa.types.TypeEngine[Any],
                     dialect: Dialect) -> Any:
    """The one-off value existing rows get for a new NOT NULL column, as a DEFAULT."""
    col = op.column
    if not col.nullable and col.server_default is None and op.backfill is not ops.UNSET:
        return sa.text(literal_sql(op.backfill, typ, dialect))
    return None


def existing(
    ctx: Context,
    table: Table,
    col: Column,
    *,
    nullable: bool | None = None,
    type_: str | None = None,
    server_default: Any = ops.UNSET,
) -> dict[str, Any]:
    """What Alembic needs restated about a column (MySQL rewrites the whole definition)."""
    kw: dict[str, Any] = {
        "existing_type": materialize.type_of(type_ or col.type),
        "existing_nullable": col.nullable if nullable is None else nullable,
        "existing_server_default": (
            materialize.server_default(col.server_default)
            if server_default is ops.UNSET else server_default
        ),
        "existing_comment": col.comment,
    }
    kw.update(ctx.backend.existing_extra(table, col))
    return kw


def create_foreign_key(ctx: Context, table: str, schema: str | None, fk: ForeignKey,
                       **dialect_kw: Any) -> None:
    ref_schema, _, ref_table = fk.ref_table.rpartition(".")
    ctx.operations.create_foreign_key(
        fk.name,
        table,
        ref_table,
        list(fk.columns),
        list(fk.ref_columns),
        ondelete=fk.ondelete,
        onupdate=fk.onupdate,
        deferrable=fk.deferrable,
        initially=fk.initially,
        match=fk.match,
        source_schema=schema,
        referent_schema=ref_schema or None,
        **dialect_kw,
    )


def constraint_name(ctx: Context, table: Table, c: Constraint) -> str:
    """The constraint's name, or the one the database gave it when the models gave none."""
    if c.name:
        return c.name
    if ctx.connection is not None:
        found = _reflected_name(ctx.connection, table, c)
        if found:
            return found
        if not ctx.as_sql:
            raise GitmigError(
                f"cannot find the unnamed {_describe(c)} on {table.key} in the database; "
                "was it dropped by hand? Recreate it, or give it a name in a new migration"
            )
    guess = ctx.backend.default_constraint_name(table, c)
    ctx.note(f"{guess} is the name {ctx.backend.name} gives an unnamed {_describe(c)} by default")
    return guess


def _describe(c: Constraint) -> str:
    if isinstance(c, Check):
        return f"check constraint ({c.sqltext})"
    kind = "foreign key" if isinstance(c, ForeignKey) else "unique constraint"
    return f"{kind} ({', '.join(c.columns)})"


def normalize_check(sqltext: str) -> str:
    """CHECK text as databases echo it back, reduced to compare: no casts, quotes, parens."""
    text = sqltext.lower()
    text = re.sub(r"::[a-z_ ]+(\([0-9, ]*\))?(\[\])?", "", text)
    return re.sub(r"[\s()`\"]", "", text)


def _reflected_name(conn: Connection, table: Table, c: Constraint) -> str | None:
    inspector = sa.inspect(conn)
    if isinstance(c, Unique):
        for uc in inspector.get_unique_constraints(table.name, schema=table.schema):
            if tuple(uc["column_names"]) == c.columns and uc["name"]:
                return str(uc["name"])
    elif isinstance(c, ForeignKey):
        ref = c.ref_table.rpartition(".")[2]
        for fk in inspector.get_foreign_keys(table.name, schema=table.schema):
            if (
                tuple(fk["constrained_columns"]) == c.columns
                and fk["referred_table"] == ref
                and tuple(fk["referred_columns"]) == c.ref_columns
                and fk["name"]
            ):
                return str(fk["name"])
    else:
        want = normalize_check(c.sqltext)
        for cc in inspector.get_check_constraints(table.name, schema=table.schema):
            if normalize_check(cc["sqltext"]) == want and cc["name"]:
                return str(cc["name"])
    return None


def rebuild(ctx: Context, key: str) -> None:
    """Recreate the table as the state after the operation says, keeping its rows.

    The new table is built from the state, not reflected, so it carries exactly the
    models' constraints (unnamed ones too) and defaults; every column the old table
    also has is copied across.
    """
    t = ctx.after.table(key)
    copy_from = declared_order(materialize.table(t))
    with ctx.operations.batch_alter_table(
        t.name, schema=t.schema, copy_from=copy_from, recreate="always",
        table_kwargs=materialize.dialect_kwargs(t.options),
    ) as batch:
        for col in t.columns:
            if col.computed is not None:
                # Generated values are computed again by the new table, never copied.
                batch.drop_column(col.name)
                batch.add_column(materialize.column(col))


def declared_order(table: sa.Table) -> sa.Table:
    """Alembic's batch mode copies a table's constraints and indexes by iterating its sets,
    whose order follows object addresses and so changes from one process to the next; kept
    in the order materialize declared them, the rebuilt table's SQL (sqlmigrate's output,
    the order SQLite lists its foreign keys in) is the same on every run."""
    from sqlalchemy.util import OrderedSet

    table.constraints = OrderedSet(sorted(
        table.constraints, key=lambda c: getattr(c, "_creation_order", 0)))
    table.indexes = OrderedSet(sorted(table.indexes, key=lambda ix: str(ix.name or "")))
    return table


def no_type_events(items: list[Any]) -> list[Any]:
    """Keep CREATE TABLE from creating enum types itself: the PostgreSQL backend does that."""
    for item in items:
        if not isinstance(item, sa.Column):
            continue
        for typ in (item.type, getattr(item.type, "item_type", None)):  # ARRAY(ENUM)
            if isinstance(typ, sa.Enum):
                typ.create_type = False
    return items


def literal_sql(value: Any, typ: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    """A value as an SQL literal of the column's type, for a one-off DEFAULT."""
    for candidate in (typ, None):
        try:
            expr = sa.literal(value, candidate) if candidate is not None else sa.literal(value)
            return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        except Exception:  # a type without a literal form for this value: fall back
            continue
    raise GitmigError(f"cannot write {value!r} as an SQL value")
