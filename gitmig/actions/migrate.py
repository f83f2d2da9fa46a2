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
from typing import TYPE_CHECKING, Any

from gitmig.config import Config
from gitmig.db.executor import Executor, Interrupted, Prepared, Progress, project_on_path
from gitmig.errors import CheckFailed, GitmigError
from gitmig.migrations import plan as plans
from gitmig.migrations.graph import Key, MigrationGraph

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.history.recorder import Applied, Recorder

# Seconds the drift check before migrate waits for a lock on a table when lock_timeout is
# not set: reading the catalog takes milliseconds; a longer wait is another session's DDL.
DRIFT_LOCK_WAIT = 5.0


@dataclass
class Options:
    """What `gitmig migrate` was asked to do."""

    app: str | None = None
    target: str | None = None
    database: str | None = None
    fake: bool = False
    plan: bool = False  # print only
    check: bool = False
    fake_initial: bool = False  # initial migrations whose tables exist as made: recorded
    drift_check: bool = True  # compare the database with its applied migrations first
    schema: str | None = None  # a fleet's tenant schema (gitmig.fleet)


class Reporter(Progress):
    def waiting(self) -> None: ...

    def warn(self, text: str) -> None: ...

    def confirm(self, prepared: list[Prepared]) -> bool:
        return True


@dataclass
class Outcome:
    """What `gitmig migrate` did, or would do."""

    url: str
    prepared: list[Prepared] = field(default_factory=list)
    ran: bool = False
    aborted: bool = False
    real_url: str = ""  # with its password: for the scratch database of the drift check
    faked: list[Key] = field(default_factory=list)  # recorded by --fake-initial


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
        outcome.real_url = url
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
                graph = graph.with_applied(set(applied))  # squashes: which telling
                executor = Executor(graph)
                folded = graph
                if not read_only:
                    _add_content_column(recorder, reporter.warn)
                applied = _upgrade_checksums(graph, recorder, applied, not read_only,
                                             reporter.warn)
                applied = _follow_renames(graph, recorder, applied, not read_only,
                                          reporter.warn)
                applied = record_squashes(graph, recorder, applied, not read_only)
                applied = _record_contents(graph, recorder, applied, not read_only,
                                           reporter.warn)
                if options.app and options.target is not None:  # may unapply what only git has
                    from gitmig.git.missing import with_files_from_git

                    mode = ("--plan" if options.plan else "--check" if options.check
                            else "--fake" if options.fake else None)
                    known = {k: a for k, a in applied.items() if k not in graph.replaced}
                    graph = with_files_from_git(config, graph, known, options.app,
                                                options.target, reporter.warn, mode)
                    executor = Executor(graph)
                _execute_plan(config, graph, executor, conn, applied, options, reporter,
                              outcome)
                if outcome.ran and folded.set_aside:  # the rest of the originals applied
                    record_squashes(MigrationGraph(folded.files, folded.apps), recorder,
                                    recorder.applied(), True)
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
        if conn is not None and options.drift_check:
            drifted, _ = drift_lines(config, graph, conn, applied, outcome.real_url, reporter)
            if drifted:
                problems.append(f"it has drifted from its applied migrations ({len(drifted)} "
                                f"difference{'s' if len(drifted) != 1 else ''}; "
                                "`gitmig drift` lists them)")
        if problems:
            todo = ("run `gitmig migrate`" if steps or edited else
                    "put each change in a migration, or undo it in the database")
            raise CheckFailed(f"the database is not up to date: {', '.join(problems)}; "
                              f"{todo}")
        return
    assert conn is not None
    if not outcome.prepared:
        return
    exact = False  # the database was what its applied migrations make, to the letter
    empty = False  # ... and none is applied: no table at all (gitmig.actions.warmempty)
    forwards = not any(p.step.backwards for p in outcome.prepared)
    seen: list[dict[str, Any]] = []  # the catalog the drift check read
    if applied and forwards and not options.fake and options.drift_check:
        drifted, exact = drift_lines(config, graph, conn, applied, outcome.real_url, reporter,
                                     seen)
        if drifted:
            reporter.warn("the database has drifted from its applied migrations (changed "
                          "beyond them; `gitmig drift` says more):\n" +
                          "\n".join(f"  {line}" for line in drifted))
    elif not applied and forwards and not options.fake and options.schema is None:
        empty = _starts_empty(conn, seen)  # what no migration makes: recorded too
    if options.fake_initial:
        from gitmig.actions.fakeinitial import fake_initial

        outcome.faked = fake_initial(config, graph, conn, applied, outcome.prepared,
                                     outcome.real_url, reporter.warn)
    if not reporter.confirm(outcome.prepared):
        outcome.aborted = True
        return
    from gitmig.db.connection import git_head

    commit = None if options.fake else git_head(config.root)
    capture = None
    if (exact or empty) and not outcome.faked and options.schema is None:
        from gitmig.actions.sqlrecording import capture_for

        capture = capture_for(conn, outcome.real_url)
    pg_empty = None  # from an empty PostgreSQL database: recorded for gitmig.actions.warmpg
    if (not applied and forwards and capture is None and not options.fake
            and not options.fake_initial and options.schema is None):
        from gitmig.actions.pgrecording import from_empty

        pg_empty = from_empty(config, conn, outcome.real_url)
        capture = pg_empty.capture if pg_empty is not None else None
    if not outcome.faked:
        try:
            executor.run(conn, outcome.prepared, fake=options.fake, git_commit=commit,
                         progress=reporter, safe=config.safe, capture=capture)
        finally:
            if capture is not None:
                capture.forget(conn)
    else:  # --fake-initial: runs of real and faked migrations, in the plan's order
        from itertools import groupby

        for faked, run in groupby(outcome.prepared, key=lambda p: p.step.key in outcome.faked):
            executor.run(conn, list(run), fake=faked, git_commit=None if faked else commit,
                         progress=reporter, safe=config.safe)
    outcome.ran = True
    if pg_empty is not None:
        from gitmig.actions.pgrecording import record as record_empty

        record_empty(config, outcome.real_url, outcome.prepared, pg_empty)
    if exact and not outcome.faked:
        after = _remember(config, graph, conn, applied, outcome)
        if capture is not None and seen:
            from gitmig.actions.sqlrecording import record

            record(config, graph, applied, outcome.real_url, outcome.prepared, capture,
                   seen[0], after)
    elif empty and capture is not None and seen:
        from gitmig.actions.sqlrecording import record_from_empty
        from gitmig.db.catalog import read_catalog

        record_from_empty(config, graph, conn, outcome.real_url, outcome.prepared,
                          capture, seen[0], read_catalog(conn))


