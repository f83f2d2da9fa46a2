"""The SQLite backend's migration lock (gitmig.db.backends.sqlite), taken through Python's
sqlite3 by the warm paths (gitmig.actions.warmmigrate, warmempty) without SQLAlchemy."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


class HandOver(Exception):
    """The full path takes over from here."""


@contextmanager
def locked(conn: sqlite3.Connection) -> Iterator[None]:
    """The SQLite backend's migration lock (gitmig.db.backends.sqlite), taken without
    waiting: a run that would wait leaves it to the full path, which says so."""
    try:
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.Error:
        raise HandOver from None
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("COMMIT")  # the lock stays: the locking mode keeps it
    conn.execute("PRAGMA busy_timeout = 5000")
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if journal == "delete":
        conn.execute("PRAGMA journal_mode = TRUNCATE")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if journal == "delete":
            conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA locking_mode = NORMAL")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # releases the file lock
