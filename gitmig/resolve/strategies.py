"""The two strategies: rebase (this branch's migrations renumbered after the other's
latest) and merge (a migration joining the leaves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import CheckFailed, GitmigError
from gitmig.migrations.graph import Key, MigrationGraph, migration_number
from gitmig.migrations.loader import parse_migration
from gitmig.resolve.context import Context, names_in
from gitmig.resolve.entries import OURS_SUFFIX, Entry

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject

REBASE = "rebase"
MERGE = "merge"
STRATEGIES = (REBASE, MERGE)


@dataclass(frozen=True)
class Plan:
    strategy: str
    theirs: str = ""  # the other side, for the report
    tip: str = ""  # the other side's latest migration, which this branch's now follow


def merge_migration(config: Config, app: str, graph: MigrationGraph, leaves: list[str],
                     name: str | None) -> Entry:
    from gitmig.migrations import naming, writer

    slug = name or _merge_slug(leaves)
    new = naming.full_name(graph.next_number(app), slug)
    text = writer.migration_text(
        leaves, [], f"the conflicting migrations of app {app!r}",
        headline=f"Merge migration: joins {' and '.join(leaves)}",
    )
    path = config.apps[app].migrations / f"{new}.py"
    return Entry(app, new, text.encode(), path, [(app, n) for n in leaves],
                 parse_migration(app, new, text, str(path)).checksum, created=True)


def _merge_slug(leaves: list[str]) -> str:
    from gitmig.migrations.naming import MAX_SLUG

    slug = "merge_" + "_".join(leaves)
    if len(slug) <= MAX_SLUG:
        return slug
    return "merge_" + "_".join(n.split("_", 1)[0] for n in leaves)


def rebase(
    project: GitProject | None,
    context: Context,
    app: str,
    graph: MigrationGraph,
    entries: dict[str, dict[str, Entry]],
    folders: dict[str, str],
) -> Plan:
    """Renumber and re-parent this branch's migrations of `app` after the other side's
    latest."""
    from functools import reduce

    from gitmig.git.conflicts import Touches, touches

    app_entries = entries[app]
    ours = _ours_only(project, context, app, graph, folders)
    theirs = [k for k in app_entries if k not in ours]
    theirs_set = set(theirs)
    tips = [k for k in theirs if not any(c[0] == app and c[1] in theirs_set
                                         for c in graph.children[(app, k)])]
    leaves = ", ".join(n for _, n in graph.leaves(app))
    if not ours or len(tips) != 1:
        raise GitmigError(
            f"cannot tell which of the latest migrations of app {app!r} ({leaves}) are "
            f"this branch's; write a merge migration instead: `gitmig resolve --strategy "
            f"merge {app}`"
        )
    tip = tips[0]
    common = {n for a, n in graph.ancestors((app, tip)) if a == app}
    fork: set[str] = set()
    for k in ours:
        fork |= {n for a, n in graph.ancestors((app, k)) if a == app and n in theirs_set}
    theirs_new = [k for k in theirs if k not in fork]

    each = {k: touches(app_entries[k].text) for k in [*ours, *theirs_new]}
    mine_touch = reduce(Touches.__or__, (each[k] for k in ours), Touches())
    other_touch = reduce(Touches.__or__, (each[k] for k in theirs_new), Touches())
    clashes = mine_touch.clashes(other_touch)
    if clashes:
        mine = sorted(app_entries[k].name for k in ours if each[k].clashes(other_touch))
        other = sorted(k for k in theirs_new if each[k].clashes(mine_touch))
        raise CheckFailed(
            f"app {app!r}: both branches change {', '.join(clashes)} (this branch in "
            f"{', '.join(mine)}; {context.theirs_label} in {', '.join(other)}), so one "
            "cannot simply follow the other; "
            "nothing was changed. Agree on one change (drop or rewrite one side's migration "
            f"and model change), or if both really fit together, `gitmig resolve --strategy "
            f"merge {app}`"
        )

    order = [n for a, n in graph.order() if a == app and n in ours]
    top = max((migration_number(app_entries[k].name) for k in theirs), default=0)
    if min(migration_number(app_entries[k].name) for k in ours) <= top or \
            any(k.endswith(OURS_SUFFIX) for k in ours):
        for i, key in enumerate(order, start=1):
            slug = app_entries[key].name.partition("_")[2] or "auto"
            app_entries[key].new_name = f"{top + i:04d}_{slug}"
    for key in ours:
        e = app_entries[key]
        parents: list[Key] = []
        for p in e.parents:
            if p[0] == app and p[1] in common and p[1] != tip:
                p = (app, tip)
            if p not in parents:
                parents.append(p)
        e.parents = parents
    return Plan(REBASE, context.theirs_label, tip)


def _ours_only(
    project: GitProject | None,
    context: Context,
    app: str,
    graph: MigrationGraph,
    folders: dict[str, str],
) -> set[str]:
    """Keys of the migrations of `app` that only this branch adds."""
    keys = {n for a, n in graph.nodes if a == app}
    copies = {k for k in keys if k.endswith(OURS_SUFFIX)}
    if context.theirs is not None:
        theirs = names_in(context.theirs.tree, folders[app])
        return {k for k in keys if k not in theirs} | copies
    leaves = [n for _, n in graph.leaves(app)]
    mine = _latest_added(project, folders[app], leaves)
    if mine is None:
        return copies
    others = set()
    for leaf in leaves:
        if leaf != mine:
            others |= {n for a, n in graph.ancestors((app, leaf)) if a == app}
    return {n for a, n in graph.ancestors((app, mine)) if a == app and n not in others}


def _latest_added(project: GitProject | None, folder: str, leaves: list[str]) -> str | None:
    """After a rebase (history is linear again), this branch's commits are the newest:
    the leaf whose file appeared last along first parents is this branch's."""
    if project is None or project.repo.head_is_unborn:
        return None
    import pygit2

    commit = project.repo.head.peel(pygit2.Commit)
    for _ in range(10_000):
        present = names_in(commit.tree, folder)
        gone = [leaf for leaf in leaves if leaf not in present]
        if gone:
            return gone[0] if len(gone) == 1 else None
        if not commit.parents:
            return None
        commit = commit.parents[0]
    return None
