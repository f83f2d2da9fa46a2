"""Conflicting migrations: those that conflict now, and those that will after a merge.

Now: an app with several latest migrations in a snapshot (the working tree, the index, a
commit), or a lock file that no longer matches its folder (gitmig.migrations.lockfile).

After a merge: this branch (HEAD) and another branch each add migrations to the same app
since their merge base. That is found through pygit2 and Python's ast alone, and fast:
the migrations folders' tree ids are compared first, only folders that differ are
diffed, and only the files a side adds are parsed. Nothing from another branch is run.

Which tables and columns a migration changes is read from the ast of its `operations`
list, as the operations' own tables() would say: the first string argument of each
`ops.X(...)` call names the table, but for CreateIndex/DropIndex (the second) and
RenameTable (both); a column is the second argument (AddColumn: the name of its
sa.Column). RunSQL and RunPython name no table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitmig import hints
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.project import project_or_none, shown_path
from gitmig.migrations.graph import conflict_message
from gitmig.migrations.loader import FILE_RE, assignment

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject, Snapshot

# -- what operations touch, from their source -----------------------------------------------

_NO_TABLE = {"RunSQL", "RunPython"}
_TABLE_SECOND = {"CreateIndex", "DropIndex"}
_WHOLE_TABLE = {"CreateTable", "DropTable", "RenameTable"}
_COLUMN_SECOND = {"DropColumn", "AlterColumn", "RenameColumn"}


@dataclass(frozen=True)
class Touches:
    tables: frozenset[str] = frozenset()  # every table an operation names
    whole: frozenset[str] = frozenset()  # tables created, dropped or renamed
    columns: frozenset[tuple[str, str]] = frozenset()  # added, dropped, altered, renamed

    def __or__(self, other: Touches) -> Touches:
        return Touches(self.tables | other.tables, self.whole | other.whole,
                       self.columns | other.columns)

    def clashes(self, other: Touches) -> list[str]:
        """What both sides change so that one cannot simply follow the other: the same
        column, or a table one side creates, drops or renames and the other changes."""
        out = [f"column {t}.{c}" for t, c in sorted(self.columns & other.columns)]
        tables = (self.whole & other.tables) | (other.whole & self.tables)
        out += [f"table {t}" for t in sorted(tables)]
        return out


def touches(source: str | bytes) -> Touches:
    """The tables and columns a migration's operations change, read from its source. A
    squashed migration (`replaces = [...]`) changes nothing new: it restates history."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return Touches()
    operations: ast.expr | None = None
    for node in tree.body:
        target, value = assignment(node)
        if target == "operations":
            operations = value
        elif target == "replaces":
            return Touches()
    if not isinstance(operations, (ast.List, ast.Tuple)):
        return Touches()
    tables: set[str] = set()
    whole: set[str] = set()
    columns: set[tuple[str, str]] = set()
    for call in operations.elts:
        if not isinstance(call, ast.Call):
            continue
        kind = _callee(call)
        if kind is None or kind in _NO_TABLE:
            continue
        strings = [_string(a) for a in call.args]
        schema = next((_string(k.value) for k in call.keywords if k.arg == "schema"), None)

        def qualified(name: str) -> str:
            return f"{schema}.{name}" if schema else name  # noqa: B023

        names = [s for s in strings if s is not None]
        if kind in _TABLE_SECOND:
            named = [strings[1]] if len(strings) > 1 and strings[1] else []
        elif kind == "RenameTable":
            named = names[:2]
        else:
            named = [strings[0]] if strings and strings[0] else []
        table_names = [qualified(n) for n in named if n]
        tables.update(table_names)
        if kind in _WHOLE_TABLE:
            whole.update(table_names)
        if not table_names:
            continue
        table = table_names[0]
        if kind == "AddColumn" and len(call.args) > 1 and isinstance(call.args[1], ast.Call):
            column = next((s for s in map(_string, call.args[1].args) if s), None)
            if column:
                columns.add((table, column))
        elif kind in _COLUMN_SECOND:
            columns.update((table, c) for c in strings[1:3 if kind == "RenameColumn" else 2]
                           if c)
    return Touches(frozenset(tables), frozenset(whole), frozenset(columns))


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _string(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


# -- conflicts now --------------------------------------------------------------------------

LEAVES = "leaves"
LOCK = "lock"


@dataclass(frozen=True)
class Problem:
    app: str
    kind: str  # LEAVES or LOCK
    message: str
    leaves: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"app": self.app, "kind": self.kind, "message": self.message}
        if self.leaves:
            data["leaves"] = list(self.leaves)
        return data


