"""The stairway: every migration applied, unapplied and applied again, in graph order, on a
throwaway database, with the catalog compared at each step.

An unapply that leaves something behind (or takes too much away) is found at the
migration that has it, not years later when someone needs to go back. Irreversible
migrations are applied and reported, and the walk goes on past them. The project's
other checks live here too: models and migrations agree, lock files match their folders.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import CheckFailed, GitmigError
from gitmig.migrations.graph import Key, MigrationGraph
from gitmig.migrations.plan import Step
from gitmig.testing import catalog

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.executor import Executor


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A fresh database beside `url` (a new file for SQLite), removed afterwards: a scratch
    database as drift makes them (gitmig.db.scratch), so a killed run's is dropped next time."""
    from contextlib import ExitStack

    from gitmig.db.connection import display_url
    from gitmig.db.scratch import scratch_database as scratch

    with ExitStack() as stack:
        try:
            fresh = stack.enter_context(scratch(url))
        except GitmigError as exc:
            raise GitmigError(f"cannot create a throwaway database beside {display_url(url)}: "
                              f"{exc.message}",
                              hint="the test database's user needs to create and drop "
                                   "databases") from None
        yield fresh


@dataclass
class Result:
    key: Key
    irreversible: str | None = None  # why the walk went past without unapplying
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"


class Broken(GitmigError):
    """A step failed in a way that leaves the database unknown: the walk cannot go on."""


class Stairway:
    """One walk over the graph on one connection; `step` is called in graph order."""

    def __init__(self, config: Config, conn: Connection) -> None:
        from gitmig.db.executor import Executor
        from gitmig.migrations.loader import load_graph

        self.config = config
        self.graph: MigrationGraph = load_graph(config)
        self.executor: Executor = Executor(self.graph)
        self.conn = conn
        self.applied: set[Key] = set()
        self.broken: str | None = None

    def order(self) -> list[Key]:
        return self.graph.order()

    def _run(self, key: Key, backwards: bool, fake: bool = False) -> None:
        from gitmig.db.executor import project_on_path

        step = Step(key, backwards=backwards)
        with project_on_path(self.config):
            prepared = self.executor.prepare([step], self.applied, fake=fake)
            self.executor.run(self.conn, prepared, fake=fake)
        if backwards:
            self.applied.discard(key)
        else:
            self.applied.add(key)

    def step(self, key: Key) -> Result:
        label = f"{key[0]}.{key[1]}"
        if self.broken:
            raise Broken(f"not run: {self.broken}")
        result = Result(key)
        before = catalog.read(self.conn)
        try:
            self._run(key, False)
        except GitmigError as exc:
            self.broken = f"applying {label} failed"
            raise Broken(exc.message) from None
        applied = catalog.read(self.conn)
        reason = self._irreversible(key)
        if reason:
            result.irreversible = reason
            return result
        try:
            self._run(key, True)
        except GitmigError as exc:
            self.broken = f"unapplying {label} failed"
            raise Broken(exc.message) from None
        after = catalog.read(self.conn)
        result.problems += [f"after unapplying it, {line}"
                            for line in catalog.differences(before, after)]
        try:
            self._run(key, False)
        except GitmigError as exc:
            result.problems.append(f"applying it again failed: {exc.message}")
            try:  # what the unapply left behind stands in for it: record it, walk on
                self._run(key, False, fake=True)
            except GitmigError:
                self.broken = f"applying {label} again failed"
            return result
        again = catalog.read(self.conn)
        result.problems += [f"after applying it again, {line}"
                            for line in catalog.differences(applied, again)]
        return result

    def _irreversible(self, key: Key) -> str | None:
        for i, op in enumerate(self.executor.replayer.operations(key), start=1):
            if not op.reversible:
                return f"operation {i} ({op.describe()}) has no reverse"
        return None


def check_models(config: Config) -> None:
    """The models and the migrations agree (`makemigrations --check`)."""
    from gitmig.actions.makemigrations import Options, make_migrations
    from gitmig.migrations.questioner import CheckQuestioner

    make_migrations(config, Options(check=True), CheckQuestioner())


def check_locks(config: Config) -> None:
    """Every app's lock file matches its migrations' checksums."""
    from gitmig.migrations import lockfile
    from gitmig.migrations.loader import load_graph

    graph = load_graph(config)
    bad = []
    for app in config.apps:
        verdict = lockfile.verify_worktree(config, graph, app)
        if not verdict.ok:
            bad.append(f"{app} ({verdict.state})")
    if bad:
        raise CheckFailed(
            f"lock files do not match their migrations: {', '.join(bad)}; a migration was "
            "edited after it was written, or the lock by hand",
            hint="undo the edit and put the change in a new migration; after a merge, "
                 "run `gitmig resolve APP`")


@contextmanager
def opened(config: Config, url: str) -> Iterator[Stairway]:
    """A stairway on a fresh database beside `url`, removed afterwards."""
    from gitmig.db.connection import connect

    with scratch_database(url) as fresh, connect(fresh, config.timeouts) as conn:
        try:
            yield Stairway(config, conn)
        finally:
            with contextlib.suppress(Exception):
                if conn.in_transaction():
                    conn.rollback()