def drift_lines(config: Config, graph: MigrationGraph, conn: Connection,
                applied: dict[Key, Applied], url: str,
                reporter: Reporter, seen: list[dict[str, Any]] | None = None
                ) -> tuple[list[str], bool]:
    """The drift of the database (gitmig.actions.drift), as lines (none when it cannot
    be told: a warning says why), and whether the database is exactly what its applied
    migrations make (no drift, no unmanaged table). `seen` gets the catalog read."""
    from gitmig.actions.drift import check
    from gitmig.db.backends import backend_for
    from gitmig.db.catalog import read_catalog

    if not url or any(k not in graph.nodes for k in applied):
        return [], False  # applied migrations without files are warned about on their own
    backend = backend_for(conn.dialect)
    lock = config.safe.lock_timeout
    try:
        # Reading a table's columns waits behind a lock that keeps out readers (PostgreSQL's
        # ACCESS EXCLUSIVE): lock_timeout bounds that wait as it bounds the migrations', and
        # without one the check's own limit does: a check must not hang the deploy.
        with backend.session_timeouts(conn, DRIFT_LOCK_WAIT if lock is None else lock, None):
            catalog = read_catalog(conn)
        if seen is not None:
            seen.append(catalog)
        report = check(config, graph, url, list(applied), catalog)
    except GitmigError as exc:
        reporter.warn(f"drift not checked: {exc.render()}")
        return [], False
    except Exception as exc:
        if not backend.is_lock_timeout(exc):
            raise
        limit = (f"lock_timeout ({lock:g} s)" if lock is not None else
                 f"{DRIFT_LOCK_WAIT:g} s (lock_timeout is not set in [tool.gitmig])")
        reporter.warn(f"drift not checked: reading the catalog waited for a lock longer than "
                      f"{limit}: another session holds a lock on a table; run `gitmig drift` "
                      "once it is released, or pass --no-drift-check to skip the check")
        return [], False
    return report.lines(), not report.drifted and not report.unmanaged


def _starts_empty(conn: Connection, seen: list[dict[str, Any]]) -> bool:
    """A SQLite database with no table (gitmig's history aside, which has no row here):
    exactly what no migration makes. `seen` gets the catalog read. (SQLite only, for
    now: the SQL-recording warm path from empty is SQLite's; with no cache to keep
    what it finds, not worth reading the catalogs.)"""
    from gitmig import cache
    from gitmig.db.catalog import read_catalog
    from gitmig.db.history.rows import TABLE_NAME

    if conn.dialect.name != "sqlite" or not cache.enabled():
        return False
    catalog = read_catalog(conn)
    if any(t != TABLE_NAME for t in catalog["tables"]) or catalog["types"] or catalog[
            "sequences"]:
        return False
    seen.append(catalog)
    return True


def _remember(config: Config, graph: MigrationGraph, conn: Connection,
              applied: dict[Key, Applied], outcome: Outcome) -> dict[str, Any]:
    """The database began exactly as its migrations make it; so it ends, and its catalog
    is what the new set of applied migrations makes (gitmig.db.expected.remember)."""
    from gitmig.db.catalog import read_catalog
    from gitmig.db.expected import remember

    keys = set(applied)
    for p in outcome.prepared:
        if p.step.backwards:
            keys.discard(p.step.key)
        else:
            keys.add(p.step.key)
    catalog = read_catalog(conn)
    remember(config, graph, keys, outcome.real_url, catalog)
    return catalog


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

    renames = plans.renamed(graph, {k: a.checksum for k, a in applied.items()
                                    if k not in graph.replaced})
    if not renames:
        return applied
    if write:
        conn = recorder.connection
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            for old, new in renames.items():
                recorder.record_renamed(old, new, graph.nodes[new].digest or None)
    for old, new in renames.items():
        verb = "is now recorded" if write else "counts"
        warn(f"{old[0]}.{old[1]} was renumbered to {new[1]} (gitmig resolve); the database "
             f"applied it under its old name, and it {verb} as {new[0]}.{new[1]}")
    return {renames.get(k, k): replace(a, name=renames[k][1],
                                       content=graph.nodes[renames[k]].digest or a.content)
            if k in renames else a for k, a in applied.items()}