def now(config: Config, snapshot: Snapshot | None = None) -> list[Problem]:
    """Apps whose migrations conflict in a snapshot (default: the working tree), and
    lock files that do not match their folder. Migrations are read, never run."""
    from gitmig.git import lockhistory
    from gitmig.git.snapshot import WORKTREE
    from gitmig.migrations import lockfile

    project = snapshot.project if snapshot is not None else project_or_none(config)
    if snapshot is None and project is not None:
        snapshot = project.worktree()
    if snapshot is None or snapshot.kind == WORKTREE:
        from gitmig.migrations.loader import load_graph

        graph = load_graph(config)
    else:
        graph = snapshot.graph()
    problems: list[Problem] = []
    for app in config.apps:
        leaves = [n for _, n in graph.leaves(app)]
        if len(leaves) > 1:
            problems.append(Problem(app, LEAVES, conflict_message(app, leaves), tuple(leaves)))
        if not config.lockfile:
            continue
        if snapshot is None:
            path = lockfile.path_of(config, app)
            shown = shown_path(path)
            data = lockfile.read_worktree(path)
            folder = None
        else:
            folder = _folder(snapshot, config, app)
            lock_path = f"{folder}/{lockfile.LOCK_NAME}" if folder else lockfile.LOCK_NAME
            shown = (shown_path(lockfile.path_of(config, app)) if snapshot.kind == WORKTREE
                     else snapshot.display(lock_path))
            data = snapshot.read(lock_path)
        verdict = lockfile.verify(graph.app_nodes(app), leaves, data)
        if verdict.state == lockfile.CONFLICTED and len(leaves) <= 1:
            problems.append(Problem(app, LOCK, (
                f"app {app!r}: {shown} still holds git's conflict markers; "
                f"{hints.RESOLVE.format(app=app)} to write it again")))
        elif verdict.state == lockfile.STALE:
            now_files = {f.name: f.checksum for f in graph.app_nodes(app)}
            start = snapshot.commit if snapshot is not None and snapshot.commit else "HEAD"
            why = (lockhistory.explain(project, folder, app, now_files, start)
                   if folder is not None else lockhistory.Explanation())
            fix = (f"{hints.makemigrations(app)} to record them" if why.drafts_only
                   else f"if that is intended, `gitmig resolve {app}` records the migrations "
                   "as they are; otherwise undo the change and put it in a new migration")
            problems.append(Problem(app, LOCK, (
                f"app {app!r}: {shown} does not match the migrations: {why.describe()}; "
                f"{fix}")))
    return problems


def _folder(snapshot: Snapshot, config: Config, app: str) -> str:
    return snapshot.layout.apps[app].migrations if app in snapshot.layout.apps else \
        snapshot.project.relative(config.apps[app].migrations, "the migrations folder")


# -- conflicts after a merge ----------------------------------------------------------------


@dataclass(frozen=True)
class Collision:
    """Both sides add migrations to one app: after the merge it has several leaves."""

    app: str
    ours: tuple[str, ...]
    theirs: tuple[str, ...]
    tables: tuple[str, ...] = ()  # changed by both sides (a warning)
    clashes: tuple[str, ...] = ()  # the same column or table: resolve cannot untangle it

    def as_json(self) -> dict[str, Any]:
        return {"app": self.app, "ours": list(self.ours), "theirs": list(self.theirs),
                "tables_changed_by_both": list(self.tables), "clashes": list(self.clashes)}


@dataclass
class Branch:
    """One other branch compared with HEAD from their merge base."""

    ref: str
    commit: str
    merge_base: str | None
    collisions: list[Collision] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"branch": self.ref, "commit": self.commit, "merge_base": self.merge_base,
                "collisions": [c.as_json() for c in self.collisions]}


@dataclass
class Prediction:
    head: str  # `feature (3f2a1c9)`
    branches: list[Branch] = field(default_factory=list)

    @property
    def collisions(self) -> int:
        return sum(len(b.collisions) for b in self.branches)

    def as_json(self) -> dict[str, Any]:
        return {"head": self.head, "branches": [b.as_json() for b in self.branches],
                "conflict": bool(self.collisions)}


