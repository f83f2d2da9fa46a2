"""What a set of migrations makes, as a catalog: run into a scratch database and read back.

Comparing database to database, rather than rendered DDL with reflected text, means the
server itself spells both sides: a default `now()`, an index on `lower(title)`, `int4`
for INTEGER come out the same on both, so a database migrated by gitmig shows no drift.

The catalog is remembered (gitmig.cache), keyed by the server (its kind, version and
URL without the password or the database name: a scratch database is made fresh on the
server, whatever database it stands for, so a fleet of many databases or schemas on one
server runs one scratch database per set of applied migrations), the migrations in
order with their checksums and the bytes of their files: the same migrations on the
same server make the same catalog. `migrate` also remembers the catalog it leaves
behind when the database had no drift before it ran (see `remember`), so the next
migrate need not run a scratch database at all.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from gitmig import cache
from gitmig.config import Config
from gitmig.db.catalog import Catalog, read_catalog
from gitmig.db.connection import connect, display_url
from gitmig.db.executor import Executor, project_on_path
from gitmig.db.scratch import scratch_database
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationGraph
from gitmig.migrations.plan import Step

_built = [0]  # scratch databases this process has filled (see `built`)


def built() -> int:
    """How many expected catalogs this process built in a scratch database (not from the
    cache): a fleet's drift says how many it needed."""
    return _built[0]


def expected_catalog(
    config: Config, graph: MigrationGraph, keys: Collection[Key], url: str,
    scratch_url: str | None = None,
) -> Catalog:
    """The catalog the migrations `keys` make (in the graph's order) on a database of
    the kind at `url`; the scratch database is dropped afterwards."""
    wanted = set(keys)
    scope = _scope(config, graph, wanted, url)
    if scope is not None:
        remembered = cache.load("expected-catalog", scope)
        if remembered is not None:
            return dict(remembered)
    steps = [Step(k) for k in graph.order() if k in wanted]
    executor = Executor(graph)
    prepared = executor.prepare(steps, set())
    _built[0] += 1
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
        catalog = read_catalog(conn)
    if scope is not None:
        cache.store("expected-catalog", scope, catalog)
    return catalog


def remember(config: Config, graph: MigrationGraph, keys: Collection[Key], url: str,
             catalog: Catalog) -> None:
    """`catalog` is what the migrations `keys` make on the server of `url`: the live
    database after a migrate that began with no drift (equal schemas, changed by the
    same migrations, stay equal). Not when it holds a table, type or sequence that
    `ignore_tables` hides: no migration made that, and without the setting it is
    unmanaged, as a scratch database shows."""
    if _hidden(config, catalog):
        return
    scope = _scope(config, graph, set(keys), url)
    if scope is not None:
        cache.store("expected-catalog", scope, catalog)


def _hidden(config: Config, catalog: Catalog) -> bool:
    from gitmig.db.compare import ignored

    patterns = list(config.ignore_tables)
    return bool(patterns) and any(
        ignored(name, patterns) and not ignored(name, ())
        for kind in ("tables", "types", "sequences") for name in catalog.get(kind) or {})


def _scope(config: Config, graph: MigrationGraph, keys: set[Key], url: str) -> str | None:
    ordered = [k for k in graph.order() if k in keys]
    if len(ordered) != len(keys):
        return None
    files = cache.files_digest([graph.nodes[k].path for k in ordered])
    if files is None or not cache.enabled():
        return None
    from gitmig.db.backends import backend_for

    with connect(url, config.timeouts) as conn:
        backend = backend_for(conn.dialect)
        version = backend.server_version(conn)
        like = backend.made_like(conn)  # MariaDB: the database's character set, collation
        name = conn.dialect.name
    return json.dumps({
        "server": [server_of(url), name, list(version)],
        "database": list(like),
        "migrations": [f"{a}.{n}:{graph.nodes[(a, n)].checksum}" for a, n in ordered],
        "files": files,
    })


def server_of(url: str) -> str:
    """The server of `url`, without the password nor the database (a SQLite file's
    scratch database is a file of its own: the file named does not matter)."""
    import sqlalchemy as sa

    from gitmig.db.connection import parse_url

    p = parse_url(url)
    server = sa.engine.URL.create(p.drivername, p.username, p.password, p.host, p.port,
                                  None, p.query)
    return display_url(server.render_as_string(hide_password=False))


def managed_tables(graph: MigrationGraph) -> set[str]:
    """Every table some app's migrations make (applied or not), as catalogs name them."""
    from gitmig.migrations.replay import Replayer

    state = Replayer(graph).state()
    return {t.name if t.schema is None else f"{t.schema}.{t.name}"
            for t in state.tables.values()}
