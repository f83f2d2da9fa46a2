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
(_Transaction: the one place resolve writes).
"""

from __future__ import annotations

import ast
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.atomic import Change, Transaction
from gitmig.config import Config
from gitmig.errors import CheckFailed, GitmigError
from gitmig.git.project import project_or_none, shown_path
from gitmig.migrations import lockfile
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph, migration_number
from gitmig.migrations.loader import FILE_RE, assignment, parse_migration, read_folder

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject

REBASE = "rebase"
MERGE = "merge"
STRATEGIES = (REBASE, MERGE)

_OURS_SUFFIX = "~ours"  # the key of this branch's version of a file both sides added


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)  # what was done
    remaining: list[str] = field(default_factory=list)  # other paths still in conflict
    next_step: str | None = None
    changed: bool = False


# -- where we are: a merge, a rebase, or after one ------------------------------------------


@dataclass
class Context:
    kind: str | None  # "merge", "rebase", "cherry-pick", "merge commit" or None
    ours: pygit2.Commit | None = None
    theirs: pygit2.Commit | None = None
    theirs_label: str = "the other branch"

    @property
    def stages_swapped(self) -> bool:
        """In a rebase or cherry-pick, git's "ours" (stage 2) is the other branch."""
        return self.kind in ("rebase", "cherry-pick")


def _context(project: GitProject | None) -> Context:
    if project is None:
        return Context(None)
    import pygit2

    repo = project.repo
    gitdir = Path(repo.path)
    head = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit)

    def commit_in(*names: str) -> pygit2.Commit | None:
        for name in names:
            try:
                text = (gitdir / name).read_text().split()
            except OSError:
                continue
            if text:
                try:
                    return repo.revparse_single(text[0]).peel(pygit2.Commit)
                except (KeyError, ValueError, pygit2.GitError):
                    continue
        return None

    merging = commit_in("MERGE_HEAD")
    if merging is not None:
        label = _branch_label(_read(gitdir / "MERGE_MSG")) or f"commit {merging.short_id}"
        return Context("merge", head, merging, label)
    if (gitdir / "rebase-merge").is_dir() or (gitdir / "rebase-apply").is_dir():
        replayed = commit_in("REBASE_HEAD", "rebase-merge/stopped-sha",
                             "rebase-apply/original-commit")
        onto = _read(gitdir / "rebase-merge" / "onto") or _read(gitdir / "rebase-apply" / "onto")
        label = f"the new base {onto[:7]}" if onto else "the new base"
        return Context("rebase", replayed, head, label)
    picked = commit_in("CHERRY_PICK_HEAD")
    if picked is not None:
        return Context("cherry-pick", picked, head, "the current branch")
    if head is not None and len(head.parents) >= 2:
        theirs = head.parents[1]
        label = _branch_label(head.message) or f"commit {theirs.short_id}"
        return Context("merge commit", head.parents[0], theirs, label)
    return Context(None)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _branch_label(message: str) -> str | None:
    """`Merge branch 'feature'` -> `feature`, for messages."""
    first = message.strip().splitlines()[:1]
    if first and "'" in first[0]:
        parts = first[0].split("'")
        if len(parts) >= 3:
            return parts[1]
    return None


# -- the migrations as they are, conflicted or not ------------------------------------------


@dataclass
class Entry:
    """One migration file as resolve will leave it."""

    app: str
    key: str  # its name now (this branch's copy of a file both sides added: NAME~ours)
    text: bytes
    path: Path  # where it is now
    parents: list[Key]
    checksum: str
    new_name: str = ""
    from_index: bool = False  # its text comes from git's index (an add/add conflict)
    created: bool = False  # a new file (a merge migration)
    in_file: tuple[Key, ...] = field(default=(), init=False)  # the parents its text names

    def __post_init__(self) -> None:
        self.in_file = tuple(self.parents)

    @property
    def name(self) -> str:
        return self.key.removesuffix(_OURS_SUFFIX)

    @property
    def final(self) -> str:
        return self.new_name or self.name


@dataclass
class _Conflicts:
    locks: dict[str, str] = field(default_factory=dict)  # app -> repo path
    added_both: dict[str, tuple[str, bytes, bytes]] = field(default_factory=dict)
    # repo path -> (app, this branch's bytes, the other branch's bytes)
    remaining: list[str] = field(default_factory=list)


