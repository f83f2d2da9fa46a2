"""The SQL each migration sent, remembered for a warm `migrate` that needs no SQLAlchemy.

A full `migrate` (gitmig.actions.migrate) that found a SQLite database exactly as its
applied migrations make it (drift_lines' `exact`) records, per migration it ran in a
savepoint of the batch (no RunSQL/RunPython, atomic, no lock or statement timeout, no
enum values added), the statements that migration's operations sent to the driver, and
the catalogs before and after the run. The next `migrate` with the same work on the same
kind of database (gitmig.actions.warmmigrate) replays them through Python's sqlite3. A
run from an empty database is kept whole, keyed by its plan (FromEmpty, `from_empty`):
the warm run from empty (gitmig.actions.warmempty) reads one entry, not one a migration.

An entry is exact because it is keyed by everything the statements depend on: the
applied migrations before it in order (name, checksum and SHA-256 of each file), the
migration itself, the database's URL, dialect and SQLite version, gitmig's and
SQLAlchemy's code (gitmig.cache's fingerprint), Alembic's and Python's version,
ignore_tables and the configured timeouts; a migration that imports anything else (the
project's column types, say) is not recorded (gitmig.actions.sqlrecording). A
statement that returned rows (the operation read the database and may have chosen its
SQL by the answer) or a call with many parameter sets keeps the migration out too.
Free of SQLAlchemy at import: the warm path reads here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitmig import cache
from gitmig.errors import GitmigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.config import Config
    from gitmig.migrations.graph import Key, MigrationGraph
    from gitmig.migrations.plan import Step as PlanStep

FORMAT = 1
Statement = tuple[str, tuple[Any, ...]]
_PARAM_TYPES = (str, int, float, bytes, type(None))


@dataclass(frozen=True)
class Step:
    """One migration as the warm path runs it: its statements and its history row."""

    app: str
    name: str
    checksum: str
    digest: str
    statements: tuple[Statement, ...]
    destructive: bool = False  # drops data: a terminal is asked first (the full path asks)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


def enabled() -> bool:
    """GITMIG_NO_CACHE turns the warm path off with the rest of the cache."""
    return cache.enabled()


def warm_url(config: Config, database: str | None) -> str | None:
    """The URL a warm path would replay into; None when the cache is off or the URL is
    not to be had (the full path says why)."""
    if not enabled():
        return None
    try:
        return config.database_url(database)
    except GitmigError:
        return None


def _stamp(module: str) -> str:
    """The installed version of a package the SQL depends on, by its file's stat (no
    import: the warm path must not pay for it)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return ""
    st = os.stat(spec.origin)
    return f"{spec.origin}:{st.st_mtime_ns}:{st.st_size}"


def _common(config: Config, url: str) -> dict[str, Any]:
    safe = config.safe
    return {
        "format": FORMAT,
        "url": url,
        "dialect": "sqlite",
        "server": sqlite3.sqlite_version,
        "python": sys.version,  # the standard library a migration may import
        "alembic": _stamp("alembic"),
        "ignore_tables": list(config.ignore_tables),
        "timeouts": [safe.lock_timeout, safe.statement_timeout],
    }


def applied_items(graph: MigrationGraph, keys: Iterable[Key]) -> list[list[str]] | None:
    """The migrations `keys` in graph order, each with its checksum and SHA-256; None when
    a file has no SHA-256 (not read from disk) or is not in the graph."""
    wanted = set(keys)
    ordered = [k for k in graph.order() if k in wanted]
    if len(ordered) != len(wanted):
        return None
    items = []
    for k in ordered:
        f = graph.nodes[k]
        if not f.digest:
            return None
        items.append([k[0], k[1], f.checksum, f.digest])
    return items


def plan_items(graph: MigrationGraph, todo: Sequence[PlanStep]) -> list[list[str]] | None:
    """The migrations a plan applies, as entries key them (app, name, checksum, SHA-256
    each); None when there are none, one is undone, or a file has no SHA-256."""
    if not todo or any(s.backwards for s in todo):
        return None
    items = []
    for s in todo:
        f = graph.nodes[s.key]
        if not f.digest:
            return None
        items.append([f.app, f.name, f.checksum, f.digest])
    return items


def _catalog_scope(config: Config, url: str, applied: list[list[str]]) -> str:
    return json.dumps({**_common(config, url), "applied": applied}, sort_keys=True)


def _step_scope(config: Config, url: str, applied: list[list[str]],
                migration: list[str]) -> str:
    return json.dumps({**_common(config, url), "applied": applied, "migration": migration},
                      sort_keys=True)


def remember_catalog(config: Config, url: str, applied: list[list[str]],
                     catalog: dict[str, Any]) -> None:
    """`catalog` is what the migrations `applied` make on this database, read from it."""
    cache.store("sqlpath-catalog", _catalog_scope(config, url, applied), catalog)


def catalog(config: Config, url: str, applied: list[list[str]]) -> dict[str, Any] | None:
    found = cache.load("sqlpath-catalog", _catalog_scope(config, url, applied))
    return found if isinstance(found, dict) else None


