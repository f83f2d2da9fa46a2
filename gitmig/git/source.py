"""Where makemigrations reads the models and migrations: the working tree, the index
(`--staged`) or a commit (`--rev REV`).

Whatever the source, new files are written into the working tree's migrations folders,
numbered and parented after the source's migrations. That is only right when the working
tree's migrations are the source's, so a source other than the working tree refuses to
write next to migrations that differ from its own. Models and migrations of the index or
a commit are imported in a child process (gitmig.git.snapshot); this process only parses them.

Each source also says where its models came from, for the header of the files written
from them: `from the models at 3f2a1c9 (with staged changes)`. The text depends on the
repository's content only (no clock), so written files stay deterministic.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.project import shown_path
from gitmig.migrations.graph import MigrationFile, MigrationGraph

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject, Snapshot
    from gitmig.schema.state import SchemaState

WORKING_TREE_ORIGIN = "the models in the working tree"


class Written(Protocol):
    """What a source needs to know of a migration about to be written."""

    app: str
    parents: list[str]


class Source:
    """The working tree: what makemigrations has always read."""

    label = "the working tree"

    def __init__(self, config: Config) -> None:
        self.config = config

    @cached_property
    def graph(self) -> MigrationGraph:
        from gitmig.migrations.loader import load_graph

        return load_graph(self.config)

    def states(self) -> tuple[SchemaState, SchemaState]:
        """(the schema the migrations replay to, the schema the models declare)."""
        from gitmig.migrations.replay import Replayer
        from gitmig.schema.models import models_state

        before = Replayer(self.graph).state()
        return before, models_state(self.config)

    @cached_property
    def origin(self) -> str:
        """`the models at 3f2a1c9`, with `(with working tree changes)` when the models
        files differ from HEAD's; outside a repository (or before the first commit), the
        working tree."""
        from gitmig.git.snapshot import GitProject

        try:
            project = GitProject(self.config)
        except GitmigError:
            return WORKING_TREE_ORIGIN
        head = _head(project.repo)
        if head is None:
            return WORKING_TREE_ORIGIN
        at = f"the models at {head.short_id}"
        try:
            changed = models_differ(project.revision(str(head.id)), project.worktree())
        except GitmigError:  # e.g. HEAD's pyproject.toml does not parse: not the same
            changed = True
        return f"{at} (with working tree changes)" if changed else at

    def refuse_unless_writable(self, new: Sequence[Written]) -> None:
        """The working tree's own migrations are what the new files follow: always fine."""


