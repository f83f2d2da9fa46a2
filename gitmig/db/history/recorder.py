"""The history table, gitmig_migrations: which migrations the database has.

Having a row in the table means the migration is applied, unless its `progress` is set:
a row is written in the same transaction as the migration's DDL where the database has
transactional DDL. Where it has not (MariaDB/MySQL), a row with `progress` "apply D/N"
(or "unapply D/N") is written before the first operation and updated after each one,
so a run killed halfway leaves a record of exactly how far it got (D of N operations
surely done); `progress` is cleared the moment the last operation finishes. A row also
keeps the checksum of the file as it was applied, so an edit made afterwards can be told,
and the SHA-256 of its bytes (file_sha256), so that a file git still has is run to unapply
it only when it is byte for byte the one applied (gitmig.git.missing).
The rows it returns are gitmig.db.history.rows' plain values (the sqlitereader reads a
SQLite file's table into the same ones without SQLAlchemy).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gitmig.db.history.rows import (  # also imported from here
    CONTENT_COLUMN,
    SCHEMA_INFO,
    TABLE_NAME,
    Applied,
    printable,
    row,
)
from gitmig.migrations.graph import Key

_metadata = sa.MetaData()
history = sa.Table(
    TABLE_NAME,
    _metadata,
    sa.Column("app", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("progress", sa.String(32), nullable=True),  # NULL: applied (see above)
    sa.Column(CONTENT_COLUMN, sa.String(64), nullable=True),  # NULL: from an older gitmig
)
# Columns later versions added, each as ALTER TABLE adds it to a table made before.
_ADDED = {"progress": "VARCHAR(32)", CONTENT_COLUMN: "VARCHAR(64)"}
_PROGRESS = re.compile(r"^(apply|unapply) (\d+)/(\d+)$")


@dataclass(frozen=True)
class Unfinished:
    """A migration whose run stopped halfway on a database without transactional DDL."""

    app: str
    name: str
    backwards: bool
    done: int | None  # operations surely finished; None: a progress this gitmig cannot read
    total: int | None

    @property
    def key(self) -> Key:
        return (self.app, self.name)


class Recorder:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def schema(self) -> str | None:
        """A fleet's tenant schema: the table is that schema's, not one further along
        the search path (a fleet's targets share public)."""
        schema: str | None = self.connection.info.get(SCHEMA_INFO)
        return schema

    def has_table(self) -> bool:
        return sa.inspect(self.connection).has_table(TABLE_NAME, schema=self.schema)

    def ensure_table(self) -> None:
        if not self.has_table():
            _metadata.create_all(self.connection, tables=[history])
            return
        for name in _ADDED:  # a table made before the column existed
            self.add_column(name)

    def add_column(self, name: str) -> bool:
        """Add a column a table made by an older gitmig lacks; whether it was missing."""
        if name in self._columns():
            return False
        self.connection.execute(sa.text(
            f"ALTER TABLE {TABLE_NAME} ADD COLUMN {name} {_ADDED[name]}"))
        self._known_columns = None
        return True

    _known_columns: frozenset[str] | None = None

    def _columns(self) -> frozenset[str]:
        if self._known_columns is None:
            columns = sa.inspect(self.connection).get_columns(TABLE_NAME, schema=self.schema)
            self._known_columns = frozenset(c["name"] for c in columns)
        return self._known_columns

    def _has_progress(self) -> bool:
        return "progress" in self._columns()

    def has_content(self) -> bool:
        """Whether the table has the column of file contents (not when made before it)."""
        return self.has_table() and CONTENT_COLUMN in self._columns()

    def applied(self) -> dict[Key, Applied]:
        """Every migration recorded as applied, whether or not its file still exists."""
        if not self.has_table():
            return {}
        # applied_at as the driver gives it: a value that is not a date is the user's
        # to fix (one line, rows.parse_applied_at), not a traceback in SQLAlchemy's hands.
        raw_at = sa.type_coerce(history.c.applied_at, sa.String).label("applied_at")
        content = (history.c[CONTENT_COLUMN] if CONTENT_COLUMN in self._columns()
                   else sa.null().label(CONTENT_COLUMN))
        query = sa.select(history.c.app, history.c.name, history.c.checksum, raw_at,
                          history.c.git_commit, content)
        if self._has_progress():
            query = query.where(history.c.progress.is_(None))
        rows = self.connection.execute(
            query.order_by(history.c.applied_at, history.c.app, history.c.name)
        )
        out = {}
        for r in rows:
            item = row(r.app, r.name, r.checksum, r.applied_at, r.git_commit,
                       r._mapping[CONTENT_COLUMN])
            out[item.key] = item
        return out

    def unfinished(self) -> list[Unfinished]:
        """Migrations whose run stopped halfway (MariaDB/MySQL only), in name order."""
        if not self.has_table() or not self._has_progress():
            return []
        rows = self.connection.execute(
            sa.select(history.c.app, history.c.name, history.c.progress)
            .where(history.c.progress.is_not(None))
            .order_by(history.c.app, history.c.name)
        )
        out = []
        for r in rows:
            match = _PROGRESS.match(r.progress)
            app, name = printable(r.app), printable(r.name)
            if match is None:
                out.append(Unfinished(app, name, False, None, None))
            else:
                out.append(Unfinished(app, name, match[1] == "unapply",
                                      int(match[2]), int(match[3])))
        return out

    def _now(self) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        if not self.connection.dialect.name.startswith("postgres"):
            now = now.replace(tzinfo=None)  # DATETIME columns hold no zone: UTC by convention
        return now

    def record_applied(self, key: Key, checksum: str, content: str | None,
                       git_commit: str | None) -> None:
        self.connection.execute(
            history.insert().values(
                app=key[0], name=key[1], checksum=checksum, applied_at=self._now(),
                git_commit=git_commit, **{CONTENT_COLUMN: content},
            )
        )

    def record_started(self, key: Key, checksum: str, content: str | None,
                       git_commit: str | None, backwards: bool, total: int) -> None:
        """Before the first operation, where DDL cannot be rolled back."""
        if backwards:
            self.record_progress(key, backwards, 0, total)
            return
        self.connection.execute(
            history.insert().values(
                app=key[0], name=key[1], checksum=checksum, applied_at=self._now(),
                git_commit=git_commit, progress=f"apply 0/{total}",
                **{CONTENT_COLUMN: content},
            )
        )

    def record_progress(self, key: Key, backwards: bool, done: int, total: int) -> None:
        verb = "unapply" if backwards else "apply"
        self.connection.execute(
            history.update()
            .where(history.c.app == key[0], history.c.name == key[1])
            .values(progress=f"{verb} {done}/{total}")
        )

    def record_finished(self, key: Key) -> None:
        """The last operation of a tracked run is done: the row now means applied."""
        self.connection.execute(
            history.update()
            .where(history.c.app == key[0], history.c.name == key[1])
            .values(progress=None, applied_at=self._now())
        )

    def clear_progress(self, key: Key) -> None:
        """An unapply that changed nothing after all: the row means applied again."""
        self.connection.execute(
            history.update()
            .where(history.c.app == key[0], history.c.name == key[1])
            .values(progress=None)
        )

    def forget_unfinished(self) -> None:
        self.connection.execute(history.delete().where(history.c.progress.is_not(None)))

    def record_renamed(self, old: Key, new: Key, content: str | None) -> None:
        """The migration applied as `old` now has the name `new` (gitmig resolve), and
        the file's new bytes (only its parents changed: the same code)."""
        values: dict[str, str | None] = {"name": new[1]}
        if self.has_content() and content is not None:
            values[CONTENT_COLUMN] = content
        self.connection.execute(
            history.update()
            .where(history.c.app == old[0], history.c.name == old[1])
            .values(**values)
        )

    def record_checksum(self, key: Key, checksum: str) -> None:
        """A checksum recorded by an older gitmig, upgraded (the file is unchanged)."""
        self.connection.execute(
            history.update()
            .where(history.c.app == key[0], history.c.name == key[1])
            .values(checksum=checksum)
        )

    def record_content(self, key: Key, content: str) -> None:
        """A row an older gitmig wrote, given the digest of its file (unchanged since)."""
        self.connection.execute(
            history.update()
            .where(history.c.app == key[0], history.c.name == key[1])
            .values(**{CONTENT_COLUMN: content})
        )

    def record_unapplied(self, key: Key) -> None:
        self.connection.execute(
            history.delete().where(history.c.app == key[0], history.c.name == key[1])
        )
