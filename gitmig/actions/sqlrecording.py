"""What a full `migrate` leaves for the warm path (gitmig.actions.warmmigrate).

Only a run that began with the database exactly as its applied migrations make it
(gitmig.actions.migrate's `exact`) on a plain SQLite file records anything: the catalog
it found, the catalog it left, and the statements of each migration it ran in the batch
(gitmig.db.sqlrecord says how they are keyed and what keeps a migration out). A run from
an empty database (no table, no history table: exactly what no migration makes) records
its whole plan as one entry, with the history table it made (record_from_empty), for
gitmig.actions.warmempty.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitmig.config import Config
from gitmig.db import sqlrecord
from gitmig.db.history.sqlitereader import plain_file
from gitmig.migrations.graph import Key, MigrationGraph

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.executor import Prepared
    from gitmig.db.history.recorder import Applied


def capture_for(conn: Connection, url: str) -> sqlrecord.Capture | None:
    """A capture listening on `conn` when the warm path could use what it records."""
    if conn.dialect.name != "sqlite" or plain_file(url) is None or not sqlrecord.enabled():
        return None
    capture = sqlrecord.Capture()
    capture.listen(conn)
    return capture


# What a recorded migration may import: code in the entry's key (gitmig's and SQLAlchemy's
# fingerprint, Alembic's stamp, Python's version for the standard library), nothing of the
# project's, whose column types or @compiles hooks could change its SQL unseen. Of the
# standard library only modules that cannot read the world: with os, datetime, uuid or
# random a migration computes a value when it runs (an environment variable, the time),
# which the full path would compute again and a replay would not.
_KEYED = {"sqlalchemy", "gitmig", "alembic", "__future__"}
_PURE = {"typing", "decimal", "enum", "re", "math", "json", "collections", "functools",
         "itertools", "dataclasses", "string", "textwrap"}
# Builtins that read the world (a file, the terminal) or run code a parse does not see.
_IMPURE_NAMES = {"open", "input", "eval", "exec", "compile", "breakpoint", "globals",
                 "locals", "vars", "getattr", "__builtins__", "hash", "id"}


def self_contained(path: str) -> bool:
    """Whether the migration file at `path` imports only code the entry's key covers."""
    import ast

    try:
        source = Path(path).read_bytes()
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return False
    if b"import_module" in source or b"__import__" in source:
        return False
    allowed = _KEYED | _PURE
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _IMPURE_NAMES:
            return False
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level or node.module is None:
                return False
            names = [node.module]
        else:
            continue
        if any(n.split(".")[0] not in allowed for n in names):
            return False
    return True


def applied_keys(graph: MigrationGraph, applied: dict[Key, Any]) -> list[Key] | None:
    """The history's migrations as the warm path keys them: those in the graph (a squash
    in use stands for the rows of the migrations it replaces); None if a row is neither."""
    keys = [k for k in applied if k in graph.nodes]
    if any(k not in graph.nodes and k not in graph.replaced for k in applied):
        return None
    return keys


def replayable(p: Prepared, capture: sqlrecord.Capture) -> sqlrecord.Step | None:
    """`p` as a warm path replays it (its statements and history row) when it ran forwards
    in the batch's savepoint, every statement captured, from a file read whole (its
    SHA-256) that imports only what the entry's key covers; else None."""
    statements = capture.statements(p.actions)
    f = p.file
    if (p.step.backwards or statements is None or not capture.batched.get(p.step.key)
            or not f.digest or not self_contained(f.path)):
        return None
    return sqlrecord.Step(f.app, f.name, f.checksum, f.digest, statements,
                          bool(p.destructive))


def record(config: Config, graph: MigrationGraph, applied: dict[Key, Applied], url: str,
           prepared: list[Prepared], capture: sqlrecord.Capture, before: dict[str, Any],
           after: dict[str, Any]) -> None:
    """Store the catalogs before and after the run of `prepared` on the database at
    `url`, and each batched migration's SQL."""
    keys = applied_keys(graph, applied)
    if keys is None:
        return
    items = sqlrecord.applied_items(graph, keys)
    if items is None:
        return
    sqlrecord.remember_catalog(config, url, items, before)
    done = list(keys)
    for p in prepared:
        if p.step.backwards:
            return
        step = replayable(p, capture)
        if step is not None:
            sqlrecord.remember_step(config, url, items, step)
        done.append(p.step.key)
        items = sqlrecord.applied_items(graph, done)
        if items is None:
            return
    sqlrecord.remember_catalog(config, url, items, after)


def record_from_empty(config: Config, graph: MigrationGraph, conn: Connection, url: str,
                      prepared: list[Prepared], capture: sqlrecord.Capture,
                      before: dict[str, Any], after: dict[str, Any]) -> None:
    """After a run from an empty database (`before`: no table, and no history table
    either, so that this run made it): the whole plan as one entry, with the history
    table's sqlite_master rows, when every migration of it may be replayed; and the
    catalogs before and after, as `record` keeps them."""
    from gitmig.db.history.rows import TABLE_NAME

    if before["tables"]:
        return  # a history table made before: perhaps by an older gitmig, as it was
    steps = []
    for p in prepared:
        step = replayable(p, capture)
        if step is None:
            return
        steps.append(step)
    rows = conn.exec_driver_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name = ? "
        "ORDER BY rowid", (TABLE_NAME,)).fetchall()
    if conn.in_transaction():
        conn.rollback()
    history = tuple((r[0], r[1], r[2], r[3]) for r in rows)
    if not history or history[0][0] != "table":
        return
    sqlrecord.remember_from_empty(config, url, sqlrecord.FromEmpty(history, tuple(steps)))
    items = sqlrecord.applied_items(graph, [p.step.key for p in prepared])
    if items is not None:
        sqlrecord.remember_catalog(config, url, [], before)
        sqlrecord.remember_catalog(config, url, items, after)
