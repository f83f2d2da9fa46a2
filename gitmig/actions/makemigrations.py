"""makemigrations: the models compared with the replayed migrations, written as new files.

Everything is decided and checked before the first byte is written: the new operations
must replay to exactly the models' schema, or nothing is written at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitmig import hints
from gitmig.atomic import write_new_files
from gitmig.config import Config
from gitmig.db.backends import backend_for
from gitmig.errors import CheckFailed, GitmigError
from gitmig.git.source import open_source
from gitmig.lint.model import Finding
from gitmig.migrations import autodetector, naming, portability, safeforms, writer
from gitmig.migrations.cycles import split_cycles
from gitmig.migrations.graph import Key, MigrationGraph
from gitmig.migrations.loader import parse_migration
from gitmig.migrations.questioner import Questioner
from gitmig.ops import Operation
from gitmig.schema.state import SchemaState


@dataclass
class Options:
    apps: tuple[str, ...] = ()
    name: str | None = None
    check: bool = False
    dry_run: bool = False
    empty: bool = False
    staged: bool = False  # models and migrations as staged in git's index
    rev: str | None = None  # ... or as of this revision
    safe: bool = False  # the safe forms (gitmig.migrations.safeforms); also [tool.gitmig]


@dataclass
class NewMigration:
    app: str
    name: str
    parents: list[str]
    operations: list[Operation]
    path: Path
    text: str


@dataclass
class Outcome:
    migrations: list[NewMigration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. a lock file created
    findings: list[Finding] = field(default_factory=list)  # `gitmig lint` on the new files


def make_migrations(config: Config, options: Options, questioner: Questioner) -> Outcome:
    """New migrations for the pending model changes. One that writes holds the project
    lock from reading the migrations to writing its own, so that a second run waits and
    then numbers after the first."""
    if options.check or options.dry_run:
        return _make_migrations(config, options, questioner)
    from gitmig.git.projectlock import project_lock

    with project_lock(config.root):
        return _make_migrations(config, options, questioner)


def _make_migrations(config: Config, options: Options, questioner: Questioner) -> Outcome:
    selected = [a.label for a in config.select(options.apps)]
    if options.name is not None:
        naming.validate_name(options.name)
    if options.empty and not options.apps and len(config.apps) > 1:
        raise GitmigError(
            "--empty needs the app to write the migration for: "
            f"gitmig makemigrations --empty APP (apps: {', '.join(config.apps)})"
        )
    source = open_source(config, options.staged, options.rev)
    graph = source.graph
    leaves = {app: graph.leaf(app) for app in config.apps}  # refuses several leaves
    outcome = Outcome()

    later: dict[str, autodetector.AppChanges] = {}
    if options.empty:
        changes = {app: autodetector.AppChanges() for app in selected}
    else:
        before, after = source.states()
        outcome.warnings += apps_without_tables(config, after, selected)
        changes = autodetector.detect(before, after, selected, questioner)
        _refuse_unused_answers(questioner)
        _refuse_missing_dependencies(changes, selected, before, after)
        later = split_cycles(changes, after, list(config.apps))

    numbers: dict[str, int] = {}
    # An app in a cycle of foreign keys with another gets a second migration, after the
    # first of every app, holding its foreign keys to apps later in the cycle.
    steps = [(app, changes[app]) for app in _dependency_order(changes)]
    steps += [(app, later[app]) for app in config.apps if app in later]
    dialect = portability.configured_dialect(_configured_url(config)) if steps else None
    refused = backend_for(dialect).refused_column if dialect is not None else None
    for app, change in steps:
        outcome.warnings += change.warnings
        outcome.warnings += portability.unbuildable_columns(change.operations, dialect, refused)
        leaf = leaves[app]
        parents = [leaf[1]] if leaf else []
        for other in sorted(change.depends_on):
            other_leaf = leaves[other]
            if other_leaf is not None:
                parents.append(f"{other}.{other_leaf[1]}")
        number = numbers.get(app) or graph.next_number(app)
        numbers[app] = number + 1
        slug = options.name or naming.suggest(change.operations, initial=leaf is None)
        name = naming.full_name(number, slug)
        path = config.apps[app].migrations / f"{name}.py"
        atomic = True
        if options.safe or config.safe.safe:
            change.operations, atomic = safeforms.rewrite(
                change.operations, before,
                concurrent=dialect is None or backend_for(dialect).online_ddl)
        text = writer.migration_text(parents, change.operations, source.origin, atomic=atomic)
        outcome.migrations.append(
            NewMigration(app, name, parents, change.operations, path, text)
        )
        leaves[app] = (app, name)

    verified = _verify(before, outcome, after, selected) if not options.empty else None

    if options.check and outcome.migrations:
        raise PendingChanges(outcome)
    if not options.check and not options.dry_run and outcome.migrations:
        source.refuse_unless_writable(outcome.migrations)
        from gitmig.git.projectlock import journal_path

        write_new_files([(m.path, m.text) for m in outcome.migrations],
                        journal_path(config.root), "gitmig makemigrations")
        outcome.written = True
        if verified is not None and not options.staged and options.rev is None:
            _remember_written(config, graph, before, verified,
                              [((m.app, m.name), m.text) for m in outcome.migrations])
    if not options.check and not options.dry_run:
        _keep_locks(config, outcome)
        if outcome.written and verified is not None and not options.staged \
                and options.rev is None and set(selected) == set(config.apps) \
                and verified.for_apps(selected) == after.for_apps(selected) \
                and not apps_without_tables(config, after, selected):
            from gitmig.migrations import syncrecord

            syncrecord.refresh(config, [m.app for m in outcome.migrations])
    if outcome.migrations and not options.check and not options.empty:
        outcome.findings = _lint(config, before, outcome)
    if outcome.written and not options.staged and options.rev is None:
        from gitmig.actions import lintcache

        lintcache.prefill(config, [(m.app, m.name) for m in outcome.migrations])
    return outcome


# Rules whose finding makemigrations already gives as a warning of its own, naming the
# column (gitmig.migrations.portability): said once, not twice.
_WARNED_ALREADY = {"mysql-string-no-length"}


def _lint(config: Config, before: SchemaState, outcome: Outcome) -> list[Finding]:
    """What `gitmig lint` says of the new migrations, for the configured database. The
    running code's models are not read here (that costs a child process): `gitmig lint`
    judges those rules."""
    import ast

    from gitmig.actions.lint import databases_for
    from gitmig.lint.engine import judge, merged
    from gitmig.lint.model import Migration
    from gitmig.lint.silence import FileNotes
    from gitmig.migrations.options import of_tree

    migrations = []
    state = before
    for m in outcome.migrations:
        migrations.append(Migration(m.app, m.name, str(m.path), tuple(m.operations), state,
                                    atomic=of_tree(ast.parse(m.text)).atomic,
                                    lock_timeout=config.safe.lock_timeout))
        for op in m.operations:
            state = op.state_forwards(state, m.app)
    found = []
    for database in databases_for(config, (), None):
        unwritten = {m.path: FileNotes() for m in migrations} if not outcome.written else None
        found += [f for f in judge(migrations, database, settings=config.lint, notes=unwritten)
                  if f.allowed is None and f.severity != "notice"
                  and f.rule not in _WARNED_ALREADY]
    return merged(found)


def _configured_url(config: Config) -> str | None:
    try:
        return config.database_url()
    except GitmigError:
        return None


def apps_without_tables(config: Config, models: SchemaState, apps: list[str]) -> list[str]:
    """An app whose models module defines no table is most often a wrong module path."""
    have = {t.app for t in models.tables.values()}
    return [
        f"app {app!r}: its models module {config.apps[app].models} defines no tables; "
        "check that [tool.gitmig.apps] names the module that holds (or imports) its models"
        for app in apps
        if app not in have
    ]


def _keep_locks(config: Config, outcome: Outcome) -> None:
    """The lock files follow the migrations (gitmig.migrations.lockfile); if that fails, the files
    just written are removed again."""
    from gitmig.git import lockhistory
    from gitmig.migrations.loader import load_graph

    try:
        notes, warnings = lockhistory.refresh(config, load_graph(config),
                                           {m.app for m in outcome.migrations})
    except GitmigError:
        if outcome.written:
            for m in outcome.migrations:
                m.path.unlink(missing_ok=True)
            outcome.written = False
        raise
    outcome.notes += notes
    outcome.warnings += warnings


class PendingChanges(CheckFailed):
    """makemigrations --check found model changes without migrations."""

    def __init__(self, outcome: Outcome) -> None:
        apps = ", ".join(m.app for m in outcome.migrations)
        super().__init__(
            f"model changes without migrations in {apps}",
            hint=f"{hints.MAKEMIGRATIONS_ANY} and commit the files it writes",
        )
        self.outcome = outcome


def _remember_written(config: Config, before: MigrationGraph, replayed: SchemaState,
                      state: SchemaState, written: list[tuple[Key, str]]) -> None:
    """After makemigrations wrote `written` ((key, text) each, in the order its check
    applied them to `replayed`, the state of `before`, reaching `state`): the replay entry
    for the graph on disk now, when it is exactly `before`'s files and then the written
    texts, byte for byte and in that order. Replaying it would import those texts and apply
    the same operations in the same order: the next `makemigrations --check`, and the
    pre-commit hook of the commit that follows, need not import them. The state before
    them is kept too (statecache.prefix_state), for the hook's lint of the new files."""
    from gitmig.migrations.loader import load_graph
    from gitmig.migrations.statecache import (
        digest,
        enabled,
        remember_prefix_state,
        replay_key,
        store,
    )

    if not enabled():
        return
    old = replay_key(before)[1]
    tail = [(key[0], key[1], digest(text.encode())) for key, text in written]
    try:
        graph = load_graph(config)
    except GitmigError:  # best effort: a cache only costs time
        return
    scope, items = replay_key(graph)
    if all(d for _, _, d in items) and items == old + tail:
        store("replay", scope, {"items": items, "state": state})
        remember_prefix_state(graph, graph.order()[: len(old)], replayed)


