"""Plans run against a database: DDL through Alembic, rows in the history table.

Everything that can be known before touching the database is worked out first: the
schema state before and after every operation (replayed from the files), and for a
backwards plan the reverse of every operation. An irreversible migration therefore stops
the plan before anything runs.

A migration is applied whole or not at all where the database has transactional DDL
(its backend's transactional_ddl: SQLite, PostgreSQL): its DDL and its history row
commit together (in a savepoint; several migrations share a commit, see _Batch), unless
its own SQL or Python commits, which a failure then reports.
MariaDB/MySQL commit each DDL statement on their own, so there the row records how far
the migration got after every operation (gitmig.db.history.recorder), a failure says
which operations already ran, and a run killed halfway is reported by the next one,
which changes nothing until the user settles it (finish by hand, or undo by hand, then
--fake). What `gitmig migrate` does around the runner is gitmig.actions.migrate's.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmig.config import Config, SafeSettings
from gitmig.db.batch import Batch
from gitmig.errors import GitmigError
from gitmig.migrations import statecache
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph
from gitmig.migrations.options import options
from gitmig.migrations.plan import Step
from gitmig.migrations.replay import Replayer
from gitmig.ops import AlterEnum, Operation, RunPython, RunSQL
from gitmig.schema.state import SchemaState

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.backends.base import Backend
    from gitmig.db.history.recorder import Recorder, Unfinished
    from gitmig.db.sqlrecord import Capture


@dataclass(frozen=True)
class Action:
    """One operation to run: as written in the file, or what undoes it when unapplying."""

    op: Operation
    written: Operation
    index: int  # 1-based position in the migration's operations
    before: SchemaState
    after: SchemaState
    restores: bool = False  # puts back what undoing `written` cannot know (see restore)

    def describe(self) -> str:
        if self.op is self.written:
            return self.op.describe()
        if self.restores:
            return f"Restore: {self.op.describe()}"
        return f"Undo: {self.written.describe()}"


@dataclass(frozen=True)
class Prepared:
    step: Step
    file: MigrationFile
    actions: tuple[Action, ...]

    @property
    def label(self) -> str:
        return self.step.label

    @property
    def destructive(self) -> list[str]:
        """What loses data: dropping forwards, or unapplying what created."""
        out = []
        for a in self.actions:
            if a.op.destructive:
                out.append(a.describe())
        return out


class Irreversible(GitmigError):
    pass


class Executor:
    """Prepares plans from a graph; runs them on one connection."""

    def __init__(self, graph: MigrationGraph, replayer: Replayer | None = None) -> None:
        self.graph = graph
        self.replayer = replayer or Replayer(graph)

    def prepare(
        self, steps: list[Step], applied: Collection[Key], *, fake: bool = False
    ) -> list[Prepared]:
        """States and operations for every step; raises before anything runs.

        A fake run runs no operation, so unapplying an irreversible migration is allowed
        (its irreversible operations are left out of the plan).
        """
        if not fake:
            self._refuse_irreversible(steps)
        doomed = {s.key for s in steps if s.backwards}
        applied = set(applied)
        known = [k for k in self.graph.order() if k in applied]
        prepared: dict[Step, Prepared] = {}
        if doomed:
            # The state before a migration to unapply is what the migrations applied
            # before it (in graph order) made, as when it was applied.
            state = SchemaState()
            for key in known:
                if key in doomed:
                    step = Step(key, backwards=True)
                    prepared[step] = self._backwards(step, state, lenient=fake)
                state = self.replayer.apply(state, key)
        kept = [k for k in known if k not in doomed]
        state = self.replayer.prefix(kept) if not doomed else SchemaState()
        if doomed:
            for key in kept:
                state = self.replayer.apply(state, key)
        forwards = [s.key for s in steps if not s.backwards]
        for step in steps:
            if not step.backwards:
                prepared[step] = p = self._forwards(step, state)
                state = p.actions[-1].after if p.actions else state
        if not doomed and forwards:  # the state the database will have: the next run's start
            statecache.remember_prefix_state(self.graph, kept + forwards, state)
        return [prepared[s] for s in steps]

    def _refuse_irreversible(self, steps: list[Step]) -> None:
        for step in steps:
            if not step.backwards:
                continue
            for i, op in enumerate(self.replayer.operations(step.key), start=1):
                if not op.reversible:
                    raise Irreversible(
                        f"cannot unapply {step.label}: operation {i} ({op.describe()}) "
                        "has no reverse, so the migration is irreversible; nothing was "
                        "changed. Give it a reverse (reverse_sql= or a reverse function) "
                        "to go back past it"
                    )

    def _states(self, key: Key, state: SchemaState) -> tuple[list[Operation], list[SchemaState]]:
        f = self.graph.nodes[key]
        operations = self.replayer.operations(key)
        states = [state]
        for op in operations:
            try:
                states.append(op.state_forwards(states[-1], f.app))
            except GitmigError as exc:
                raise GitmigError(exc.message, path=f.path) from None
        return operations, states

    def _forwards(self, step: Step, state: SchemaState) -> Prepared:
        operations, states = self._states(step.key, state)
        actions = tuple(
            Action(op, op, i + 1, states[i], states[i + 1]) for i, op in enumerate(operations)
        )
        return Prepared(step, self.graph.nodes[step.key], actions)

    def _backwards(self, step: Step, state: SchemaState, lenient: bool = False) -> Prepared:
        f = self.graph.nodes[step.key]
        operations, states = self._states(step.key, state)
        actions: list[Action] = []
        for i in reversed(range(len(operations))):
            if lenient and not operations[i].reversible:
                continue
            try:
                reverse = operations[i].reverse(states[i])
                reached = reverse.state_forwards(states[i + 1], f.app)
            except GitmigError as exc:
                raise Irreversible(f"cannot unapply {step.label}: {exc.message}",
                                   path=f.path) from None
            actions.append(Action(reverse, operations[i], i + 1, states[i + 1], reached))
            for extra in restore(reached, states[i], reverse.tables()):
                after = extra.state_forwards(reached, f.app)
                actions.append(Action(extra, operations[i], i + 1, reached, after,
                                      restores=True))
                reached = after
        return Prepared(step, f, tuple(actions))

    def _record_unapplied(self, recorder: Recorder, key: Key) -> None:
        """A squash unapplied takes the rows of the migrations it replaces with it."""
        recorder.record_unapplied(key)
        for replaced in self.graph.replacing.get(key, ()):
            recorder.record_unapplied(replaced)

    def run(
        self,
        conn: Connection,
        prepared: list[Prepared],
        *,
        fake: bool = False,
        git_commit: str | None = None,
        progress: Progress | None = None,
        safe: SafeSettings | None = None,
        capture: Capture | None = None,
    ) -> None:
        """`capture`: records each operation's statements (gitmig.db.sqlrecord)."""
        from alembic.operations import Operations
        from alembic.runtime.migration import MigrationContext

        from gitmig.db import ddl
        from gitmig.db.backends import backend_for
        from gitmig.db.history.recorder import Recorder

        recorder = Recorder(conn)
        operations = Operations(MigrationContext.configure(connection=conn))
        backend = backend_for(conn.dialect)
        progress = progress or Progress()
        if conn.in_transaction():
            conn.commit()
        if prepared:
            with conn.begin():
                recorder.ensure_table()

        def run_action(action: Action, done: list[Action]) -> None:
            ctx = ddl.Context(operations, backend, conn.dialect, action.before,
                              action.after, connection=conn)
            if capture is None:
                ddl.run(action.op, ctx)
            else:
                capture.start(action)
                try:
                    ddl.run(action.op, ctx)
                finally:
                    capture.stop()
            done.append(action)

        safe = safe or SafeSettings()
        batch = Batch(conn)
        may_batch = bool(prepared) and backend.transactional_ddl and backend.may_batch(
            conn, _schemas(prepared))
        try:
            with batch.interrupts():  # a Ctrl-C never drops migrations reported OK
                self._run_all(conn, recorder, backend, prepared, progress, run_action,
                              batch, may_batch, safe, fake=fake, git_commit=git_commit,
                              capture=capture)
        except BaseException:
            batch.finish_quietly()  # Ctrl-C: what was reported applied stays applied
            raise
        batch.finish()

    def _run_all(self, conn: Connection, recorder: Recorder, backend: Backend,
                 prepared: list[Prepared], progress: Progress,
                 run_action: Callable[[Action, list[Action]], None], batch: Batch,
                 may_batch: bool, safe: SafeSettings, *, fake: bool,
                 git_commit: str | None, capture: Capture | None = None) -> None:
        """Each migration in turn; in the batch's savepoints where that is allowed."""
        for p in prepared:
            progress.start(p)
            started = time.perf_counter()
            done: list[Action] = []
            marks: list[object] = []  # a transaction mark left open when a run fails
            own = options(p.file.path)
            lock = own.lock_timeout if own.lock_timeout is not None else safe.lock_timeout
            statement = (own.statement_timeout if own.statement_timeout is not None
                         else safe.statement_timeout)
            attempts = 1 + (own.lock_retries if own.lock_retries is not None
                            else safe.lock_retries)
            path = _path(backend, p, fake=fake, atomic=own.atomic)
            # Alone in its transaction, as it always was: a migration that may commit by
            # itself, runs outside one, sets session timeouts (which commit and reset), or
            # adds enum values (usable by the next migrations only once committed).
            batched = may_batch and (
                path == "fake" or path == "atomic" and not _may_commit(p)
                and not _adds_enum_values(p)) and not lock and not statement
            if not batched:
                batch.finish()
            if capture is not None:
                capture.batched[p.step.key] = batched and path == "atomic"
            attempt = 1
            try:
                while True:
                    done.clear()
                    tried = time.perf_counter()
                    try:
                        with backend.session_timeouts(conn, lock, statement):
                            self._apply(conn, recorder, backend, p, run_action, done,
                                        marks, path, git_commit=git_commit,
                                        begin=batch.savepoint if batched else conn.begin)
                        break
                    except Exception as exc:
                        if (attempt == attempts or not backend.is_lock_timeout(exc)
                                or not _undone(conn, backend, path, done, marks)):
                            raise
                        batch.finish()  # its savepoint is gone; the ones before it stay
                        if conn.in_transaction():
                            conn.rollback()
                        marks.clear()
                        pause = min(0.5 * 2 ** (attempt - 1), 10)
                        progress.retrying(Retry(
                            p, p.actions[len(done)] if len(done) < len(p.actions) else None,
                            attempt, attempts, time.perf_counter() - tried, pause))
                        time.sleep(pause)
                        attempt += 1
            except Exception as exc:
                progress.failed(p)
                batch.finish_after_failure(p.label, exc)
                committed = bool(marks) and backend.committed_since(conn, marks[0])
                gave_up = (LockWait(lock, attempt, attempts)
                           if backend.is_lock_timeout(exc) else None)
                raise MigrationFailed(p, done, exc, backend, committed, gave_up,
                                      kept=path == "one_by_one") from None
            if batched:
                batch.tick(p.label)
            progress.done(p, (time.perf_counter() - started) * 1000, fake)
            batch.stop_if_asked()


    def _apply(self, conn: Connection, recorder: Recorder, backend: Backend, p: Prepared,
               run_action: Callable[[Action, list[Action]], None], done: list[Action],
               marks: list[object], path: str, *, git_commit: str | None,
               begin: Callable[[], AbstractContextManager[object]]) -> None:
        """Run one migration the way `path` says (see _path); `marks` holds the
        transaction's mark while its own SQL or Python may commit (see committed_since).

        A migration that is not atomic (`atomic = False`, or an operation the database
        runs outside any transaction, as CREATE INDEX CONCURRENTLY) runs each operation
        on its own and is recorded after the last one: until then it is not applied, and
        the next migrate runs it again.
        """
        replaces = self.graph.replacing.get(p.step.key, ())
        if path == "tracked":
            _run_tracked(conn, recorder, p, run_action, done, git_commit, replaces)
        elif path == "one_by_one":
            _run_one_by_one(conn, recorder, backend, p, run_action, done, git_commit,
                            replaces)
        else:
            with begin():
                if path == "atomic":
                    mark = backend.mark_transaction(conn) if _may_commit(p) else None
                    if mark is not None:
                        marks.append(mark)
                    for action in p.actions:
                        run_action(action, done)
                    if mark is not None:
                        backend.unmark_transaction(conn, mark)
                        marks.clear()
                if p.step.backwards:
                    self._record_unapplied(recorder, p.step.key)
                else:
                    recorder.record_applied(p.step.key, p.file.checksum,
                                            p.file.digest or None, git_commit)


