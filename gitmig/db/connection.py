"""Connections to the user's database, and the one way its failures reach the user.

A URL is only ever shown with its password hidden. Every failure to reach the database
(bad URL, missing driver, refused connection, wrong password) becomes one GitmigError
line; nothing here changes the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from gitmig.db.backends import backend_for
from gitmig.errors import GitmigError

DRIVERS = {"postgresql": "psycopg", "mysql": "PyMySQL", "mariadb": "PyMySQL"}


def parse_url(url: str) -> URL:
    try:
        return sa.engine.make_url(url)
    except Exception:
        # The text may hold a password; say only what kind of thing is wrong.
        raise GitmigError(
            "the database URL is not a valid SQLAlchemy URL "
            "(expected e.g. postgresql://user:password@host/dbname)"
        ) from None


def display_url(url: str | URL) -> str:
    """The URL as it may be printed: the password replaced by ***."""
    if isinstance(url, str):
        try:
            url = sa.engine.make_url(url)
        except Exception:
            return "<invalid URL>"
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory ones."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def database_missing(url: str) -> bool:
    """A SQLite file that does not exist yet: an empty database nobody has migrated."""
    path = sqlite_path(parse_url(url))
    return path is not None and not path.exists()


def db_error_text(exc: BaseException) -> str:
    """The database's own words, on one line, without SQLAlchemy's boilerplate."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    text = text.split("\n[SQL:")[0].split("\n(Background on this error")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines) if lines else type(exc).__name__


def create_engine(url: str, timeout: int | None = None) -> Engine:
    """An engine without a pool: closing a connection really closes it (and its locks).

    The backend prepares it (on SQLite, DDL inside real transactions). `timeout`: seconds to
    wait for a server to answer (or for SQLite's lock), for callers that must not hang.
    """
    parsed = parse_url(url)
    try:
        backend = backend_for(parsed.get_backend_name())
        connect_args = backend.timeout_args(timeout) if timeout is not None else {}
        engine = sa.create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except ImportError as exc:
        package = DRIVERS.get(parsed.get_backend_name(), exc.name or "the database driver")
        raise GitmigError(
            f"cannot use {display_url(parsed)}: the driver is not installed "
            f"({exc}); install it with `pip install {package}`"
        ) from None
    except Exception as exc:
        raise GitmigError(f"cannot use {display_url(parsed)}: {exc}") from None
    backend.prepare_engine(engine)
    return engine


@contextmanager
def connect(url: str, timeout: int | None = None) -> Iterator[Connection]:
    """A connection to the database; failing to connect is the user's error (exit 2)."""
    engine = create_engine(url, timeout)
    try:
        try:
            conn = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise GitmigError(
                f"cannot connect to the database {display_url(url)}: {db_error_text(exc)}"
            ) from None
        except Exception as exc:  # driver-specific failures (bad port, unknown host)
            raise GitmigError(
                f"cannot connect to the database {display_url(url)}: {exc}"
            ) from None
        try:
            yield conn
        except sa.exc.DBAPIError as exc:  # reading the history, taking the lock...
            raise GitmigError(
                f"error from the database {display_url(url)}: {db_error_text(exc)}"
            ) from None
        finally:
            try:
                conn.close()
            except sa.exc.DBAPIError:
                pass
    finally:
        engine.dispose()


def git_head(folder: Path) -> str | None:
    """The commit checked out in the repository holding folder, if there is one."""
    try:
        import pygit2
    except ImportError:
        return None
    try:
        path = pygit2.discover_repository(str(folder))
        if path is None:
            return None
        repo = pygit2.Repository(path)
        if repo.head_is_unborn:
            return None
        return str(repo.head.target)
    except Exception:  # an unreadable repository only means "unknown"
        return None