def resolve(
    config: Config,
    apps: Sequence[str] = (),
    strategy: str = REBASE,
    name: str | None = None,
) -> Outcome:
    """Resolve conflicting migrations of the apps (all by default); see the module doc."""
    from gitmig.migrations import naming

    if strategy not in STRATEGIES:
        raise GitmigError(f"unknown strategy {strategy!r}; use rebase or merge")
    if name is not None:
        naming.validate_name(name)
    selected = [a.label for a in config.select(list(apps))]
    project = project_or_none(config)
    context = _context(project)
    folders = {app: _relative(project, config, app) for app in config.apps}
    conflicts = _index_conflicts(project, config, folders, selected, context)
    entries = _entries(config, selected, conflicts, folders)
    repaired = _repair_parents(project, context, entries, folders)
    graph = _graph(config, entries)

    outcome = Outcome(remaining=conflicts.remaining)
    plans: dict[str, _Plan] = {}  # app -> what was done, for the report
    new_files: list[Entry] = []
    for app in selected:
        leaves = [n for a, n in graph.leaves(app)]
        if len(leaves) <= 1 and not (app in repaired and strategy == REBASE):
            continue
        if strategy == MERGE:
            if any(k.endswith(_OURS_SUFFIX) for k in entries[app]):
                raise GitmigError(
                    f"both branches added a migration with the same name to app {app!r}; a "
                    f"merge migration cannot keep both: use `gitmig resolve {app}` (rebase)"
                )
            new_files.append(_merge_migration(config, app, graph, leaves, name))
            plans[app] = _Plan(MERGE)
        else:
            plans[app] = _rebase(project, context, app, graph, entries, folders)

    _apply_renames(entries)
    final = _final_graph(config, entries, new_files)
    locks = _locks(config, selected, final, conflicts)
    changes = _changes(config, entries, new_files, locks)
    if not changes:
        scope = f" in {', '.join(repr(a) for a in selected)}" if apps else ""
        outcome.lines.append(f"No conflicting migrations{scope}; nothing to resolve.")
        if conflicts.remaining:
            outcome.next_step = _next_step(context)
        return outcome
    for app in plans:
        left = [n for _, n in final.leaves(app)]
        if len(left) != 1:  # a gap in resolve, caught before anything is written
            raise GitmigError(f"resolving app {app!r} left several latest migrations "
                              f"({', '.join(left)}); nothing was changed")
    if plans:
        _verify_replay(config, list(plans), entries, new_files)

    created = {app for app in locks if not lockfile.path_of(config, app).exists()}
    _Transaction(project, config, conflicts).apply(changes)
    outcome.changed = True
    outcome.lines += _report(config, plans, entries, new_files, locks, created)
    if project is not None:
        outcome.lines.append("The changes are staged in git's index.")
        outcome.next_step = _next_step(context)
    return outcome


def _relative(project: GitProject | None, config: Config, app: str) -> str:
    if project is None:
        return ""
    return project.relative(config.apps[app].migrations, "the migrations folder")


def _index_conflicts(
    project: GitProject | None,
    config: Config,
    folders: dict[str, str],
    selected: list[str],
    context: Context,
) -> _Conflicts:
    """Sort the index's conflicts: lock files and migrations both sides added (resolve
    understands those), the models (refused: resolve them first), and the rest (left to
    the user, and said so)."""
    out = _Conflicts()
    if project is None:
        return out
    repo = project.repo
    try:
        conflicted = repo.index.conflicts
    except Exception as exc:  # an unreadable index
        raise GitmigError(f"cannot read git's index: {exc}") from None
    if conflicted is None:
        return out
    models = _models_paths(project)
    by_folder = {folder: app for app, folder in folders.items() if folder}
    refused = []
    for ancestor, ours, theirs in conflicted:
        entry = ours or theirs or ancestor
        path = str(entry.path)
        folder, _, base = path.rpartition("/")
        app = by_folder.get(folder)
        if path in models:
            refused.append(path)
        elif app in selected and base == lockfile.LOCK_NAME:
            out.locks[app] = path
        elif app in selected and FILE_RE.match(base):
            if ancestor is not None or ours is None or theirs is None:
                raise GitmigError(
                    f"{path} is in conflict (changed on both sides or removed on one); "
                    "resolve it by hand first (edit it, then `git add` it), then run "
                    "`gitmig resolve` again"
                )
            mine, other = (theirs, ours) if context.stages_swapped else (ours, theirs)
            out.added_both[path] = (app, _blob(repo, mine.id), _blob(repo, other.id))
        else:
            out.remaining.append(path)
    if refused:
        paths = ", ".join(sorted(refused))
        raise GitmigError(
            f"the models are in conflict ({paths}); resolve "
            f"{'it' if len(refused) == 1 else 'them'} first (edit, then `git add`), then run "
            "`gitmig resolve` again: the migrations must follow the merged models"
        )
    out.remaining.sort()
    return out


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    import pygit2

    obj = repo[oid]
    assert isinstance(obj, pygit2.Blob)
    return obj.data


