"""`gitmig resolve`: an app with several latest migrations made linear again, or merged.

Two branches each added migrations to an app; after the merge (or during it, or during
a rebase, when git stops at the conflicted lock file) the app has several leaves.

- rebase (the default): the migrations only this branch adds, the whole chain, are
  renumbered after the other branch's latest and re-parented onto it, so history stays
  linear. A file changes its name and its `parents` line only (a textual edit of the
  assignment, found with ast), so its checksum, which covers its operations, is kept:
  a database that applied it under its old name is matched to it again by checksum
  (gitmig.migrations.plan.renamed). Which side is "this branch" follows git: in a merge, HEAD is
  ours and MERGE_HEAD theirs; in a rebase (or cherry-pick), the commit being replayed
  is ours and HEAD, the branch it is replayed onto, is theirs.
- merge: a migration with no operations whose parents are the leaves, as Django writes.

Everything is decided and checked before a file is touched: the new graph must have one
leaf per app and replay to exactly the models' schema. Then the working tree and git's
index change together (renamed files, edited parents, lock files marked resolved), and
if anything fails on the way, every file and the index are put back as they were
(gitmig.resolve.transaction: the one place resolve writes). The batch is journaled in
the git dir, so a resolve killed half-way is finished or undone by the next command, and
the project lock keeps a second resolve or makemigrations out meanwhile.

The modules: context (merge, rebase or after one), index (git's conflicts), entries (the
migrations as resolve sees them), parents, strategies, transaction, report.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig import regular
from gitmig.atomic import scratch_prefix
from gitmig.config import Config
from gitmig.errors import CheckFailed, GitmigError
from gitmig.git.project import project_or_none
from gitmig.git.projectlock import project_lock
from gitmig.migrations import lockfile, syncrecord
from gitmig.migrations.graph import MigrationFile, MigrationGraph
from gitmig.resolve.context import context_of
from gitmig.resolve.entries import OURS_SUFFIX, Entry, entries_of, graph_of
from gitmig.resolve.index import Conflicts, index_conflicts
from gitmig.resolve.parents import apply_renames, repair_parents, text_of, with_parents
from gitmig.resolve.report import describe, next_step
from gitmig.resolve.strategies import MERGE, REBASE, STRATEGIES, Plan, merge_migration, rebase
from gitmig.resolve.transaction import ResolveTransaction, changes_of

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject

__all__ = ["MERGE", "REBASE", "STRATEGIES", "Outcome", "resolve", "with_parents"]


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)  # what was done
    remaining: list[str] = field(default_factory=list)  # other paths still in conflict
    next_step: str | None = None
    changed: bool = False


def resolve(
    config: Config,
    apps: Sequence[str] = (),
    strategy: str = REBASE,
    name: str | None = None,
) -> Outcome:
    """Resolve conflicting migrations of the apps (all by default); see the module doc.
    Holds the project lock: no other command writes migrations meanwhile."""
    with project_lock(config.root):
        return _resolve(config, apps, strategy, name)


def _resolve(config: Config, apps: Sequence[str], strategy: str, name: str | None) -> Outcome:
    from gitmig.migrations import naming

    if strategy not in STRATEGIES:
        raise GitmigError(f"unknown strategy {strategy!r}; use rebase or merge")
    if name is not None:
        naming.validate_name(name)
    selected = [a.label for a in config.select(list(apps))]
    project = project_or_none(config)
    context = context_of(project)
    folders = {app: _relative(project, config, app) for app in config.apps}
    conflicts = index_conflicts(project, config, folders, selected, context)
    entries = entries_of(config, selected, conflicts, folders)
    repaired = repair_parents(project, context, entries, folders)
    graph = graph_of(config, entries)

    outcome = Outcome(remaining=conflicts.remaining)
    plans: dict[str, Plan] = {}  # app -> what was done, for the report
    new_files: list[Entry] = []
    for app in selected:
        leaves = [n for a, n in graph.leaves(app)]
        if len(leaves) <= 1 and not (app in repaired and strategy == REBASE):
            continue
        if strategy == MERGE:
            if any(k.endswith(OURS_SUFFIX) for k in entries[app]):
                raise GitmigError(
                    f"both branches added a migration with the same name to app {app!r}; a "
                    f"merge migration cannot keep both: use `gitmig resolve {app}` (rebase)"
                )
            new_files.append(merge_migration(config, app, graph, leaves, name))
            plans[app] = Plan(MERGE)
        else:
            plans[app] = rebase(project, context, app, graph, entries, folders)

    apply_renames(entries)
    final = _final_graph(config, entries, new_files)
    locks = _locks(config, selected, final, conflicts)
    changes = changes_of(config, entries, new_files, locks)
    if not changes:
        scope = f" in {', '.join(repr(a) for a in selected)}" if apps else ""
        outcome.lines.append(f"No conflicting migrations{scope}; nothing to resolve.")
        if conflicts.remaining:
            outcome.next_step = next_step(context)
        return outcome
    for app in plans:
        left = [n for _, n in final.leaves(app)]
        if len(left) != 1:  # a gap in resolve, caught before anything is written
            raise GitmigError(f"resolving app {app!r} left several latest migrations "
                              f"({', '.join(left)}); nothing was changed")
    if plans:
        _verify_replay(config, list(plans), entries, new_files)

    created = {app for app in locks if not lockfile.path_of(config, app).exists()}
    ResolveTransaction(project, config, conflicts).apply(changes)
    outcome.changed = True
    outcome.lines += describe(config, plans, entries, new_files, locks, created)
    if project is not None:
        outcome.lines.append("The changes are staged in git's index.")
        outcome.next_step = next_step(context)
    return outcome


def _relative(project: GitProject | None, config: Config, app: str) -> str:
    if project is None:
        return ""
    return project.relative(config.apps[app].migrations, "the migrations folder")


def _final_graph(config: Config, entries: dict[str, dict[str, Entry]],
                 new_files: list[Entry]) -> MigrationGraph:
    files = [MigrationFile(e.app, e.final, tuple(e.parents), str(e.path), 0, e.checksum,
                           replaces=e.replaces)
             for app_entries in entries.values() for e in app_entries.values()]
    files += [MigrationFile(e.app, e.final, tuple(e.parents), str(e.path), 0, e.checksum)
              for e in new_files]
    return MigrationGraph(files, list(config.apps))


def _locks(config: Config, selected: list[str], final: MigrationGraph,
           conflicts: Conflicts) -> dict[str, str]:
    """app -> the lock file text it should hold, for locks that differ from it."""
    out = {}
    for app in selected:
        path = lockfile.path_of(config, app)
        exists = path.is_file() or app in conflicts.locks
        if not config.lockfile and not exists:
            continue
        wanted = lockfile.expected(final.app_nodes(app), [n for _, n in final.leaves(app)])
        if wanted is None:
            continue
        text = lockfile.render(app, wanted)
        try:
            current = regular.read_text(path)
        except (OSError, UnicodeDecodeError):
            current = None
        if current is None or syncrecord.strip(current) != text or app in conflicts.locks:
            out[app] = text  # a record of the models in sync (syncrecord) is no difference
    return out


def _verify_replay(config: Config, apps: list[str], entries: dict[str, dict[str, Entry]],
                   new_files: list[Entry]) -> None:
    """The resolved migrations must replay to the models' schema (read from temporary
    copies: nothing in the project is written yet)."""
    from gitmig.db.executor import project_on_path
    from gitmig.migrations.replay import Replayer
    from gitmig.schema.models import models_state

    with tempfile.TemporaryDirectory(prefix=scratch_prefix("resolve")) as tmp:
        files = []
        for e in [*(e for a in entries.values() for e in a.values()), *new_files]:
            text = text_of(e)
            path = e.path
            if e.from_index or e.created or e.new_name or text != e.text:
                folder = Path(tmp) / e.app
                folder.mkdir(exist_ok=True)
                path = folder / f"{e.final}.py"
                path.write_bytes(text)
            files.append(MigrationFile(e.app, e.final, tuple(e.parents), str(path), 0,
                                       e.checksum, replaces=e.replaces))
        graph = MigrationGraph(files, list(config.apps))
        with project_on_path(config):
            replayed = Replayer(graph).state()
    models = models_state(config)
    got, want = replayed.for_apps(apps), models.for_apps(apps)
    if got != want:
        tables = sorted(k for k in set(got.tables) | set(want.tables)
                        if got.get(k) != want.get(k))
        raise CheckFailed(
            f"after resolving, the migrations of {', '.join(apps)} would not replay to the "
            f"models' schema (tables {', '.join(tables)} differ); nothing was changed. Make "
            "the models what both branches meant, or run `gitmig makemigrations` for "
            "changes that have no migration yet, then run `gitmig resolve` again"
        )
