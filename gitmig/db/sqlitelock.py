"""The migration lock on a SQLite file, for the full path (gitmig.db.backends.sqlite) and
the replay of recorded SQL (gitmig.actions.warmmigrate) alike: sqlite3 and the standard
library only, so that the replay imports no SQLAlchemy.

In a rollback-journal mode (DELETE, the default; TRUNCATE, PERSIST) the lock is the file's
own write lock, kept from one transaction to the next by `locking_mode = EXCLUSIVE`:
nobody else reads or writes the file while migrate runs.

In WAL mode that locking mode takes nothing until the connection's next write, and from
then on shuts out every other connection, an application's idle one too (a WAL reader keeps
a shared lock on the file for as long as it is open): migrate held no lock, or failed on a
database in use. There the lock is an flock on `NAME-gitmig-lock` beside the database,
made by the run and removed at its end (never through a symbolic link; left in place when
another user's in a sticky folder); the system releases it when the process dies,
however it dies. Applications go on reading and writing between migrations, as WAL lets
them. The journal mode stays the one the user set.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from typing import TypeVar
from urllib.parse import quote

from gitmig.errors import GitmigError

WAIT_SECONDS = 2  # between tries of a waiting run, for the rollback-journal lock
BUSY_MS = 5000  # each migration's own wait for a write lock once the lock is held
SUFFIX = "-gitmig-lock"
T = TypeVar("T")


class Busy(Exception):
    """Another run holds the lock, and this one was asked not to wait."""


@contextmanager
def held(conn: sqlite3.Connection, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """Hold the migration lock of `conn`'s main database (a connection in autocommit
    mode, outside a transaction). `on_wait` is called once if another run holds it, then
    this one waits; with None, Busy is raised instead."""
    waiter = _Waiter(on_wait)
    conn.execute("PRAGMA busy_timeout = 0")
    journal = str(waiter.retry(conn, lambda: conn.execute("PRAGMA journal_mode").fetchone()[0]))
    if journal == "wal":
        with _lock_file(_path(conn), waiter):
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            try:
                yield
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        return
    with _write_lock(conn, waiter, journal):
        yield


class _Waiter:
    """Says once that another run holds the lock, or refuses to wait."""

    def __init__(self, on_wait: Callable[[], None] | None) -> None:
        self.on_wait = on_wait
        self.waited = False

    def busy(self) -> None:
        if self.on_wait is None:
            raise Busy
        if not self.waited:
            self.on_wait()
            self.waited = True

    def retry(self, conn: sqlite3.Connection, attempt: Callable[[], T]) -> T:
        """`attempt` until the file is not locked by another (it fails at once, then
        after WAIT_SECONDS each time); any other failure is one line."""
        while True:
            try:
                return attempt()
            except sqlite3.DatabaseError as exc:  # "file is not a database" too
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise GitmigError(f"cannot lock the database: {_text(exc)}") from None
                self.busy()
                conn.execute(f"PRAGMA busy_timeout = {WAIT_SECONDS * 1000}")


@contextmanager
def _write_lock(conn: sqlite3.Connection, waiter: _Waiter, journal: str) -> Iterator[None]:
    """The file's write lock, kept between transactions by the EXCLUSIVE locking mode."""
    waiter.retry(conn, lambda: conn.execute("BEGIN EXCLUSIVE"))
    # Only now, holding the write lock, switch to EXCLUSIVE mode so COMMIT keeps it. A
    # waiter in that mode would keep the shared lock of each failed attempt, and two
    # such waiters can block each other for ever.
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("COMMIT")  # the lock stays: the locking mode keeps it between transactions
    conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    # Each migration commits on its own; truncating the rollback journal instead of
    # deleting it spares a file-system sync per commit (as safe: an empty journal is no
    # journal). The mode belongs to this connection; DELETE comes back at the end.
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


@contextmanager
def _lock_file(path: str, waiter: _Waiter) -> Iterator[None]:
    """An flock on `path`, which exists only while a run holds it: the holder removes it
    before letting go, and a run that got the lock on a removed file takes the new one."""
    import fcntl

    while True:
        try:  # not through a symbolic link: one planted there must not make us create
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if os.path.islink(path):
                raise GitmigError(f"cannot lock the database: {path} is a symbolic link, "
                                  "not gitmig's lock file; remove it") from None
            raise GitmigError(f"cannot lock the database: cannot create {path}: "
                              f"{exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waiter.busy()
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _same(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # removed by the run that held it: start over on the new one
    try:
        yield
    finally:
        try:
            if _same(fd, path):
                # Another user's file in a sticky folder (/tmp) is not ours to remove: it
                # stays, and the next run locks the same file, which is all the lock needs.
                with suppress(PermissionError):
                    os.unlink(path)
        finally:
            os.close(fd)


def _same(fd: int, path: str) -> bool:
    """Whether `path` still names the file open as `fd`."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _path(conn: sqlite3.Connection) -> str:
    """The lock file of the main database (a WAL database is always a file)."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file) + SUFFIX
    raise GitmigError("cannot lock the database: SQLite names no main database file")


def _text(exc: BaseException) -> str:
    """sqlite3's words on one line."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


class HandOver(Exception):
    """The warm paths' word for "the full path takes over from here"."""


@contextmanager
def locked_file(path: str, *, create: bool) -> Iterator[sqlite3.Connection]:
    """The SQLite file at `path` for the warm paths (gitmig.actions.warmmigrate,
    warmempty): opened in autocommit mode (`create`: made if missing, as the full path's
    connection makes it) and held() without waiting, closed at the end. HandOver when it
    cannot be opened or a run would wait: the full path takes over, and says why."""
    uri = f"file:{quote(os.path.abspath(path))}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0,
                               check_same_thread=False)
    except sqlite3.Error:
        raise HandOver from None
    with closing(conn):
        try:
            with held(conn, on_wait=None):
                yield conn
        except Busy:
            raise HandOver from None
