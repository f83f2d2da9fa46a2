"""`gitmig adopt`: take over a project that uses Alembic, or no migration tool at all.

The order keeps every refusal cheap and clean:

1. Each database is read first: one whose `alembic_version` is not at the Alembic head
   (the revision the models correspond to) is refused, naming where it is and the command
   that brings it to head, before anything is written.
2. Each app's initial migrations are written from the models (makemigrations).
3. For each database, the migrations are run into a scratch database of the same kind
   and the catalogs compared (gitmig.db.expected, gitmig.db.compare). Any difference
   refuses the database, listing each; the migration files this run wrote are removed
   again. Tables no app manages are listed, not refused.
4. Only then are the history rows written, in one transaction, under the migration lock;
   with `retire_alembic`, `alembic_version` is dropped in that same transaction. Nothing
   else is written to the user's database; Alembic's files are never touched.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.actions.alembicproject import VERSION_TABLE, AlembicProject, find_alembic
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass
class Options:
    databases: tuple[str, ...] = ()  # default: the configured database
    retire_alembic: bool = False
    scratch_url: str | None = None


@dataclass
class Adopted:
    url: str  # printable
    recorded: list[Key] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    already: bool = False  # its history already held every migration
    retired: bool = False  # alembic_version dropped


@dataclass
class Outcome:
    alembic: AlembicProject | None = None
    written: list[Path] = field(default_factory=list)
    databases: list[Adopted] = field(default_factory=list)


def adopt(config: Config, options: Options) -> Outcome:
    from gitmig.db.connection import display_url

    outcome = Outcome(alembic=find_alembic(config.root))
    if options.retire_alembic and outcome.alembic is None:
        raise GitmigError("--retire-alembic: this project has no Alembic configuration "
                          f"(no alembic.ini or [tool.alembic] beside {config.path.name})")
    urls = list(dict.fromkeys(options.databases)) or [config.database_url()]
    urls = [config.database_url(u) for u in urls]
    for url in urls:
        _refuse_unready(url, config, outcome.alembic)
    saved = _migration_folders(config)
    try:
        outcome.written = _write_initial(config)
        from gitmig.migrations.loader import load_graph

        graph = load_graph(config)
        checked = [(url, _prove(config, graph, url, options.scratch_url)) for url in urls]
    except BaseException:
        _put_back(saved, outcome.written)
        raise
    for url, adopted in checked:
        adopted.url = display_url(url)
        if not adopted.already or options.retire_alembic:
            _record(config, graph, url, adopted, options.retire_alembic)
        outcome.databases.append(adopted)
    return outcome


def _alembic_revisions(conn: Connection) -> list[str] | None:
    """The revisions `alembic_version` holds; None when the table is not there."""
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = sorted(conn.scalars(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")))
    if conn.in_transaction():
        conn.rollback()
    return rows


def _refuse_unready(url: str, config: Config, alembic: AlembicProject | None) -> None:
    from gitmig.db.connection import connect, database_missing, display_url

    if database_missing(url):
        raise GitmigError(f"the database {display_url(url)} does not exist: there is nothing "
                          "to adopt", hint="run `gitmig migrate` to create it from the "
                          "migrations instead")
    with connect(url, config.timeouts) as conn:
        revisions = _alembic_revisions(conn)
    if revisions is None:
        return
    if alembic is None:
        raise GitmigError(
            f"the database {display_url(url)} has Alembic's {VERSION_TABLE} table (at "
            f"{', '.join(revisions) or 'no revision'}), but no Alembic project was found "
            f"beside {config.path.name} (alembic.ini or [tool.alembic])",
            hint="run `gitmig adopt` in the folder of the project's alembic.ini",
        )
    if tuple(revisions) != alembic.heads:
        at = ", ".join(revisions) or "no revision"
        head = ", ".join(alembic.heads) or "none"
        raise GitmigError(
            f"the database {display_url(url)} is at Alembic revision {at}, not at the head "
            f"({head}) that the models correspond to",
            hint="bring it to head first with `alembic upgrade head`, then run "
                 "`gitmig adopt` again",
        )


def _write_initial(config: Config) -> list[Path]:
    from gitmig.actions.makemigrations import Options as MakeOptions
    from gitmig.actions.makemigrations import make_migrations
    from gitmig.migrations.questioner import Questioner

    made = make_migrations(config, MakeOptions(), Questioner())
    return [m.path for m in made.migrations] if made.written else []


def _prove(config: Config, graph: object, url: str, scratch_url: str | None) -> Adopted:
    """The database's schema is what all the migrations make, or a refusal listing how
    it is not."""
    from gitmig.actions.drift import check, read_live
    from gitmig.db.connection import connect, display_url
    from gitmig.migrations.graph import MigrationGraph

    assert isinstance(graph, MigrationGraph)
    adopted = Adopted(display_url(url))
    with connect(url, config.timeouts) as conn:
        applied, actual = read_live(conn, graph)
    every = graph.order()
    if applied:
        if set(every) <= set(applied):
            adopted.already = True
            return adopted
        raise GitmigError(
            f"the database {display_url(url)} already has gitmig's history "
            f"({len(applied)} migration{'s' if len(applied) != 1 else ''} applied)",
            hint="it is gitmig's already: run `gitmig migrate`",
        )
    report = check(config, graph, url, every, actual, scratch_url)
    if report.differences:
        lines = "; ".join(report.lines())
        raise GitmigError(
            f"the database {display_url(url)} differs from what the models' migrations "
            f"make, so they cannot be recorded as applied (each is what the database has "
            f"beyond them): {lines}",
            hint="make the database match the models (or the models match it), then run "
                 "`gitmig adopt` again; nothing was written",
        )
    adopted.recorded = every
    adopted.unmanaged = report.unmanaged
    return adopted


def _record(config: Config, graph: object, url: str, adopted: Adopted,
            retire: bool) -> None:
    import sqlalchemy as sa

    from gitmig.db.connection import connect, git_head
    from gitmig.db.history.recorder import Recorder
    from gitmig.db.lock import migration_lock
    from gitmig.migrations.graph import MigrationGraph

    assert isinstance(graph, MigrationGraph)
    commit = git_head(config.root)
    with connect(url, config.timeouts) as conn, migration_lock(conn):
        recorder = Recorder(conn)
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            recorder.ensure_table()
        with conn.begin():
            for key in adopted.recorded:
                f = graph.nodes[key]
                recorder.record_applied(key, f.checksum, f.digest or None, commit)
            if retire and _alembic_revisions_in(conn):
                conn.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))
                adopted.retired = True


def _alembic_revisions_in(conn: Connection) -> bool:
    import sqlalchemy as sa

    return sa.inspect(conn).has_table(VERSION_TABLE)


def _migration_folders(config: Config) -> dict[Path, dict[Path, bytes] | None]:
    """Each app's migrations folder as it is now (None: not there), to put back."""
    saved: dict[Path, dict[Path, bytes] | None] = {}
    for app in config.apps.values():
        folder = app.migrations
        saved[folder] = ({p: p.read_bytes() for p in folder.iterdir() if p.is_file()}
                         if folder.is_dir() else None)
    return saved


def _put_back(saved: dict[Path, dict[Path, bytes] | None], written: list[Path]) -> None:
    """A refused adoption leaves the migrations folders as they were."""
    for path in written:
        path.unlink(missing_ok=True)
    for folder, files in saved.items():
        if files is None:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        for path in (folder.iterdir() if folder.is_dir() else []):
            if path.is_file() and path not in files:
                path.unlink()
        for path, data in files.items():
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
