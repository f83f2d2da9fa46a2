"""`gitmig migrate` as one call: bad input refused first, then the plan run under the lock.

The layer above the runner (gitmig.db.executor): it reads the configuration and the
history, follows migrations `gitmig resolve` renumbered, and, to unapply migrations whose
files only git still has, asks git for them (gitmig.git.missing). Everything it prints
goes through the Reporter the command gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.db.executor import Executor, Interrupted, Prepared, Progress, project_on_path
from gitmig.errors import CheckFailed, GitmigError
from gitmig.migrations import plan as plans
from gitmig.migrations.graph import Key, MigrationGraph

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.history.recorder import Applied, Recorder


@dataclass
class Options:
    app: str | None = None
    target: str | None = None
    database: str | None = None
    fake: bool = False
    plan: bool = False  # print only
    check: bool = False
    schema: str | None = None  # a fleet's tenant schema (gitmig.fleet)


class Reporter(Progress):
    def waiting(self) -> None: ...

    def warn(self, text: str) -> None: ...

    def confirm(self, prepared: list[Prepared]) -> bool:
        return True


@dataclass
class Outcome:
    url: str
    prepared: list[Prepared] = field(default_factory=list)
    ran: bool = False
    aborted: bool = False


def migrate(config: Config, options: Options, reporter: Reporter | None = None,
            executor: Executor | None = None) -> Outcome:
    """Bring the database to the target; raise for bad input before touching it.

    `executor`: one already holding the graph and its imported migrations, shared by the
    many targets of a fleet (gitmig.fleet.runner)."""
    from gitmig.db.connection import connect, database_missing, display_url
    from gitmig.db.lock import migration_lock
    from gitmig.migrations.loader import load_graph

    reporter = reporter or Reporter()
    graph = executor.graph if executor is not None else load_graph(config)
    apps = [options.app] if options.app else list(config.apps)
    if options.app:
        config.app(options.app)
        if options.target is not None:
            plans.resolve_target(graph, options.app, options.target)
    elif options.target is not None:
        raise GitmigError("a target needs its app: `gitmig migrate APP TARGET`")
    for app in apps:
        graph.leaf(app)  # several leaves: the user must merge first
    url = config.database_url(options.database)
    outcome = Outcome(display_url(url))
    read_only = options.plan or options.check
    executor = executor or Executor(graph)
    with project_on_path(config):
        if read_only and database_missing(url):
            _execute_plan(config, graph, executor, None, {}, options, reporter, outcome)
            return outcome
        with connect(url, config.timeouts, options.schema, create_schema=not read_only) as conn:
            lock = _no_lock() if read_only else migration_lock(conn, reporter.waiting)
            with lock:
                from gitmig.db.history.recorder import Recorder

                recorder = Recorder(conn)
                applied = recorder.applied()  # read afresh now that the lock is held
                unfinished = recorder.unfinished()
                if unfinished and not options.fake:
                    raise Interrupted(executor, applied, unfinished[0])
                if unfinished and not read_only:  # --fake settles it as the target says
                    if conn.in_transaction():
                        conn.commit()
                    with conn.begin():
                        recorder.forget_unfinished()
                    for u in unfinished:
                        reporter.warn(f"the interrupted run of {u.app}.{u.name} is forgotten "
                                      "(--fake): it is recorded as applied only if the target "
                                      "includes it")
                applied = _upgrade_checksums(graph, recorder, applied, not read_only,
                                             reporter.warn)
                applied = _follow_renames(graph, recorder, applied, not read_only,
                                          reporter.warn)
                if options.app and options.target is not None:  # may unapply what only git has
                    from gitmig.git.missing import with_files_from_git

                    mode = ("--plan" if options.plan else "--check" if options.check
                            else "--fake" if options.fake else None)
                    graph = with_files_from_git(config, graph, applied, options.app,
                                                options.target, reporter.warn, mode)
                    executor = Executor(graph)
                _execute_plan(config, graph, executor, conn, applied, options, reporter,
                              outcome)
    return outcome


def _execute_plan(
    config: Config,
    graph: MigrationGraph,
    executor: Executor,
    conn: Connection | None,
    applied: dict[Key, Applied],
    options: Options,
    reporter: Reporter,
    outcome: Outcome,
) -> None:
    check_history(config, graph, applied)
    edited = history_warnings(graph, applied, reporter.warn)
    steps = plans.to_target(graph, set(applied), options.app, options.target)
    outcome.prepared = executor.prepare(steps, set(applied), fake=options.fake)
    if options.plan:
        return
    if options.check:
        problems = []
        if steps:
            problems.append(f"{len(steps)} migration{'s' if len(steps) != 1 else ''} to "
                            f"{'unapply' if steps[0].backwards else 'apply'}")
        if edited:
            problems.append(f"{len(edited)} edited after being applied")
        if problems:
            raise CheckFailed(f"the database is not up to date: {', '.join(problems)}; "
                              "run `gitmig migrate`")
        return
    assert conn is not None
    if not outcome.prepared:
        return
    if not reporter.confirm(outcome.prepared):
        outcome.aborted = True
        return
    from gitmig.db.connection import git_head

    commit = None if options.fake else git_head(config.root)
    executor.run(conn, outcome.prepared, fake=options.fake, git_commit=commit,
                 progress=reporter)
    outcome.ran = True


def check_history(config: Config, graph: MigrationGraph, applied: dict[Key, Applied]) -> None:
    """Rows of apps that are not configured mean the wrong database or configuration."""
    from gitmig.db.history.rows import check_apps

    check_apps(config, applied)


def _upgrade_checksums(
    graph: MigrationGraph, recorder: Recorder, applied: dict[Key, Applied], write: bool,
    warn: Callable[[str], None],
) -> dict[Key, Applied]:
    """Rows an older gitmig recorded (format 1 checksums) whose files are unchanged get
    today's checksum (gitmig.migrations.loader.upgrade_recorded); migrate stores it."""
    from gitmig.db.history.rows import TABLE_NAME
    from gitmig.migrations.loader import upgrade_recorded

    applied, upgraded = upgrade_recorded(graph, applied)
    if upgraded and write:
        conn = recorder.connection
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            for key in upgraded:
                recorder.record_checksum(key, applied[key].checksum)
        warn(f"upgraded the checksums of {len(upgraded)} applied migration"
             f"{'s' if len(upgraded) != 1 else ''} in {TABLE_NAME} to the format that covers "
             "the whole file (they were unchanged)")
    return applied


