"""The history table, gitmig_migrations: which migrations a database has.

Three modules, one table:
- rows: the rows as plain values (Applied), how they read and how they are checked;
  free of SQLAlchemy, shared by both readers so that what a command shows cannot depend
  on which of them read the table.
- recorder: reads and writes the table through SQLAlchemy, on every database.
- sqlitereader: reads a SQLite file's table with Python's own sqlite3, so that
  showmigrations never imports SQLAlchemy.
- pgreader: reads a PostgreSQL table through libpq (ctypes) when it can be sure, for the
  same reason; otherwise the recorder reads it.
read_applied picks the reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitmig.config import Timeouts
    from gitmig.db.history.rows import Applied
    from gitmig.migrations.graph import Key


def read_applied(url: str, timeout: Timeouts | float | None = None
                 ) -> tuple[str, dict[Key, Applied]]:
    """(the URL as it may be printed, the applied migrations); nothing when the SQLite
    file does not exist yet. Read-only: creates no table, no file, takes no lock."""
    from gitmig.db.history import sqlitereader

    found = sqlitereader.read(url)
    if found is not None:
        return found
    from gitmig.config import Timeouts
    from gitmig.db.history import pgreader

    limits = timeout if isinstance(timeout, Timeouts) else Timeouts(timeout, timeout)
    cheap = pgreader.read(url, limits)  # PostgreSQL through libpq, when it is sure
    if cheap is not None:
        return cheap.shown, cheap.applied
    from gitmig.db.connection import connect, database_missing, display_url
    from gitmig.db.history.recorder import Recorder

    shown = display_url(url)
    if database_missing(url):
        return shown, {}
    with connect(url, timeout) as conn:
        return shown, Recorder(conn).applied()
