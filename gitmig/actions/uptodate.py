"""`gitmig migrate` on a database that already has every migration, answered cheaply.

A deploy runs `migrate` every time, and most times there is nothing to do. Finding that
out needs the migration files and the history table, not SQLAlchemy, Alembic or the
project's models, whose import costs several times the answer. This module answers only
when the answer is certain and the full path (gitmig.actions.migrate) would print nothing
but its one line and write nothing: the history table is read without waiting (gitmig.db.
history.sqlitereader.settled; on PostgreSQL, gitmig.db.history.pgreader), it has every
column this gitmig writes, every row names a migration file of a configured app (or one a
squash in use stands for) with the checksum that file has now and the SHA-256 of its
bytes, every squash whose originals are applied is recorded, no run stopped halfway, and
the plan is empty. In any other case it answers False and the full path runs, with its
lock, warnings, upgrades and refusals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import GitmigError

if TYPE_CHECKING:
    from gitmig.db.history.rows import Applied
    from gitmig.migrations.graph import Key, MigrationGraph


def up_to_date(config: Config, database: str | None,
               seen: list[tuple[dict[Key, Applied], MigrationGraph]] | None = None) -> bool:
    """True when `gitmig migrate` has surely nothing to do and nothing to say; False when
    unsure (the caller takes the full path, which decides). `seen` gets the settled
    history of a SQLite file and its graph, for the warm path (gitmig.actions.warmmigrate)
    to start from."""
    from gitmig.db.history.sqlitereader import settled
    from gitmig.migrations import plan

    try:
        url = config.database_url(database)
        applied = settled(url)
        sqlite = applied is not None
        if applied is None:  # not a SQLite file, no history yet, or in doubt
            from gitmig.db.history import pgreader

            found = pgreader.read(url, config.timeouts)
            if (found is None or found.unfinished or not found.has_content
                    or not found.applied or found.locked):  # locked: a migrate under way
                return False
            applied = found.applied
    except GitmigError:
        return False
    graph = settled_graph(config, applied)
    if graph is not None and seen is not None and sqlite:
        seen.append((applied, graph))
    return graph is not None and not plan.to_target(graph, set(applied))


def settled_graph(config: Config, applied: dict[Key, Applied]) -> MigrationGraph | None:
    """The graph as the database sees it, when the full path would change nothing in the
    history before its plan and warn about nothing: one leaf per app, no squash half
    applied or to record, every row a configured app's unchanged file with its SHA-256.
    None otherwise."""
    from gitmig.migrations.loader import is_legacy, load_graph

    try:
        graph = load_graph(config).with_applied(set(applied))
        for app in config.apps:
            graph.leaf(app)  # several leaves: the full path refuses
    except GitmigError:
        return None
    if graph.set_aside or any(k not in applied for k in graph.replacing):
        return None  # a squash half applied, or one whose row migrate would record
    for key, row in applied.items():
        if key[0] not in config.apps:
            return None  # the full path refuses: the wrong database or configuration
        if key in graph.replaced:
            continue  # its squash stands for it
        f = graph.nodes.get(key)
        if (f is None or f.checksum != row.checksum or is_legacy(row.checksum)
                or row.content is None):
            return None  # renumbered or missing file, edited, to upgrade, no SHA-256 yet
    return graph
