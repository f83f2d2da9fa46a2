"""How each operation runs on a database: gitmig.ops says what, this module says how.

All DDL goes through Alembic's operations layer, which knows each dialect's forms
(MySQL's CHANGE/MODIFY COLUMN, PostgreSQL's ALTER COLUMN ... TYPE); nothing here writes
dialect SQL by hand. SQLite cannot alter columns or constraints, so those changes
rebuild the table with Alembic's batch mode from the state after the operation: the new
table is exactly what CREATE TABLE of the models would make, and the rows are copied
into it column by column.

Every function gets the states before and after its operation, so it never guesses
what the database holds: the types and defaults MySQL needs restated, the table SQLite
rebuilds, the PostgreSQL enum types that come into use or fall out of it. Only the
names a database gave to unnamed constraints are read from the database itself. What a
database does its own way is its backend's (gitmig.db.backends), reached through the
Context; nothing here asks which database it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection, Dialect

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.schema import materialize
from gitmig.schema.state import Check, Column, Constraint, ForeignKey, SchemaState, Table, Unique

if TYPE_CHECKING:
    from gitmig.db.backends.base import Backend


@dataclass
class Context:
    """Where an operation runs, and the schema on either side of it."""

    operations: Operations
    backend: Backend
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


def run(op: ops.Operation, ctx: Context) -> None:
    """Run one operation, taking the database from ctx.before to ctx.after."""
    if isinstance(op, ops.StateOnly):  # e.g. a table moving between apps: no SQL at all
        ctx.note(op.describe())
        return
    sequences = bool(op.tables()) and bool(ctx.dialect.supports_sequences)
    ctx.backend.before_operation(op, ctx)
    if sequences:
        _create_sequences(op, ctx)
    _run(op, ctx)
    ctx.backend.after_operation(op, ctx)
    if sequences:
        _drop_sequences(op, ctx)


# -- sequences (PostgreSQL, MariaDB; SQLite has none) --------------------------------------


def _sequences(tables: Iterable[Table | None]) -> dict[tuple[str | None, str], sa.Sequence]:
    out: dict[tuple[str | None, str], sa.Sequence] = {}
    for t in tables:
        for col in t.columns if t is not None else ():
            for g in materialize.generated(col):
                if isinstance(g, sa.Sequence):
                    out[(g.schema, str(g.name))] = g
    return out


def _touched_tables(op: ops.Operation, s: SchemaState) -> list[Table | None]:
    return [s.get(k) for k in sorted(op.tables())]


def _create_sequences(op: ops.Operation, ctx: Context) -> None:
    """Create the sequences the operation brings into use, as create_all does."""
    before = _sequences(_touched_tables(op, ctx.before))
    existing = _sequences(ctx.before.tables.values())
    for k, seq in sorted(_sequences(_touched_tables(op, ctx.after)).items(), key=str):
        if k not in before and k not in existing and not (
            seq.optional and ctx.dialect.sequences_optional
        ):
            ctx.operations.execute(sa.schema.CreateSequence(seq))


def _drop_sequences(op: ops.Operation, ctx: Context) -> None:
    """Drop the sequences nothing uses any more, as drop_all does."""
    after = _sequences(_touched_tables(op, ctx.after))
    still = _sequences(ctx.after.tables.values())
    for k, seq in sorted(_sequences(_touched_tables(op, ctx.before)).items(), key=str):
        if k not in after and k not in still and not (
            seq.optional and ctx.dialect.sequences_optional
        ):
            ctx.operations.execute(sa.schema.DropSequence(seq))


@functools.singledispatch
def _run(op: ops.Operation, ctx: Context) -> None:
    raise GitmigError(f"gitmig cannot run {type(op).__name__} on a database yet")


# -- tables -----------------------------------------------------------------------------


@_run.register
def _create_table(op: ops.CreateTable, ctx: Context) -> None:
    t = ctx.after.table(op.key)
    items = no_type_events(materialize.table_items(t))
    ctx.operations.create_table(t.name, *items, schema=t.schema, comment=t.comment,
                                **materialize.dialect_kwargs(t.options))


@_run.register
def _drop_table(op: ops.DropTable, ctx: Context) -> None:
    ctx.operations.drop_table(op.name, schema=op.schema)


@_run.register
def _rename_table(op: ops.RenameTable, ctx: Context) -> None:
    ctx.operations.rename_table(op.old, op.new, schema=op.schema)


@_run.register
def _alter_table_comment(op: ops.AlterTableComment, ctx: Context) -> None:
    ctx.backend.alter_table_comment(op, ctx)


# -- columns ----------------------------------------------------------------------------


@_run.register
def _add_column(op: ops.AddColumn, ctx: Context) -> None:
    ctx.backend.add_column(op, ctx)


def backfill_default(op: ops.AddColumn, typ: sa.types.TypeEngine[Any],
                     dialect: Dialect) -> Any:
    """The one-off value existing rows get for a new NOT NULL column, as a DEFAULT."""
    col = op.column
    if not col.nullable and col.server_default is None and op.backfill is not ops.UNSET:
        return sa.text(literal_sql(op.backfill, typ, dialect))
    return None


@_run.register
def _drop_column(op: ops.DropColumn, ctx: Context) -> None:
    ctx.backend.drop_column(op, ctx)


@_run.register
def _alter_column(op: ops.AlterColumn, ctx: Context) -> None:
    old = ctx.before.table(op.key).column(op.column_name)
    new = ctx.after.table(op.key).column(op.column_name)
    if new.nullable is False and old.nullable and op.backfill is not ops.UNSET:
        typ = materialize.type_of(old.type)
        target = sa.table(op.table_name, sa.column(new.name), schema=op.schema)
        ctx.operations.execute(
            target.update()
            .where(target.c[new.name].is_(None))
            .values({new.name: sa.literal(op.backfill, typ)})
        )
    ctx.backend.alter_column(op, ctx)


@_run.register
def _rename_column(op: ops.RenameColumn, ctx: Context) -> None:
    table = ctx.before.table(op.key)
    ctx.operations.alter_column(
        op.table_name,
        op.old,
        new_column_name=op.new,
        schema=op.schema,
        **existing(ctx, table, table.column(op.old)),
    )


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


# -- indexes and constraints -------------------------------------------------------------


@_run.register
def _create_index(op: ops.CreateIndex, ctx: Context) -> None:
    table = ctx.after.table(op.key)
    ctx.operations.create_index(
        op.index.name,
        op.table_name,
        materialize.index_elements(op.index, (c.name for c in table.columns)),
        unique=op.index.unique,
        schema=op.schema,
        **materialize.index_kwargs(op.index),
    )


@_run.register
def _drop_index(op: ops.DropIndex, ctx: Context) -> None:
    ctx.backend.drop_index(op, ctx)


@_run.register
def _add_constraint(op: ops.AddConstraint, ctx: Context) -> None:
    ctx.backend.add_constraint(op, ctx)


@_run.register
def _drop_constraint(op: ops.DropConstraint, ctx: Context) -> None:
    ctx.backend.drop_constraint_op(op, ctx)


def create_foreign_key(ctx: Context, table: str, schema: str | None, fk: ForeignKey) -> None:
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


# -- SQLite table rebuilds ---------------------------------------------------------------


def rebuild(ctx: Context, key: str) -> None:
    """Recreate the table as the state after the operation says, keeping its rows.

    The new table is built from the state, not reflected, so it carries exactly the
    models' constraints (unnamed ones too) and defaults; every column the old table
    also has is copied across.
    """
    t = ctx.after.table(key)
    copy_from = materialize.table(t)
    with ctx.operations.batch_alter_table(
        t.name, schema=t.schema, copy_from=copy_from, recreate="always",
        table_kwargs=materialize.dialect_kwargs(t.options),
    ) as batch:
        for col in t.columns:
            if col.computed is not None:
                # Generated values are computed again by the new table, never copied.
                batch.drop_column(col.name)
                batch.add_column(materialize.column(col))


# -- raw SQL and Python ------------------------------------------------------------------

_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@_run.register
def _run_sql(op: ops.RunSQL, ctx: Context) -> None:
    for statement in op.sql:
        if not statement.strip():
            continue
        if ctx.as_sql and ctx.output is not None:
            text = statement.strip()
            ctx.output.write(text + ("" if text.endswith(";") else ";") + "\n\n")
        else:
            # The SQL is the user's, colons included: nothing in it is a bind parameter.
            ctx.operations.execute(sa.text(_BIND.sub(r"\\:\1", statement)))


@_run.register
def _run_python(op: ops.RunPython, ctx: Context) -> None:
    if ctx.as_sql or ctx.connection is None:
        ctx.note(f"{op.describe()} (Python code, runs only under `gitmig migrate`)")
        return
    try:
        op.code(ctx.connection)
    except SystemExit as exc:  # not gitmig's exit: the migration failed
        raise GitmigError(f"its function called sys.exit({exc.code!r}); a migration's code "
                          "must raise an exception to fail, never exit") from None


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


# Key, rename, enum and table-option operations register themselves here.
from gitmig.db import ddl_enums, ddl_keys, ddl_tables  # noqa: E402, F401