class SnapshotSource(Source):
    """The index or a revision: models and migrations read from git."""

    def __init__(self, config: Config, project: GitProject, snapshot: Snapshot) -> None:
        super().__init__(config)
        self.project = project
        self.snapshot = snapshot
        self.label = snapshot.described
        self._check_layout()

    def _check_layout(self) -> None:
        here = self.project.worktree().layout.apps
        there = self.snapshot.layout.apps
        for label, app in here.items():
            other = there.get(label)
            if other is not None and other.migrations != app.migrations:
                raise GitmigError(
                    f"app {label!r} keeps its migrations in {other.migrations}/ in "
                    f"{self.label} but in {app.migrations}/ in the working tree; run "
                    "makemigrations without --staged/--rev, or make the configurations agree"
                )

    @cached_property
    def graph(self) -> MigrationGraph:
        return self.snapshot.graph()

    def states(self) -> tuple[SchemaState, SchemaState]:
        models, replayed = self.snapshot.states(replay=True)
        assert replayed is not None
        return replayed, models

    @cached_property
    def origin(self) -> str:
        from gitmig.git.snapshot import INDEX

        repo = self.project.repo
        if self.snapshot.kind == INDEX:
            head = _head(repo)
            if head is None:
                return "the staged models (no commits yet)"
            at = f"the models at {head.short_id}"
            try:
                changed = models_differ(self.project.revision(str(head.id)), self.snapshot)
            except GitmigError:
                changed = True
            return f"{at} (with staged changes)" if changed else at
        if self.snapshot.commit is not None:
            commit = repo[self.snapshot.commit]
            return f"the models at {commit.short_id}"
        assert self.snapshot.tree is not None
        return f"the models of tree {self.snapshot.tree.short_id}"

    def refuse_unless_writable(self, new: Sequence[Written]) -> None:
        """Refuse when the working tree's migrations differ from the snapshot's in an app
        the new files are numbered in or point to: the numbers or parents would be wrong."""
        from gitmig.migrations.loader import parse_parent, read_folder

        apps = {m.app for m in new}
        apps |= {parse_parent(p, m.app)[0] for m in new for p in m.parents}
        for app in sorted(apps):
            theirs = {f.name: f for f in self.graph.app_nodes(app)}
            ours = {f.name: f for f in read_folder(app, self.config.apps[app].migrations)}
            self._compare(app, theirs, ours)

    def _compare(
        self, app: str, theirs: dict[str, MigrationFile], ours: dict[str, MigrationFile]
    ) -> None:
        from gitmig.git.snapshot import INDEX

        folder = self.config.apps[app].migrations
        staged = self.snapshot.kind == INDEX
        rev = shlex.quote(self.snapshot.label)
        where = "the index" if staged else self.label

        def paths(names: list[str]) -> str:
            return " ".join(shown_path(folder / f"{n}.py", quote=True) for n in names)

        only_ours = sorted(set(ours) - set(theirs))
        if only_ours:
            it = _it(only_ours)
            fix = f"stage {it} (git add {paths(only_ours)})" if staged else f"commit {it}"
            raise GitmigError(
                f"the working tree has {_files(only_ours)} of app {app!r} that {where} "
                f"lacks: {paths(only_ours)}; the new migration would be numbered and "
                f"parented as if {it} were not there. First {fix} or move {it} away"
            )
        only_theirs = sorted(set(theirs) - set(ours))
        if only_theirs:
            restore = f"git checkout {'' if staged else rev + ' '}-- {paths(only_theirs)}"
            raise GitmigError(
                f"{where} has {_files(only_theirs)} of app {app!r} that the working tree "
                f"lacks: {paths(only_theirs)}; the new migration would build on "
                f"{_it(only_theirs)}. First restore {_it(only_theirs)} with `{restore}`"
            )
        changed = sorted(n for n in ours if (ours[n].parents, ours[n].checksum)
                         != (theirs[n].parents, theirs[n].checksum))
        if changed:
            it = _it(changed)
            if staged:
                fix = (f"stage the working tree's version (git add {paths(changed)}) or "
                       f"restore the staged one (git checkout -- {paths(changed)})")
            else:
                fix = (f"commit the working tree's version, or restore the one in "
                       f"{self.snapshot.label} (git checkout {rev} -- {paths(changed)})")
            raise GitmigError(
                f"{_files(changed)} of app {app!r} "
                f"{'differs' if len(changed) == 1 else 'differ'} between {where} and the "
                f"working tree: {paths(changed)}; the new migration would build on a "
                f"different history. First {fix}"
            )


def open_source(config: Config, staged: bool = False, rev: str | None = None) -> Source:
    """The working tree, or the index (`staged`), or the revision `rev`."""
    if not staged and rev is None:
        return Source(config)
    from gitmig.git.snapshot import GitProject

    what = "the index" if staged else f"revision {rev!r}"
    try:
        project = GitProject(config)
    except GitmigError as exc:
        raise GitmigError(f"cannot read {what}: {exc.message}") from None
    snapshot = project.index() if staged else project.revision(str(rev))
    return SnapshotSource(config, project, snapshot)


def models_differ(a: Snapshot, b: Snapshot) -> bool:
    """Whether any file that importing the models reads differs between two snapshots
    (the models modules and the project modules they import, followed with ast)."""
    from gitmig.git.closure import import_closure

    paths = import_closure(a, a.layout) | import_closure(b, b.layout)
    return any(a.read(p) != b.read(p) for p in sorted(paths))


def _head(repo: pygit2.Repository) -> pygit2.Commit | None:
    import pygit2

    if repo.head_is_unborn:
        return None
    try:
        commit = repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError):
        return None
    return commit


def _files(names: list[str]) -> str:
    return "a migration" if len(names) == 1 else f"{len(names)} migrations"


def _it(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


