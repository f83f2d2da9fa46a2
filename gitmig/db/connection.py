"""Connections to the user's database, and the one way its failures reach the user.

A URL is only ever shown with its password hidden. Every failure to reach the database
(bad URL, missing driver, refused connection, wrong password) becomes one GitmigError
line; nothing here changes the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from gitmig.config import Timeouts
from gitmig.db.backends import backend_for
from gitmig.db.githead import _head_from_files, git_head  # noqa: F401 (their old home)
from gitmig.db.history.rows import UnreadableRow, printable
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


# Query-string options that carry a secret, whatever the driver calls them
# (password, passwd, pwd, sslpassword, auth_token, client_secret...).
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)
_QUERY_ITEM = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def display_url(url: str | URL) -> str:
    """The URL as it may be printed: every password replaced by ***.

    That is the password before the host (also one with an unencoded `@`, which a
    parser takes for part of the host) and any query-string option that holds a secret.
    """
    if not isinstance(url, str):
        url = url.render_as_string(hide_password=False)
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        return "<invalid URL>"
    if parsed.host and "@" in parsed.host:  # user:p@ss@host: the password runs to the last @
        parsed = parsed.set(password="*", host=parsed.host.rpartition("@")[2])
    shown = parsed.render_as_string(hide_password=True)
    return _QUERY_ITEM.sub(_hide_secret, shown)


def _hide_secret(match: re.Match[str]) -> str:
    sep, key, value = match.groups()
    return f"{sep}{key}=***" if _SECRET_KEY.search(key) else match[0]


def _secrets(url: str) -> list[str]:
    """Every secret a URL holds, as written and as decoded, longest first."""
    found: set[str] = set()
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        return []
    if parsed.password:
        found.add(str(parsed.password))
        if parsed.host and "@" in parsed.host:  # the tail of a password with an unencoded @
            tail = parsed.host.rpartition("@")[0]
            found |= {tail, f"{parsed.password}@{tail}"}
    for key, value in parsed.query.items():
        if _SECRET_KEY.search(key):
            found.update([value] if isinstance(value, str) else value)
    found |= {quote(s, safe="") for s in found} | {quote(s) for s in found}
    # A secret of a character or two would blank out every word holding it.
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def _at_hint(url: str) -> str:
    host = parse_url(url).host or ""
    if "@" not in host:
        return ""
    return "; the password seems to hold an unencoded @: write it as %40 in the URL"


def scrub(text: str, url: str) -> str:
    """A message that may quote the URL (a driver's error), its secrets hidden."""
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


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
    return printable("; ".join(lines)) if lines else type(exc).__name__


QUERY_CACHE_SIZE = 32  # compiled statements an engine keeps (SQLAlchemy's default: 500)


def create_engine(url: str, timeout: Timeouts | float | None = None) -> Engine:
    """An engine without a pool: closing a connection really closes it (and its locks).

    The backend prepares it (on SQLite, DDL inside real transactions). `timeout`: the
    configured Timeouts (GITMIG_CONNECT_TIMEOUT and GITMIG_READ_TIMEOUT override them), or
    seconds for both, for callers that must give up soon (hooks); a timeout the URL
    itself sets wins.

    SQLAlchemy's cache of compiled statements is kept small: migrations hardly repeat a
    statement (each table rebuild's INSERT ... SELECT is new), and every entry holds its
    tables' whole metadata, which at a thousand migrations grew to ~45 MiB.
    """
    parsed = parse_url(url)
    limits = timeouts(timeout)
    try:
        backend = backend_for(parsed.get_backend_name())
        connect_args = {k: v for k, v in backend.timeout_args(parsed, limits).items()
                        if k not in parsed.query}
        engine = sa.create_engine(parsed, poolclass=NullPool, connect_args=connect_args,
                                  query_cache_size=QUERY_CACHE_SIZE)
    except ImportError as exc:
        package = DRIVERS.get(parsed.get_backend_name(), exc.name or "the database driver")
        raise GitmigError(
            f"cannot use {display_url(parsed)}: the driver is not installed "
            f"({exc}); install it with `pip install {package}`"
        ) from None
    except Exception as exc:
        raise GitmigError(f"cannot use {display_url(parsed)}: {scrub(str(exc), url)}") from None
    backend.prepare_engine(engine)
    return engine


def timeouts(timeout: Timeouts | float | None) -> Timeouts:
    if timeout is None:
        return Timeouts().from_env()
    if isinstance(timeout, Timeouts):
        return timeout.from_env()
    return Timeouts(timeout, timeout)


@contextmanager
def connect(url: str, timeout: Timeouts | float | None = None, schema: str | None = None,
            create_schema: bool = False) -> Iterator[Connection]:
    """A connection to the database; failing to connect is the user's error (exit 2).

    `schema`: a fleet's tenant schema, which the connection then works in (the backend's
    use_schema; `create_schema` makes it when missing, for migrate)."""
    engine = create_engine(url, timeout)
    try:
        try:
            conn = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise GitmigError(
                f"cannot connect to the database {display_url(url)}: "
                f"{scrub(db_error_text(exc), url)}{_at_hint(url)}"
            ) from None
        except Exception as exc:  # driver-specific failures (bad port, unknown host)
            raise GitmigError(
                f"cannot connect to the database {display_url(url)}: "
                f"{scrub(printable(str(exc)), url)}{_at_hint(url)}"
            ) from None
        try:
            if schema is not None:
                backend_for(conn.dialect).use_schema(conn, schema, create_schema)
            yield conn
        except sa.exc.DBAPIError as exc:  # reading the history, taking the lock...
            raise GitmigError(
                f"error from the database {display_url(url)}: {scrub(db_error_text(exc), url)}"
            ) from None
        except UnreadableRow as exc:
            raise GitmigError(f"error from the database {display_url(url)}: {exc.message}",
                              ) from None
        finally:
            try:
                conn.close()
            except sa.exc.DBAPIError:
                pass
    finally:
        engine.dispose()
