"""Statements run on PostgreSQL through libpq itself (ctypes), for the warm `migrate`.

gitmig.db.history.pgreader reads the history this way; the warm path from an empty
database (gitmig.actions.warmpg) also writes, so it needs a session that runs statements,
says why one failed, and tells whether a transaction is open. Same connection parameters
as the reader (its `_target`: the URL forms SQLAlchemy would show the same way, the
connect and read timeouts as the PostgreSQL backend sets them); anything else is None
and the full path runs. Free of SQLAlchemy on purpose.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from gitmig.config import Timeouts
from gitmig.db.history import pgreader

_COMMAND_OK, _TUPLES_OK, _OK_CONNECTION = 1, 2, 0
IDLE, INTRANS, INERROR = 0, 2, 3  # PQtransactionStatus


class PgError(Exception):
    """A statement libpq or the server refused (the full path then takes over)."""


def _bind(lib: Any) -> Any:
    """The functions pgreader does not declare, declared once on the same library."""
    if getattr(lib, "_gitmig_exec", False):
        return lib
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for fn, res, args in (
        ("PQexecParams", vp, [vp, cp, i, vp, ctypes.POINTER(cp), vp, vp, i]),
        ("PQerrorMessage", cp, [vp]), ("PQresultErrorMessage", cp, [vp]),
        ("PQtransactionStatus", i, [vp]),
    ):
        f = getattr(lib, fn)
        f.restype, f.argtypes = res, args
    lib._gitmig_exec = True
    return lib


class Session:
    """One libpq connection; every statement either succeeds or raises PgError."""

    def __init__(self, lib: Any, conn: int) -> None:
        self.lib, self.conn = lib, conn

    def execute(self, sql: str, params: Sequence[str | None] = ()) -> list[list[str | None]]:
        """Run `sql` (the simple protocol, as psycopg sends a statement without
        parameters; PQexecParams with text parameters otherwise); its rows as text."""
        lib = self.lib
        if params:
            values = (ctypes.c_char_p * len(params))(
                *[None if p is None else p.encode() for p in params])
            res = lib.PQexecParams(self.conn, sql.encode(), len(params), None, values,
                                   None, None, 0)
        else:
            res = lib.PQexec(self.conn, sql.encode())
        if not res:
            raise PgError(self._message(None))
        try:
            status = lib.PQresultStatus(res)
            if status == _COMMAND_OK:
                return []
            if status != _TUPLES_OK:
                raise PgError(self._message(res))
            return [[None if lib.PQgetisnull(res, r, c) else lib.PQgetvalue(res, r, c).decode()
                     for c in range(lib.PQnfields(res))] for r in range(lib.PQntuples(res))]
        finally:
            lib.PQclear(res)

    def status(self) -> int:
        """IDLE, INTRANS, INERROR, or another of libpq's (active, unknown: lost)."""
        return int(self.lib.PQtransactionStatus(self.conn))

    def _message(self, res: int | None) -> str:
        raw = (self.lib.PQresultErrorMessage(res) if res
               else self.lib.PQerrorMessage(self.conn)) or b""
        return raw.decode(errors="replace").strip()

    def close(self) -> None:
        if self.conn:
            self.lib.PQfinish(self.conn)
            self.conn = 0


def connect(url: str, timeouts: Timeouts | None = None) -> Session | None:
    """A session on the database at `url`, when pgreader would read it (same URL forms,
    same parameters); None otherwise, or when the connection fails."""
    target = pgreader._target(url, timeouts or Timeouts())
    lib = pgreader._libpq()
    if target is None or lib is None:
        return None
    lib = _bind(lib)
    keys = [k.encode() for k in target.params] + [None]
    values = [v.encode() for v in target.params.values()] + [None]
    conn = lib.PQconnectdbParams((ctypes.c_char_p * len(keys))(*keys),
                                 (ctypes.c_char_p * len(values))(*values), 0)
    if not conn:
        return None
    if lib.PQstatus(conn) != _OK_CONNECTION:
        lib.PQfinish(conn)
        return None
    return Session(lib, conn)
