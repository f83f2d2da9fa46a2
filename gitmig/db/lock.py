"""One migrate at a time per database.

Two `gitmig migrate` runs against one database must never both apply a migration: the
second waits for the lock, then reads the history afresh and finds the work done. The
lock belongs to the connection that runs the migrations, so it is released when that
connection closes, also when the process dies.

- PostgreSQL: a session-level advisory lock (pg_advisory_lock).
- MariaDB/MySQL: a named lock (GET_LOCK), named after the database.
- SQLite: the database's own write lock, held from one transaction to the next by the
  EXCLUSIVE locking mode; nobody else can read or write the file meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gitmig.db.connection import db_error_text, dialect_family
from gitmig.errors import GitmigError

PG_LOCK_KEY = 0x676974_6D6967  # "gitmig"
WAIT_SECONDS = 2


def _no_wait() -> None:
    pass


@contextmanager
def migration_lock(
    conn: Connection, on_wait: Callable[[], None] = _no_wait
) -> Iterator[None]:
    """Hold the database's migration lock; on_wait is called once if another holds it."""
    family = dialect_family(conn.dialect)
    if family == "postgresql":
        with _postgresql(conn, on_wait):
            yield
    elif family == "mysql":
        with _mysql(conn, on_wait):
            yield
    elif family == "sqlite":
        with _sqlite(conn, on_wait):
            yield
    else:
        yield  # no known lock: migrate as Django does, trusting one run at a time


@contextmanager
def _postgresql(conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
    got = conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
    if not got:
        on_wait()
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
    conn.commit()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
        conn.commit()


@contextmanager
def _mysql(conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
    name = f"gitmig:{conn.dialect.default_schema_name or ''}"[:64]
    got = conn.scalar(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": name})
    if got != 1:
        on_wait()
        while got != 1:
            got = conn.scalar(sa.text("SELECT GET_LOCK(:n, :t)"), {"n": name, "t": WAIT_SECONDS})
    conn.commit()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": name})
        conn.commit()


@contextmanager
def _sqlite(conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
    raw: Any = conn.connection.driver_connection
    if conn.in_transaction():
        conn.commit()
    raw.execute("PRAGMA busy_timeout = 0")
    waited = False
    while True:
        try:
            raw.execute("BEGIN EXCLUSIVE")
            break
        except sqlite3.DatabaseError as exc:  # "file is not a database" too
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise GitmigError(f"cannot lock the database: {db_error_text(exc)}") from None
            if not waited:
                on_wait()
                waited = True
                raw.execute(f"PRAGMA busy_timeout = {WAIT_SECONDS * 1000}")
    # Only now, holding the write lock, switch to EXCLUSIVE mode so COMMIT keeps it. A
    # waiter in that mode would keep the shared lock of each failed attempt, and two such
    # waiters can block each other for ever.
    raw.execute("PRAGMA locking_mode = EXCLUSIVE")
    raw.execute("COMMIT")  # the lock stays: the locking mode keeps it between transactions
    raw.execute("PRAGMA busy_timeout = 5000")
    # Each migration commits on its own; truncating the rollback journal instead of
    # deleting it spares a file-system sync per commit (as safe: an empty journal is no
    # journal). The mode belongs to this connection; DELETE comes back at the end.
    journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
    if journal == "delete":
        raw.execute("PRAGMA journal_mode = TRUNCATE")
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        if journal == "delete":
            raw.execute("PRAGMA journal_mode = DELETE")
        raw.execute("PRAGMA locking_mode = NORMAL")
        raw.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # releases the file lock
