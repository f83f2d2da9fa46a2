"""`gitmig migrate --fake-initial`: take over tables that already exist, as Django does.

An initial migration (the first of its app) in the plan whose tables all exist in the
database is recorded as applied without running, but only once the existing tables are
proven to be exactly what it makes: the migrations up to it are run into a scratch
database (gitmig.db.expected) and those tables' catalogs compared. A difference stops
migrate before anything is written, with each difference listed. An initial migration
whose tables exist only in part is run as usual (and fails on the first that exists).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationGraph
from gitmig.ops import CreateTable

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.executor import Prepared
    from gitmig.db.history.recorder import Applied


def created_tables(p: Prepared) -> list[str]:
    """The tables an initial migration creates, as catalogs name them; [] for others."""
    if p.step.backwards or any(parent[0] == p.file.app for parent in p.file.parents):
        return []
    return [a.op.table.name if a.op.table.schema is None
            else f"{a.op.table.schema}.{a.op.table.name}"
            for a in p.actions if isinstance(a.op, CreateTable)]


def fake_initial(config: Config, graph: MigrationGraph, conn: Connection,
                 applied: dict[Key, Applied], prepared: list[Prepared], url: str,
                 warn: Callable[[str], None]) -> list[Key]:
    """The initial migrations of the plan to record rather than run."""
    from gitmig.db.catalog import read_catalog
    from gitmig.db.compare import compare, sort_key
    from gitmig.db.expected import expected_catalog

    actual = read_catalog(conn)
    chosen: list[tuple[int, Key, list[str]]] = []
    for i, p in enumerate(prepared):
        tables = created_tables(p)
        if tables and all(t in actual["tables"] for t in tables):
            chosen.append((i, p.step.key, tables))
    if not chosen:
        return []
    last = chosen[-1][0]
    keys = [*applied, *(p.step.key for p in prepared[:last + 1])]
    expected = expected_catalog(config, graph, keys, url)
    for _, key, tables in chosen:
        found = compare(expected, actual, only=set(tables), managed=set(tables))
        if found.differences:
            lines = "; ".join(d.line() for d in sorted(found.differences, key=sort_key))
            raise GitmigError(
                f"--fake-initial: the tables of {key[0]}.{key[1]} exist but differ from "
                f"what it makes (each is the change the database has beyond it): {lines}",
                hint="make the tables match the migration (or change the models and the "
                     "migration to match them); nothing was applied or recorded",
            )
    names = ", ".join(f"{k[0]}.{k[1]}" for _, k, _ in chosen)
    warn(f"--fake-initial: the tables of {names} exist and match: recorded as "
                  "applied without running")
    return [key for _, key, _ in chosen]
