"""Rules for every database: data loss, breaking the code still running during a deploy,
names too long for the database, and migrations that cannot be undone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gitmig import ops
from gitmig.lint import typechange
from gitmig.lint.model import Context, Hit, rule
from gitmig.ops.enums import enum_values
from gitmig.schema.state import Table, table_key

LOSS = "data loss"
RUNNING = "breaks the running code"
PORTABLE = "fits the database"


@rule("drop-table", "error", LOSS, "a table is dropped with its rows")
def drop_table(ctx: Context) -> Iterator[Hit]:
    """Every row of the table is gone; unapplying brings the table back empty."""
    op = ctx.op
    if isinstance(op, ops.DropTable) and ctx.existing(op.key):
        yield Hit(f"drops table {op.key} and every row in it",
                  "keep a backup (or copy the rows elsewhere) first, and drop the table in a "
                  "release after the code stopped using it")


@rule("drop-column", "error", LOSS, "a column is dropped with its values")
def drop_column(ctx: Context) -> Iterator[Hit]:
    """The column's values are gone; unapplying brings the column back empty."""
    op = ctx.op
    if isinstance(op, ops.DropColumn) and ctx.existing_column(op.key, op.column_name):
        yield Hit(f"drops column {op.key}.{op.column_name} and its values",
                  "copy the values elsewhere first if they matter, and drop the column in a "
                  "release after the code stopped reading it")


@rule("narrow-type", "error", LOSS, "a column's type narrows or converts its values")
def narrow_type(ctx: Context) -> Iterator[Hit]:
    """Values that no longer fit the new type make the migration fail halfway on a big
    table, or are silently truncated (MySQL without strict mode)."""
    op = ctx.op
    if not (isinstance(op, ops.AlterColumn) and op.type_ is not ops.UNSET
            and ctx.existing_column(op.key, op.column_name)):
        return
    old = ctx.before.table(op.key).column(op.column_name).type
    why = typechange.change(old, op.type_, ctx.backend.name).narrows()
    if why:
        yield Hit(f"changes {op.key}.{op.column_name} from {old} to {op.type_}: {why}",
                  "check the longest or largest stored value first (or widen instead); when "
                  "the type must change, add a new column, backfill it, then switch over")


@rule("remove-enum-value", "error", LOSS, "an enum loses a value that rows may hold")
def remove_enum_value(ctx: Context) -> Iterator[Hit]:
    """Rows holding a removed value make the change fail (or lose the value)."""
    op = ctx.op
    if not isinstance(op, ops.AlterEnum):
        return
    old = enum_values(ctx.before, op.name, op.schema) or ()
    gone = [v for v in old if v not in op.values and v not in op.renames]
    if gone:
        yield Hit(f"removes {', '.join(gone)} from enum type {op.label}; rows holding "
                  f"{'it' if len(gone) == 1 else 'them'} make the change fail",
                  "move the rows to another value first (RunSQL UPDATE), or rename the value "
                  "with AlterEnum(..., renames={old: new})")


# -- the code still running during a deploy (the models at the base revision) ------------


def _running_table(ctx: Context, key: str) -> Table | None:
    state = ctx.running_state()
    return state.get(key) if state is not None else None


def _model(ctx: Context, key: str) -> str:
    assert ctx.running is not None
    name = ctx.running.model_of(key)
    where = f"the models at {ctx.running.label}"
    return f"model {name} ({where})" if name else f"{where} (table {key})"


@rule("table-still-mapped", "error", RUNNING,
      "a table the running code maps is dropped or renamed")
def table_still_mapped(ctx: Context) -> Iterator[Hit]:
    """During a deploy the old code keeps running until the new code replaces it; every
    request it serves that touches the table fails once the migration ran."""
    op = ctx.op
    if isinstance(op, ops.DropTable):
        key, what = op.key, "drops"
    elif isinstance(op, ops.RenameTable):
        key, what = table_key(op.old, op.schema), "renames"
    else:
        return
    if _running_table(ctx, key) is not None:
        yield Hit(f"{what} table {key}, which {_model(ctx, key)} still maps",
                  "release the code that no longer uses the table first, then drop it in a "
                  "later migration (for a rename: create the new table, copy, switch, drop)")


@rule("column-still-mapped", "error", RUNNING,
      "a column the running code maps is dropped or renamed")