def _schemas(prepared: list[Prepared]) -> set[str]:
    """The schemas the plan's tables name (beside the search path's)."""
    states = [a.before for p in prepared[:1] for a in p.actions[:1]]
    states += [a.after for p in prepared[-1:] for a in p.actions[-1:]]
    return {t.schema for state in states for t in state.tables.values() if t.schema}


def _path(backend: Backend, p: Prepared, *, fake: bool, atomic: bool) -> str:
    """How a migration runs: "fake" (only its row), "atomic" (one transaction, all
    rolled back on failure), "one_by_one" (each operation commits), "tracked"
    (MariaDB/MySQL: DDL commits itself, the row says how far it got)."""
    if fake:
        return "fake"
    if not backend.transactional_ddl and p.actions:
        return "tracked"
    if not atomic or any(backend.outside_transaction(a.op) for a in p.actions):
        return "one_by_one"
    return "atomic"


def _undone(conn: Connection, backend: Backend, path: str, done: list[Action],
            marks: list[object]) -> bool:
    """After a failed attempt: whether nothing of it stays in the database, so that it
    can be tried again (an atomic migration is rolled back whole unless its own SQL or
    Python committed; otherwise what ran before the failing operation stays)."""
    if done and path != "atomic":
        return False
    return not (marks and backend.committed_since(conn, marks[0]))


