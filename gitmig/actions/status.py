"""`gitmig status`: what needs doing, in one screen, as `git status` says it for files.

Five questions, each answered on its own so that one failing (models that do not import,
a database that cannot be reached) is a line of the report, not the end of it:

- model changes without a migration: the working tree, and what is staged (the index,
  judged as the pre-commit hook judges it);
- migrations not applied to the database;
- migrations applied to the database that this branch lacks (with where git has them);
- conflicts: an app with several latest migrations;
- applied migrations whose file changed since;
- drift: the database against what its applied migrations make (gitmig.actions.drift),
  and the tables no app manages.

Read-only: nothing is written, no lock is taken, a SQLite file is never created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.project import project_or_none
from gitmig.migrations.graph import Key, MigrationGraph

if TYPE_CHECKING:
    from gitmig.db.compare import Difference
    from gitmig.db.history.recorder import Applied
    from gitmig.git.missing import Missing
    from gitmig.git.snapshot import GitProject, Snapshot
    from gitmig.ops import Operation
    from gitmig.schema.state import SchemaState

CLEAN = "Nothing to do: models, migrations and the database agree."


@dataclass
class Report:
    branch: str | None = None  # `On branch main`; None outside a repository
    database: str | None = None  # printable URL
    database_error: str | None = None  # why the database's history could not be read
    changes: dict[str, list[Operation]] = field(default_factory=dict)
    staged: dict[str, list[Operation]] | None = None  # None: not a git repository
    unapplied: list[Key] | None = None  # None: the database could not be read
    missing: list[Missing] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    edited: list[Key] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    drift: list[Difference] | None = None  # None: not compared
    unmanaged: list[str] = field(default_factory=list)
    drift_error: str | None = None  # why the comparison could not be made

    @property
    def clean(self) -> bool:
        return not (self.database_error or self.changes or self.staged or self.unapplied
                    or self.missing or self.conflicts or self.edited or self.problems
                    or self.drift)

    def as_json(self) -> dict[str, Any]:
        from gitmig.actions.diff import kind_of

        def ops(changes: dict[str, list[Operation]]) -> dict[str, list[dict[str, Any]]]:
            return {app: [{"operation": type(op).__name__, "description": op.describe(),
                           "kind": kind_of(op), "destructive": op.destructive}
                          for op in operations]
                    for app, operations in changes.items()}

        return {
            "branch": self.branch,
            "database": {"url": self.database, "error": self.database_error},
            "model_changes": ops(self.changes),
            "staged_model_changes": None if self.staged is None else ops(self.staged),
            "unapplied": None if self.unapplied is None else [_label(k)
                                                              for k in self.unapplied],
            "applied_missing": [m.as_json() for m in self.missing],
            "conflicts": self.conflicts,
            "edited": [_label(k) for k in self.edited],
            "problems": self.problems,
            "drift": None if self.drift is None else [d.as_json() for d in self.drift],
            "unmanaged_tables": self.unmanaged,
            "drift_error": self.drift_error,
            "clean": self.clean,
        }


def status(config: Config, database: str | None = None) -> Report:
    report = Report()
    project = project_or_none(config)
    if project is not None:
        report.branch = _branch(project)
    graph = _graph(config, report)
    models: SchemaState | None = None
    if graph is not None:
        models = _working_tree_changes(config, graph, report)
        for app in config.apps:
            leaves = graph.leaves(app)
            if len(leaves) > 1:
                report.conflicts[app] = [n for _, n in leaves]
    if project is not None:
        _staged_changes(config, project, report, models)
    applied = _applied(config, database, report)
    if applied is not None and graph is not None:
        _history(config, graph, applied, report)
        _drift(config, graph, database, report)
    return report


def _drift(config: Config, graph: MigrationGraph, database: str | None,
           report: Report) -> None:
    """The drift check's answer, or the one line saying why there is none."""
    from gitmig.actions.drift import check, read_live
    from gitmig.db.connection import connect, database_missing

    try:
        url = config.database_url(database)
        if database_missing(url):
            return
        with connect(url, timeout=10) as conn:
            applied, actual = read_live(conn, graph)
        if any(k not in graph.nodes for k in applied):
            return  # said above: applied migrations this branch lacks
        found = check(config, graph, url, applied, actual)
    except GitmigError as exc:
        report.drift_error = exc.render()
        return
    report.drift = found.differences
    report.unmanaged = found.unmanaged


