"""`gitmig migrate` into an empty PostgreSQL database, replaying SQL a full run recorded.

A test database built from migrations at every test run pays for SQLAlchemy, Alembic and
the operations each time, to send the same statements. This path sends them through
libpq (gitmig.db.pgexec) and does what the full path (gitmig.actions.migrate with
gitmig.db.batch) does, statement for statement, or nothing:

- the migration lock is the full path's (the session advisory lock on the same key),
  tried without waiting: if another run holds it, the full path waits and says so;
- under the lock, the database holds nothing (gitmig.db.pgrecord's ENV_SQL: no table,
  view, sequence, type or routine outside the system's and extensions', and no history
  table), and the entry for the whole plan from this database and session exists
  (gitmig.db.pgrecord: keyed by the plan, the URL, server version, role, search_path,
  encodings, schemas and extensions, the code);
- the history table is created with the DDL the recording run's SQLAlchemy compiled, in a
  transaction of its own, as Recorder.ensure_table does; then each migration runs in a
  savepoint of a transaction committed every Batch.BATCH_SECONDS and at the end: its
  statements, then its history row (applied_at as the SQLAlchemy path stores it); its
  "Applying ... OK" line is printed once its savepoint is released;
- a failing statement rolls back to that migration's savepoint, commits the batch (the
  migrations reported OK stay, as gitmig.db.batch keeps them), releases the lock, and the
  full path takes over from the committed history: it runs (or fails at) the same
  migration and prints its own lines, nothing twice. So does the end of a recorded prefix
  (the entry holds the migrations up to the first one that could not be recorded).

Each migration is sent as one string (SAVEPOINT, its statements, its history row, RELEASE):
libpq's simple protocol runs them in order in the open transaction and stops at the first
error, in one round trip instead of one per statement.

Ctrl-C: with migrations reported and not committed, the one under way finishes, the batch
commits and the run stops (as gitmig.db.batch); otherwise, or at a second one, the run
stops once the migration under way is back from the server (libpq does not hand the
signal over mid-call), that migration rolled back and the reported ones committed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import suppress

from gitmig.config import Config
from gitmig.db import pgexec, pgrecord, sqlrecord
from gitmig.db.batch import BaseBatch, commit_failed, lost_before_commit
from gitmig.db.history import pgreader
from gitmig.db.history.rows import INSERT_HEAD
from gitmig.errors import GitmigError

Show = Callable[[str, float], None]  # (label, milliseconds): the "Applying" line
_LOCK = pgreader.LOCK_KEY  # gitmig.db.backends.postgresql.lock_key(None)


def warm_migrate_pg(config: Config, database: str | None, ask: bool, show: Show) -> bool:
    """Apply the whole plan from recorded SQL into an empty database; True when all of it
    ran, False when the full path must run (what was committed here stays, reported)."""
    url = sqlrecord.warm_url(config, database)
    if url is None or pgreader._target(url, config.timeouts) is None:
        return False
    session = pgexec.connect(url, config.timeouts)
    if session is None:
        return False
    try:
        return _warm(config, url, session, ask, show)
    except pgexec.PgError:
        return False
    finally:
        session.close()  # releases the lock too, as the full path's closing does


def _plan(config: Config) -> list[list[str]] | None:
    """The plan from nothing (app, name, checksum, SHA-256 each), when the full path would
    change and warn about nothing before it: one leaf per app, no squash."""
    from gitmig.actions.uptodate import settled_graph
    from gitmig.migrations import plan

    graph = settled_graph(config, {})
    if graph is None:
        return None
    return sqlrecord.plan_items(graph, plan.to_target(graph, set()))


def _warm(config: Config, url: str, session: pgexec.Session, ask: bool, show: Show) -> bool:
    if session.execute(f"SELECT pg_try_advisory_lock({_LOCK})") != [["t"]]:
        return False  # another migrate runs: the full path waits, and says so
    try:
        env = pgrecord.environment(session.execute(pgrecord.FACTS_SQL),
                                   session.execute(pgrecord.ENV_SQL))
        if env is None or not env.empty or env.history:
            return False  # most databases: before the graph is even loaded
        plan = _plan(config)
        if plan is None:
            return False
        bundle = pgrecord.load(config, url, env, plan)
        if bundle is None:
            return False
        if ask and (len(bundle.steps) < len(plan) or any(s.destructive for s in bundle.steps)):
            return False  # the full path asks first, about the whole plan
        from gitmig.db.githead import git_head

        commit = git_head(config.root)
        if not env.conforming_strings:  # how _literal quotes
            return False
        # Recorder.ensure_table: the table commits on its own
        session.execute(f"BEGIN;\n{bundle.history_ddl};\nCOMMIT")
        return _run(session, bundle.steps, commit, show) and len(bundle.steps) == len(plan)
    finally:
        with suppress(pgexec.PgError):
            if session.status() != pgexec.IDLE:
                session.execute("ROLLBACK")
            session.execute(f"SELECT pg_advisory_unlock({_LOCK})")


class _Batch(BaseBatch):
    """gitmig.db.batch.Batch's transaction, on a libpq session."""

    def __init__(self, session: pgexec.Session) -> None:
        super().__init__()
        self.session = session
        self.open = False
        self.abort = False  # stop after the statement under way

    def is_open(self) -> bool:
        return self.open

    def defer_sigint(self) -> bool:
        """Every Ctrl-C waits for the migration under way (libpq is not stopped mid-call):
        the first one while migrations await their commit as the full path's does; else
        the run commits the migration under way once it ends and stops there (exit 130),
        the last one included."""
        if not super().defer_sigint():
            self.abort = True
        return True

    def begin(self) -> str:
        """What to send first: BEGIN when no batch is open (one opens)."""
        if self.open:
            return ""
        self.open, self.since = True, time.perf_counter()
        return "BEGIN;\n"

    def finish(self) -> None:
        """Commit the batch; say plainly, as gitmig.db.batch does, when migrations
        reported OK were lost with it."""
        if not self.open:
            return
        pending, self.pending, self.open = self.pending, [], False
        try:
            if self.session.status() != pgexec.INTRANS:
                raise pgexec.PgError("the transaction was lost")
            self.session.execute("COMMIT")
        except pgexec.PgError as exc:
            if not pending:
                raise
            if self.session.status() not in (pgexec.IDLE, pgexec.INTRANS, pgexec.INERROR):
                raise GitmigError(lost_before_commit(pending)) from None
            raise GitmigError(commit_failed(pending, _text(exc))) from None