@dataclass(frozen=True)
class Retry:
    """A migration about to be tried again: an attempt waited too long for a lock."""

    p: Prepared
    action: Action | None  # the operation that waited (None: the history row's write)
    attempt: int  # the attempt that gave up, from 1
    attempts: int  # how many there may be in all (1 + lock_retries)
    waited: float  # seconds the attempt ran before the database gave up
    pause: float  # seconds before the next attempt

    def reason(self) -> str:
        what = (f"operation {self.action.index} of {len(self.p.actions)} "
                f"({self.action.describe()})" if self.action is not None
                else "recording it")
        return (f"lock timeout after {self.waited:.1f} s waiting at {what}, attempt "
                f"{self.attempt} of {self.attempts}; retrying in {self.pause:g} s")

    def describe(self) -> str:
        return f"{self.p.label}: {self.reason()}"


@dataclass(frozen=True)
class LockWait:
    """Why a migration gave up: the lock it waited for, on its last attempt."""

    timeout: float | None  # the lock_timeout set (None: the database's own)
    attempt: int
    attempts: int

    def describe(self) -> str:
        limit = (f"lock_timeout ({self.timeout:g} s)" if self.timeout is not None
                 else "the database's own lock timeout")
        if self.attempt < self.attempts:
            return (f"it waited for a lock longer than {limit} on attempt {self.attempt} "
                    f"of {self.attempts}, and was not tried again because part of it "
                    "had already committed")
        tries = (f"all {self.attempts} attempts (lock_retries = {self.attempts - 1})"
                 if self.attempts > 1 else "its only attempt (lock_retries = 0)")
        return f"it waited for a lock longer than {limit} on {tries}"


