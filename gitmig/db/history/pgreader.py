"""The history table of a PostgreSQL database, read through libpq itself (ctypes).

Importing SQLAlchemy and psycopg costs a PostgreSQL `showmigrations` or an up-to-date
`migrate` several times the rest of its work; libpq, which psql uses, is a C library
that answers the same query in text. This reader is a shortcut and nothing more: it
gives the rows gitmig.db.history.recorder's Recorder.applied gives (the same query,
the same order, dates parsed to the same instants), and answers None for anything it
is not sure of, whereupon the caller takes the SQLAlchemy path, which reports errors as
it always has: a URL with query options, other drivers, names that SQLAlchemy would
print differently, no libpq on the system, a failed connection or query, a value it
cannot parse. It reads only, in one transaction, and writes nothing.
"""

from __future__ import annotations

import ctypes
import functools
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from gitmig.config import Timeouts
from gitmig.db.history.rows import CONTENT_COLUMN, TABLE_NAME, Applied, UnreadableRow, row
from gitmig.migrations.graph import Key

_DRIVERS = ("postgresql+psycopg", "postgresql")  # psycopg on the SQLAlchemy path (_psycopg)
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_T = TABLE_NAME
_OK_CONNECTION, _TUPLES_OK, _COMMAND_OK = 0, 2, 1
# gitmig.db.backends.postgresql.LOCK_KEY (a module that imports SQLAlchemy), as pg_locks
# shows an advisory lock on a bigint: its high and low 32 bits, objsubid 1.
LOCK_KEY = 0x676974_6D6967
_HELD = ("SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted "
         "AND database = (SELECT oid FROM pg_catalog.pg_database "
         "WHERE datname = current_database()) "
         f"AND classid = {LOCK_KEY >> 32} AND objid = {LOCK_KEY & 0xFFFFFFFF} "
         "AND objsubid = 1 LIMIT 1")


@dataclass(frozen=True)
class Found:
    """The history as Recorder.applied gives it, and what the table says besides."""

    shown: str  # the URL as SQLAlchemy prints it, password hidden
    applied: dict[Key, Applied]
    unfinished: bool  # rows of a run that stopped halfway
    has_content: bool = True  # the table has CONTENT_COLUMN (migrate adds it, and says so)
    locked: bool = False  # a migrate holds the database's migration lock: it is under way


@dataclass(frozen=True)
class _Target:
    """libpq's connection parameters, and the URL as SQLAlchemy prints it."""

    params: dict[str, str]
    shown: str


def read(url: str, timeouts: Timeouts | None = None) -> Found | None:
    """The history of the database at `url`; None when this reader is not sure (the
    caller then reads through SQLAlchemy). No table: no rows."""
    target = _target(url, timeouts or Timeouts())
    lib = _libpq()
    if target is None or lib is None:
        return None
    try:
        return _read(lib, target)
    except (OSError, ValueError, UnicodeDecodeError, UnreadableRow):
        return None


def _target(url: str, timeouts: Timeouts) -> _Target | None:
    driver, sep, _ = url.partition("://")
    if not sep or driver not in _DRIVERS or "?" in url or "#" in url or not _psycopg(driver):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    user = unquote(parts.username) if parts.username is not None else None
    host = parts.hostname
    dbname = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if any(text and not set(text) <= _PLAIN for text in (user, host, dbname)):
        return None  # SQLAlchemy would print these its own way: not worth copying
    if parts.netloc.count("@") > 1:
        return None  # SQLAlchemy ends the password at the first @, urlsplit at the last
    if host and parts.netloc.rpartition("@")[2].split(":")[0] != host:
        return None  # upper case or brackets: printed as written, not as parsed
    params: dict[str, str] = {"client_encoding": "UTF8"}
    for key, value in (("host", host), ("port", str(port) if port else None),
                       ("user", user), ("dbname", dbname or None)):
        if value:
            params[key] = value
    if parts.password is not None:
        params["password"] = unquote(parts.password)
    limits = timeouts.from_env()
    if limits.connect is not None:  # as the PostgreSQL backend asks psycopg
        params["connect_timeout"] = str(max(2, math.ceil(limits.connect)))
    if limits.read is not None:
        params["options"] = f"-c statement_timeout={math.ceil(limits.read * 1000)}"
    auth = user or ""
    if parts.password is not None:
        auth += ":***"
    netloc = (f"{auth}@" if auth else "") + (host or "") + (f":{port}" if port else "")
    return _Target(params, f"{driver}://{netloc}/{dbname}")


