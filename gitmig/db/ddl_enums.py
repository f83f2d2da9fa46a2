"""How an enum type changes its values (registered into gitmig.db.ddl).

MySQL and SQLite have no enum types: each column using one changes as a column does,
here. PostgreSQL changes the type itself (its backend's alter_enum).
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.ddlhelpers import Context
from gitmig.ops.enums import enum_values, users
from gitmig.schema.state import Table


@ddl._run.register
def _alter_enum(op: ops.AlterEnum, ctx: Context) -> None:
    old = enum_values(ctx.before, op.name, op.schema) or ()
    if old == op.values:
        ctx.note(f"{op.describe()}: it has them already")
        return
    ctx.backend.alter_enum(op, ctx, old)


def alter_columns(op: ops.AlterEnum, ctx: Context, old: tuple[str, ...]) -> None:
    """Without enum types each column changes; renamed values are rewritten in the rows,
    through a type that holds both the old and the new values."""
    columns = users(ctx.before, op.name, op.schema)
    before = ctx.before
    if op.renames:
        both = (*old, *(v for v in op.values if v not in old))
        before = ops.AlterEnum(op.name, both, schema=op.schema).state_forwards(ctx.before, "")
        _change(columns, replace(ctx, after=before))
        for table, column in columns:
            target = sa.table(table.name, sa.column(column), schema=table.schema)
            for was, now in op.renames.items():
                ctx.operations.execute(
                    target.update().where(target.c[column] == was).values({column: now})
                )
    _change(columns, replace(ctx, before=before))


def _change(columns: list[tuple[Table, str]], ctx: Context) -> None:
    for table, column in columns:
        new_type = ctx.after.table(table.key).column(column).type
        if ctx.before.table(table.key).column(column).type != new_type:
            ddl._run(
                ops.AlterColumn(table.name, column, schema=table.schema, type_=new_type), ctx
            )