def _run(session: pgexec.Session, steps: tuple[sqlrecord.Step, ...], commit: str | None,
         show: Show) -> bool:
    """The migrations in the batch's savepoints; False when one failed (rolled back, the
    ones before it committed): the full path takes over.

    Each migration goes to the server as one string (its savepoint, statements, history
    row and release; libpq's simple protocol runs them in order in the open transaction
    and stops at the first error): one round trip instead of one per statement, which on
    a busy machine is most of the wall time."""
    batch = _Batch(session)
    with batch.interrupts():
        for n, step in enumerate(steps, 1):
            if batch.abort:
                batch.finish()
                raise KeyboardInterrupt
            started = time.perf_counter()
            savepoint = f"sa_savepoint_{n}"
            row = ", ".join(_literal(v) for v in (
                step.app, step.name, step.checksum, _now(), commit, step.digest))
            # A newline before each ";": a statement ending in a -- comment stays whole.
            sql = "\n;\n".join([f"SAVEPOINT {savepoint}", *(q for q, _ in step.statements),
                                f"{INSERT_HEAD} VALUES ({row})",
                                f"RELEASE SAVEPOINT {savepoint}"])
            try:
                session.execute(batch.begin() + sql)
            except (pgexec.PgError, KeyboardInterrupt) as exc:
                try:
                    session.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                except pgexec.PgError:
                    with suppress(pgexec.PgError):
                        session.execute("ROLLBACK")
                batch.finish()  # the ones reported OK stay
                if isinstance(exc, KeyboardInterrupt):
                    raise
                return False
            batch.tick(step.label)
            try:
                show(step.label, (time.perf_counter() - started) * 1000)
            except BaseException:  # stdout gone (`| head`): the lines seen before it stay true
                batch.finish()
                raise
            batch.stop_if_asked()
        batch.finish()
        if batch.abort:  # a Ctrl-C during the last migration: it is applied, and said so
            raise KeyboardInterrupt
    return True


def _literal(value: str | None) -> str:
    """A value as an SQL literal (standard_conforming_strings is on: the entry's key)."""
    if value is None:
        return "NULL"
    if "\0" in value:
        raise pgexec.PgError("a NUL character in a history value")
    return "'" + value.replace("'", "''") + "'"


def _now() -> str:
    """applied_at as the SQLAlchemy path sends it: the time in UTC, microseconds."""
    return dt.datetime.now(dt.UTC).isoformat()


def _text(exc: BaseException) -> str:
    """libpq's message on one line, without its severity."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    for prefix in ("ERROR:", "FATAL:"):
        first = first.removeprefix(prefix).strip()
    return first
