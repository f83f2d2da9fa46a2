"""`gitmig migrate` on a SQLite file, replaying SQL a previous full run recorded.

Importing SQLAlchemy, Alembic and the operations costs about as much as Django's whole
`migrate`; a deploy that applies the migration a test or staging database already got
needs none of them. This path runs only when it is certain to do what the full path
(gitmig.actions.migrate) would do, statement for statement:

- the history is settled as for gitmig.actions.uptodate (no upgrade, rename, squash row
  or warning pending), read again under the same migration lock the full path takes
  (gitmig.db.sqlitelock; if another holds it, the full path waits and says so);
- every migration of the plan has recorded statements (gitmig.db.sqlrecord: keyed by
  the applied migrations before it, itself, the URL, SQLite's version, gitmig's,
  SQLAlchemy's and Alembic's code, ignore_tables and the timeouts), and the catalog read
  now is the one a full run found with these migrations applied and no drift, which is
  the drift check;
- the migrations run as the full path batches them (gitmig.db.sqlitebatch): each in a
  savepoint with its history row (the row's values as the SQLAlchemy path writes them),
  committed every half second and at the end, its "Applying ... OK" line printed once
  its savepoint is released; a migration is whole or absent, a kill loses at most the
  open batch, a Ctrl-C never takes back a migration printed OK.

A database with no migration applied yet (no file, or nothing in it but gitmig's empty
history table) is gitmig.actions.warmempty's: the whole plan recorded from empty.

Anything else, or a statement that fails, hands over to the full path, which starts from
the history as the committed migrations left it, and reports and refuses as usual.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from gitmig.actions.uptodate import settled_graph
from gitmig.config import Config
from gitmig.db import sqlitebatch, sqlrecord
from gitmig.db.history import sqlitereader
from gitmig.db.history.rows import Applied
from gitmig.db.sqlitelock import HandOver, locked_file
from gitmig.errors import GitmigError
from gitmig.migrations import plan
from gitmig.migrations.graph import Key, MigrationGraph

Catalog = dict[str, Any]
# (the history's rows, the plan's recorded steps, the catalog to find before them)
Found = tuple[dict[Key, Applied], list[sqlrecord.Step], Catalog]
Show = sqlitebatch.Show
_MARKER = "gitmig_scratch_in_use"  # gitmig.db.catalog.MARKER, left out of catalogs


def warm_migrate(config: Config, database: str | None, ask: bool, show: Show,
                 seen: tuple[dict[Key, Applied], MigrationGraph] | None = None) -> bool:
    """Apply the plan from recorded SQL; True when all of it ran, False when the full
    path must run (the migrations committed here stay, and were reported). `seen`: the
    settled history and its graph, as gitmig.actions.uptodate just read them."""
    url = sqlrecord.warm_url(config, database)
    if url is None:
        return False
    found = sqlitereader.plain_file(url)
    if found is None:
        return False
    path, shown = found
    # A look without the lock first: most runs without an entry stop here, cheaply.
    if seen is None:
        applied = sqlitereader.settled(url)  # None: no file, no history table, in doubt
        graph = settled_graph(config, applied) if applied else None
    else:
        applied, graph = seen
    if not applied:  # an empty database, or none yet (checked again under the lock)
        from gitmig.actions.warmempty import warm_from_empty

        return warm_from_empty(config, url, path, graph, ask, show)
    steps = _steps(config, url, applied, graph, ask)
    if steps is None:
        return False
    try:
        with locked_file(path, create=False) as conn:
            return _run(config, shown, conn, steps, show)
    except sqlitebatch.Lost:
        raise  # printed OK and not applied: said, never run again unseen
    except (HandOver, sqlitebatch.Failed, sqlite3.Error, GitmigError):
        return False


def _steps(config: Config, url: str, applied: dict[Key, Applied] | None,
           graph: MigrationGraph | None, ask: bool) -> Found | None:
    """What to run and check, when every migration of the plan has an entry; None
    otherwise."""
    from gitmig.actions.sqlrecording import applied_keys

    if not applied or graph is None:
        return None
    todo = plan.to_target(graph, set(applied))
    migrations = sqlrecord.plan_items(graph, todo)
    if migrations is None:
        return None
    keys = applied_keys(graph, applied)
    if keys is None:
        return None
    items = sqlrecord.applied_items(graph, keys)
    if items is None:
        return None
    remembered = sqlrecord.catalog(config, url, items)
    if remembered is None:
        return None
    steps = []
    for s, migration in zip(todo, migrations, strict=True):
        step = sqlrecord.step(config, url, items, migration)
        if step is None or (ask and step.destructive):
            return None
        steps.append(step)
        keys.append(s.key)
        items = sqlrecord.applied_items(graph, keys)
        if items is None:
            return None
    return applied, steps, remembered


def _run(config: Config, shown: str, conn: sqlite3.Connection,
         steps: Found, show: Show) -> bool:
    applied, todo, remembered = steps
    conn.execute("BEGIN")  # one read transaction, as the readers have
    try:
        rows = sqlitereader.settled_rows(conn, shown)
        if rows != applied:  # another run changed the history meanwhile: start over
            raise HandOver
        if _catalog(conn) != remembered:  # drifted since (or never seen): the full path
            raise HandOver
    finally:
        conn.execute("ROLLBACK")
    from gitmig.db.githead import git_head

    sqlitebatch.replay(conn, todo, git_head(config.root), show)
    return True


def _catalog(conn: sqlite3.Connection) -> Catalog:
    """The catalog as gitmig.db.catalog.read_catalog gives it, read through sqlite3."""
    from gitmig.db.backends.catalog_sqlite import read_with

    catalog = read_with(lambda sql, params=(): conn.execute(sql, params).fetchall())
    catalog["tables"].pop(_MARKER, None)
    normal: Catalog = json.loads(json.dumps(catalog, sort_keys=True, default=str))
    return normal