def _run_one_by_one(
    conn: Connection,
    recorder: Recorder,
    backend: Backend,
    p: Prepared,
    run_action: Callable[[Action, list[Action]], None],
    done: list[Action],
    git_commit: str | None,
    replaces: tuple[Key, ...] = (),
) -> None:
    """A migration that is not atomic: each operation commits on its own (outside any
    transaction where the database requires it), the history row after the last."""
    for action in p.actions:
        if backend.outside_transaction(action.op):
            with backend.autocommit(conn):
                run_action(action, done)
        else:
            with conn.begin():
                run_action(action, done)
    with conn.begin():
        if p.step.backwards:
            recorder.record_unapplied(p.step.key)
            for replaced in replaces:
                recorder.record_unapplied(replaced)
        else:
            recorder.record_applied(p.step.key, p.file.checksum, p.file.digest or None,
                                    git_commit)


def _run_tracked(
    conn: Connection,
    recorder: Recorder,
    p: Prepared,
    run_action: Callable[[Action, list[Action]], None],
    done: list[Action],
    git_commit: str | None,
    replaces: tuple[Key, ...] = (),
) -> None:
    """One migration where DDL cannot be rolled back (MariaDB/MySQL): its row says how far
    it got after every operation, each in its own transaction with its DML, so that a run
    killed halfway is reported by the next one instead of being repeated or skipped."""
    key, total, backwards = p.step.key, len(p.actions), p.step.backwards
    with conn.begin():
        recorder.record_started(key, p.file.checksum, p.file.digest or None, git_commit,
                                backwards, total)
    try:
        for action in p.actions:
            with conn.begin():
                run_action(action, done)
                recorder.record_progress(key, backwards, len(done), total)
    except Exception:
        if not done:  # nothing ran (MariaDB's DDL statements are atomic): no trace left
            with contextlib.suppress(Exception), conn.begin():
                if backwards:
                    recorder.clear_progress(key)
                else:
                    recorder.record_unapplied(key)
        raise
    with conn.begin():
        if backwards:
            recorder.record_unapplied(key)
            for replaced in replaces:
                recorder.record_unapplied(replaced)
        else:
            recorder.record_finished(key)


