"""The pre-commit check: judges exactly what is being committed, the index.

It blocks a commit whose staged models have changes without a staged migration, and one
whose staged migrations do not parse or conflict (an app with several latest ones). It
reads the index through pygit2 and changes neither the index nor the working tree; the
staged models and migrations are imported only in a child process, from an exported copy.

Most commits touch no model, so the check first decides from paths alone, before
SQLAlchemy is imported: it is needed only when a staged path is the project's
pyproject.toml, a migration, a models module (or a file of a models package), or a
project module that the models import, directly or not (followed with Python's ast through
the staged files; imports made at run time by name are not followed).

Each run also records those paths in the git dir (`remember`), so that the hook script can
make the same decision on the next commits without starting Python at all.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig import hints
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.closure import import_closure, relevant, touches_project, watched_folders
from gitmig.git.project import shown_path
from gitmig.git.snapshot import GitProject, Layout, Snapshot, repo_path
from gitmig.migrations.graph import MigrationFile, MigrationGraph, conflict_fix
from gitmig.migrations.loader import FILE_RE

if TYPE_CHECKING:
    from gitmig.schema.state import SchemaState

__all__ = ["check", "import_closure", "relevant", "remember", "watch_path"]


def check(config: Config, index_file: str | None = None, cwd: Path | None = None) -> list[str]:
    """What blocks the commit, as lines for a person to read; empty when it may go on."""
    project = GitProject(config)
    index = project.index(index_file)
    staged = project.staged_paths(index)
    if not staged:
        return []
    layout = index.layout
    closure = import_closure(index, layout)
    remember(project, index, layout, closure)
    if not touches_project(layout, staged, closure):
        return []
    return _full_check(project, index, cwd or Path.cwd())


# -- what the hook script reads to skip Python ------------------------------------------

WATCH_FILE = "precommit-watch"
WATCH_MAGIC = "gitmig-precommit-watch-1"


def watch_path(project: GitProject) -> Path:
    """In this worktree's own git dir (its HEAD and index are its own): where the hook
    script finds it as $GIT_DIR/gitmig/precommit-watch, or .git/gitmig/precommit-watch."""
    return Path(project.repo.path) / "gitmig" / WATCH_FILE


def remember(project: GitProject, index: Snapshot, layout: Layout, closure: set[str]) -> None:
    """Record what this decision depended on, for the hook script (hook_scripts/pre-commit).

    The record names the index's tree T, the configuration (git config gitmig.config), the
    files whose content decides the decision (pyproject.toml and the import closure of the
    models, there or not) and the folders in which any staged file counts. A later commit
    whose index has the same content as T at each of those files has the same layout and the
    same closure, so relevant() depends only on which paths are staged: when none is one of
    those files or in one of those folders, the script lets the commit through. It checks
    with `git diff --cached --name-only T` and `git diff --cached --name-only`, and runs
    this check whenever anything is unexpected.

    Best effort: a record that cannot be written only costs the next commit its shortcut.
    Change WATCH_MAGIC (in the script too) whenever relevant() changes what counts.
    """
    recorded = project.setting("gitmig.config")  # githooks.CONFIG_SETTING
    if index.tree is None or recorded is None or not layout.own_section:
        return  # e.g. the layout comes from the working tree's pyproject.toml: no shortcut
    if Path(recorded).is_absolute() or \
            (project.workdir / recorded).resolve() != project.config.path.resolve():
        return  # e.g. run with --config: the script would check another configuration
    watched = sorted(closure | {layout.pyproject})
    folders = sorted(watched_folders(layout, every_candidate=True))
    if not all(_plain(text) for text in (recorded, *watched, *folders)):
        return  # git would print such a path quoted; the script always runs the check then
    lines = [f"{WATCH_MAGIC} {index.tree.id}", f"config {recorded}"]
    lines += [f"prefix {folder}/" for folder in folders]
    lines += [f"path {path}" for path in watched]
    lines.append("end")
    from gitmig.atomic import write_file

    target = watch_path(project)
    with contextlib.suppress(OSError, UnicodeError):
        data = ("\n".join(lines) + "\n").encode()
        target.parent.mkdir(exist_ok=True)
        write_file(target, data, durable=False)


def _plain(text: str) -> bool:
    """Printed by git as it is (with core.quotePath=false), and on one line."""
    return not any(c in '"\\' or ord(c) < 32 or ord(c) == 127 for c in text)


# -- the full check ---------------------------------------------------------------------


def _full_check(project: GitProject, index: Snapshot, cwd: Path) -> list[str]:
    from gitmig.hooks.fromcache import staged_states

    layout = index.layout
    problems, graph = _migration_problems(index, layout)
    if not problems and graph is not None:
        problems = _history_problems(project, index, layout, graph)
    if problems:
        return problems
    assert graph is not None
    found = staged_states(project, index, graph)
    if found is not None:
        models, replayed = found
        apps = list(layout.apps)
        if models.for_apps(apps) == replayed.for_apps(apps):
            return []  # what the autodetector finds between equal states: nothing
    else:
        try:
            models, staged_replay = index.states(replay=True)
        except GitmigError as exc:
            return [f"{exc.message} (as staged)"]
        assert staged_replay is not None
        replayed = staged_replay
    from gitmig.actions.diff import ReportQuestioner, kind_of
    from gitmig.migrations import autodetector

    changes = autodetector.detect(replayed, models, list(layout.apps), ReportQuestioner())
    lines: list[str] = []
    for app, change in changes.items():
        lines.append(f"app {app!r}: the staged models have changes without a staged migration:")
        lines += [f"    {kind_of(op)} {op.describe()}" for op in change.operations]
        folder = project.workdir / layout.apps[app].migrations
        unstaged = _unstaged_migrations(project, index, layout.apps[app].migrations)
        if unstaged and _covered_by_working_tree(project.config, app, models):
            names = " ".join(shown_path(project.workdir / p, cwd, quote=True) for p in unstaged)
            lines.append(f"  the migration is in the working tree but not staged: git add {names}")
        else:
            gitmig = "gitmig"
            if not cwd.resolve().is_relative_to(project.config.root):
                gitmig += f" --config {shown_path(project.config.path, cwd, quote=True)}"
            folder_shown = shown_path(folder, cwd, quote=True)
            lines.append(f"  fix: {gitmig} makemigrations {app} && git add {folder_shown}")
    return lines


def _migration_problems(
    index: Snapshot, layout: Layout
) -> tuple[list[str], MigrationGraph | None]:
    files: list[MigrationFile] = []
    problems: list[str] = []
    for app in layout.apps:
        try:
            files += index.migration_files(app)
        except GitmigError as exc:
            problems.append(f"{exc.render()} (a staged migration that does not parse)")
    if problems:
        return problems, None
    try:
        graph = MigrationGraph(files, list(layout.apps))
    except GitmigError as exc:
        return [f"{exc.render()} (in the staged migrations)"], None
    for app in layout.apps:
        leaves = graph.leaves(app)
        if len(leaves) > 1:
            names = ", ".join(n for _, n in leaves)
            problems.append(
                f"app {app!r}: the staged migrations conflict, several are latest ({names}); "
                f"{conflict_fix(app)}, then stage the result"
            )
    return problems, graph


def _history_problems(
    project: GitProject, index: Snapshot, layout: Layout, graph: MigrationGraph
) -> list[str]:
    """Committed migrations edited in the index, and lock files that do not match the
    staged migrations (gitmig.migrations.lockfile)."""
    from gitmig.git import lockhistory
    from gitmig.migrations import lockfile

    problems: list[str] = []
    for app, app_layout in layout.apps.items():
        folder = app_layout.migrations
        edited = _edited_since_head(project, index, app, folder)
        if edited:
            paths = " ".join(repo_path(folder, f"{n}.py") for n in edited)
            it = "it" if len(edited) == 1 else "them"
            problems.append(
                f"app {app!r}: {', '.join(edited)} {'was' if len(edited) == 1 else 'were'} "
                "edited after being committed (the operations changed): a database that "
                "applied the committed version never runs the change. Undo the edit "
                f"(git checkout HEAD -- {paths}) and put the change in a new migration; if no "
                f"database has applied {it} yet, `gitmig resolve {app}` records the edit in "
                "the lock file: stage that and commit with --no-verify"
            )
            continue
        if not project.config.lockfile:
            continue
        lock_path = repo_path(folder, lockfile.LOCK_NAME)
        files = graph.app_nodes(app)
        leaves = [n for _, n in graph.leaves(app)]
        verdict = lockfile.verify(files, leaves, index.read(lock_path))
        if verdict.ok:
            continue
        in_tree = project.worktree().read(lock_path)
        if in_tree is not None and verdict.wanted is not None \
                and lockfile.parse(in_tree) == verdict.wanted:
            problems.append(f"app {app!r}: {lock_path} is up to date in the working tree but "
                            f"not staged: git add {lock_path}")
        elif verdict.state == lockfile.CONFLICTED:
            problems.append(f"app {app!r}: the staged {lock_path} holds git's conflict "
                            f"markers; {hints.RESOLVE.format(app=app)}, then stage the result")
        else:
            why = lockhistory.explain(project, folder, app, {f.name: f.checksum for f in files})
            problems.append(
                f"app {app!r}: the staged {lock_path} does not match the staged migrations: "
                f"{why.describe()}; {hints.makemigrations(app)} to update it, then "
                f"git add {lock_path}"
            )
    return problems


def _edited_since_head(project: GitProject, index: Snapshot, app: str, folder: str) -> list[str]:
    """Migrations HEAD has whose staged version does other operations."""
    import pygit2

    from gitmig.migrations.loader import parse_migration

    repo = project.repo
    if repo.head_is_unborn or index.tree is None:
        return []
    head = repo.head.peel(pygit2.Commit).tree
    try:
        before, after = (head[folder], index.tree[folder]) if folder else (head, index.tree)
    except KeyError:
        return []
    if not isinstance(before, pygit2.Tree) or not isinstance(after, pygit2.Tree) \
            or before.id == after.id:
        return []
    edited = []
    for delta in before.diff_to_tree(after).deltas:
        path = delta.new_file.path
        if delta.status != pygit2.enums.DeltaStatus.MODIFIED or not FILE_RE.match(path):
            continue
        old, new = repo[delta.old_file.id], repo[delta.new_file.id]
        assert isinstance(old, pygit2.Blob) and isinstance(new, pygit2.Blob)
        try:
            a = parse_migration(app, path[:-3], old.data, path).checksum
            b = parse_migration(app, path[:-3], new.data, path).checksum
        except GitmigError:
            continue
        if a != b:
            edited.append(path[:-3])
    return sorted(edited)


def _unstaged_migrations(project: GitProject, index: Snapshot, folder: str) -> list[str]:
    """Migration files of the working tree that are new or changed since staged."""
    worktree = project.worktree()
    return [
        repo_path(folder, name)
        for name in worktree.listdir(folder)
        if FILE_RE.match(name) and index.read(repo_path(folder, name)) != worktree.read(
            repo_path(folder, name)
        )
    ]


def _covered_by_working_tree(config: Config, app: str, models: SchemaState) -> bool:
    """Whether the working tree's migrations replay to the staged models of the app."""
    from gitmig.migrations.loader import load_graph
    from gitmig.migrations.replay import Replayer

    try:
        state = Replayer(load_graph(config)).state()
    except GitmigError:
        return False
    return state.for_apps([app]) == models.for_apps([app])
