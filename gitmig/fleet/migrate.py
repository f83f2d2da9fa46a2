"""`gitmig migrate --fleet NAME`: the fleet's targets chosen, canaries first, then the rest.

Refusals (unknown fleet, bad shard, several latest migrations in an app) come before any
target is touched; a target's own failure is only reported (FleetReport), so one broken
tenant never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitmig.actions.migrate import Options
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.fleet import lastrun, shard, spec
from gitmig.fleet.runner import Result, Watcher, run
from gitmig.fleet.spec import Target

if TYPE_CHECKING:
    from gitmig.db.executor import Executor
    from gitmig.migrations.graph import MigrationGraph


@dataclass
class FleetReport:
    name: str
    total: int  # targets in the fleet (or the shard)
    results: list[Result] = field(default_factory=list)
    skipped: list[Target] = field(default_factory=list)  # after a failed canary

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    @property
    def migrated(self) -> list[Result]:
        return [r for r in self.results if r.ok and r.applied]


def choose(config: Config, name: str, shard_text: str | None) -> list[Target]:
    """The fleet's targets, or this shard's slice of them."""
    targets = spec.targets(config, name)
    if shard_text is not None:
        index, count = shard.parse(shard_text)
        targets = shard.select(targets, index, count)
    return targets


def migrate_fleet(config: Config, name: str, options: Options, *, jobs: int = 1,
                  canary: int = 0, shard_text: str | None = None,
                  watcher: Watcher | None = None) -> FleetReport:
    from gitmig.migrations.loader import load_graph

    watcher = watcher or Watcher()
    if jobs < 1:
        raise GitmigError(f"--jobs {jobs}: run at least one target at a time")
    if canary < 0:
        raise GitmigError(f"--canary {canary}: give a number of targets, 0 or more")
    if options.database:
        raise GitmigError("--fleet and --database name different databases; give one")
    if shard_text is not None:
        shard.parse(shard_text)  # a bad shard is refused before the fleet is read
    graph = load_graph(config)  # the same refusals as migrate, once, before any target
    if options.app:
        config.app(options.app)
        if options.target is not None:
            from gitmig.migrations import plan

            plan.resolve_target(graph, options.app, options.target)
    for app in [options.app] if options.app else list(config.apps):
        graph.leaf(app)
    executor = _imported(config, graph)
    targets = choose(config, name, shard_text)
    _warm(targets)
    report = FleetReport(name, len(targets))
    watcher.begin(len(targets))
    first, rest = (targets[:canary], targets[canary:]) if canary else ([], targets)
    if first:
        report.results += run(config, first, options, jobs, watcher, executor)
        if report.failed:
            report.skipped = rest
            rest = []
    report.results += run(config, rest, options, jobs, watcher, executor)
    if not (options.plan or options.check):
        lastrun.record(config, name, report.results)
    return report


def _imported(config: Config, graph: MigrationGraph) -> Executor:
    """Every migration file imported once, here: a broken file is refused before any
    target is touched, and the workers (forked) share what was imported."""
    import alembic.operations  # noqa: F401  (imported once, before the workers fork)
    import alembic.runtime.migration  # noqa: F401

    from gitmig.db.executor import Executor, project_on_path

    executor = Executor(graph)
    with project_on_path(config):
        for key in graph.order():
            executor.replayer.operations(key)
    return executor


def _warm(targets: list[Target]) -> None:
    """What every target's run would import first: pygit2 (the commit recorded with each
    migration) and the targets' dialects, once in the parent instead of once per worker."""
    import contextlib

    import alembic.ddl  # noqa: F401

    import gitmig.db.ddl  # noqa: F401
    import gitmig.db.history.recorder  # noqa: F401
    import gitmig.db.lock  # noqa: F401
    from gitmig.db.backends import backend_for
    from gitmig.db.connection import parse_url

    with contextlib.suppress(ImportError):
        import pygit2  # noqa: F401
    for url in {t.url for t in targets}:
        with contextlib.suppress(Exception):  # a target's own error is its run's to report
            dialect = parse_url(url).get_dialect()
            backend_for(dialect.name)
            dialect.import_dbapi()
