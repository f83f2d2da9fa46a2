"""SQLite: changes ALTER TABLE cannot make, done by copying the table into a new one."""

from __future__ import annotations

from collections.abc import Iterator

from gitmig import ops
from gitmig.lint.model import Context, Hit, rule

REBUILT = (ops.AlterColumn, ops.AddConstraint, ops.DropConstraint, ops.CreatePrimaryKey,
           ops.DropPrimaryKey, ops.RenameConstraint)


@rule("sqlite-rebuild", "notice", "SQLite table rebuilds", "the table is rebuilt",
      databases=("sqlite",))
def rebuild(ctx: Context) -> Iterator[Hit]:
    """SQLite copies the table into a new one for these changes: fine for a small table,
    slow for a large one, and it holds the database's write lock meanwhile."""
    op = ctx.op
    if isinstance(op, REBUILT) and ctx.existing(op.key):
        yield Hit(f"{op.describe()}: SQLite copies {op.key} into a new table",
                  "nothing to change for small tables; for a large one, run it when the "
                  "database can wait")