def _models_paths(project: GitProject) -> set[str]:
    """Repository paths whose content decides the models: pyproject.toml, the models
    modules (or packages) and the project modules they import."""
    from gitmig.git.closure import import_closure
    from gitmig.git.snapshot import repo_path

    worktree = project.worktree()
    layout = worktree.layout
    paths = import_closure(worktree, layout) | {layout.pyproject}
    packages = [repo_path(base, *a.models.split(".")) for a in layout.apps.values()
                for base in layout.bases]
    index = project.repo.index
    conflicted = index.conflicts
    if conflicted is not None:
        for ancestor, ours, theirs in conflicted:
            path = str((ours or theirs or ancestor).path)
            if any(path.startswith(p + "/") for p in packages):
                paths.add(path)
    return paths


def _entries(
    config: Config, selected: list[str], conflicts: _Conflicts, folders: dict[str, str]
) -> dict[str, dict[str, Entry]]:
    """Every app's migrations (key -> entry); for a file both sides added, the other
    branch's version under its name and this branch's as NAME~ours."""
    out: dict[str, dict[str, Entry]] = {}
    for app, app_config in config.apps.items():
        folder = app_config.migrations
        both = {path.rpartition("/")[2][:-3]: (mine, other)
                for path, (a, mine, other) in conflicts.added_both.items() if a == app}
        entries: dict[str, Entry] = {}
        for f in read_folder(app, folder) if not both else []:
            entries[f.name] = Entry(app, f.name, _read_bytes(Path(f.path)), Path(f.path),
                                    list(f.parents), f.checksum)
        if both:
            for file_name, path in _listing(folder):
                if file_name not in both:
                    entries[file_name] = _entry(app, file_name, _read_bytes(path), path, False)
            for file_name, (mine, other) in both.items():
                path = folder / f"{file_name}.py"
                entries[file_name] = _entry(app, file_name, other, path, True)
                ours_key = file_name + _OURS_SUFFIX
                entries[ours_key] = replace(_entry(app, file_name, mine, path, True),
                                            key=ours_key)
        out[app] = dict(sorted(entries.items()))
    return out


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GitmigError(f"cannot read migration: {exc.strerror}", path=str(path)) from None


def _listing(folder: Path) -> list[tuple[str, Path]]:
    from gitmig.migrations.loader import migration_files

    return list(migration_files(folder))


def _entry(app: str, name: str, text: bytes, path: Path, from_index: bool) -> Entry:
    f = parse_migration(app, name, text, str(path))
    return Entry(app, name, text, path, list(f.parents), f.checksum, from_index=from_index)


def _repair_parents(
    project: GitProject | None,
    context: Context,
    entries: dict[str, dict[str, Entry]],
    folders: dict[str, str],
) -> set[str]:
    """Parents as this branch meant them; returns the apps of the migrations whose parents
    had been renumbered. A parent that both sides added under one name
    means this branch's copy when this branch's file names it. A parent that no longer
    exists was renumbered by an earlier resolve (a rebase replays one commit at a time:
    the next commit still names the old file); it is found again by its checksum in the
    commit being replayed."""
    theirs_names = {app: (_names_in(context.theirs.tree, folder)
                          if context.theirs is not None else set())
                    for app, folder in folders.items()}
    ours_tree = context.ours.tree if context.ours is not None else None
    repaired: set[str] = set()
    for app, app_entries in entries.items():
        for e in app_entries.values():
            mine = e.key.endswith(_OURS_SUFFIX) or e.key not in theirs_names[app]
            fixed = []
            for parent in e.parents:
                p_app, p_name = parent
                there = entries.get(p_app, {})
                if mine and p_name + _OURS_SUFFIX in there:
                    fixed.append((p_app, p_name + _OURS_SUFFIX))
                elif p_name in there or ours_tree is None:
                    fixed.append(parent)
                else:
                    found = _renamed(ours_tree, folders.get(p_app, ""), parent, there)
                    if found != parent:
                        repaired.add(app)
                    fixed.append(found)
            e.parents = fixed
    return repaired


