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
(Batch.interrupts); a second one stops at once. A batch lost all the same (the
connection dropped) is said plainly, never reported as applied.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from gitmig.errors import GitmigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, RootTransaction


class Batch:
    BATCH_SECONDS = 0.5

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.outer: RootTransaction | None = None
        self.since = 0.0
        self.pending: list[str] = []  # labels of the migrations not yet committed
        self.interrupted = False  # a Ctrl-C waits for the pending ones' commit

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        if self.outer is None:
            if self.conn.in_transaction():
                self.conn.commit()
            self.outer = self.conn.begin()
            self.since = time.perf_counter()
        with self.conn.begin_nested():
            yield

    def tick(self, label: str) -> None:
        """`label` ran in its savepoint; commit when the batch is old enough."""
        self.pending.append(label)
        if time.perf_counter() - self.since >= self.BATCH_SECONDS:
            self.finish()

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

                raise GitmigError(
                    f"the commit of the {len(pending)} migration(s) reported OK since the "
                    f"last one failed ({db_error_text(exc)}): {', '.join(pending)} may not "
                    "be applied; `gitmig showmigrations` says which are, and gitmig "
                    "migrate applies the rest.") from None
            except BaseException:
                _close(outer)
                raise
        _close(outer)  # else the connection refuses every statement after (the lock's too)
        if pending:
            raise GitmigError(
                f"the connection to the database was lost before the commit of the "
                f"{len(pending)} migration(s) reported OK since the last one: none of "
                f"{', '.join(pending)} is applied. Run gitmig migrate again once the "
                "database answers.")

    def finish_quietly(self) -> None:
        """On an interrupt: commit what ran if the connection still can; else say what
        was lost."""
        try:
            self.finish()
        except GitmigError as exc:
            print(f"gitmig: {exc}", file=sys.stderr)
        except Exception:
            pass

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

    @contextmanager
    def interrupts(self) -> Iterator[None]:
        """While the run lasts, a Ctrl-C with migrations reported OK and not yet committed
        sets `interrupted` (the run stops after the migration under way, see stop_if_asked)
        instead of raising mid-statement; a second one, or one with nothing pending,
        raises as usual. Only where Ctrl-C has Python's own handler (not in a fleet's
        workers, which ignore it, nor off the main thread)."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            if self.pending and self.outer is not None and not self.interrupted:
                self.interrupted = True
                return
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def stop_if_asked(self) -> None:
        """Between migrations: after a deferred Ctrl-C, commit and stop."""
        if self.interrupted:
            self.finish()
            raise KeyboardInterrupt


def _close(outer: RootTransaction) -> None:
    try:
        outer.rollback()
    except Exception:
        pass