def restore(reached: SchemaState, wanted: SchemaState, keys: set[str]) -> list[Operation]:
    """Indexes and constraints an undo leaves out, to put the schema back as it was.

    Dropping a column drops the indexes and constraints over several columns with it;
    the reverse (adding the column back) cannot know them, the state before can.
    """
    from gitmig import ops
    from gitmig.schema.state import constraint_identity

    out: list[Operation] = []
    for key in sorted(keys):
        have, want = reached.get(key), wanted.get(key)
        if have is None or want is None:
            continue
        have_ix = {ix.name for ix in have.indexes}
        for ix in sorted(want.indexes, key=lambda i: i.name):
            if ix.name not in have_ix:
                out.append(ops.CreateIndex.of(want.name, ix, schema=want.schema))
        have_c = {constraint_identity(c) for c in have.constraints}
        for c in sorted(want.constraints, key=repr):
            if constraint_identity(c) not in have_c:
                out.append(ops.AddConstraint(want.name, c, schema=want.schema))
    return out


def _adds_enum_values(p: Prepared) -> bool:
    """A value PostgreSQL adds to an enum type in place is usable (by a later migration's
    default, say) only once its transaction commits: such a migration commits alone."""
    return any(isinstance(a.op, AlterEnum) for a in p.actions)


def _may_commit(p: Prepared) -> bool:
    """Only the user's own SQL or Python can commit in the middle of a migration."""
    return any(isinstance(a.op, (RunSQL, RunPython)) for a in p.actions)


class MigrationFailed(GitmigError):
    def __init__(self, p: Prepared, done: list[Action], exc: BaseException,
                 backend: Backend, committed: bool = False,
                 lock: LockWait | None = None, kept: bool = False) -> None:
        """`kept`: the migration ran operation by operation (not atomic), each committed."""
        from gitmig import hints
        from gitmig.db.connection import db_error_text

        failed = p.actions[len(done)] if len(done) < len(p.actions) else None
        verb = "unapplying" if p.step.backwards else "applying"
        if failed is not None:
            where = (f"{verb} {p.label} failed at operation {failed.index} of "
                     f"{len(p.actions)} ({failed.describe()})")
        else:
            where = f"{verb} {p.label} failed while recording it"
        reason = exc.message if isinstance(exc, GitmigError) else db_error_text(exc)
        if lock is not None:
            reason = f"{lock.describe()} ({reason})"
        message = f"{where}: {reason}. "
        if committed:
            message += (
                "The migration committed part of its own work (a COMMIT in its SQL or a "
                "commit() in its Python): what it did up to that commit (on SQLite, after it "
                "too) stays in the database, though the migration is not recorded as applied; "
                "only the rest was rolled back. Check the database, undo that part by hand "
                "(or finish the "
                f"migration by hand and record it with `gitmig migrate {p.step.key[0]} "
                f"{p.step.key[1]} --fake`), and take the commit out of the migration.")
        elif kept and done:
            app, name = p.step.key
            ran = "; ".join(f"{a.index}. {a.describe()}" for a in done)
            before = next((n for a, n in p.file.parents if a == app), "zero")
            message += (
                f"The migration is not atomic, so the operations before it committed and "
                f"stay: {ran}. {_table()} is unchanged, so the next run starts the migration "
                f"over: undo them by hand first, or finish the migration by hand and record "
                f"it with `gitmig migrate {app} {before if p.step.backwards else name} "
                "--fake`.")
        elif backend.transactional_ddl or not done:
            message += "Its changes were rolled back; the migrations before it stay as they are."
        else:
            ran = "; ".join(f"{a.index}. {a.describe()}" for a in done)
            message += (
                f"{backend.label} cannot roll back DDL, so the operations before it already ran "
                f"and stay: {ran}. {_table()} records the migration as interrupted, and migrate "
                f"stops until that is settled: "
                f"{way_out(p.step.key, p.file.parents, p.step.backwards)}."
            )
        # Running it again is the way out only when the failed run left nothing behind.
        clean = not committed and (not done or (backend.transactional_ddl and not kept))
        hint = hints.LOCK_TIMEOUT if lock and clean else None
        if clean and backend.refused_in_transaction(exc):
            app, name = p.step.key
            if p.step.backwards:  # recorded as unapplied: the migration before it
                name = next((n for a, n in p.file.parents if a == app), "zero")
            hint = hints.NOT_IN_TRANSACTION.format(app=app, name=name)
        super().__init__(message, hint=hint)