def column_still_mapped(ctx: Context) -> Iterator[Hit]:
    """The old code selects every mapped column: once it is gone, its queries fail."""
    op = ctx.op
    if isinstance(op, ops.DropColumn):
        column, what = op.column_name, "drops"
    elif isinstance(op, ops.RenameColumn):
        column, what = op.old, "renames"
    else:
        return
    table = _running_table(ctx, op.key)
    if table is not None and table.has_column(column):
        yield Hit(f"{what} column {op.key}.{column}, which {_model(ctx, op.key)} still maps",
                  "first release code that stops using the column (SQLAlchemy: remove it "
                  "from the model, or mark it deferred), then drop it in a later migration; "
                  "for a rename, add the new column, write both, backfill, then drop the old")


@rule("not-null-no-default", "error", RUNNING,
      "a NOT NULL column is added without a server default")
def not_null_no_default(ctx: Context) -> Iterator[Hit]:
    """The running code inserts rows without the new column: with no server default each
    INSERT fails on the NOT NULL constraint until the new code is out."""
    op = ctx.op
    if not (isinstance(op, ops.AddColumn) and ctx.existing(op.key)):
        return
    col = op.column
    if col.nullable or col.server_default is not None or col.computed or col.identity:
        return
    if ctx.running is not None and _running_table(ctx, op.key) is None:
        return  # the running code does not write this table
    yield Hit(f"adds NOT NULL column {op.key}.{col.name} without a server default: the "
              "running code's INSERTs fail",
              "add it with a server_default (kept or dropped later), or add it nullable, "
              "backfill, and make it NOT NULL in a later release (makemigrations --safe)")


@rule("set-not-null", "warning", RUNNING, "a column becomes NOT NULL")
def set_not_null(ctx: Context) -> Iterator[Hit]:
    """The running code may still write NULL into the column (the model allows it), and
    those writes fail after the migration; rows already NULL make it fail."""
    op = ctx.op
    if not (isinstance(op, ops.AlterColumn) and op.nullable is False
            and ctx.existing_column(op.key, op.column_name)):
        return
    if not ctx.before.table(op.key).column(op.column_name).nullable:
        return
    table = _running_table(ctx, op.key)
    if ctx.running is not None and (table is None or not table.has_column(op.column_name)
                                    or not table.column(op.column_name).nullable):
        return
    whose = f"; {_model(ctx, op.key)} still allows NULL" if ctx.running is not None else ""
    yield Hit(f"makes {op.key}.{op.column_name} NOT NULL{whose}",
              "release code that always writes a value first, backfill the NULL rows, then "
              "set NOT NULL in a later migration")


# -- names and reversibility --------------------------------------------------------------


def _names(table: Table | None) -> set[str]:
    if table is None:
        return set()
    names = {table.name, *(c.name for c in table.columns), *(ix.name for ix in table.indexes)}
    names |= {c.name for c in table.constraints if c.name}
    if table.pk_name:
        names.add(table.pk_name)
    return names


@rule("identifier-too-long", "error", PORTABLE, "a name is longer than the database allows")
def identifier_too_long(ctx: Context) -> Iterator[Hit]:
    """PostgreSQL silently cuts names at 63 bytes (two long names may then clash, and
    the models no longer match); MySQL and MariaDB refuse names over 64."""
    limit = ctx.backend.identifier_limit
    if limit is None:
        return
    for key, table in ctx.after.tables.items():
        before = ctx.before.get(key)
        if table == before:
            continue
        for name in sorted(_names(table) - _names(before)):
            if len(name.encode()) > limit:
                yield Hit(f"name {name!r} is {len(name.encode())} bytes; "
                          f"{ctx.backend.label} takes at most {limit}",
                          f"give it a name of at most {limit} bytes (name= or the naming "
                          "convention of the models)")


@rule("irreversible", "warning", "can be undone", "a migration cannot be unapplied")
def irreversible(ctx: Context) -> Iterable[Hit]:
    """Without a reverse, `gitmig migrate APP PREVIOUS` refuses, so a bad release cannot
    be rolled back by unapplying."""
    op = ctx.op
    if isinstance(op, ops.RunSQL) and op.reverse_sql is None:
        return [Hit("RunSQL has no reverse_sql: the migration cannot be unapplied",
                    "give reverse_sql (an empty list when nothing needs undoing)")]
    if isinstance(op, ops.RunPython) and op.reverse_code is None:
        return [Hit("RunPython has no reverse code: the migration cannot be unapplied",
                    "give a reverse function (ops.RunPython.noop when nothing needs undoing)")]
    return []
