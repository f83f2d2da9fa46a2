"""`gitmig drift --fleet NAME`: every target compared with what its applied migrations make.

Two rounds over the fleet's worker pool (gitmig.fleet.runner.each): first every target's
applied migrations and live catalog are read (read-only, as `gitmig drift` reads one);
then one scratch database is run per server and set of applied migrations — not one per
target: a fleet of a thousand tenants at the same migration on one server builds its
expected catalog once (and gitmig.db.expected remembers it for the next run). The
comparisons are made here, in the parent. A target that cannot be read is reported as
unreachable; it never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.fleet.spec import Target
from gitmig.migrations.graph import Key, MigrationGraph

if TYPE_CHECKING:
    from gitmig.actions.drift import DriftReport
    from gitmig.db.catalog import Catalog


@dataclass
class TargetDrift:
    target: Target
    report: DriftReport | None = None
    error: str | None = None  # unreachable, or its expected catalog could not be built

    @property
    def drifted(self) -> bool:
        return self.report is not None and self.report.drifted

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"target": self.target.label, "schema": self.target.schema,
                                "dialect": self.target.dialect, "unreachable": self.error}
        if self.report is not None:
            data.update({k: v for k, v in self.report.as_json().items() if k != "database"})
        else:
            data["drifted"] = None
        return data


@dataclass
class FleetDrift:
    name: str
    results: list[TargetDrift] = field(default_factory=list)
    scratch_built: int = 0  # expected catalogs run in a scratch database (not cached)

    @property
    def drifted(self) -> list[TargetDrift]:
        return [r for r in self.results if r.drifted]

    @property
    def unreachable(self) -> list[TargetDrift]:
        return [r for r in self.results if r.error is not None]


@dataclass
class _Live:
    """What a worker read from one target."""

    applied: list[Key] = field(default_factory=list)
    catalog: Catalog | None = None
    error: str | None = None


def drift_fleet(config: Config, name: str, *, jobs: int = 1,
                shard_text: str | None = None) -> FleetDrift:
    from gitmig.fleet import shard
    from gitmig.fleet.migrate import choose
    from gitmig.migrations.loader import load_graph

    if jobs < 1:
        raise GitmigError(f"--jobs {jobs}: run at least one target at a time")
    if shard_text is not None:
        shard.parse(shard_text)  # a bad shard is refused before the fleet is read
    graph = load_graph(config)
    targets = choose(config, name, shard_text)
    results, built = drift_targets(config, graph, targets, jobs)
    return FleetDrift(name, results, built)


def drift_targets(config: Config, graph: MigrationGraph, targets: list[Target],
                  jobs: int) -> tuple[list[TargetDrift], int]:
    """Each target's drift, in the targets' order, and how many scratch databases ran."""
    from gitmig.actions.drift import EMPTY, against
    from gitmig.db.connection import display_url
    from gitmig.db.expected import managed_tables
    from gitmig.fleet.runner import each

    _warm(config, graph)
    lives = each(targets, lambda t: _read(config, graph, t), jobs,
                 lambda _t, why: _Live(error=why))
    order = graph.order()

    def group(target: Target, live: _Live) -> tuple[str, tuple[Key, ...]]:
        applied = set(live.applied)
        return _server(target.url), tuple(k for k in order if k in applied)

    groups: dict[tuple[str, tuple[Key, ...]], str] = {}  # → the URL of one of its targets
    for target, live in zip(targets, lives, strict=True):
        key = group(target, live)
        if live.error is None and key[1]:
            groups.setdefault(key, target.url)
    jobs_list = list(groups.items())
    built = each(jobs_list, lambda g: _build(config, graph, g[0][1], g[1]), jobs,
                 lambda _g, why: (None, why, 0))
    expected = {key: b for (key, _), b in zip(jobs_list, built, strict=True)}
    managed = managed_tables(graph)
    out = []
    for target, live in zip(targets, lives, strict=True):
        if live.error is not None or live.catalog is None:
            out.append(TargetDrift(target, error=live.error))
            continue
        key = group(target, live)
        catalog, error = (EMPTY, None) if not key[1] else expected[key][:2]
        if catalog is None:
            out.append(TargetDrift(target, error=error))
            continue
        out.append(TargetDrift(target, against(config, graph, display_url(target.url),
                                               live.applied, live.catalog, catalog, managed)))
    return out, sum(b[2] for b in built)


def _server(url: str) -> str:
    from gitmig.db.expected import server_of

    try:
        return server_of(url)
    except GitmigError:
        return url


def _read(config: Config, graph: MigrationGraph, target: Target) -> _Live:
    """One target's applied migrations and catalog; never raises, never writes."""
    from gitmig.actions.drift import EMPTY, read_live
    from gitmig.db.connection import connect, database_missing, scrub

    try:
        if database_missing(target.url):
            return _Live(catalog=dict(EMPTY))
        with connect(target.url, config.timeouts, target.schema) as conn:
            applied, catalog = read_live(conn, graph)
            conn.rollback()
        return _Live(applied, catalog)
    except GitmigError as exc:
        return _Live(error=exc.render())
    except Exception as exc:  # a driver's own failure: one line, secrets hidden
        return _Live(error=scrub(f"{type(exc).__name__}: {exc}", target.url))


def _build(config: Config, graph: MigrationGraph, keys: tuple[Key, ...],
           url: str) -> tuple[Catalog | None, str | None, int]:
    """The expected catalog of `keys` on the server of `url`: (catalog, error, scratch
    databases run for it: 0 when it came from the cache)."""
    from gitmig.db import expected
    from gitmig.db.connection import scrub

    before = expected.built()
    try:
        catalog = expected.expected_catalog(config, graph, keys, url)
    except GitmigError as exc:
        return None, exc.render(), expected.built() - before
    except Exception as exc:
        return None, scrub(f"{type(exc).__name__}: {exc}", url), expected.built() - before
    return catalog, None, expected.built() - before


def _warm(config: Config, graph: MigrationGraph) -> None:
    """Every migration file imported once before the workers fork (a broken one is
    refused here, before any target is read)."""
    import alembic.operations  # noqa: F401
    import alembic.runtime.migration  # noqa: F401

    import gitmig.db.history.recorder  # noqa: F401
    from gitmig.db.executor import Executor, project_on_path

    executor = Executor(graph)
    with project_on_path(config):
        for key in graph.order():
            executor.replayer.operations(key)