def _branch(project: GitProject) -> str:
    repo = project.repo
    if repo.head_is_unborn:
        target = str(repo.references["HEAD"].target).removeprefix("refs/heads/")
        return f"{target} (no commits yet)"
    if repo.head_is_detached:
        return f"(HEAD detached at {repo.head.peel().short_id})"
    return repo.head.shorthand


def _graph(config: Config, report: Report) -> MigrationGraph | None:
    from gitmig.migrations.loader import load_graph

    try:
        return load_graph(config)
    except GitmigError as exc:
        report.problems.append(f"the migrations do not load: {exc.render()}")
        return None


def _detect(before: SchemaState, after: SchemaState, apps: list[str]) -> dict[str, list[Any]]:
    from gitmig.actions.diff import ReportQuestioner
    from gitmig.migrations import autodetector

    detected = autodetector.detect(before, after, apps, ReportQuestioner())
    return {app: c.operations for app, c in detected.items() if c.operations}


def _working_tree_changes(
    config: Config, graph: MigrationGraph, report: Report
) -> SchemaState | None:
    """Model changes the working tree's migrations lack; returns the models' state."""
    from gitmig.db.executor import project_on_path
    from gitmig.migrations.replay import Replayer
    from gitmig.schema.models import models_state

    try:
        with project_on_path(config):
            replayed = Replayer(graph).state()
        models = models_state(config)
    except GitmigError as exc:
        report.problems.append(f"cannot compare the models with the migrations: "
                               f"{exc.render()}")
        return None
    report.changes = _detect(replayed, models, list(config.apps))
    return models


def _staged_changes(
    config: Config, project: GitProject, report: Report, models: SchemaState | None
) -> None:
    """What the next commit holds, judged as the pre-commit hook judges it. When the
    index holds what the working tree does (for every file that matters), the working
    tree's answer is the index's too, and no child process is needed."""
    from gitmig.git.closure import relevant

    report.staged = {}
    try:
        index = project.index()
        staged = project.staged_paths(index)
        if not staged or not relevant(index, index.layout, staged):
            return  # nothing staged that could change the models or migrations
        if models is not None and _same_project_files(index, project.worktree()):
            report.staged = dict(report.changes)
            return
        staged_models, replayed = index.states(replay=True)
    except GitmigError as exc:
        report.problems.append(f"cannot judge what is staged: {exc.render()}")
        return
    assert replayed is not None
    report.staged = _detect(replayed, staged_models, list(index.layout.apps))


def _same_project_files(a: Snapshot, b: Snapshot) -> bool:
    from gitmig.git.closure import import_closure
    from gitmig.git.snapshot import repo_path
    from gitmig.migrations.loader import FILE_RE

    if a.layout != b.layout:
        return False
    paths = import_closure(a, a.layout) | import_closure(b, b.layout) | {a.layout.pyproject}
    for app in a.layout.apps.values():
        for s in (a, b):
            paths |= {repo_path(app.migrations, n) for n in s.listdir(app.migrations)
                      if FILE_RE.match(n)}
    return all(a.read(p) == b.read(p) for p in sorted(paths))


def _applied(config: Config, database: str | None, report: Report) -> dict[Key, Applied] | None:
    from gitmig.db.connection import connect, database_missing, display_url

    try:
        url = config.database_url(database)
        report.database = display_url(url)
        if database_missing(url):
            return {}
        from gitmig.db.history.recorder import Recorder

        with connect(url, timeout=10) as conn:
            return Recorder(conn).applied()
    except GitmigError as exc:
        report.database_error = exc.message
        return None


def _history(
    config: Config, graph: MigrationGraph, applied: dict[Key, Applied], report: Report
) -> None:
    from gitmig.actions.migrate import check_history
    from gitmig.git.missing import applied_missing
    from gitmig.migrations.loader import upgrade_recorded

    applied = upgrade_recorded(graph, applied)[0]  # rows of an older gitmig: see migrate
    if graph.has_squashes:
        from gitmig.actions.migrate import as_squashed

        graph, applied = as_squashed(graph, applied)
    try:
        check_history(config, graph, applied)
    except GitmigError as exc:
        report.problems.append(exc.render())
    report.unapplied = [k for k in graph.order() if k not in applied]
    report.edited = [k for k, row in applied.items()
                     if k in graph.nodes and graph.nodes[k].checksum != row.checksum]
    try:
        report.missing = applied_missing(config, graph, applied)
    except GitmigError as exc:
        report.problems.append(f"cannot look for missing migrations in git: {exc.render()}")


def _label(key: Key) -> str:
    return f"{key[0]}.{key[1]}"
