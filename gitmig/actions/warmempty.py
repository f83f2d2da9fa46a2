"""`gitmig migrate` into an empty SQLite file (or none yet), replaying a recorded full run.

A test database built from migrations at the start of every test run gets the same files
into a new, empty database each time: the full path then imports SQLAlchemy, Alembic and
every migration, and renders each operation's SQL again. A full run from empty records
that SQL (gitmig.actions.sqlrecording.record_from_empty); this path replays it through
Python's sqlite3 when that is certain to do what the full path would do:

- the database is empty as the full path sees it, narrowed to what sqlite_master says:
  the file does not exist, or holds nothing (no table, index, view or trigger), or only
  gitmig's history table with no row, made exactly as the recorded one (its sqlite_master
  rows, byte for byte), checked under the migration lock;
- the whole plan from nothing (forwards, no squash) was recorded by a full run from an
  empty database (gitmig.db.sqlrecord.from_empty: keyed by the plan's migrations with
  their checksums and SHA-256, the URL, SQLite's, Python's and the code's versions);
- the migration lock is free (as gitmig.actions.warmmigrate: else the full path waits
  and says so), and no terminal would be asked before data is dropped.

The history table is made with the recorded DDL in the first batch, then the migrations
run as gitmig.db.sqlitebatch runs them: in savepoints, committed every half second, each
line printed as the full path prints it. A failing statement hands over to the full path
with the migrations before it committed.
"""

from __future__ import annotations

import sqlite3

from gitmig.config import Config
from gitmig.db import sqlitebatch, sqlrecord
from gitmig.db.history.rows import TABLE_NAME
from gitmig.db.sqlitelock import HandOver, locked_file
from gitmig.migrations import plan
from gitmig.migrations.graph import MigrationGraph


def warm_from_empty(config: Config, url: str, path: str, graph: MigrationGraph | None,
                    ask: bool, show: sqlitebatch.Show) -> bool:
    """Apply the whole plan to an empty database from a recorded run; True when all of
    it ran, False when the full path must run (what was committed here stays, and was
    reported). `graph`: the settled graph when gitmig.actions.uptodate read one."""
    found = _recorded(config, url, graph, ask)
    if found is None:
        return False
    try:  # creates the file if it is missing, as the full path's connection does
        with locked_file(path, create=True) as conn:
            first = _history_ddl(conn, found)
            from gitmig.db.githead import git_head

            sqlitebatch.replay(conn, found.steps, git_head(config.root), show, first)
            return True
    except sqlitebatch.Lost:
        raise  # printed OK and not applied: said, never run again unseen
    except (HandOver, sqlitebatch.Failed, sqlite3.Error):
        return False


def _recorded(config: Config, url: str, graph: MigrationGraph | None, ask: bool
              ) -> sqlrecord.FromEmpty | None:
    """The recorded run of the plan from nothing; None when there is none to trust."""
    from gitmig.actions.uptodate import settled_graph

    if graph is None:
        graph = settled_graph(config, {})
        if graph is None:
            return None
    items = sqlrecord.plan_items(graph, plan.to_target(graph, set()))
    if items is None:
        return None
    found = sqlrecord.from_empty(config, url, items)
    if found is None or (ask and any(s.destructive for s in found.steps)):
        return None
    return found


def _history_ddl(conn: sqlite3.Connection, found: sqlrecord.FromEmpty) -> list[str]:
    """The statements that make the history table, under the lock: all of them in an
    empty file, none when the recorded table is there with no row; else hand over."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "ORDER BY rowid").fetchall()
    if not rows:
        return [r[3] for r in found.history if r[3] is not None]
    if (rows == list(found.history)
            and conn.execute(f"SELECT COUNT(*) FROM {TABLE_NAME}").fetchone()[0] == 0):
        return []
    raise HandOver