def remember_step(config: Config, url: str, applied: list[list[str]], step: Step) -> None:
    migration = [step.app, step.name, step.checksum, step.digest]
    cache.store("sqlpath-step", _step_scope(config, url, applied, migration),
                {"migration": migration, "statements": list(step.statements),
                 "destructive": step.destructive})


def step(config: Config, url: str, applied: list[list[str]],
         migration: list[str]) -> Step | None:
    """The recorded statements of `migration` after exactly `applied`; None when none
    were recorded or the entry is not one this gitmig wrote."""
    found = cache.load("sqlpath-step", _step_scope(config, url, applied, migration))
    if not isinstance(found, dict) or found.get("migration") != migration:
        return None
    statements = found.get("statements")
    if not isinstance(statements, list) or not all(_valid(s) for s in statements):
        return None
    destructive = found.get("destructive")
    if not isinstance(destructive, bool):
        return None
    app, name, checksum, digest = migration
    return Step(app, name, checksum, digest, tuple((s[0], tuple(s[1])) for s in statements),
                destructive)


# A run from an empty database (gitmig.actions.warmempty): the whole plan in one entry,
# keyed by the plan itself, so that a warm run reads one file, not one per migration.
HistoryRow = tuple[str, str, str, str | None]  # sqlite_master: type, name, tbl_name, sql


@dataclass(frozen=True)
class FromEmpty:
    """A full run's plan from an empty database: the history table as it made it (its
    sqlite_master rows, in the order they were made) and each migration's step."""

    history: tuple[HistoryRow, ...]
    steps: tuple[Step, ...]


def _empty_scope(config: Config, url: str, plan: list[list[str]]) -> str:
    return json.dumps({**_common(config, url), "from": "empty", "plan": plan},
                      sort_keys=True)


def remember_from_empty(config: Config, url: str, found: FromEmpty) -> None:
    plan = [[s.app, s.name, s.checksum, s.digest] for s in found.steps]
    cache.store("sqlpath-empty", _empty_scope(config, url, plan),
                {"plan": plan, "history": list(found.history),
                 "steps": [(list(s.statements), s.destructive) for s in found.steps]})


def from_empty(config: Config, url: str, plan: list[list[str]]) -> FromEmpty | None:
    """The recorded run of `plan` (app, name, checksum, SHA-256 of each) from an empty
    database; None when none was recorded or the entry is not one this gitmig wrote."""
    found = cache.load("sqlpath-empty", _empty_scope(config, url, plan))
    if not isinstance(found, dict) or found.get("plan") != plan:
        return None
    history, steps = found.get("history"), found.get("steps")
    if (not isinstance(history, list) or not history or not all(_valid_row(r) for r in history)
            or not isinstance(steps, list) or len(steps) != len(plan)):
        return None
    out = []
    for migration, s in zip(plan, steps, strict=True):
        if (not isinstance(s, tuple) or len(s) != 2 or not isinstance(s[0], list)
                or not all(_valid(x) for x in s[0]) or not isinstance(s[1], bool)):
            return None
        app, name, checksum, digest = migration
        out.append(Step(app, name, checksum, digest,
                        tuple((x[0], tuple(x[1])) for x in s[0]), s[1]))
    return FromEmpty(tuple(history), tuple(out))


def _valid_row(r: object) -> bool:
    return (isinstance(r, tuple) and len(r) == 4 and all(isinstance(x, str) for x in r[:3])
            and isinstance(r[3], (str, type(None))))


def _valid(s: object) -> bool:
    return (isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str)
            and isinstance(s[1], tuple) and all(isinstance(p, _PARAM_TYPES) for p in s[1]))


@dataclass
class Capture:
    """The statements each operation sends on a connection, while the executor runs it
    (gitmig.db.executor.Executor.run's `capture`)."""

    by_action: dict[int, list[Statement]] = field(default_factory=dict)
    tainted: set[int] = field(default_factory=set)  # actions whose SQL read the database
    batched: dict[Key, bool] = field(default_factory=dict)  # ran in the batch's savepoint
    current: int | None = None

    def listen(self, conn: Connection) -> None:
        from sqlalchemy import event

        event.listen(conn, "before_cursor_execute", self._before)
        event.listen(conn, "after_cursor_execute", self._after)

    def forget(self, conn: Connection) -> None:
        from sqlalchemy import event

        event.remove(conn, "before_cursor_execute", self._before)
        event.remove(conn, "after_cursor_execute", self._after)

    def start(self, action: object) -> None:
        self.current = id(action)
        self.by_action[self.current] = []
        self.tainted.discard(self.current)

    def stop(self) -> None:
        self.current = None

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if self.current is None:
            return
        params = tuple(parameters) if isinstance(parameters, (tuple, list)) else None
        if (executemany or params is None
                or not all(isinstance(p, _PARAM_TYPES) for p in params)):
            self.tainted.add(self.current)
            return
        self.by_action[self.current].append((statement, params))

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        if self.current is not None and cursor.description is not None:
            self.tainted.add(self.current)

    def statements(self, actions: Sequence[object]) -> tuple[Statement, ...] | None:
        """The statements of a migration's actions in order; None if one read the
        database or did not run."""
        out: list[Statement] = []
        for a in actions:
            if id(a) in self.tainted or id(a) not in self.by_action:
                return None
            out += self.by_action[id(a)]
        return tuple(out)
