"""`gitmig drift`: the live database against what its applied migrations make.

The applied migrations (the history table's rows, followed through `gitmig resolve`
renames) are run into a scratch database of the same kind (gitmig.db.expected); both
catalogs are read and compared (gitmig.db.compare). Read-only on the user's database:
nothing is written there, no lock is taken, a missing SQLite file is not created.
`status` and `migrate` ask the same question through `check`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from gitmig.config import Config
from gitmig.db.catalog import Catalog
from gitmig.db.compare import Comparison, Difference, compare, sort_key
from gitmig.migrations.graph import Key, MigrationGraph

EMPTY: Catalog = {"tables": {}, "types": {}, "sequences": {}}


@dataclass
class DriftReport:
    database: str  # printable URL
    applied: int = 0  # migrations replayed
    differences: list[Difference] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    not_replayed: list[Key] = field(default_factory=list)  # applied, but no file here

    @property
    def drifted(self) -> bool:
        return bool(self.differences)

    def lines(self) -> list[str]:
        return [d.line() for d in self.differences]

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "applied_migrations": self.applied,
            "drift": [d.as_json() for d in self.differences],
            "unmanaged_tables": self.unmanaged,
            "not_replayed": [f"{a}.{n}" for a, n in self.not_replayed],
            "drifted": self.drifted,
        }


def drift(config: Config, database: str | None = None,
          scratch_url: str | None = None) -> DriftReport:
    from gitmig.db.connection import connect, database_missing, display_url
    from gitmig.migrations.loader import load_graph

    graph = load_graph(config)
    url = config.database_url(database)
    if database_missing(url):
        return DriftReport(display_url(url))
    with connect(url, config.timeouts) as conn:
        applied, actual = read_live(conn, graph)
    return check(config, graph, url, applied, actual, scratch_url)


def read_live(conn: Any, graph: MigrationGraph) -> tuple[list[Key], Catalog]:
    """The applied migrations (under their current names) and the live catalog."""
    from gitmig.db.catalog import read_catalog
    from gitmig.db.history.recorder import Recorder
    from gitmig.migrations import plan as plans

    recorder = Recorder(conn)
    rows = recorder.applied() if recorder.has_table() else {}
    renames = plans.renamed(graph, {k: a.checksum for k, a in rows.items()})
    applied = [renames.get(k, k) for k in rows]
    return applied, read_catalog(conn)


def check(config: Config, graph: MigrationGraph, url: str, applied: Collection[Key],
          actual: Catalog, scratch_url: str | None = None) -> DriftReport:
    """Compare `actual` with what the `applied` migrations make on a scratch database."""
    from gitmig.db.connection import display_url
    from gitmig.db.expected import expected_catalog, managed_tables

    replayable = [k for k in applied if k in graph.nodes]
    expected = (expected_catalog(config, graph, replayable, url, scratch_url)
                if replayable else EMPTY)
    return against(config, graph, display_url(url), applied, actual, expected,
                   managed_tables(graph))


def against(config: Config, graph: MigrationGraph, shown: str, applied: Collection[Key],
            actual: Catalog, expected: Catalog, managed: Collection[str]) -> DriftReport:
    """Compare `actual` with the `expected` catalog of the `applied` migrations, already
    built (a fleet builds it once for every target with the same migrations)."""
    report = DriftReport(shown, applied=sum(1 for k in applied if k in graph.nodes))
    report.not_replayed = sorted(k for k in applied if k not in graph.nodes)
    comparison = compare(expected, actual, managed=managed, ignore=config.ignore_tables)
    _fill(report, comparison)
    return report


def _fill(report: DriftReport, comparison: Comparison) -> None:
    report.differences = sorted(comparison.differences, key=sort_key)
    report.unmanaged = comparison.unmanaged
