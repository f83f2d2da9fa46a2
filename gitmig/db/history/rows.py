"""The history table's rows as plain values, whichever reader fetched them.

The recorder (SQLAlchemy, every database) and the sqlitereader (sqlite3, a SQLite file)
both build their rows here, so what a command shows cannot depend on which of them read
the table. Free of SQLAlchemy on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key

TABLE_NAME = "gitmig_migrations"
CONTENT_COLUMN = "file_sha256"
# Connection.info key: the tenant schema a fleet target points the connection at (the
# backend's use_schema); the history table is that schema's.
SCHEMA_INFO = "gitmig_schema"
# The head of the warm paths' history row (gitmig.db.sqlitebatch, gitmig.actions.warmpg):
# the columns the recorder writes, in the order they give the values.
INSERT_HEAD = (f"INSERT INTO {TABLE_NAME} (app, name, checksum, applied_at, git_commit, "
               f"{CONTENT_COLUMN})")


@dataclass(frozen=True)
class Applied:
    """One row of the history table: a migration the database has."""

    app: str
    name: str
    checksum: str
    applied_at: dt.datetime | None
    git_commit: str | None
    # SHA-256 of the file's bytes as applied; None in rows written before gitmig kept it
    # (the column CONTENT_COLUMN): code taken from git runs only when its bytes hash to it.
    content: str | None = None

    @property
    def key(self) -> Key:
        return (self.app, self.name)


class UnreadableRow(GitmigError):
    """A row this gitmig cannot read; the reader says which database holds it."""


def printable(text: str) -> str:
    """Text from the database as it may reach a terminal: control characters (an ANSI
    escape, a carriage return) written out as escapes instead of acting on the screen."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def row(app: str, name: str, checksum: str, applied_at: object,
        git_commit: str | None, content: str | None = None) -> Applied:
    """A row as both readers read it, its text made printable."""
    app, name = printable(app), printable(name)
    return Applied(app, name, printable(checksum), parse_applied_at(applied_at, app, name),
                   None if git_commit is None else printable(git_commit),
                   None if content is None else printable(content))


def parse_applied_at(value: object, app: str, name: str) -> dt.datetime | None:
    """applied_at as the driver gives it: a datetime, ISO text (SQLite), or NULL."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return as_utc(dt.datetime.fromisoformat(value))
        except ValueError:
            pass
    shown = printable(repr(value))
    raise UnreadableRow(f"{TABLE_NAME} records {app}.{name} as applied at {shown}, which is "
                        "not a date and time")


def as_utc(at: dt.datetime | None) -> dt.datetime | None:
    """applied_at as stored: in UTC, though only PostgreSQL keeps the zone (and converts
    it to its own); other databases' DATETIME columns hold UTC by convention."""
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def check_apps(config: Config, applied: Mapping[Key, Applied]) -> None:
    """Rows of apps that are not configured mean the wrong database or configuration."""
    unknown = sorted({k for k in applied if k[0] not in config.apps})
    if unknown:
        app = unknown[0][0]
        names = ", ".join(f"{a}.{n}" for a, n in unknown if a == app)
        raise GitmigError(
            f"the database's history ({TABLE_NAME}) records migrations of app {app!r} "
            f"({names}), which is not configured (apps: {', '.join(config.apps)}); add it "
            f"under [tool.gitmig.apps] in {config.path}, or check that the database is "
            "the right one"
        )
