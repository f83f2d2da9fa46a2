"""`gitmig lint`: which migrations to judge, the models the running code has, the rules.

The migrations judged are those this branch adds since its merge base with another ref
(default: the upstream branch, else main), those not applied to the database, or all.
The code running in production is the merge base's: its models are imported from git in
a child process (as `gitmig diff REV` does), only when a rule needs them, and the model
class mapping a table is found in the models' source, never imported here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.mergebase import default_ref, merge_base, running_base
from gitmig.lint.engine import judge, merged
from gitmig.lint.model import Finding, Migration
from gitmig.migrations.graph import Key, MigrationGraph
from gitmig.schema.state import SchemaState

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject, Snapshot

DATABASES = ("sqlite", "postgresql", "mysql")


@dataclass
class LintResult:
    scope: str  # what was judged, for the report's first line
    databases: list[str]
    migrations: list[Migration]
    findings: list[Finding] = field(default_factory=list)
    running: str | None = None  # the revision whose models the running code has

    @property
    def shown(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed is None]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.shown if f.severity == "error"]


class BaseModels:
    """The models at a revision, read from git only when first asked for."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.label = (snapshot.commit or snapshot.label)[:7]

    @cached_property
    def _state(self) -> SchemaState:
        return self.snapshot.models_state(missing_is_empty=True)

    def state(self) -> SchemaState:
        return self._state

    @cached_property
    def _classes(self) -> dict[str, str]:
        """table name -> class name, from `__tablename__ = "..."` in the models' source."""
        from gitmig.git.snapshot import repo_path

        out: dict[str, str] = {}
        layout = self.snapshot.layout
        for app in layout.apps.values():
            rel = app.models.replace(".", "/")
            for base in layout.bases:
                for candidate in (f"{rel}.py", f"{rel}/__init__.py"):
                    source = self.snapshot.read(repo_path(base, candidate))
                    if source is not None:
                        out.update(_tablenames(source, f"{app.models}"))
        return out

    def model_of(self, table_key: str) -> str | None:
        return self._classes.get(table_key.rpartition(".")[2])


def _tablenames(source: bytes, module: str) -> dict[str, str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "__tablename__" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str)):
                    out[stmt.value.value] = f"{module}.{node.name}"
    return out


def databases_for(config: Config, dialects: tuple[str, ...], database: str | None) -> list[str]:
    """--dialect as given, else the configured database's, else all three."""
    if dialects:
        return list(dict.fromkeys(dialects))
    import os

    from gitmig.config import DATABASE_ENV
    from gitmig.db.backends import family

    url = database or os.environ.get(DATABASE_ENV) or config.database
    if not url:
        return list(DATABASES)
    import sqlalchemy as sa

    try:
        name = family(sa.engine.make_url(url).get_backend_name())
    except Exception:
        raise GitmigError("the database URL cannot be read; give --dialect") from None
    return [name] if name in DATABASES else list(DATABASES)


def _project(config: Config) -> GitProject:
    from gitmig.git.snapshot import GitProject

    return GitProject(config)


def lint(
    config: Config,
    apps: tuple[str, ...] = (),
    *,
    against: str | None = None,
    unapplied: bool = False,
    everything: bool = False,
    dialects: tuple[str, ...] = (),
    database: str | None = None,
    keys: list[Key] | None = None,
    running_as: type[BaseModels] | None = None,
) -> LintResult:
    """Judge the chosen migrations (`keys`, when the caller knows them) on each database.
    `running_as`: the class that reads the running code's models (gitmig.actions.lintcache
    passes one that refuses to start a child process)."""
    from gitmig.migrations.loader import load_graph

    if sum([against is not None, unapplied, everything]) > 1:
        raise GitmigError("give one of --against, --unapplied and --all")
    selected = [a.label for a in config.select(apps)]
    graph = load_graph(config)
    running: BaseModels | None = None
    project = None
    if keys is not None:
        scope = "the new migrations"
    elif unapplied:
        keys = _unapplied(config, graph, database)
        scope = "the migrations not applied to the database"
    elif everything:
        keys = [k for k in graph.order()]
        scope = "every migration"
    else:
        project = _project(config)
        ref = against or default_ref(project)
        base = merge_base(project, ref)
        keys = _added_since(project, graph, base)
        scope = (f"the migrations added since {base[:7]} (merge base with {ref})" if base
                 else "every migration (this branch has no commits yet)")
        if base is not None:
            running = BaseModels(project.revision(base))
    if running is None and not everything:
        running = _running_default(config, project, running_as or BaseModels)
    wanted = set(keys) & {k for k in graph.nodes if k[0] in selected}
    migrations = _migrations(config, graph, wanted)
    result = LintResult(scope, databases_for(config, dialects, database), migrations,
                        running=running.label if running else None)
    found = []
    for name in result.databases:
        found += judge(migrations, name, settings=config.lint, running=running,
                       unreleased=not everything)
    order = {(m.app, m.name): i for i, m in enumerate(migrations)}
    result.findings = sorted(merged(found), key=lambda f: (order[(f.app, f.migration)],
                                                          not f.operation, f.line or 0))
    return result


def _running_default(config: Config, project: GitProject | None,
                     running_as: type[BaseModels] = BaseModels) -> BaseModels | None:
    """For --unapplied: the merge base with the default ref, when git can tell."""
    try:
        project = project or _project(config)
    except GitmigError:
        return None
    base = running_base(project)
    return running_as(project.revision(base)) if base else None


def _added_since(project: GitProject, graph: MigrationGraph, base: str | None) -> list[Key]:
    if base is None:
        return graph.order()
    snapshot = project.revision(base)
    known: set[Key] = set()
    for app in snapshot.layout.apps:
        known |= {f.key for f in snapshot.migration_files(app)}
    return [k for k in graph.order() if k not in known]


def _unapplied(config: Config, graph: MigrationGraph, database: str | None) -> list[Key]:
    from gitmig.actions.showmigrations import read_history

    applied = read_history(config, database).applied
    return [k for k in graph.order() if k not in applied]


def _migrations(config: Config, graph: MigrationGraph, wanted: set[Key]) -> list[Migration]:
    """The chosen migrations in apply order, each with the state before it."""
    from gitmig.migrations import statecache
    from gitmig.migrations.options import options
    from gitmig.migrations.replay import Replayer

    if not wanted:
        return []
    replayer = Replayer(graph)
    order = graph.order()
    # The state before the first chosen migration from the caches when a run left it
    # (Replayer.prefix), not by importing every file before it; remembered for the next.
    first = next((i for i, key in enumerate(order) if key in wanted), len(order))
    state = replayer.prefix(order[:first])
    if first and replayer.imported():
        statecache.remember_prefix_state(graph, order[:first], state)
    out = []
    for key in order[first:]:
        if key in wanted:
            f = graph.nodes[key]
            own = options(f.path)
            out.append(Migration(
                f.app, f.name, f.path, tuple(replayer.operations(key)), state,
                atomic=own.atomic,
                lock_timeout=(own.lock_timeout if own.lock_timeout is not None
                              else config.safe.lock_timeout),
            ))
        if len(out) == len(wanted):
            break
        state = replayer.apply(state, key)
    return out
