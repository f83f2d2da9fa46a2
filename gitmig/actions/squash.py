"""`gitmig squash APP [FROM] TO`: one migration that replaces a stretch of an app's history.

The squashed migration's operations are the originals' folded by the optimizer
(gitmig.migrations.optimizer); its parents are those the stretch had outside itself; it
lists the originals in `replaces`. The originals stay until every database has the
squash (`--finish`): a database that applied them all counts the squash as applied, one
that applied some applies the rest of them, and a new one applies the squash
(gitmig.migrations.graph). Migrations that named one of the originals as a parent now
name the squash. What is written is checked first: the new history must replay to the
state the old one did, or nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitmig.atomic import Change, Transaction
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations import naming
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph
from gitmig.ops import Operation, RunPython, RunSQL


@dataclass
class Options:
    app: str
    start: str | None  # FROM; None: the app's first migration
    end: str  # TO
    name: str | None = None
    keep_data_migrations: bool = False


@dataclass
class Outcome:
    name: str
    path: Path
    replaced: list[str]
    original_count: int  # operations in the originals
    operations: list[Operation]
    repointed: list[str] = field(default_factory=list)  # app.name of re-parented files
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def squash(config: Config, options: Options) -> Outcome:
    from gitmig.db.executor import project_on_path
    from gitmig.migrations.loader import load_graph, parse_migration
    from gitmig.migrations.optimizer import optimize, replay
    from gitmig.migrations.replay import Replayer
    from gitmig.migrations.squashfile import CopiedCode, squashed_text, with_parents

    app = options.app
    config.app(app)
    if options.name is not None:
        naming.validate_name(options.name)
    graph = load_graph(config)
    graph.leaf(app)
    if not graph.app_nodes(app):
        raise GitmigError(f"app {app!r} has no migrations to squash")
    stretch = _stretch(graph, app, options.start, options.end)
    first, last = stretch[0], stretch[-1]
    parents = _outside_parents(graph, stretch)
    number = first.number
    slug = options.name or naming.fit(f"squashed_{last.name}", naming.MAX_SLUG)
    name = naming.full_name(number, slug)
    path = config.apps[app].migrations / f"{name}.py"
    if (app, name) in graph.nodes or path.exists():
        raise GitmigError(f"migration {app}.{name} exists already; pick another --name")

    with project_on_path(config):
        replayer = Replayer(graph)
        originals: list[Operation] = []
        code = CopiedCode()
        for f in stretch:
            for op in replayer.operations(f.key):
                if isinstance(op, RunPython | RunSQL):
                    if not options.keep_data_migrations:
                        raise GitmigError(
                            f"{f.label} runs code ({op.describe()}), which squash cannot "
                            f"fold: squash up to the migration before it and from the one "
                            f"after it, or pass --keep-data-migrations to copy the code into "
                            f"the squashed migration, in order",
                            path=f.path)
                    if isinstance(op, RunPython):
                        op = code.copy(op, Path(f.path).read_text(encoding="utf-8"), f.path,
                                       f.name.split("_", 1)[0])
                originals.append(op)
        keys = set()
        for p in parents:
            keys |= graph.ancestors(p)
        before = replayer.state(keys)
        folded = optimize(originals, before, app)
        if replay(folded, before, app) != replay(originals, before, app):  # the promise
            raise GitmigError("the optimizer changed what the migrations do; squash refused "
                              "(please report this)")
        old_state = replayer.state()

    parent_names = [p[1] if p[0] == app else f"{p[0]}.{p[1]}" for p in parents]
    replaced = [f.name for f in stretch]
    headline = f"Squashed {first.name} to {last.name} ({len(stretch)} migrations)"
    origin = f"squashing {app} {first.name} to {last.name}"
    text = squashed_text(parent_names, replaced, folded, headline, origin, code)

    # Who named one of the originals as a parent now names the squash.
    outside = {f.key for f in stretch}
    changes = [Change(path, text.encode(), new_file=True)]
    repointed = []
    files = [f for f in graph.files if f.key not in outside]
    for f in graph.files:
        if f.key in outside or not any(p in outside for p in _written_parents(f)):
            continue
        source = Path(f.path).read_text(encoding="utf-8")
        mapping = _renames(replaced, name, app, f.app)
        new_source = with_parents(source, mapping)
        if new_source is not None:
            changes.append(Change(Path(f.path), new_source.encode()))
            repointed.append(f.label)
    new_file = parse_migration(app, name, text, str(path))
    try:
        MigrationGraph([*files, new_file, *[g for g in graph.files if g.key in outside]],
                       graph.apps)
    except GitmigError as exc:
        raise GitmigError(f"squashing {first.name} to {last.name} would break the graph: "
                          f"{exc.message}; squash a shorter stretch") from None

    from gitmig.git.projectlock import journal_path

    saved = {c.path: c.path.read_bytes() for c in changes if not c.new_file}
    Transaction(journal_path(config.root), "gitmig squash").apply(changes)
    outcome = Outcome(name, path, replaced, len(originals), folded, repointed)
    try:
        _check_written(config, old_state)
    except BaseException:
        _undo(changes, saved)
        raise
    from gitmig.git import lockhistory

    notes, warnings = lockhistory.refresh(config, load_graph(config), {app})
    outcome.notes += notes
    outcome.warnings += warnings
    return outcome


def _written_parents(f: MigrationFile) -> tuple[Key, ...]:
    return f.parents


def _renames(old: list[str], new: str, app: str, in_app: str) -> dict[str, str]:
    """How a file of `in_app` writes each old parent, to the way it writes the new one."""
    out = {f"{app}.{n}": f"{app}.{new}" for n in old}
    if in_app == app:
        out |= {n: new for n in old}
    return out


def _stretch(graph: MigrationGraph, app: str, start: str | None,
             end: str) -> list[MigrationFile]:
    """FROM..TO: a line of the app's migrations, each the only child of the one before."""
    last = graph.resolve(app, end)
    first = graph.resolve(app, start) if start is not None else graph.app_nodes(app)[0].key
    chain: list[MigrationFile] = []
    key: Key | None = last
    while key is not None:
        f = graph.nodes[key]
        chain.append(f)
        if key == first:
            break
        own = [p for p in f.parents if p[0] == app]
        if len(own) > 1:
            raise GitmigError(f"{f.label} is a merge migration; squash a stretch without "
                              "merges (from after it, or up to before it)")
        key = own[0] if own else None
    if chain[-1].key != first:
        raise GitmigError(f"{app}.{first[1]} does not come before {app}.{last[1]}; give FROM "
                          "then TO, in that order")
    chain.reverse()
    if len(chain) < 2:
        raise GitmigError(f"nothing to squash: {app}.{first[1]} alone; give a stretch of two "
                          "migrations or more")
    for f in chain:
        if f.key in graph.replacing:
            raise GitmigError(f"{f.label} is a squash whose originals are still there; run "
                              f"`gitmig squash --finish {app}` first")
    inside = {f.key for f in chain}
    for f in chain[:-1]:
        for child in graph.children[f.key]:
            if child[0] == app and child not in inside:
                raise GitmigError(f"{app}.{child[1]} branches off {f.label}, inside the "
                                  "stretch; squash up to the migration it branches from")
    return chain