def _refuse_unused_answers(questioner: Questioner) -> None:
    unused = questioner.answers.unused()
    if unused and unused[0].startswith("--rename-enum-value"):
        raise GitmigError(
            f"{unused[0]} matches no change: the enum's old value must disappear from the "
            "models and the new one appear"
        )
    if unused and unused[0].startswith("--move"):
        raise GitmigError(
            f"{unused[0]} matches no change: the table must be in another app in the "
            "migrations than in the models"
        )
    if unused:
        raise GitmigError(
            f"{unused[0]} matches no change: it must name a new NOT NULL column that has no "
            "default in the model"
        )


def _refuse_missing_dependencies(
    changes: dict[str, autodetector.AppChanges],
    selected: list[str],
    before: SchemaState,
    after: SchemaState,
) -> None:
    for app, change in changes.items():
        for other in change.depends_on:
            if other not in selected and any(
                t.app == other and t.key not in before.tables for t in after.tables.values()
            ):
                raise GitmigError(
                    f"app {app!r} references tables of app {other!r} that have no migration yet; "
                    f"run `gitmig makemigrations {other} {app}`"
                )


def _dependency_order(changes: dict[str, autodetector.AppChanges]) -> list[str]:
    done: list[str] = []

    def visit(app: str, path: tuple[str, ...]) -> None:
        if app in done:
            return
        if app in path:
            cycle = " -> ".join((*path, app))
            raise GitmigError(
                f"new foreign keys make apps depend on each other in a cycle ({cycle}); "
                "add one of those foreign keys in a second step: leave it out of the models, "
                "run makemigrations, then put it back and run makemigrations again"
            )
        for other in sorted(changes[app].depends_on):
            if other in changes:
                visit(other, (*path, app))
        done.append(app)

    for app in changes:
        visit(app, ())
    return done


