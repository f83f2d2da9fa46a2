"""What a set of migrations makes, as a catalog: run into a scratch database and read back.

Comparing database to database, rather than rendered DDL with reflected text, means the
server itself spells both sides: a default `now()`, an index on `lower(title)`, `int4`
for INTEGER come out the same on both, so a database migrated by gitmig shows no drift.
"""

from __future__ import annotations

from collections.abc import Collection

from gitmig.config import Config
from gitmig.db.catalog import Catalog, read_catalog
from gitmig.db.connection import connect
from gitmig.db.executor import Executor, project_on_path
from gitmig.db.scratch import scratch_database
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationGraph
from gitmig.migrations.plan import Step


def expected_catalog(
    config: Config, graph: MigrationGraph, keys: Collection[Key], url: str,
    scratch_url: str | None = None,
) -> Catalog:
    """The catalog the migrations `keys` make (in the graph's order) on a database of
    the kind at `url`; the scratch database is dropped afterwards."""
    wanted = set(keys)
    steps = [Step(k) for k in graph.order() if k in wanted]
    executor = Executor(graph)
    prepared = executor.prepare(steps, set())
    with scratch_database(url, scratch_url, config.timeouts) as scratch, \
            project_on_path(config), connect(scratch, config.timeouts) as conn:
        try:
            executor.run(conn, prepared)
        except GitmigError as exc:
            raise GitmigError(
                "running the applied migrations into a scratch database (to learn what "
                f"they make) failed: {exc.message}",
                hint="fix the migration, or compare with --scratch-url URL of a database "
                     "where it runs",
            ) from None
        return read_catalog(conn)


def managed_tables(graph: MigrationGraph) -> set[str]:
    """Every table some app's migrations make (applied or not), as catalogs name them."""
    from gitmig.migrations.replay import Replayer

    state = Replayer(graph).state()
    return {t.name if t.schema is None else f"{t.schema}.{t.name}"
            for t in state.tables.values()}