def _outside_parents(graph: MigrationGraph, stretch: list[MigrationFile]) -> list[Key]:
    """The stretch's parents outside it: its own app's first, then other apps'."""
    inside = {f.key for f in stretch}
    out: list[Key] = []
    for f in stretch:
        out += [p for p in f.parents if p not in inside and p not in out]
    app = stretch[0].app
    return [p for p in out if p[0] == app] + sorted(p for p in out if p[0] != app)


def _check_written(config: Config, old_state: object) -> None:
    """The history with the squash in it replays to what the originals did."""
    from gitmig.db.executor import project_on_path
    from gitmig.migrations.loader import load_graph
    from gitmig.migrations.replay import Replayer

    with project_on_path(config):
        new_state = Replayer(load_graph(config)).state()
    if new_state != old_state:
        raise GitmigError("the squashed migration does not replay to what the originals do; "
                          "nothing was changed (please report this)")


def _undo(changes: list[Change], saved: dict[Path, bytes]) -> None:
    """Put back what squash wrote: the squashed file goes, re-pointed files get their text."""
    back = [Change(c.path, None if c.new_file else saved[c.path]) for c in changes]
    Transaction(None, "gitmig squash (undo)").apply(back)


@dataclass
class FinishOutcome:
    squashes: list[str]
    removed: list[Path]
    databases: list[str]
    forgotten_rows: int = 0


def finish(config: Config, app: str, databases: list[str]) -> FinishOutcome:
    """Remove the originals of the app's squashes once every database has the squash."""
    from gitmig.db.connection import connect, database_missing, display_url
    from gitmig.migrations.loader import load_graph
    from gitmig.migrations.squashfile import with_parents, without_replaces

    config.app(app)
    graph = load_graph(config)
    squashes = sorted(k for k in graph.replacing if k[0] == app)
    if not squashes:
        raise GitmigError(f"app {app!r} has no squashed migration whose originals are still "
                          "there; nothing to finish",
                          hint=f"run `gitmig squash {app} FROM TO` first")
    urls = list(dict.fromkeys(databases)) or [config.database_url()]
    urls = [config.database_url(u) for u in urls]
    from gitmig.db.history.recorder import Recorder

    outcome = FinishOutcome([k[1] for k in squashes], [], [display_url(u) for u in urls])
    for url in urls:
        shown = display_url(url)
        applied: set[Key] = set()
        if not database_missing(url):
            with connect(url, config.timeouts) as conn:
                recorder = Recorder(conn)
                applied = set(recorder.applied()) if recorder.has_table() else set()
        lacking = [k for k in squashes if k not in applied]
        if lacking:
            label = ", ".join(f"{a}.{n}" for a, n in lacking)
            raise GitmigError(
                f"database {shown} has not applied {label} yet; nothing was changed",
                hint=f"run `gitmig migrate --database {shown}` (a database that applied the "
                     "originals only records the squash), then finish again")
    replaced = {r: k for k in squashes for r in graph.replacing[k]}
    for url in urls:  # the originals' rows: their files are about to go
        with connect(url, config.timeouts) as conn:
            recorder = Recorder(conn)
            if conn.in_transaction():
                conn.commit()
            with conn.begin():
                for r in replaced:
                    recorder.record_unapplied(r)
    changes: list[Change] = []
    for key in squashes:
        f = graph.nodes[key]
        source = Path(f.path).read_text(encoding="utf-8")
        changes.append(Change(Path(f.path), without_replaces(source).encode()))
    for f in graph.files:
        if f.key in replaced:
            changes.append(Change(Path(f.path), None))
            outcome.removed.append(Path(f.path))
            continue
        if f.key in squashes:
            continue
        mapping: dict[str, str] = {}
        for r, k in replaced.items():
            mapping |= _renames([r[1]], k[1], app, f.app)
        new = with_parents(Path(f.path).read_text(encoding="utf-8"), mapping)
        if new is not None:
            changes.append(Change(Path(f.path), new.encode()))
    from gitmig.git.projectlock import journal_path

    Transaction(journal_path(config.root), "gitmig squash --finish").apply(changes)
    from gitmig.git import lockhistory

    lockhistory.refresh(config, load_graph(config), {app})
    return outcome
