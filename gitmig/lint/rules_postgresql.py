"""PostgreSQL: what takes a lock that stops writes (or reads) for as long as the table is
scanned or rewritten. Each was shown on a real server (tests/test_lint_postgresql.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gitmig import ops
from gitmig.lint import typechange
from gitmig.lint.model import Context, Hit, rule
from gitmig.ops.base import _TableOperation
from gitmig.schema.state import Check, ForeignKey, Unique

PG = ("postgresql",)
LOCKS = "PostgreSQL locks and rewrites"


@rule("pg-index-not-concurrent", "error", LOCKS,
      "an index is built or dropped without CONCURRENTLY", databases=PG)
def index_not_concurrent(ctx: Context) -> Iterator[Hit]:
    """CREATE INDEX holds a SHARE lock for the whole build: every INSERT, UPDATE and
    DELETE on the table waits until it finishes. DROP INDEX takes ACCESS EXCLUSIVE."""
    op = ctx.op
    if isinstance(op, (ops.CreateIndex, ops.DropIndex)) and not op.concurrently and (
            ctx.existing(op.key)):
        what = "builds" if isinstance(op, ops.CreateIndex) else "drops"
        name = op.index.name if isinstance(op, ops.CreateIndex) else op.name
        yield Hit(f"{what} index {name} on {op.key} while blocking every write to it",
                  f"{type(op).__name__}(..., concurrently=True): PostgreSQL then does it "
                  "outside the migration's transaction without blocking writes")


@rule("pg-constraint-not-valid", "error", LOCKS,
      "a foreign key or check is added without NOT VALID", databases=PG)
def constraint_not_valid(ctx: Context) -> Iterator[Hit]:
    """Adding the constraint checks every row under a lock that blocks writes (for a
    foreign key, on the referenced table too)."""
    op = ctx.op
    if (isinstance(op, ops.AddConstraint) and op.validate and ctx.existing(op.key)
            and isinstance(op.constraint, (ForeignKey, Check))):
        kind = "foreign key" if isinstance(op.constraint, ForeignKey) else "check"
        yield Hit(f"adds a {kind} to {op.key} and checks every row while blocking writes",
                  "AddConstraint(..., validate=False), then ops.ValidateConstraint(TABLE, "
                  "NAME) (in a later migration), which checks rows without blocking writes")


@rule("pg-unique-constraint", "error", LOCKS,
      "a unique constraint is added directly", databases=PG)
def unique_constraint(ctx: Context) -> Iterator[Hit]:
    """ADD CONSTRAINT UNIQUE builds its index under a lock that blocks every write."""
    op = ctx.op
    if (isinstance(op, ops.AddConstraint) and isinstance(op.constraint, Unique)
            and ctx.existing(op.key)):
        yield Hit(f"adds a unique constraint to {op.key}, building its index while "
                  "blocking writes",
                  "ops.CreateIndex(NAME, TABLE, COLUMNS, unique=True, concurrently=True)")


def _not_null_check(ctx: Context, key: str, column: str) -> bool:
    table = ctx.before.table(key)
    pattern = re.compile(rf"^\(?\s*\"?{re.escape(column)}\"?\s+IS\s+NOT\s+NULL\s*\)?$", re.I)
    return any(pattern.match(c.sqltext.strip()) and (key, c.name) not in ctx.unvalidated
               for c in table.checks)


@rule("pg-set-not-null", "warning", LOCKS,
      "SET NOT NULL without a validated check", databases=PG)
def set_not_null(ctx: Context) -> Iterator[Hit]:
    """SET NOT NULL scans the whole table under ACCESS EXCLUSIVE (no reads, no writes),
    unless a validated CHECK (column IS NOT NULL) already proves it (PostgreSQL 12+)."""
    op = ctx.op
    if not (isinstance(op, ops.AlterColumn) and op.nullable is False and ctx.existing(op.key)):
        return
    if not ctx.before.table(op.key).column(op.column_name).nullable:
        return
    if _not_null_check(ctx, op.key, op.column_name):
        return
    yield Hit(f"SET NOT NULL on {op.key}.{op.column_name} scans the table while blocking "
              "reads and writes",
              f"first AddConstraint(CHECK ({op.column_name} IS NOT NULL), validate=False) and "
              "ValidateConstraint, then set NOT NULL (PostgreSQL uses the check, no scan)")


@rule("pg-type-rewrite", "error", LOCKS, "a type change rewrites the table", databases=PG)
def type_rewrite(ctx: Context) -> Iterator[Hit]:
    """Most type changes rewrite every row and index under ACCESS EXCLUSIVE. Widening a
    VARCHAR, VARCHAR to TEXT, and more NUMERIC precision at the same scale do not."""
    op = ctx.op
    if not (isinstance(op, ops.AlterColumn) and op.type_ is not ops.UNSET
            and ctx.existing(op.key)):
        return
    old = ctx.before.table(op.key).column(op.column_name).type
    change = typechange.change(old, op.type_, "postgresql")
    if old == op.type_ or change.widens_string() or change.widens_numeric():
        return
    yield Hit(f"changing {op.key}.{op.column_name} from {old} to {op.type_} rewrites the "
              "table while blocking reads and writes",
              "add a column of the new type, backfill it in batches, then switch to it")


def _locks(ctx: Context, index: int) -> str | None:
    """The table a statement takes a blocking lock on, when that table has rows."""
    op = ctx.migration.operations[index]
    if isinstance(op, (ops.CreateIndex, ops.DropIndex)) and op.concurrently:
        return None
    if isinstance(op, (ops.ValidateConstraint, ops.StateOnly, ops.RunSQL, ops.RunPython)):
        return None
    key = op.key if isinstance(op, (_TableOperation, ops.DropTable)) else (
        ops.table_key(op.old, op.schema) if isinstance(op, ops.RenameTable) else None)
    return key if key is not None and key not in ctx.new_tables else None


@rule("pg-no-lock-timeout", "warning", LOCKS,
      "DDL on a busy table without lock_timeout", databases=PG, whole_migration=True)
def no_lock_timeout(ctx: Context) -> Iterator[Hit]:
    """ALTER TABLE waits for its lock behind any long query, and every query that comes
    after waits behind it: a short DDL stalls the site. lock_timeout makes it give up
    (and retry) instead."""
    if ctx.migration.lock_timeout is not None:
        return
    before = ctx.before
    tables = []
    for i in range(len(ctx.migration.operations)):
        key = _locks(ctx, i)
        if key is not None and key in before.tables and key not in tables:
            tables.append(key)
    if tables:
        yield Hit(f"takes locks on {', '.join(tables)} with no lock_timeout: waiting for "
                  "a lock, it blocks every query behind it",
                  "set lock_timeout (and lock_retries) in [tool.gitmig], or "
                  "`lock_timeout = 2` in the migration file")


@rule("pg-ddl-with-backfill", "warning", LOCKS,
      "DDL and a data backfill in one transaction", databases=PG, whole_migration=True)
def ddl_with_backfill(ctx: Context) -> Iterator[Hit]:
    """The locks the DDL took are held until the whole transaction commits, so a backfill
    after it (RunSQL, RunPython, an AlterColumn backfill's UPDATE) keeps the table locked
    while it runs over every row. (An AddColumn backfill is a default: no rows are
    written.)"""
    if not ctx.migration.atomic:
        return
    operations = ctx.migration.operations
    ddl = [i for i in range(len(operations)) if _locks(ctx, i) in ctx.before.tables]
    data = [i for i, op in enumerate(operations)
            if isinstance(op, (ops.RunSQL, ops.RunPython))
            or (isinstance(op, ops.AlterColumn) and op.backfill is not ops.UNSET
                and ctx.existing(op.key))]
    if any(d < b for d in ddl for b in data):
        yield Hit("runs DDL and a data backfill in one transaction: the DDL's locks are held "
                  "until the backfill ends",
                  "move the backfill to a migration of its own (makemigrations --empty), or "
                  "make this one non-atomic with `atomic = False`")
