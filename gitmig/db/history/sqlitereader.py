"""The history table of a SQLite file, read with Python's own sqlite3 module.

Importing SQLAlchemy costs far more than showmigrations' whole answer, and a SQLite file
needs none of it to be read. This reader gives exactly what gitmig.db.history.recorder's
Recorder.applied gives through SQLAlchemy (the same query, the same rows, dates parsed the
way SQLAlchemy's SQLite DateTime parses them, the same error lines), and keeps the
read-only promise: the file is opened in `mode=rw`, which never creates a missing one, as
the SQLAlchemy path opens it (so a hot journal left by a killed migrate is rolled back as
usual; `mode=ro` could not), and nothing is written. Only the plain URL forms
(`sqlite:///path`, `sqlite+pysqlite:///path`) are read here; anything else (query
options, in-memory or URI databases, other drivers) stays with SQLAlchemy.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from urllib.parse import quote, unquote

from gitmig.db.history.rows import CONTENT_COLUMN, TABLE_NAME, Applied, UnreadableRow, row
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key

_DRIVERS = ("sqlite", "sqlite+pysqlite")
_T = TABLE_NAME
# The statement SQLAlchemy compiles for Recorder.applied, so errors name the same column.
_SELECT = (f"SELECT {_T}.app, {_T}.name, {_T}.checksum, {_T}.applied_at, {_T}.git_commit, "
           f"{{content}} FROM {_T} {{where}}ORDER BY {_T}.applied_at, {_T}.app, {_T}.name")


def read(url: str) -> tuple[str, dict[Key, Applied]] | None:
    """(the URL as SQLAlchemy prints it, every migration recorded as applied) for a plain
    SQLite file URL, parsed as SQLAlchemy parses it; None for any other URL, which is left
    to SQLAlchemy. No rows when the file or the table does not exist yet."""
    found = _file(url)
    if found is None:
        return None
    path, shown = found
    if not os.path.exists(path):  # as gitmig.db.connection.database_missing
        return shown, {}
    return shown, _read(path, shown) or {}


def settled(url: str) -> dict[Key, Applied] | None:
    """The applied migrations of a SQLite file when nothing about them is in doubt: the
    file and its history table exist, no run stopped halfway, and no running migrate holds
    the file (no waiting: timeout 0). None otherwise, and on any error: the caller then
    takes the full path, which waits, reports and refuses as usual."""
    found = _file(url)
    if found is None or not os.path.exists(found[0]):
        return None
    try:
        return _read(found[0], found[1], timeout=0, settled=True)
    except GitmigError:
        return None


def plain_file(url: str) -> tuple[str, str] | None:
    """(the path, the URL as SQLAlchemy prints it) of a plain SQLite file URL; else None
    (what this module reads, the rest being SQLAlchemy's)."""
    return _file(url)


def settled_rows(conn: sqlite3.Connection, shown: str) -> dict[Key, Applied] | None:
    """As `settled`, on a connection the caller holds (the warm migrate, under its lock)."""
    try:
        return _rows(conn, shown, settled=True)
    except sqlite3.Error as exc:
        raise GitmigError(f"error from the database {shown}: {_text(exc)}") from None


def _file(url: str) -> tuple[str, str] | None:
    """(the path, the URL as SQLAlchemy prints it) of a plain SQLite file URL; else None."""
    driver, sep, rest = url.partition(":///")
    if not sep or driver not in _DRIVERS or "?" in rest:
        return None
    path = unquote(rest)
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path, f"{driver}:///{quote(path, safe=' +/')}"


def _read(path: str, shown: str, timeout: float = 5.0, settled: bool = False
          ) -> dict[Key, Applied] | None:
    uri = f"file:{quote(os.path.abspath(path))}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout)
    except sqlite3.Error as exc:
        raise GitmigError(f"cannot connect to the database {shown}: {_text(exc)}") from None
    try:
        with closing(conn):
            conn.execute("BEGIN")  # one read transaction, as SQLAlchemy's connection has
            return _rows(conn, shown, settled)
    except sqlite3.Error as exc:
        raise GitmigError(f"error from the database {shown}: {_text(exc)}") from None


def _rows(conn: sqlite3.Connection, shown: str, settled: bool = False
          ) -> dict[Key, Applied] | None:
    """The rows; with `settled`, None unless the table exists with no unfinished row."""
    # Recorder._has_progress: SQLAlchemy reflects columns with table_xinfo where SQLite
    # has it, leaving out hidden ones (its 7th field is 1 for those). No column: no table.
    pragma = "table_xinfo" if sqlite3.sqlite_version_info >= (3, 31) else "table_info"
    columns = _columns(conn, pragma)
    if not columns:
        return None if settled else {}
    visible = {c[1] for c in columns if c[6:7] != (1,)}
    if settled and ("progress" not in visible or CONTENT_COLUMN not in visible
                    or conn.execute(f"SELECT COUNT(*) FROM {_T} "
                                    "WHERE progress IS NOT NULL").fetchone()[0]):
        return None  # a table migrate has yet to upgrade, or a run stopped halfway
    where = f"WHERE {_T}.progress IS NULL " if "progress" in visible else ""
    content = f"{_T}.{CONTENT_COLUMN}" if CONTENT_COLUMN in visible else "NULL"
    out = {}
    for app, name, checksum, applied_at, git_commit, digest in conn.execute(
            _SELECT.format(where=where, content=content)):
        try:
            item = row(app, name, checksum, applied_at, git_commit, digest)
        except UnreadableRow as exc:
            raise GitmigError(f"error from the database {shown}: {exc.message}") from None
        out[item.key] = item
    return out


def _columns(conn: sqlite3.Connection, pragma: str) -> list[tuple[object, ...]]:
    return conn.execute(f'PRAGMA main.{pragma}("{_T}")').fetchall()


def _text(exc: sqlite3.Error) -> str:
    """The database's own words on one line (gitmig.db.connection.db_error_text)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) if lines else type(exc).__name__