def _psycopg(driver: str) -> bool:
    """Whether the SQLAlchemy path would load psycopg (3) for this URL: installed, and
    named or, for a plain `postgresql://`, SQLAlchemy's default (from 2.1 on). Elsewhere
    that path fails or uses another driver, and this reader stays out of it."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        return False
    if driver != "postgresql":
        return True
    version = _sqlalchemy_version()
    return version is not None and version >= (2, 1)


def _sqlalchemy_version() -> tuple[int, int] | None:
    """The version of the SQLAlchemy that path would import, read from its `__version__`
    line: importlib.metadata alone (email, zipfile, csv) costs more than this whole reader.
    None when not found as expected (this reader then stays out)."""
    import importlib.util

    spec = importlib.util.find_spec("sqlalchemy")
    if spec is None or not spec.origin:
        return None
    try:
        with open(spec.origin, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        if line.startswith("__version__ = "):
            major, _, rest = line.partition("=")[2].strip().strip("\"'").partition(".")
            minor = rest.partition(".")[0]
            return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None
    return None


# libpq's name on the systems that have it: opened directly, it spares ctypes.util, which
# runs `ldconfig -p` (a process) to find the same file.
_SONAMES = ("libpq.so.5", "libpq.5.dylib")


@functools.cache
def _libpq() -> Any:
    lib = None
    for soname in _SONAMES:
        try:
            lib = ctypes.CDLL(soname)
            break
        except OSError:
            continue
    if lib is None:
        from ctypes.util import find_library

        name = find_library("pq")
        if name is None:
            return None
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return None
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for fn, res, args in (
        ("PQconnectdbParams", vp, [ctypes.POINTER(cp), ctypes.POINTER(cp), i]),
        ("PQstatus", i, [vp]), ("PQfinish", None, [vp]), ("PQexec", vp, [vp, cp]),
        ("PQresultStatus", i, [vp]), ("PQntuples", i, [vp]), ("PQnfields", i, [vp]),
        ("PQgetvalue", cp, [vp, i, i]), ("PQgetisnull", i, [vp, i, i]),
        ("PQclear", None, [vp]),
    ):
        f = getattr(lib, fn)
        f.restype, f.argtypes = res, args
    return lib


def _read(lib: Any, target: _Target) -> Found | None:
    keys = [k.encode() for k in target.params] + [None]
    values = [v.encode() for v in target.params.values()] + [None]
    conn = lib.PQconnectdbParams((ctypes.c_char_p * len(keys))(*keys),
                                 (ctypes.c_char_p * len(values))(*values), 0)
    if not conn:
        return None
    try:
        if lib.PQstatus(conn) != _OK_CONNECTION:
            return None
        if _query(lib, conn, "BEGIN READ ONLY") is None:
            return None
        columns = _query(lib, conn, "SELECT a.attname FROM pg_catalog.pg_attribute a "
                         f"WHERE a.attrelid = to_regclass('{_T}') AND a.attnum > 0 "
                         "AND NOT a.attisdropped")
        if columns is None:
            return None
        if not columns:
            return Found(target.shown, {}, False)
        has_progress = ["progress"] in columns
        has_content = [CONTENT_COLUMN] in columns
        where = f"WHERE {_T}.progress IS NULL " if has_progress else ""
        content = f"{_T}.{CONTENT_COLUMN}" if has_content else "NULL"
        rows = _query(lib, conn, f"SELECT {_T}.app, {_T}.name, {_T}.checksum, "
                      f"{_T}.applied_at, {_T}.git_commit, {content} FROM {_T} {where}"
                      f"ORDER BY {_T}.applied_at, {_T}.app, {_T}.name")
        unfinished = _query(lib, conn, f"SELECT 1 FROM {_T} WHERE progress IS NOT NULL "
                            "LIMIT 1") if has_progress else []
        locked = _query(lib, conn, _HELD)
        if rows is None or unfinished is None or locked is None:
            return None
        out = {}
        for app, name, checksum, applied_at, git_commit, digest in rows:
            if app is None or name is None or checksum is None:
                return None
            item = row(app, name, checksum, applied_at, git_commit, digest)
            out[item.key] = item
        _query(lib, conn, "ROLLBACK")
        return Found(target.shown, out, bool(unfinished), has_content, bool(locked))
    finally:
        lib.PQfinish(conn)


def _query(lib: Any, conn: int, sql: str) -> list[list[str | None]] | None:
    """Every row of `sql` as text (None for NULL); None when the statement failed."""
    res = lib.PQexec(conn, sql.encode())
    if not res:
        return None
    try:
        status = lib.PQresultStatus(res)
        if status == _COMMAND_OK:
            return []
        if status != _TUPLES_OK:
            return None
        out = []
        for r in range(lib.PQntuples(res)):
            out.append([None if lib.PQgetisnull(res, r, c) else
                        lib.PQgetvalue(res, r, c).decode() for c in range(lib.PQnfields(res))])
        return out
    finally:
        lib.PQclear(res)