def _renamed(tree: pygit2.Tree, folder: str, parent: Key, there: dict[str, Entry]) -> Key:
    import pygit2

    app, name = parent
    path = f"{folder}/{name}.py" if folder else f"{name}.py"
    try:
        blob = tree[path]
    except KeyError:
        return parent
    if not isinstance(blob, pygit2.Blob):
        return parent
    try:
        checksum = parse_migration(app, name, blob.data, path).checksum
    except GitmigError:
        return parent
    slug = name.partition("_")[2]
    found = [e.key for e in there.values()
             if e.checksum == checksum and e.name.partition("_")[2] == slug]
    return (app, found[0]) if len(found) == 1 else parent


def _files(entries: dict[str, dict[str, Entry]]) -> list[MigrationFile]:
    out = []
    for app_entries in entries.values():
        for e in app_entries.values():
            out.append(MigrationFile(e.app, e.key, tuple(e.parents), str(e.path), 0, e.checksum))
    return out


def _graph(config: Config, entries: dict[str, dict[str, Entry]]) -> MigrationGraph:
    return MigrationGraph(_files(entries), list(config.apps))


# -- the strategies -------------------------------------------------------------------------


def _merge_migration(config: Config, app: str, graph: MigrationGraph, leaves: list[str],
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


@dataclass(frozen=True)
class _Plan:
    strategy: str
    theirs: str = ""  # the other side, for the report
    tip: str = ""  # the other side's latest migration, which this branch's now follow


def _rebase(
    project: GitProject | None,
    context: Context,
    app: str,
    graph: MigrationGraph,
    entries: dict[str, dict[str, Entry]],
    folders: dict[str, str],
) -> _Plan:
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
            any(k.endswith(_OURS_SUFFIX) for k in ours):
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
    return _Plan(REBASE, context.theirs_label, tip)


def _ours_only(
    project: GitProject | None,
    context: Context,
    app: str,
    graph: MigrationGraph,
    folders: dict[str, str],
) -> set[str]:
    """Keys of the migrations of `app` that only this branch adds."""
    keys = {n for a, n in graph.nodes if a == app}
    copies = {k for k in keys if k.endswith(_OURS_SUFFIX)}
    if context.theirs is not None:
        theirs = _names_in(context.theirs.tree, folders[app])
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


def _names_in(tree: pygit2.Tree, folder: str) -> set[str]:
    import pygit2

    try:
        sub = tree[folder] if folder else tree
    except KeyError:
        return set()
    if not isinstance(sub, pygit2.Tree):
        return set()
    return {str(e.name)[:-3] for e in sub if FILE_RE.match(str(e.name))}


def _latest_added(project: GitProject | None, folder: str, leaves: list[str]) -> str | None:
    """After a rebase (history is linear again), this branch's commits are the newest:
    the leaf whose file appeared last along first parents is this branch's."""
    if project is None or project.repo.head_is_unborn:
        return None
    import pygit2

    commit = project.repo.head.peel(pygit2.Commit)
    for _ in range(10_000):
        present = _names_in(commit.tree, folder)
        gone = [leaf for leaf in leaves if leaf not in present]
        if gone:
            return gone[0] if len(gone) == 1 else None
        if not commit.parents:
            return None
        commit = commit.parents[0]
    return None


def _apply_renames(entries: dict[str, dict[str, Entry]]) -> None:
    """Point every parent at its migration's new name, in every app."""
    renamed = {(e.app, e.key): (e.app, e.final) for app_entries in entries.values()
               for e in app_entries.values() if e.new_name or e.key.endswith(_OURS_SUFFIX)}
    for app_entries in entries.values():
        for e in app_entries.values():
            e.parents = [renamed.get(p, p) for p in e.parents]


def _final_graph(config: Config, entries: dict[str, dict[str, Entry]],
                 new_files: list[Entry]) -> MigrationGraph:
    files = [MigrationFile(e.app, e.final, tuple(e.parents), str(e.path), 0, e.checksum)
             for app_entries in entries.values() for e in app_entries.values()]
    files += [MigrationFile(e.app, e.final, tuple(e.parents), str(e.path), 0, e.checksum)
              for e in new_files]
    return MigrationGraph(files, list(config.apps))


def _locks(config: Config, selected: list[str], final: MigrationGraph,
           conflicts: _Conflicts) -> dict[str, str]:
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
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current != text or app in conflicts.locks:
            out[app] = text
    return out


# -- checking the result before writing it ---------------------------------------------------


def _text_of(e: Entry) -> bytes:
    """The entry's file as it will be: its `parents` assignment rewritten if they changed."""
    if tuple(e.parents) == e.in_file:
        return e.text
    return with_parents(e.text, [n if a == e.app else f"{a}.{n}" for a, n in e.parents])


def with_parents(source: bytes, parents: Sequence[str]) -> bytes:
    """`source` with the value of its top-level `parents = [...]` replaced; nothing else in
    the file changes (so neither does its checksum)."""
    from gitmig.schema.serializer import ListOf

    tree = ast.parse(source)
    value: ast.expr | None = None
    for node in tree.body:
        target, assigned = assignment(node)
        if target == "parents":
            value = assigned
    assert value is not None and value.end_lineno is not None
    assert value.end_col_offset is not None
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: value.lineno - 1]) + value.col_offset
    end = sum(len(line) for line in lines[: value.end_lineno - 1]) + value.end_col_offset
    rendered = ListOf([f'"{p}"' for p in parents]).render(0)
    return source[:start] + rendered.encode() + source[end:]


