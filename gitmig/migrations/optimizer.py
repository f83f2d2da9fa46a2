"""Fewer operations with the same result: what `gitmig squash` writes.

A created table and what later changes it become one CreateTable; a column added and
then dropped is nothing; renames in a row are one rename; a column altered twice is
altered once. The result must always be equal or shorter, and replayed from the same
state it must give the same state: every fold is checked by replaying the stretch of
operations it touches, and a fold that would give another state is not made.

Two operations fold only when every operation between them concerns other tables (and
none of those refers to theirs or is referred to by them), so moving one next to the
other changes nothing; RunSQL, RunPython and any operation not known here are walls that
nothing moves across, so code runs on the schema it was written for. A destructive
operation (a drop) is never cancelled by a later one that recreates what it dropped:
the originals emptied that column or table, and so must the squash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.ops import Operation
from gitmig.schema.state import SchemaState

_FOLDABLE = (
    ops.CreateTable, ops.DropTable, ops.RenameTable, ops.AddColumn, ops.DropColumn,
    ops.AlterColumn, ops.RenameColumn, ops.CreateIndex, ops.DropIndex, ops.AddConstraint,
    ops.DropConstraint, ops.AlterTableComment, ops.RenameIndex, ops.RenameConstraint,
    ops.CreatePrimaryKey, ops.DropPrimaryKey, ops.AlterTableOptions,
)

_ALTER_KW = {"type": "type_"}


def optimize(operations: Sequence[Operation], state: SchemaState, app: str) -> list[Operation]:
    """`operations` (run from `state` in `app`) folded until no fold applies.

    One walk: each operation looks back for one to fold with; after a fold the walk goes
    on from the folded operation, and only the states of the stretch it replaced are
    computed again (the state after that stretch is the same, as the fold was checked).
    """
    current = list(operations)
    states = _states(current, state, app)
    deps = [_deps(op, states[k], states[k + 1]) for k, op in enumerate(current)]
    j = 1
    while j < len(current):
        found = _fold_back(current, states, deps, j, app)
        if found is None:
            j += 1
            continue
        i, segment, seg_states = found
        merged = len(segment) - (j - i - 1)  # 0 or 1, then the operations between, as they were
        middle = deps[i + 1:j]  # untouched by the fold: their tables are others
        current[i:j + 1] = segment
        states[i:j + 1] = seg_states[:len(segment)]
        deps[i:j + 1] = [_deps(op, seg_states[k], seg_states[k + 1])
                         for k, op in enumerate(segment[:merged])] + middle
        j = max(i, 1)
    return current


def replay(operations: Sequence[Operation], state: SchemaState, app: str) -> SchemaState:
    for op in operations:
        state = op.state_forwards(state, app)
    return state


def _states(operations: Sequence[Operation], state: SchemaState, app: str) -> list[SchemaState]:
    states = [state]
    for op in operations:
        states.append(op.state_forwards(states[-1], app))
    return states


def _fold_back(
    operations: list[Operation], states: list[SchemaState], deps: list[set[str]], j: int,
    app: str,
) -> tuple[int, list[Operation], list[SchemaState]] | None:
    """An earlier operation that operations[j] folds with: (its index, the operations that
    replace the stretch from it to j, their states from the one before the stretch)."""
    b = operations[j]
    if not isinstance(b, _FOLDABLE):
        return None
    between: set[str] = set()  # tables of the operations between a and b
    for i in range(j - 1, -1, -1):
        a = operations[i]
        if not isinstance(a, _FOLDABLE) or deps[j] & between:
            return None
        if deps[i] & deps[j]:
            merged = None if deps[i] & between else _fold(a, b, states[i], app)
            if merged is None:
                return None  # b cannot move past a: nothing earlier can meet it
            segment = [*merged, *operations[i + 1:j]]
            try:
                seg_states = _states(segment, states[i], app)
            except GitmigError:
                return None
            if seg_states[-1] != states[j + 1]:
                return None
            return i, segment, seg_states
        between |= deps[i]
    return None


def _deps(op: Operation, before: SchemaState, after: SchemaState) -> set[str]:
    """The tables an operation touches, those it refers to and those referring to them."""
    touched = set(op.tables())
    touched |= {k for k in set(before.tables) | set(after.tables)
                if before.get(k) != after.get(k)}
    out = set(touched)
    for s in (before, after):
        for key, table in s.tables.items():
            refs = {fk.ref_table for fk in table.foreign_keys}
            if key in touched:
                out |= refs
            if refs & touched:
                out.add(key)
    return out


def _fold(a: Operation, b: Operation, before: SchemaState, app: str) -> list[Operation] | None:
    """What `a` then `b` (run from `before`) become, or None. Checked by the caller."""
    try:
        both = b.state_forwards(a.state_forwards(before, app), app)
    except GitmigError:
        return None
    if both == before and not a.destructive:
        return []
    if isinstance(a, ops.CreateTable):
        return _into_create(a, b, both)
    if isinstance(a, ops.AddColumn) and isinstance(b, (ops.AlterColumn, ops.RenameColumn)):
        return _into_add(a, b, before, both)
    if isinstance(a, ops.AlterColumn) and isinstance(b, ops.AlterColumn):
        if (a.key, a.column_name) == (b.key, b.column_name):
            return [_merge_alters(a, b)]
    if isinstance(a, ops.RenameColumn) and isinstance(b, ops.RenameColumn):
        if a.key == b.key and a.new == b.old:
            return [ops.RenameColumn(a.table_name, a.old, b.new, schema=a.schema)]
    if isinstance(a, ops.RenameTable) and isinstance(b, ops.RenameTable):
        if a.schema == b.schema and a.new == b.old:
            return [ops.RenameTable(a.old, b.new, schema=a.schema)]
    if not a.destructive and not isinstance(b, ops.DropColumn | ops.DropTable):
        return None
    try:  # b alone does what both did: a change to what b then drops
        if not a.destructive and b.state_forwards(before, app) == both:
            return [b]
    except GitmigError:
        return None
    return None


def _into_create(a: ops.CreateTable, b: Operation, both: SchemaState) -> list[Operation] | None:
    if isinstance(b, ops.RenameTable):
        if b.schema != a.table.schema or b.old != a.table.name:
            return None
        key = ops.table_key(b.new, b.schema)
    elif b.tables() == {a.key} and not isinstance(b, ops.DropTable):
        key = a.key
    else:
        return None
    table = both.get(key)
    return None if table is None else [ops.CreateTable(table)]


def _into_add(
    a: ops.AddColumn, b: ops.AlterColumn | ops.RenameColumn, before: SchemaState,
    both: SchemaState,
) -> list[Operation] | None:
    if b.key != a.key:
        return None
    if isinstance(b, ops.RenameColumn):
        if b.old != a.column.name:
            return None
        name = b.new
    else:
        if b.column_name != a.column.name:
            return None
        name = a.column.name
    table = both.get(a.key)
    old = before.get(a.key)
    if table is None or old is None or not table.has_column(name):
        return None
    fks = [fk for fk in table.foreign_keys if fk not in old.foreign_keys]
    backfill: Any = a.backfill
    if isinstance(b, ops.AlterColumn) and b.backfill is not ops.UNSET:
        backfill = b.backfill
    return [ops.AddColumn(a.table_name, table.column(name), schema=a.schema,
                          backfill=backfill, foreign_keys=fks)]


def _merge_alters(a: ops.AlterColumn, b: ops.AlterColumn) -> ops.AlterColumn:
    changes = {**a.changes(), **b.changes()}
    kwargs = {_ALTER_KW.get(k, k): v for k, v in changes.items()}
    backfill = b.backfill if b.backfill is not ops.UNSET else a.backfill
    return ops.AlterColumn(a.table_name, a.column_name, schema=a.schema, backfill=backfill,
                           **kwargs)
