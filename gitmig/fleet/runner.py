"""Migrating a fleet: every target to the same migrations, N processes at a time.

Each target is one `gitmig migrate` (gitmig.actions.migrate) on its own connection, under
its own database lock: two runs, or two overlapping shards, meet at the lock and the
second finds the work done. A failed target is reported and the run goes on. Nothing is
kept outside the targets' databases, so a killed run resumes when run again.

Workers are forked processes that take one target at a time from the parent over a
pipe; a worker whose parent dies sees the pipe close (and, on Linux, is killed with it),
so killing a run kills all of it, as an orchestrator does.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from gitmig.actions.migrate import Options, Reporter, migrate
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.fleet.spec import Target

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from gitmig.db.executor import Executor, Retry

Item = TypeVar("Item")
Out = TypeVar("Out")


@dataclass
class Result:
    """How one target went. `planned`: the labels of the migrations it needs (or ran)."""

    target: Target
    ok: bool
    applied: int = 0
    seconds: float = 0.0
    error: str | None = None
    planned: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backwards: bool = False  # the migrations were unapplied (migrate APP TARGET)


class Watcher:
    """What a fleet run reports as it goes; the command shows it."""

    def begin(self, total: int) -> None: ...

    def started(self, target: Target) -> None: ...

    def finished(self, result: Result) -> None: ...

    def tick(self) -> None:
        """Called about twice a second while targets run (a display's clock)."""


class _Collect(Reporter):
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def retrying(self, retry: Retry) -> None:
        self.warnings.append(retry.describe())


def migrate_one(config: Config, target: Target, options: Options,
                executor: Executor | None = None) -> Result:
    """One target, as `gitmig migrate --database URL` would do it; never raises."""
    reporter = _Collect()
    started = time.perf_counter()
    try:
        # No drift check per target: a tenant's catalog read would hold every other
        # tenant's schema, and a fleet of N would read N catalogs N times.
        outcome = migrate(config, replace(options, database=target.url, schema=target.schema,
                                          drift_check=False),
                          reporter, executor)
    except GitmigError as exc:
        return Result(target, False, seconds=time.perf_counter() - started,
                      error=exc.render(), warnings=reporter.warnings)
    except Exception as exc:  # a bug in gitmig or a driver: one line, secrets hidden
        from gitmig.db.connection import scrub

        return Result(target, False, seconds=time.perf_counter() - started,
                      error=scrub(f"{type(exc).__name__}: {exc}", target.url),
                      warnings=reporter.warnings)
    return Result(target, True, len(outcome.prepared) if outcome.ran else 0,
                  time.perf_counter() - started, planned=[p.label for p in outcome.prepared],
                  warnings=reporter.warnings,
                  backwards=any(p.step.backwards for p in outcome.prepared))


def run(config: Config, targets: Sequence[Target], options: Options, jobs: int,
        watcher: Watcher, executor: Executor | None = None) -> list[Result]:
    """Every target once, `jobs` at a time; results in the targets' order."""

    def one(target: Target) -> Result:
        return migrate_one(config, target, options, executor)

    def dead(target: Target, why: str) -> Result:
        return Result(target, False, error=why)

    return each(targets, one, jobs, dead, watcher)


def each(items: Sequence[Item], job: Callable[[Item], Out], jobs: int,
         dead: Callable[[Item, str], Out], watcher: Any = None) -> list[Out]:
    """`job` on every item once, `jobs` forked processes at a time (in this process
    when one is enough); results in the items' order. `job` must never raise; `dead`
    stands for the result of an item whose worker died. `watcher` (optional) is told
    started(item), finished(result) and tick()."""
    if jobs <= 1 or len(items) <= 1:
        results = []
        for item in items:
            if watcher is not None:
                watcher.started(item)
            result = job(item)
            if watcher is not None:
                watcher.finished(result)
            results.append(result)
        return results
    return _Pool(job, min(jobs, len(items))).run(items, dead, watcher)


class _Pool:
    def __init__(self, job: Callable[[Any], Any], size: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")  # the loaded project comes along
        self.workers: list[tuple[Any, Connection]] = []
        ends: list[Connection] = []
        for _ in range(size):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_work, daemon=True,
                                  args=(child, [*ends, parent], job))
            process.start()
            child.close()
            ends.append(parent)
            self.workers.append((process, parent))

    def run(self, items: Sequence[Any], dead: Callable[[Any, str], Any],
            watcher: Any) -> list[Any]:
        from multiprocessing.connection import wait

        queue = deque(enumerate(items))
        busy: dict[Connection, tuple[int, Any]] = {}
        results: dict[int, Any] = {}

        def feed(conn: Connection) -> None:
            if not queue:
                conn.send(None)
                return
            index, item = queue.popleft()
            conn.send((index, item))
            busy[conn] = (index, item)
            if watcher is not None:
                watcher.started(item)

        try:
            for _, conn in self.workers:
                feed(conn)
            while busy:
                for ready in wait(list(busy), timeout=0.5):
                    assert not isinstance(ready, int)
                    conn = ready  # type: ignore[assignment]
                    index, item = busy.pop(conn)
                    try:
                        _, result = conn.recv()
                    except (EOFError, OSError):
                        result = dead(item, (
                            "the worker running it died (killed, or out of memory); what "
                            "it finished is recorded, run again to resume"))
                    else:
                        feed(conn)
                    results[index] = result
                    if watcher is not None:
                        watcher.finished(result)
                if watcher is not None:
                    watcher.tick()
            for index, item in queue:  # every worker died: say so, run nothing more
                results[index] = dead(item, "not started: no worker left")
        finally:
            self.close()
        return [results[i] for i in range(len(items))]

    def close(self) -> None:
        for _, conn in self.workers:
            conn.close()
        deadline = time.monotonic() + 5
        for process, _ in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join()


def _work(conn: Connection, inherited: list[Connection], job: Callable[[Any], Any]) -> None:
    """A worker: items from the pipe until it says None or closes."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        return
    for end in inherited:
        end.close()  # else a dead parent's pipes stay open and this worker waits for ever
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        index, payload = item
        result = job(payload)
        try:
            conn.send((index, result))
        except OSError:
            return


def _die_with_parent() -> None:
    """Linux's PR_SET_PDEATHSIG: a worker must not go on migrating for a killed run."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