def _verify_replay(config: Config, apps: list[str], entries: dict[str, dict[str, Entry]],
                   new_files: list[Entry]) -> None:
    """The resolved migrations must replay to the models' schema (read from temporary
    copies: nothing in the project is written yet)."""
    from gitmig.db.executor import project_on_path
    from gitmig.migrations.replay import Replayer
    from gitmig.schema.models import models_state

    with tempfile.TemporaryDirectory(prefix="gitmig-resolve-") as tmp:
        files = []
        for e in [*(e for a in entries.values() for e in a.values()), *new_files]:
            text = _text_of(e)
            path = e.path
            if e.from_index or e.created or e.new_name or text != e.text:
                folder = Path(tmp) / e.app
                folder.mkdir(exist_ok=True)
                path = folder / f"{e.final}.py"
                path.write_bytes(text)
            files.append(MigrationFile(e.app, e.final, tuple(e.parents), str(path), 0,
                                       e.checksum))
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


# -- writing it: files and git's index together, or not at all ------------------------------


@dataclass
class _Change:
    path: Path  # where the text goes
    text: bytes
    old: Path | None = None  # a file this one replaces (removed)
    new_file: bool = False  # the path must not exist yet


def _changes(config: Config, entries: dict[str, dict[str, Entry]], new_files: list[Entry],
             locks: dict[str, str]) -> list[_Change]:
    out = []
    for app_entries in entries.values():
        for e in app_entries.values():
            text = _text_of(e)
            target = e.path.with_name(f"{e.final}.py")
            if e.key.endswith(_OURS_SUFFIX):
                out.append(_Change(target, text, new_file=True))
            elif e.new_name:
                out.append(_Change(target, text, old=e.path, new_file=True))
            elif text != e.text or e.from_index:
                out.append(_Change(target, text))
    for e in new_files:
        out.append(_Change(e.path, e.text, new_file=True))
    for app, lock_text in locks.items():
        out.append(_Change(lockfile.path_of(config, app), lock_text.encode()))
    return out