def _add_content_column(recorder: Recorder, warn: Callable[[str], None]) -> None:
    """A history table made before gitmig kept each file's SHA-256 gets the column, before
    anything writes a row; migrate says so."""
    from gitmig.db.history.rows import CONTENT_COLUMN, TABLE_NAME

    if not recorder.has_table() or recorder.has_content():
        return
    conn = recorder.connection
    if conn.in_transaction():
        conn.commit()
    with conn.begin():
        recorder.add_column(CONTENT_COLUMN)
    warn(f"added the column {CONTENT_COLUMN} to {TABLE_NAME}: the SHA-256 of each applied "
         "migration's file, so that a file taken from git is run only when it is byte for "
         "byte the one this database applied")


def _record_contents(
    graph: MigrationGraph, recorder: Recorder, applied: dict[Key, Applied], write: bool,
    warn: Callable[[str], None],
) -> dict[Key, Applied]:
    """Rows written before the history kept each file's SHA-256 get it from their file in
    the working tree when that file is unchanged (its checksum is the one recorded): the
    working tree's code is what migrate runs anyway. A row whose file is elsewhere keeps
    none, and its file is never run from git (gitmig.git.missing says to restore it)."""
    from dataclasses import replace

    from gitmig.db.history.rows import TABLE_NAME
    from gitmig.migrations.loader import is_legacy

    conn = recorder.connection
    found = {}
    for key, row in applied.items():
        f = graph.nodes.get(key)
        if (row.content is None and f is not None and f.digest
                and f.checksum == row.checksum and not is_legacy(row.checksum)):
            found[key] = f.digest
    if not found:
        return applied
    if write:
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            for key, digest in found.items():
                recorder.record_content(key, digest)
        left = sum(1 for k, a in applied.items() if a.content is None and k not in found)
        n = len(found)
        warn(f"recorded the SHA-256 of the files of {n} applied migration{'s' if n != 1 else ''}"
             f" in {TABLE_NAME}, from the working tree, where they are unchanged"
             + (f"; {left} whose files are not in the working tree have none, and will be "
                "unapplied from git only once their files are restored" if left else ""))
    return {k: replace(a, content=found[k]) if k in found else a for k, a in applied.items()}


def history_warnings(
    graph: MigrationGraph, applied: dict[Key, Applied], warn: Callable[[str], None]
) -> list[Key]:
    """Warn about applied migrations whose file is gone or changed; return the changed."""
    edited = []
    for key, row in applied.items():
        f = graph.nodes.get(key)
        if f is None and key in graph.replaced:
            continue  # its squash stands for it
        if f is None:
            warn(f"{key[0]}.{key[1]} is applied to the database but its file is missing "
                 "(applied from another branch?); `gitmig showmigrations` says whether git "
                 "still has it and the command that unapplies it")
        elif f.checksum != row.checksum:
            edited.append(key)
            warn(f"{f.label} was edited after it was applied: the database has the old "
                 "version. Undo the edit and put the change in a new migration")
    return edited


def as_squashed(graph: MigrationGraph, applied: dict[Key, Applied]
                ) -> tuple[MigrationGraph, dict[Key, Applied]]:
    """The graph as this database sees it (squashes) and its rows read through it: a squash
    whose originals are all applied counts as applied, and the rows of migrations a squash
    stands for are left out (their files are not in the graph)."""
    graph = graph.with_applied(set(applied))
    applied = record_squashes(graph, None, applied, False)
    return graph, {k: a for k, a in applied.items() if k not in graph.replaced}


def record_squashes(
    graph: MigrationGraph, recorder: Recorder | None, applied: dict[Key, Applied], write: bool
) -> dict[Key, Applied]:
    """A database that applied every migration a squash replaces has applied the squash:
    it counts as applied, and when migrate runs for real its row is recorded, so that
    `squash --finish` can later remove the originals."""
    from dataclasses import replace

    missing = [k for k in sorted(graph.replacing)
               if k not in applied and all(r in applied for r in graph.replacing[k])]
    if not missing:
        return applied
    if write and recorder is not None:
        conn = recorder.connection
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            for key in missing:
                f = graph.nodes[key]
                recorder.record_applied(key, f.checksum, f.digest or None, None)
    out = dict(applied)
    for key in missing:
        row = applied[graph.replacing[key][-1]]
        out[key] = replace(row, name=key[1], checksum=graph.nodes[key].checksum)
    return out


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