def _follow_renames(
    graph: MigrationGraph, recorder: Recorder, applied: dict[Key, Applied], write: bool,
    warn: Callable[[str], None],
) -> dict[Key, Applied]:
    """Rows of migrations that `gitmig resolve` renumbered count for their new names
    (gitmig.migrations.plan.renamed); when migrate runs for real, the rows are renamed too."""
    from dataclasses import replace

    renames = plans.renamed(graph, {k: a.checksum for k, a in applied.items()})
    if not renames:
        return applied
    if write:
        conn = recorder.connection
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            for old, new in renames.items():
                recorder.record_renamed(old, new)
    for old, new in renames.items():
        verb = "is now recorded" if write else "counts"
        warn(f"{old[0]}.{old[1]} was renumbered to {new[1]} (gitmig resolve); the database "
             f"applied it under its old name, and it {verb} as {new[0]}.{new[1]}")
    return {renames.get(k, k): replace(a, name=renames[k][1]) if k in renames else a
            for k, a in applied.items()}


def history_warnings(
    graph: MigrationGraph, applied: dict[Key, Applied], warn: Callable[[str], None]
) -> list[Key]:
    """Warn about applied migrations whose file is gone or changed; return the changed."""
    edited = []
    for key, row in applied.items():
        f = graph.nodes.get(key)
        if f is None:
            warn(f"{key[0]}.{key[1]} is applied to the database but its file is missing "
                 "(applied from another branch?); `gitmig showmigrations` says whether git "
                 "still has it and the command that unapplies it")
        elif f.checksum != row.checksum:
            edited.append(key)
            warn(f"{f.label} was edited after it was applied: the database has the old "
                 "version. Undo the edit and put the change in a new migration")
    return edited


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


