"""One migrate at a time per database.

Two `gitmig migrate` runs against one database must never both apply a migration: the
second waits for the lock, then reads the history afresh and finds the work done. The
lock belongs to the connection that runs the migrations, so it is released when that
connection closes, also when the process dies. Each database's backend says how it
locks (gitmig.db.backends): an advisory lock on PostgreSQL, a named lock on
MariaDB/MySQL, the file's own write lock on SQLite (a lock file beside it in WAL mode,
gitmig.db.sqlitelock).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection

from gitmig.db.backends import backend_for


def _no_wait() -> None:
    pass


def migration_lock(
    conn: Connection, on_wait: Callable[[], None] = _no_wait
) -> AbstractContextManager[None]:
    """Hold the database's migration lock; on_wait is called once if another holds it."""
    return backend_for(conn.dialect).lock(conn, on_wait)
