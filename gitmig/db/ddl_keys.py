"""How primary keys change and constraints and indexes are renamed (registered into
gitmig.db.ddl).

The steps every database shares are here; what one does its own way is its backend's
(gitmig.db.backends): MySQL's PRIMARY and AUTO_INCREMENT, PostgreSQL's sequences and
in-place renames, SQLite's rebuilds.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.ddlhelpers import Context
from gitmig.schema import materialize
from gitmig.schema.state import Check, Constraint, ForeignKey, Table, Unique


def auto_column(table: Table) -> str | None:
    """The column the database numbers by itself (SERIAL, AUTO_INCREMENT), if any."""
    auto = materialize.table(table, indexes=False, constraints=False).autoincrement_column
    return str(auto.name) if auto is not None else None


# -- primary keys ------------------------------------------------------------------------


def number_existing_column(ctx: Context, before: Table, after: Table) -> None:
    """An integer column that becomes the numbered key gets what create_all gives it."""
    auto = auto_column(after)
    if auto is None or auto == auto_column(before):
        return
    if after.column(auto).server_default is not None:
        return
    ctx.backend.number_key_column(ctx, after, auto)


@ddl._run.register
def _create_primary_key(op: ops.CreatePrimaryKey, ctx: Context) -> None:
    ctx.backend.create_primary_key(op, ctx)


@ddl._run.register
def _drop_primary_key(op: ops.DropPrimaryKey, ctx: Context) -> None:
    ctx.backend.drop_primary_key_op(op, ctx)


def add_key_column(
    op: ops.AddColumn, ctx: Context, typ: sa.types.TypeEngine[Any], backfill: Any
) -> None:
    """A new column of the primary key: the key is rebuilt around it, rows numbered.

    PostgreSQL and MySQL fill existing rows of a numbered key column themselves (SERIAL,
    AUTO_INCREMENT); any other key column takes the one-off value, like any NOT NULL one.
    """
    after = ctx.after.table(op.key)
    col = op.column
    auto = auto_column(after) == col.name
    default = materialize.server_default(col.server_default)
    new = sa.Column(
        col.name, typ, primary_key=auto, nullable=False, autoincrement=col.autoincrement,
        server_default=default if backfill is None else backfill, comment=col.comment,
    )
    ddl.no_type_events([new])
    ctx.backend.add_column_to_key(op, ctx, new)
    if backfill is not None:
        ctx.operations.alter_column(
            op.table_name, col.name, server_default=None, schema=op.schema,
            **ddl.existing(ctx, after, col, server_default=backfill),
        )


def drop_key_column(op: ops.DropColumn, ctx: Context) -> None:
    """A column leaves a key of several: the rest stay the key, as the state says.

    PostgreSQL would drop the whole key with the column, MySQL refuse to; so the key
    goes first and comes back over the remaining columns.
    """
    before, after = ctx.before.table(op.key), ctx.after.table(op.key)
    ctx.backend.drop_primary_key(ctx, before)
    ctx.operations.drop_column(op.table_name, op.column_name, schema=op.schema)
    if after.primary_key:
        ctx.operations.create_primary_key(after.pk_name, op.table_name,
                                          list(after.primary_key), schema=op.schema)
        ctx.backend.key_recreated(ctx, before, after)


# -- renames -----------------------------------------------------------------------------


@ddl._run.register
def _rename_constraint(op: ops.RenameConstraint, ctx: Context) -> None:
    ctx.backend.rename_constraint(op, ctx)


def renamed(op: ops.RenameConstraint, c: Constraint, after: Table) -> Constraint:
    """The constraint c as it is after the rename."""
    found = after.find_constraint(("name", op.new) if op.new else _unnamed_identity(c))
    assert found is not None
    return found


def _unnamed_identity(c: Constraint) -> tuple[str, ...]:
    if isinstance(c, Check):
        return ("check", c.sqltext)
    return ({ForeignKey: "foreignkey", Unique: "unique"}[type(c)], *c.columns)


def add_constraint(ctx: Context, table: Table, c: Constraint) -> None:
    if isinstance(c, ForeignKey):
        ddl.create_foreign_key(ctx, table.name, table.schema, c)
    elif isinstance(c, Check):
        ctx.operations.create_check_constraint(c.name, table.name, sa.text(c.sqltext),
                                               schema=table.schema)
    else:
        ctx.operations.create_unique_constraint(c.name, table.name, list(c.columns),
                                                schema=table.schema)


@ddl._run.register
def _rename_index(op: ops.RenameIndex, ctx: Context) -> None:
    ctx.backend.rename_index(op, ctx)


__all__ = ["add_constraint", "add_key_column", "auto_column", "drop_key_column",
           "number_existing_column", "renamed"]