class _Transaction:
    """Write files and update git's index; on any failure put every file and the index
    back exactly as they were."""

    def __init__(self, project: GitProject | None, config: Config, conflicts: _Conflicts):
        self.project = project
        self.config = config
        self.conflicts = conflicts

    def apply(self, changes: list[_Change]) -> None:
        index = self.project.repo.index if self.project is not None else None
        self._refuse_unstaged(index, changes)
        for c in changes:
            if c.new_file and os.path.lexists(c.path):
                raise GitmigError(f"{c.path} already exists; gitmig never overwrites a file; "
                                  "nothing was changed")
        batch = [Change(c.path, c.text, new_file=c.new_file) for c in changes]
        batch += [Change(c.old, None) for c in changes if c.old is not None]
        if self.project is not None:
            batch.append(self._index_change(changes))
        Transaction().apply(batch)

    def _repo_path(self, path: Path) -> str:
        assert self.project is not None
        return self.project.relative(path, "file")

    def _refuse_unstaged(self, index: pygit2.Index | None, changes: list[_Change]) -> None:
        """A file resolve renames or edits must not hold edits git has not staged: staging
        the result would take them along."""
        import pygit2

        if index is None:
            return
        conflicted = set(self.conflicts.added_both) | set(self.conflicts.locks.values())
        for c in changes:
            for path in (c.old, None if c.new_file else c.path):
                if path is None or not path.is_file():
                    continue
                rel = self._repo_path(path)
                if rel in conflicted or path.name == lockfile.LOCK_NAME:
                    continue  # a lock file is only ever derived from the migrations
                try:
                    staged = index[rel].id
                except KeyError:
                    continue  # not tracked: nothing to take along
                if pygit2.hashfile(str(path)) != staged:
                    raise GitmigError(
                        f"{rel} has changes that are not staged; stage them (git add) or "
                        "discard them first, then run `gitmig resolve` again; nothing was "
                        "changed"
                    )

    def _index_change(self, changes: list[_Change]) -> Change:
        """git's index as it will be, built beside it (so it joins the batch as one more
        file): the old paths gone, the new texts staged, their conflicts resolved."""
        import pygit2

        assert self.project is not None
        repo = self.project.repo
        index_path = Path(repo.path) / "index"
        try:
            data = index_path.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            raise GitmigError(f"cannot read git's index: {exc.strerror}") from None
        with tempfile.TemporaryDirectory(prefix="gitmig-index-") as tmp:
            scratch = Path(tmp) / "index"
            if data is not None:
                scratch.write_bytes(data)
            index = pygit2.Index(str(scratch))
            try:
                modes = {}
                for c in changes:
                    rels = [self._repo_path(c.path)]
                    if c.old is not None:
                        rels.append(self._repo_path(c.old))
                    modes[rels[0]] = next((m for m in map(_stage0_mode, [index] * 2, rels)
                                           if m is not None), pygit2.enums.FileMode.BLOB)
                    conflicted = index.conflicts
                    for rel in rels:
                        if conflicted is not None and rel in conflicted:
                            del conflicted[rel]
                        if _stage0_mode(index, rel) is not None:
                            index.remove(rel)
                for c in changes:
                    rel = self._repo_path(c.path)
                    oid = repo.create_blob(c.text)
                    index.add(pygit2.IndexEntry(rel, oid, pygit2.enums.FileMode(modes[rel])))
                index.write()
            except (pygit2.GitError, OSError, ValueError) as exc:
                raise GitmigError(f"cannot update git's index: {exc}; nothing was "
                                  "changed") from None
            return Change(index_path, scratch.read_bytes(), git_index=True)


def _stage0_mode(index: pygit2.Index, rel: str) -> int | None:
    """The mode of `rel`'s resolved entry in the index; None when it has none."""
    try:
        return int(index[rel].mode)
    except KeyError:
        return None


# -- what to tell the user ------------------------------------------------------------------


def _report(config: Config, plans: dict[str, _Plan], entries: dict[str, dict[str, Entry]],
            new_files: list[Entry], locks: dict[str, str], created: set[str]) -> list[str]:
    lines = []
    for app, plan in plans.items():
        if plan.strategy == MERGE:
            for e in new_files:
                if e.app == app:
                    joined = " and ".join(n for _, n in e.parents)
                    lines.append(f"app {app!r}: wrote the merge migration "
                                 f"{shown_path(e.path)}, joining {joined}")
            continue
        tip = entries[app][plan.tip].final
        lines.append(f"app {app!r}: this branch's migrations now follow {tip} "
                     f"(from {plan.theirs}):")
        moved = sorted((e for e in entries[app].values() if e.new_name),
                       key=lambda e: e.new_name)
        for e in moved:
            lines.append(f"  {e.name} -> {e.new_name}")
        if not moved:
            lines.append("  (re-parented only: their numbers already came after it)")
    for app in locks:
        verb = "Wrote" if app in created else "Updated"
        lines.append(f"{verb} {shown_path(lockfile.path_of(config, app))}")
    return lines


def _next_step(context: Context) -> str:
    return {
        "merge": "`git commit` to conclude the merge",
        "rebase": "`git rebase --continue`",
        "cherry-pick": "`git cherry-pick --continue`",
    }.get(context.kind or "", "commit the changes")



