"""How a table's options change and how it moves between schemas (registered into
gitmig.db.ddl); each database's way is its backend's alter_table_options and
set_table_schema.
"""

from __future__ import annotations

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.ddlhelpers import Context


@ddl._run.register
def _alter_table_options(op: ops.AlterTableOptions, ctx: Context) -> None:
    before = dict(ctx.before.table(op.key).options)
    after = dict(op.options)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    ctx.backend.alter_table_options(op, ctx, changed)


@ddl._run.register
def _set_table_schema(op: ops.SetTableSchema, ctx: Context) -> None:
    ctx.backend.set_table_schema(op, ctx)
