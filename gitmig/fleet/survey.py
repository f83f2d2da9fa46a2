"""Where every target of a fleet stands: showmigrations' matrix, status, `migrate --check`.

Read-only: no lock, no history table or schema or SQLite file created. Per target and
app: the latest applied migration, how many are pending, a migration interrupted
halfway (MariaDB/MySQL), and whether the target could be reached at all; the failure of
the fleet's last run on this machine comes from its note (gitmig.fleet.lastrun).
With `drift`, each reachable target's drift too (gitmig.fleet.drift: a catalog read per
target, one scratch database per server and set of applied migrations), only when
asked for, as it costs far more than reading history tables.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.fleet import lastrun
from gitmig.fleet.spec import Target
from gitmig.migrations.graph import Key, MigrationGraph


@dataclass(frozen=True)
class AppCell:
    latest: str | None  # the latest applied migration of the app, in graph order
    pending: int
    interrupted: str | None = None  # a migration whose run stopped halfway


@dataclass
class Row:
    target: Target
    apps: dict[str, AppCell] = field(default_factory=dict)
    unreachable: str | None = None  # why the target could not be read
    last_failure: str | None = None  # the fleet's last run on this machine failed here
    unknown: list[str] = field(default_factory=list)  # applied rows without a file
    drift: list[str] | None = None  # the drift's lines when asked for ([]: none)
    drift_error: str | None = None  # why its drift could not be checked

    @property
    def pending(self) -> int:
        return sum(c.pending for c in self.apps.values())

    @property
    def interrupted(self) -> list[str]:
        return [c.interrupted for c in self.apps.values() if c.interrupted]

    @property
    def state(self) -> str:
        if self.unreachable is not None:
            return "unreachable"
        if self.interrupted:
            return "interrupted"
        if self.pending:
            return "failed" if self.last_failure else "behind"
        if self.drift:
            return "drifted"
        return "up to date"

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.label,
            "dialect": self.target.dialect,
            "schema": self.target.schema,
            "state": self.state,
            "pending": self.pending,
            "apps": {app: {"latest": c.latest, "pending": c.pending,
                           "interrupted": c.interrupted} for app, c in self.apps.items()},
            "unreachable": self.unreachable,
            "last_failure": self.last_failure,
            "applied_without_file": self.unknown,
            "drift": self.drift,  # None: not asked for (--drift), or not checked
            "drift_error": self.drift_error,
        }


def survey(config: Config, name: str, targets: list[Target], graph: MigrationGraph,
           jobs: int = 4, drift: bool = False) -> list[Row]:
    """One row per target, in the fleet's order; targets are read `jobs` at a time.
    `drift`: each reachable target's drift as well."""
    failed = lastrun.failures(config, name)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        rows = list(pool.map(lambda t: _row(config, graph, t), targets))
    for row in rows:
        row.last_failure = failed.get(row.target.key)
    if drift:
        from gitmig.fleet.drift import drift_targets

        reachable = [r for r in rows if r.unreachable is None]
        found, _ = drift_targets(config, graph, [r.target for r in reachable], jobs)
        for row, result in zip(reachable, found, strict=True):
            row.drift = result.report.lines() if result.report is not None else None
            row.drift_error = result.error
    return rows


def _row(config: Config, graph: MigrationGraph, target: Target) -> Row:
    from gitmig.db.connection import connect, database_missing
    from gitmig.db.history.recorder import Recorder

    row = Row(target)
    applied: set[Key] = set()
    unfinished: dict[str, str] = {}
    try:
        if not database_missing(target.url):
            with connect(target.url, config.timeouts, target.schema) as conn:
                recorder = Recorder(conn)
                applied = set(recorder.applied())
                for u in recorder.unfinished():
                    unfinished.setdefault(u.app, u.name)
                conn.rollback()
    except GitmigError as exc:
        row.unreachable = exc.render()
        return row
    order = graph.order()
    for app in config.apps:
        keys = [k for k in order if k[0] == app]
        done = [k for k in keys if k in applied]
        row.apps[app] = AppCell(done[-1][1] if done else None, len(keys) - len(done),
                                unfinished.get(app))
    row.unknown = sorted(f"{a}.{n}" for a, n in applied if (a, n) not in graph.nodes)
    return row