def _verify(
    before: SchemaState, outcome: Outcome, after: SchemaState, selected: list[str]
) -> SchemaState:
    """The new files, read back as a migration would be, must replay to the models' schema.

    Anything else is a gap in gitmig, and finding it here means nothing is written. Returns
    the state the whole history replays to once they are written.
    """
    state = before
    for m in outcome.migrations:
        for op in _read_back(m):
            state = op.state_forwards(state, m.app)
    got, want = state.for_apps(selected), after.for_apps(selected)
    if got != want:
        keys = sorted(
            k for k in set(got.tables) | set(want.tables) if got.get(k) != want.get(k)
        )
        raise GitmigError(
            f"gitmig cannot yet express the change to {', '.join(keys)} (for example a new "
            "primary key); write that migration by hand with `gitmig makemigrations --empty`"
        )
    return state


def _read_back(m: NewMigration) -> list[Operation]:
    """The operations of a migration's text, executed as replaying the file would."""
    namespace: dict[str, object] = {"__name__": f"gitmig_new_{m.app}_{m.name}"}
    try:
        parse_migration(m.app, m.name, m.text, str(m.path))
        exec(compile(m.text, str(m.path), "exec"), namespace)
    except Exception as exc:
        raise GitmigError(
            f"gitmig made {m.app}.{m.name} in a form it cannot read back "
            f"({type(exc).__name__}: {exc}); nothing was written. This is a gitmig bug: "
            "please report it with the models involved"
        ) from None
    operations = namespace.get("operations")
    assert isinstance(operations, list)
    return operations
