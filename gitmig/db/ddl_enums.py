"""How an enum type changes its values, on each database (registered into gitmig.db.ddl).

PostgreSQL: values only added (the old ones keep their order) become ALTER TYPE ... ADD
VALUE, which rewrites nothing. Any other change renames the old type away, creates the
new one and casts every column that uses it through text, rows kept; a row holding a
removed value stops the migration (PostgreSQL names the value) and it is rolled back.
PostgreSQL 12 and later run ADD VALUE inside a transaction, but a value added there can
only be used once that transaction commits.

MySQL and SQLite have no enum types: each column using it changes as a column does.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CreateEnumType

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.ddlhelpers import Context
from gitmig.ops.enums import enum_values, users
from gitmig.schema import materialize
from gitmig.schema.state import Table


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _additions(old: tuple[str, ...], new: tuple[str, ...]) -> list[tuple[str, str, str]] | None:
    """(value, BEFORE|AFTER, neighbour) for each new value, or None if not only additions."""
    if not old or [v for v in new if v in old] != list(old):
        return None
    first = next(i for i, v in enumerate(new) if v in old)
    # Values ahead of the first old one go in from the back, each before its successor.
    lead = [(new[i], "BEFORE", new[i + 1]) for i in reversed(range(first))]
    rest = [(v, "AFTER", new[i - 1]) for i, v in enumerate(new) if i > first and v not in old]
    return lead + rest


@ddl._run.register
def _alter_enum(op: ops.AlterEnum, ctx: Context) -> None:
    old = enum_values(ctx.before, op.name, op.schema) or ()
    if old == op.values:
        ctx.note(f"{op.describe()}: it has them already")
        return
    if ctx.family != "postgresql":
        _alter_columns(op, ctx, old)
        return
    type_name = (
        f"{ctx.quote(op.schema)}.{ctx.quote(op.name)}" if op.schema else ctx.quote(op.name)
    )
    for was, now in op.renames.items():
        ctx.operations.execute(
            f"ALTER TYPE {type_name} RENAME VALUE {_literal(was)} TO {_literal(now)}"
        )
    old = tuple(op.renames.get(v, v) for v in old)
    if old == op.values:
        return
    added = _additions(old, op.values) if op.in_place else None
    if added is not None:
        for value, where, neighbour in added:
            ctx.operations.execute(
                f"ALTER TYPE {type_name} ADD VALUE {_literal(value)} {where} "
                f"{_literal(neighbour)}"
            )
        return
    _replace_type(op, ctx, type_name)


def _alter_columns(op: ops.AlterEnum, ctx: Context, old: tuple[str, ...]) -> None:
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


def _replace_type(op: ops.AlterEnum, ctx: Context, type_name: str) -> None:
    """A new type under the old name; every column cast to it through text."""
    retired = f"{op.name}__gitmig_old"[:63]
    ctx.operations.execute(f"ALTER TYPE {type_name} RENAME TO {ctx.quote(retired)}")
    columns = users(ctx.after, op.name, op.schema)
    new_type = next(
        e for t, _ in columns[:1] for _, e in materialize.enum_types(t)
        if materialize.enum_key(e) == (op.schema, op.name)
    )
    ctx.operations.execute(CreateEnumType(new_type))
    for table, column in columns:
        before = ctx.before.table(table.key).column(column)
        after = ctx.after.table(table.key).column(column)
        target = materialize.type_of(after.type)
        qtable = (f"{ctx.quote(table.schema)}.{ctx.quote(table.name)}" if table.schema
                  else ctx.quote(table.name))
        qcol = ctx.quote(column)
        if before.server_default is not None:
            ctx.operations.execute(f"ALTER TABLE {qtable} ALTER COLUMN {qcol} DROP DEFAULT")
        compiled = target.compile(dialect=ctx.dialect)
        through = "text[]" if isinstance(target, sa.ARRAY) else "text"
        ctx.operations.execute(
            f"ALTER TABLE {qtable} ALTER COLUMN {qcol} TYPE {compiled} "
            f"USING {qcol}::{through}::{compiled}"
        )
        if after.server_default is not None:
            ctx.operations.alter_column(
                table.name, column, schema=table.schema,
                server_default=materialize.server_default(after.server_default),
                **ddl.existing(ctx, table, after, server_default=None),
            )
    qretired = f"{ctx.quote(op.schema)}.{ctx.quote(retired)}" if op.schema else ctx.quote(retired)
    ctx.operations.execute(f"DROP TYPE {qretired}")
