"""`gitmig migrate --fleet NAME`: the fleet's targets chosen, canaries first, then the rest.

Refusals (unknown fleet, bad shard, several latest migrations in an app) come before any
target is touched; a target's own failure is only reported (FleetReport), so one broken
tenant never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitmig.actions.migrate import Options
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.fleet import lastrun, shard, spec
from gitmig.fleet.runner import Result, Watcher, run
from gitmig.fleet.spec import Target


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
    targets = choose(config, name, shard_text)
    report = FleetReport(name, len(targets))
    watcher.begin(len(targets))
    first, rest = (targets[:canary], targets[canary:]) if canary else ([], targets)
    if first:
        report.results += run(config, first, options, jobs, watcher)
        if report.failed:
            report.skipped = rest
            rest = []
    report.results += run(config, rest, options, jobs, watcher)
    if not (options.plan or options.check):
        lastrun.record(config, name, report.results)
    return report
