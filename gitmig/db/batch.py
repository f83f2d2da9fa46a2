"""Migrations committed a few at a time where DDL is transactional.

Each migration runs inside a savepoint of a transaction that commits every
BATCH_SECONDS and at the end: a migration (its DDL, data changes and history row) is in
the database whole or not at all, and a failure rolls back only the migration that
failed; but two hundred small migrations no longer pay two hundred commits (each a sync
to disk). A run killed mid-batch loses that batch's migrations, each together with its
history row, and the next run applies them again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
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
        outer, self.outer = self.outer, None
        self.pending = []
        if outer is not None and outer.is_active:
            outer.commit()

    def finish_quietly(self) -> None:
        """On an interrupt: commit what ran if the connection still can; else nothing."""
        try:
            self.finish()
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
            raise GitmigError(
                f"{label} failed ({type(exc).__name__}: {exc}), and the commit of the "
                f"{len(pending)} migration(s) applied before it failed too: none of "
                f"{', '.join(pending)} is applied. Run gitmig migrate again once the "
                "database answers.") from None
