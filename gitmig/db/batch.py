"""Migrations committed a few at a time where DDL is transactional.

Each migration runs inside a savepoint of a transaction that commits every
BATCH_SECONDS and at the end: a migration (its DDL, data changes and history row) is in
the database whole or not at all, and a failure rolls back only the migration that
failed; but two hundred small migrations no longer pay two hundred commits (each a sync
to disk). A run killed mid-batch loses that batch's migrations, each together with its
history row, and the next run applies them again.

A Ctrl-C in the middle of a statement makes SQLAlchemy drop the connection, and with it
the open batch, whose migrations were already reported OK: while some are, a first
Ctrl-C only stops the run once the migration under way ends and the batch is committed
(BaseBatch.interrupts); a second one stops at once. A batch lost all the same (the
connection dropped) is said plainly, never reported as applied.

BaseBatch is what the warm paths' batches (gitmig.db.sqlitebatch on sqlite3,
gitmig.actions.warmpg on libpq) share with this one, in the same words: this module
imports SQLAlchemy only for its types.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from gitmig.db.sigint import deferring_sigint
from gitmig.errors import GitmigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, RootTransaction


class BaseBatch(ABC):
    """Migrations reported OK and not yet committed, when to commit them, and a Ctrl-C
    that waits for their commit: alike on every connection a batch runs on."""

    BATCH_SECONDS = 0.5

    def __init__(self) -> None:
        self.since = 0.0  # when the open batch began
        self.pending: list[str] = []  # labels of the migrations not yet committed
        self.interrupted = False  # a Ctrl-C waits for the pending ones' commit

    @abstractmethod
    def is_open(self) -> bool:
        """Whether a batch's transaction is open."""

    @abstractmethod
    def finish(self) -> None:
        """Commit the batch; say plainly (GitmigError) when migrations reported OK were
        lost with it."""

    def tick(self, label: str) -> None:
        """`label` ran in its savepoint; commit when the batch is old enough."""
        self.pending.append(label)
        if time.perf_counter() - self.since >= self.BATCH_SECONDS:
            self.finish()

    def finish_quietly(self) -> None:
        """On an interrupt: commit what ran if the connection still can; else say what
        was lost."""
        try:
            self.finish()
        except GitmigError as exc:
            print(f"gitmig: {exc}", file=sys.stderr)
        except Exception:
            pass

    def interrupts(self) -> AbstractContextManager[None]:
        """While the run lasts, a Ctrl-C with migrations reported OK and not yet committed
        sets `interrupted` (the run stops after the migration under way, see stop_if_asked)
        instead of raising mid-statement; a second one, or one with nothing pending,
        raises as usual (gitmig.db.sigint says where Ctrl-C is left alone)."""
        return deferring_sigint(self.defer_sigint)

    def defer_sigint(self) -> bool:
        """Whether this Ctrl-C waits: the first one while migrations await their commit."""
        if self.pending and self.is_open() and not self.interrupted:
            self.interrupted = True
            return True
        return False

    def stop_if_asked(self) -> None:
        """Between migrations: after a deferred Ctrl-C, commit and stop."""
        if self.interrupted:
            self.finish()
            raise KeyboardInterrupt


def commit_failed(pending: Sequence[str], reason: str) -> str:
    """The commit of migrations reported OK failed (`reason`): they may be lost."""
    return (f"the commit of the {len(pending)} migration(s) reported OK since the last one "
            f"failed ({reason}): {', '.join(pending)} may not be applied; `gitmig "
            "showmigrations` says which are, and gitmig migrate applies the rest.")


def lost_before_commit(pending: Sequence[str]) -> str:
    """The connection went before the commit of migrations reported OK: they are lost."""
    return (f"the connection to the database was lost before the commit of the "
            f"{len(pending)} migration(s) reported OK since the last one: none of "
            f"{', '.join(pending)} is applied. Run gitmig migrate again once the "
            "database answers.")


class Batch(BaseBatch):
    """The full path's batch, on a SQLAlchemy connection."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn
        self.outer: RootTransaction | None = None

    def is_open(self) -> bool:
        return self.outer is not None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        if self.outer is None:
            if self.conn.in_transaction():
                self.conn.commit()
            self.outer = self.conn.begin()
            self.since = time.perf_counter()
        with self.conn.begin_nested():
            yield

    def finish(self) -> None:
        """Commit the batch. Raises GitmigError when its transaction was lost (the
        connection dropped or was invalidated) with migrations in it."""
        outer, self.outer = self.outer, None
        pending, self.pending = self.pending, []
        if outer is None:
            return
        if outer.is_active:
            try:
                outer.commit()
                return
            except Exception as exc:
                _close(outer)
                if not pending:
                    raise
                from gitmig.db.connection import db_error_text

                raise GitmigError(commit_failed(pending, db_error_text(exc))) from None
            except BaseException:
                _close(outer)
                raise
        _close(outer)  # else the connection refuses every statement after (the lock's too)
        if pending:
            raise GitmigError(lost_before_commit(pending))

    def finish_after_failure(self, label: str, exc: BaseException) -> None:
        """Keep the migrations before a failed one, or say plainly that they are lost."""
        pending = self.pending
        try:
            self.finish()
        except Exception:
            if not pending:
                return
            from gitmig.db.connection import db_error_text

            raise GitmigError(
                f"{label} failed ({db_error_text(exc)}), and the commit of the "
                f"{len(pending)} migration(s) applied before it failed too: none of "
                f"{', '.join(pending)} is applied. Run gitmig migrate again once the "
                "database answers.") from None


def _close(outer: RootTransaction) -> None:
    try:
        outer.rollback()
    except Exception:
        pass
