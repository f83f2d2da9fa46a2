"""Recorded migrations replayed through sqlite3, committed a few at a time as the full path
commits them (gitmig.db.batch), so that a warm `migrate` keeps the same promises.

Each migration runs in a savepoint of a transaction that commits every
Batch.BATCH_SECONDS and at the end: its statements, then its history row. Its line is
printed once its savepoint is released, as the full path prints it (README "Reliability"):

- a migration is in the database whole or not at all; a kill loses at most the open
  batch, whose migrations the next run applies again;
- a first Ctrl-C while migrations printed OK await their commit lets the migration under
  way finish, commits and stops; a second one, or one with nothing pending, rolls back
  the migration under way, commits the printed ones and stops (KeyboardInterrupt);
- a statement that fails rolls back its migration alone, the ones before it are committed,
  and Failed tells the caller to hand over to the full path, which reports it.

Python's sqlite3 does not stop a statement on Ctrl-C: the signal is raised once the
statement under way returns, so the connection always stays usable for the rollback.
Free of SQLAlchemy: the warm path runs here.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Sequence

from gitmig.db.batch import BaseBatch, commit_failed
from gitmig.db.history.rows import INSERT_HEAD
from gitmig.db.sqlrecord import Step
from gitmig.errors import GitmigError

Show = Callable[[str, float], None]  # (label, milliseconds): the "Applying" line
INSERT = f"{INSERT_HEAD} VALUES (?, ?, ?, ?, ?, ?)"
_SAVEPOINT = "gitmig_step"


class Failed(Exception):
    """A statement failed: its migration is rolled back, the ones before it committed."""


class Lost(GitmigError):
    """Migrations printed OK could not be committed: said, never handed over (the full
    path would print them again)."""


def replay(conn: sqlite3.Connection, steps: Sequence[Step], git_commit: str | None,
           show: Show, first: Sequence[str] = ()) -> None:
    """Run `steps` on `conn` (autocommit mode, under the migration lock); `first`: the
    statements that make the history table (from an empty database), run in the first
    migration's savepoint."""
    batch = _Batch(conn)
    with batch.interrupts():
        try:
            for i, step in enumerate(steps):
                started = time.perf_counter()
                batch.begin()
                batch.step(step, git_commit, first if i == 0 else ())
                batch.tick(step.label)
                show(step.label, (time.perf_counter() - started) * 1000)
                batch.stop_if_asked()
        except sqlite3.Error:
            batch.finish_after_failure()
            raise Failed from None
        except BaseException:
            batch.finish_quietly()
            raise
        batch.finish()


def now() -> str:
    """applied_at as SQLAlchemy's SQLite DATETIME stores it: naive UTC, microseconds."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _Batch(BaseBatch):
    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn
        self.open = False
        self.in_step = False  # a savepoint may be open: never commit it half done

    def is_open(self) -> bool:
        return self.open

    def begin(self) -> None:
        if not self.open:
            self.conn.execute("BEGIN")
            self.open = True
            self.since = time.perf_counter()

    def step(self, step: Step, git_commit: str | None, first: Sequence[str]) -> None:
        """`step` whole in its savepoint; `first` (the history table) with it, so that
        a table is never committed without what makes it whole."""
        self.in_step = True
        self.conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        for sql in first:
            self.conn.execute(sql)
        for sql, params in step.statements:
            self.conn.execute(sql, params)
        self.conn.execute(INSERT, (step.app, step.name, step.checksum, now(), git_commit,
                                   step.digest))
        self.conn.execute(f"RELEASE {_SAVEPOINT}")
        self.in_step = False

    def finish(self) -> None:
        """Commit the batch, without the migration under way if one was stopped."""
        if not self.open:
            return
        pending, self.pending = self.pending, []
        try:
            self._abandon_step()
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            if pending:
                raise Lost(commit_failed(pending, str(exc))) from None
            raise
        finally:
            self.open = False

    def _abandon_step(self) -> None:
        """Roll back the migration under way, if any: a savepoint that is no longer open
        was released (its migration is whole) or never made."""
        if not self.in_step:
            return
        try:
            self.conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            self.conn.execute(f"RELEASE {_SAVEPOINT}")
        except sqlite3.OperationalError as exc:
            if "no such savepoint" not in str(exc):
                raise
        self.in_step = False

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def finish_after_failure(self) -> None:
        """A statement failed: keep the migrations before it (a failing commit is said)."""
        self.finish()
