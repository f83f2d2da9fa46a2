"""Scratch databases: where the applied migrations are run to see what they make.

A scratch database is of the same kind as the user's (a SQLite file in a scratch folder
of the system's temporary folder; a database on the same PostgreSQL or MariaDB server),
and is dropped when the comparison is done, on failure too. Its name carries the
prefix `gitmig_scratch_`, a short id of this machine and this process's id, so that the
next run on this machine drops what a killed run left (gitmig.atomic sweeps the SQLite
folders the same way). `--scratch-url` names an empty database the user provides
instead; gitmig marks it while it is in use and empties it afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from gitmig.atomic import fault
from gitmig.config import Timeouts
from gitmig.db.backends import backend_for
from gitmig.db.catalog import MARKER, read_catalog
from gitmig.db.connection import create_engine, db_error_text, display_url, parse_url, scrub
from gitmig.errors import GitmigError
from gitmig.processes import alive

PREFIX = "gitmig_scratch_"


def machine_id() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def scratch_name() -> str:
    return f"{PREFIX}{machine_id()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def abandoned(name: str) -> bool:
    """A scratch database of a run on this machine that is no longer alive."""
    parts = name[len(PREFIX):].split("_")
    if len(parts) != 3 or parts[0] != machine_id() or not parts[1].isdigit():
        return False
    return not alive(int(parts[1]))


@contextmanager
def scratch_database(url: str, scratch_url: str | None = None,
                     timeouts: Timeouts | None = None) -> Iterator[str]:
    """The URL of a new, empty database like the one at `url`; gone afterwards."""
    if scratch_url is not None:
        if display_url(scratch_url) == display_url(url):
            raise GitmigError("--scratch-url names the database being compared; give it "
                              "an empty database of its own")
        with _provided(scratch_url, timeouts) as provided:
            yield provided
        return
    parsed = parse_url(url)
    backend = backend_for(parsed.get_backend_name())
    if backend.scratch_in_folder:
        from gitmig.atomic import scratch_prefix, sweep_scratch

        sweep_scratch()
        try:
            folder = Path(tempfile.mkdtemp(prefix=scratch_prefix("scratch")))
        except OSError as exc:
            raise GitmigError(f"cannot make a scratch database in {tempfile.gettempdir()}: "
                              f"{exc.strerror}", hint="set TMPDIR to a writable folder, or "
                              "pass --scratch-url URL of an empty database") from None
        try:
            fault("scratch")
            yield parsed.set(database=str(folder / "scratch.sqlite3")).render_as_string(
                hide_password=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = scratch_name()
    engine = create_engine(url, timeouts)
    engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for old in backend.database_names(conn, PREFIX):
                if abandoned(old):
                    backend.drop_database(conn, old)
            try:
                backend.create_database(conn, name)
            except sa.exc.DBAPIError as exc:
                raise GitmigError(
                    f"cannot create a scratch database on {display_url(url)}: "
                    f"{scrub(db_error_text(exc), url)}",
                    hint=f"the comparison needs {backend.scratch_privilege}; or pass "
                         "--scratch-url URL of an empty database gitmig may use",
                ) from None
        try:
            fault("scratch")
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                backend.drop_database(conn, name)
    except sa.exc.DBAPIError as exc:
        raise GitmigError(f"error from the database {display_url(url)}: "
                          f"{scrub(db_error_text(exc), url)}") from None
    finally:
        engine.dispose()


@contextmanager
def _provided(url: str, timeouts: Timeouts | None) -> Iterator[str]:
    """The user's own empty database as the scratch: refused unless it is empty (or holds
    what a killed run of gitmig left, its marker table with it); emptied afterwards."""
    engine = create_engine(url, timeouts)
    backend = backend_for(parse_url(url).get_backend_name())

    def empty(conn: sa.Connection) -> None:
        catalog = read_catalog(conn, raw=True)
        with conn.begin():
            backend.drop_everything(conn, catalog)

    try:
        with engine.connect() as conn:
            catalog = read_catalog(conn, raw=True)
            things = [*catalog["tables"], *catalog["types"], *catalog["sequences"]]
            if things and MARKER not in catalog["tables"]:
                raise GitmigError(
                    f"the scratch database {display_url(url)} is not empty (it holds "
                    f"{', '.join(sorted(things)[:5])}{'...' if len(things) > 5 else ''})",
                    hint="--scratch-url needs an empty database that gitmig may fill and "
                         "empty again",
                )
            if things:
                empty(conn)
            with conn.begin():
                conn.execute(sa.text(f"CREATE TABLE {MARKER} (pid INTEGER)"))
        try:
            yield url
        finally:
            with engine.connect() as conn:
                empty(conn)
    except sa.exc.DBAPIError as exc:
        raise GitmigError(f"error from the scratch database {display_url(url)}: "
                          f"{scrub(db_error_text(exc), url)}") from None
    finally:
        engine.dispose()