def way_out(key: Key, parents: tuple[Key, ...], backwards: bool) -> str:
    """What to do about a migration that stopped halfway where DDL cannot be rolled back."""
    app, name = key
    before = next((n for a, n in parents if a == app), "zero")
    if backwards:
        return (f"finish undoing it by hand (`gitmig sqlmigrate {app} {name} --backwards` "
                f"prints its SQL) and record it as unapplied with `gitmig migrate {app} "
                f"{before} --fake`, or redo what was undone and keep it applied with "
                f"`gitmig migrate {app} {name} --fake`")
    return (f"finish it by hand (`gitmig sqlmigrate {app} {name}` prints its SQL) and record "
            f"it as applied with `gitmig migrate {app} {name} --fake`, or undo what ran by hand "
            f"and forget it with `gitmig migrate {app} {before} --fake`")


class Interrupted(GitmigError):
    """A run stopped halfway on MariaDB/MySQL (killed, or the connection lost)."""

    def __init__(self, executor: Executor, applied: Collection[Key], u: Unfinished) -> None:
        key = u.key
        label = f"{key[0]}.{key[1]}"
        verb = "unapplied" if u.backwards else "applied"
        f = executor.graph.nodes.get(key)
        actions: tuple[Action, ...] = ()
        if f is not None and u.done is not None:
            with contextlib.suppress(GitmigError):
                step = Step(key, backwards=u.backwards)
                before = set(applied) | ({key} if u.backwards else set())
                actions = executor.prepare([step], before)[0].actions
        if actions and u.done is not None and u.done <= len(actions) == u.total:
            ran = "; ".join(f"{i}. {a.describe()}" for i, a in enumerate(actions[:u.done], 1))
            if u.done == u.total:
                what = f"all {u.total} of its operations had finished ({ran}), but not {verb}"
            else:
                what = (f"{u.done} of its {u.total} operations had finished ({ran})" if u.done
                        else f"none of its {u.total} operations had finished")
                what += (f", and operation {u.done + 1} ({actions[u.done].describe()}) may "
                         "have run too, in whole or in part")
        else:
            what = "how far it got is unknown here"
        parents = f.parents if f is not None else ()
        super().__init__(
            f"{label} was interrupted while being {verb} (the run was killed or lost its "
            f"connection): {what}. MariaDB/MySQL cannot roll back DDL, so {_table()} records it "
            f"as interrupted and migrate changes nothing until that is settled. Check the "
            f"database, then {way_out(key, parents, u.backwards)}"
        )


class Progress:
    """What a run reports as it goes; the command prints it."""

    def start(self, p: Prepared) -> None: ...

    def done(self, p: Prepared, ms: float, fake: bool) -> None: ...

    def failed(self, p: Prepared) -> None: ...

    def retrying(self, retry: Retry) -> None:
        """An attempt gave up waiting for a lock; the next starts after retry.pause."""


def _table() -> str:
    from gitmig.db.history.recorder import TABLE_NAME

    return TABLE_NAME


@contextmanager
def project_on_path(config: Config) -> Iterator[None]:
    """Migration files may import the project's own column types."""
    # gitmig.schema.models.project_paths, without importing SQLAlchemy's ORM with it
    paths = [str(config.root), *(str(p) for p in config.pythonpath)]
    added = [p for p in paths if p not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for p in added:
            if p in sys.path:
                sys.path.remove(p)