def against(config: Config, refs: Iterable[str]) -> Prediction:
    """HEAD compared with each named branch (any revision git understands)."""
    import pygit2

    project = _git(config)
    repo = project.repo
    targets = []
    for ref in refs:
        try:
            commit = repo.revparse_single(ref).peel(pygit2.Commit)
        except (KeyError, ValueError, TypeError, pygit2.GitError):
            raise GitmigError(
                f"unknown revision {ref!r}: not a branch, tag, commit or revision expression "
                f"of the repository at {project.workdir}"
            ) from None
        targets.append((ref, commit))
    return _Predictor(config, project).run(targets)


def all_branches(config: Config) -> Prediction:
    """HEAD compared with every other local and remote-tracking branch (once per commit)."""
    from gitmig.git.branches import other_branches

    project = _git(config)
    targets = other_branches(project.repo)
    return _Predictor(config, project).run(targets)


def _git(config: Config) -> GitProject:
    from gitmig.git.snapshot import GitProject

    project = GitProject(config)
    if project.repo.head_is_unborn:
        raise GitmigError("this branch has no commits yet; commit first, then compare it "
                          "with other branches")
    return project


class _Predictor:
    def __init__(self, config: Config, project: GitProject) -> None:
        import pygit2

        self.config = config
        self.project = project
        self.repo = project.repo
        self.head = self.repo.head.peel(pygit2.Commit)
        self.folders = {app: project.relative(a.migrations, "the migrations folder")
                        for app, a in config.apps.items()}
        self._ours: dict[tuple[str, str], dict[str, pygit2.Oid]] = {}

    def run(self, targets: list[tuple[str, pygit2.Commit]]) -> Prediction:
        branch = "HEAD" if self.repo.head_is_detached else self.repo.head.shorthand
        prediction = Prediction(f"{branch} ({self.head.short_id})")
        for ref, commit in targets:
            if commit.id == self.head.id:
                continue
            base = self.repo.merge_base(self.head.id, commit.id)
            if base is not None and base == commit.id:
                continue  # already merged into this branch: it brings nothing new
            report = Branch(ref, str(commit.short_id),
                            str(base)[:7] if base is not None else None)
            report.collisions = self._collisions(commit, base)
            prediction.branches.append(report)
        return prediction

    def _collisions(self, theirs: pygit2.Commit, base_id: pygit2.Oid | None) -> list[Collision]:
        import pygit2

        from gitmig.git.objects import subtree

        base = self.repo[base_id].peel(pygit2.Commit) if base_id is not None else None
        out = []
        for app, folder in self.folders.items():
            b = subtree(base.tree, folder) if base is not None else None
            o = subtree(self.head.tree, folder)
            t = subtree(theirs.tree, folder)
            if _same(o, b) or _same(t, b):
                continue  # one side adds nothing here
            key = (app, str(base_id))
            if key not in self._ours:
                self._ours[key] = _added(b, o)
            ours = dict(self._ours[key])
            their = _added(b, t)
            for name in [n for n in ours if their.get(n) == ours[n]]:
                del ours[name], their[name]  # the same file on both sides: no conflict
            if not ours or not their:
                continue
            mine = self._touches(ours.items())
            other = self._touches(their.items())
            out.append(Collision(
                app, tuple(sorted(ours)), tuple(sorted(their)),
                tuple(sorted(mine.tables & other.tables)), tuple(mine.clashes(other)),
            ))
        return out

    def _touches(self, files: Iterable[tuple[str, pygit2.Oid]]) -> Touches:
        import pygit2

        total = Touches()
        for _, oid in files:
            blob = self.repo[oid]
            total = total | touches(blob.data if isinstance(blob, pygit2.Blob) else b"")
        return total



def _same(a: pygit2.Tree | None, b: pygit2.Tree | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.id == b.id


def _added(base: pygit2.Tree | None, side: pygit2.Tree | None) -> dict[str, pygit2.Oid]:
    """Migrations (name -> blob id) that `side` has and `base` has not, by a tree diff."""
    import pygit2

    if side is None:
        return {}
    if base is None:
        return {str(e.name)[:-3]: e.id for e in side
                if isinstance(e, pygit2.Blob) and FILE_RE.match(str(e.name))}
    out = {}
    for delta in base.diff_to_tree(side).deltas:
        path = delta.new_file.path
        if delta.status == pygit2.enums.DeltaStatus.ADDED and "/" not in path \
                and FILE_RE.match(path):
            out[path[:-3]] = delta.new_file.id
    return out
