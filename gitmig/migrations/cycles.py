"""Foreign keys between apps that point both ways: the second migration that breaks the cycle.

Inside one app the autodetector orders new tables so that referenced ones come first, and
defers a foreign key that closes a cycle; across apps each app's migration depends on the
others', so the same split happens here, on the autodetector's per-app results.
"""

from __future__ import annotations

from collections.abc import Iterable

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.migrations.autodetector import AppChanges
from gitmig.schema.state import ForeignKey, SchemaState


def split_cycles(
    changes: dict[str, AppChanges], after: SchemaState, order: list[str]
) -> dict[str, AppChanges]:
    """Break cycles of new foreign keys between apps, as _create_tables does inside one app.

    Apps whose new migrations would depend on each other are put in `order` (the
    configured order; an app that takes a moved table in after the app handing it over);
    an app's new foreign keys to tables of an app after it leave its first migration and
    go into a second one, returned here, which depends on both. `changes` is edited in place.
    """
    edges = {
        app: {o for o in change.depends_on if o in changes and o != app}
        for app, change in changes.items()
    }
    later: dict[str, AppChanges] = {}
    for group in _strongly_connected(edges):
        if len(group) < 2:
            continue
        position = {app: i for i, app in enumerate(_rank(group, changes, order))}
        for app in sorted(group, key=position.__getitem__):
            ahead = {o for o in edges[app] & group if position[o] > position[app]}
            if ahead & _takes_from(changes[app]):
                raise GitmigError(
                    f"apps {app!r} and {sorted(ahead)[0]!r} move tables to each other in one "
                    "step; move the tables one app at a time (makemigrations after each)"
                )
            if ahead:
                later[app] = _defer_foreign_keys(changes[app], ahead, after)
                if not changes[app].operations:
                    del changes[app]
    return later


def _takes_from(change: AppChanges) -> set[str]:
    return {op.from_app for op in change.operations if isinstance(op, ops.MoveTableIn)}


def _rank(group: set[str], changes: dict[str, AppChanges], order: list[str]) -> list[str]:
    """The group's apps in configured order, except that a move's giver precedes its taker."""
    index = {app: i for i, app in enumerate(order)}
    pending = sorted(group, key=lambda a: (index.get(a, len(order)), a))
    ranked: list[str] = []
    while pending:
        ready = next(
            (a for a in pending if not (_takes_from(changes[a]) & set(pending) - {a})),
            pending[0],  # moves both ways: reported by the caller
        )
        pending.remove(ready)
        ranked.append(ready)
    return ranked


def _defer_foreign_keys(change: AppChanges, targets: set[str], after: SchemaState) -> AppChanges:
    """Take the foreign keys to `targets`' tables out of `change`, into a later AppChanges."""
    later = AppChanges(depends_on=set(targets))
    kept: list[ops.Operation] = []

    def deferred(fks: Iterable[ForeignKey]) -> list[ForeignKey]:
        return sorted((fk for fk in fks if after.app_of(fk.ref_table) in targets), key=repr)

    for op in change.operations:
        if isinstance(op, ops.CreateTable):
            moved = deferred(op.table.foreign_keys)
            if moved:
                t = op.table
                op = ops.CreateTable(t.evolve(foreign_keys=t.foreign_keys - set(moved)))
                later.operations += [ops.AddConstraint(t.name, fk, schema=t.schema)
                                     for fk in moved]
        elif isinstance(op, ops.AddColumn):
            moved = deferred(op.foreign_keys)
            if moved:
                rest = [fk for fk in op.foreign_keys if fk not in moved]
                later.operations += [ops.AddConstraint(op.table_name, fk, schema=op.schema)
                                     for fk in moved]
                op = ops.AddColumn(op.table_name, op.column, schema=op.schema,
                                   backfill=op.backfill, foreign_keys=rest)
        elif (isinstance(op, ops.AddConstraint) and isinstance(op.constraint, ForeignKey)
              and deferred([op.constraint])):
            later.operations.append(op)
            continue
        kept.append(op)
    change.operations = kept
    change.depends_on -= targets
    return later


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's groups of apps that reach each other (a handful of apps: recursion is fine)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(app: str) -> None:
        index[app] = low[app] = len(index)
        stack.append(app)
        for other in sorted(edges[app]):
            if other not in index:
                visit(other)
                low[app] = min(low[app], low[other])
            elif other in stack:
                low[app] = min(low[app], index[other])
        if low[app] == index[app]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == app:
                    break
            groups.append(group)

    for app in sorted(edges):
        if app not in index:
            visit(app)
    return groups
