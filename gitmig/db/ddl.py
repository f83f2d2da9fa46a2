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

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from gitmig import ops
from gitmig.db.ddlhelpers import (  # re-exported: ddl.Context, ddl.existing... keep working
    Context,
    _run,
    backfill_default,
    brought_in,
    constraint_name,
    create_foreign_key,
    existing,
    left_unused,
    literal_sql,
    no_type_events,
    normalize_check,
    rebuild,
)
from gitmig.errors import GitmigError
from gitmig.schema import materialize
from gitmig.schema.state import SchemaState, Table


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


def _create_sequences(op: ops.Operation, ctx: Context) -> None:
    """Create the sequences the operation brings into use, as create_all does."""
    for seq in brought_in(op, ctx, _sequences):
        if not (seq.optional and ctx.dialect.sequences_optional):
            ctx.operations.execute(sa.schema.CreateSequence(seq))


def _drop_sequences(op: ops.Operation, ctx: Context) -> None:
    """Drop the sequences nothing uses any more, as drop_all does."""
    for seq in left_unused(op, ctx, _sequences):
        if not (seq.optional and ctx.dialect.sequences_optional):
            ctx.operations.execute(sa.schema.DropSequence(seq))


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


# -- indexes and constraints -------------------------------------------------------------


@_run.register
def _create_index(op: ops.CreateIndex, ctx: Context) -> None:
    ctx.backend.create_index(op, ctx)


@_run.register
def _validate_constraint(op: ops.ValidateConstraint, ctx: Context) -> None:
    ctx.backend.validate_constraint(op, ctx)


@_run.register
def _drop_index(op: ops.DropIndex, ctx: Context) -> None:
    ctx.backend.drop_index(op, ctx)


@_run.register
def _add_constraint(op: ops.AddConstraint, ctx: Context) -> None:
    ctx.backend.add_constraint(op, ctx)


@_run.register
def _drop_constraint(op: ops.DropConstraint, ctx: Context) -> None:
    ctx.backend.drop_constraint_op(op, ctx)


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
        if takes_schema(op.code):
            op.code(ctx.connection, historical_schema(ctx.before))
        else:
            op.code(ctx.connection)
    except SystemExit as exc:  # not gitmig's exit: the migration failed
        raise GitmigError(f"its function called sys.exit({exc.code!r}); a migration's code "
                          "must raise an exception to fail, never exit") from None


def takes_schema(func: Any) -> bool:
    """Whether a RunPython function has room for the historical schema (a second
    positional parameter or *args); functions written with one argument keep working."""
    import inspect

    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def historical_schema(state: SchemaState) -> sa.MetaData:
    """The schema as of this point of the history, as SQLAlchemy tables
    (`schema.tables["post"]`), so that data migrations never import today's models,
    which keep changing after the migration is written."""
    return materialize.metadata(state)


# Key and rename operations register themselves here (moving into the backends).
from gitmig.db import ddl_enums, ddl_keys, ddl_tables  # noqa: E402, F401, I001

__all__ = [
    "Context",
    "backfill_default",
    "constraint_name",
    "create_foreign_key",
    "existing",
    "literal_sql",
    "no_type_events",
    "normalize_check",
    "rebuild",
    "run",
]
