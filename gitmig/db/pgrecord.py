"""The SQL a `migrate` from an empty PostgreSQL database sent, remembered for a warm one.

A test database built from migrations at every test run pays for SQLAlchemy, Alembic and
the operations each time, though the statements come out the same every time. A full
run (gitmig.actions.migrate) into a database that holds nothing (no table, view,
sequence, type or routine outside the system schemas and extensions; at most an empty
history table) records, per migration it ran in a savepoint of the batch (no
RunSQL/RunPython, atomic, no lock or statement timeout, no enum values added, no
statement that returned rows or took parameters), the exact text psycopg sent; and the
DDL of the history table. gitmig.actions.warmpg replays them through libpq.

One entry per plan: keyed by every migration of it in order (app, name, checksum,
SHA-256), the URL as given, the server's version (server_version_num), the session's
role, database, search_path and encodings, the database's schemas and extensions (with
versions), gitmig's and SQLAlchemy's code (gitmig.cache), Alembic's and psycopg's
install, Python's version, ignore_tables and the configured timeouts. It holds the
longest prefix of the plan that could be recorded: the full path runs the rest.
The queries below are the same text on both paths (no `%`: psycopg would rewrite it).
Free of SQLAlchemy at import: the warm path reads here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitmig import cache
from gitmig.db.history.rows import TABLE_NAME
from gitmig.db.sqlrecord import Capture, Step, _stamp

if TYPE_CHECKING:
    from gitmig.config import Config

FORMAT = 1
KIND = "sqlpath-pgempty"

# What the statements' text and effect may depend on in the session and the server.
FACTS_SQL = (
    "SELECT current_setting('server_version_num'), current_user, current_database(), "
    "current_setting('search_path'), current_setting('client_encoding'), "
    "current_setting('server_encoding'), current_setting('standard_conforming_strings'), "
    "d.datcollate, d.datctype FROM pg_catalog.pg_database d "
    "WHERE d.datname = current_database()")

_USER = "n.nspname <> 'information_schema' AND NOT starts_with(n.nspname, 'pg_')"


def _not_extension(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
            f"'pg_catalog.{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')")


_HISTORY = f"to_regclass('{TABLE_NAME}')"
# Every schema and extension, and every object that is neither the system's, an
# extension's, nor the history table (with its key's index): rows (kind, name, detail).
ENV_SQL = (
    f"SELECT 'schema', n.nspname, '' FROM pg_catalog.pg_namespace n WHERE {_USER} "
    "UNION ALL SELECT 'extension', e.extname, e.extversion FROM pg_catalog.pg_extension e "
    "UNION ALL SELECT 'relation', n.nspname || '.' || c.relname, c.relkind::text "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    f"WHERE {_USER} AND {_not_extension('pg_class', 'c.oid')} "
    f"AND c.oid IS DISTINCT FROM {_HISTORY} AND NOT EXISTS (SELECT 1 FROM "
    f"pg_catalog.pg_index i WHERE i.indexrelid = c.oid AND i.indrelid = {_HISTORY}) "
    "UNION ALL SELECT 'type', n.nspname || '.' || t.typname, t.typtype::text "
    "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    f"WHERE {_USER} AND t.typrelid = 0 AND t.typcategory <> 'A' "
    f"AND {_not_extension('pg_type', 't.oid')} "
    "UNION ALL SELECT 'routine', n.nspname || '.' || p.proname, p.prokind::text "
    "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    f"WHERE {_USER} AND {_not_extension('pg_proc', 'p.oid')} "
    f"UNION ALL SELECT 'history', COALESCE({_HISTORY}::text, ''), '' "
    "ORDER BY 1, 2, 3")
_OBJECTS = {"relation", "type", "routine"}
Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Environment:
    """The database and session as the entry's key sees them."""

    key: list[list[str]]  # the facts, then every schema and extension
    empty: bool  # nothing but schemas, extensions and at most the history table
    history: str  # the history table as to_regclass names it; "" when there is none

    @property
    def conforming_strings(self) -> bool:
        """standard_conforming_strings is on: a backslash in '...' is itself."""
        return self.key[0][6] == "on"


def environment(facts: Rows, env: Rows) -> Environment | None:
    """From FACTS_SQL's and ENV_SQL's rows, read through either path (text values)."""
    if len(facts) != 1:
        return None
    rows = [[str(v) for v in r] for r in env]
    history = [r[1] for r in rows if r[0] == "history"]
    if len(history) != 1:
        return None
    kept = [r for r in rows if r[0] in ("schema", "extension")]
    empty = not any(r[0] in _OBJECTS for r in rows)
    return Environment([[str(v) for v in facts[0]], *kept], empty, history[0])


@dataclass(frozen=True)
class Bundle:
    """What a from-empty run replays: the history table's DDL, then each migration."""

    plan: list[list[str]]  # every migration of the plan: app, name, checksum, SHA-256
    history_ddl: str
    steps: tuple[Step, ...]  # a prefix of the plan


def _scope(config: Config, url: str, env: Environment, plan: list[list[str]]) -> str:
    safe = config.safe
    return json.dumps({
        "format": FORMAT, "url": url, "dialect": "postgresql", "environment": env.key,
        "python": sys.version, "alembic": _stamp("alembic"), "psycopg": _stamp("psycopg"),
        "ignore_tables": list(config.ignore_tables),
        "timeouts": [safe.lock_timeout, safe.statement_timeout], "plan": plan,
    }, sort_keys=True)


def remember(config: Config, url: str, env: Environment, bundle: Bundle) -> None:
    cache.store(KIND, _scope(config, url, env, bundle.plan), {
        "plan": bundle.plan, "history_ddl": bundle.history_ddl,
        "steps": [{"migration": [s.app, s.name, s.checksum, s.digest],
                   "statements": [sql for sql, _ in s.statements],
                   "destructive": s.destructive} for s in bundle.steps]})


def load(config: Config, url: str, env: Environment, plan: list[list[str]]) -> Bundle | None:
    """The entry for `plan` from this database as it is; None when there is none or it
    is not one this gitmig wrote (a wrong shape, a step out of the plan's order)."""
    found = cache.load(KIND, _scope(config, url, env, plan))
    if not isinstance(found, dict) or found.get("plan") != plan:
        return None
    ddl, raw = found.get("history_ddl"), found.get("steps")
    if not isinstance(ddl, str) or not isinstance(raw, list) or len(raw) > len(plan):
        return None
    steps = []
    for item, s in zip(plan, raw, strict=False):
        if (not isinstance(s, dict) or s.get("migration") != item
                or not isinstance(s.get("destructive"), bool)
                or not isinstance(s.get("statements"), list)
                or not all(isinstance(q, str) for q in s["statements"])):
            return None
        app, name, checksum, digest = item
        steps.append(Step(app, name, checksum, digest,
                          tuple((q, ()) for q in s["statements"]), s["destructive"]))
    return Bundle(plan, ddl, tuple(steps))


class PgCapture(Capture):
    """The statements as psycopg sent them (`%%` already made `%`), read after each one
    ran; one that took parameters, returned rows or ran as executemany keeps its
    migration out."""

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if self.current is not None and executemany:
            self.tainted.add(self.current)

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        if self.current is None:
            return
        sent = getattr(getattr(cursor, "_query", None), "query", None)
        params = getattr(getattr(cursor, "_query", None), "params", None)
        if cursor.description is not None or not isinstance(sent, bytes) or params:
            self.tainted.add(self.current)
            return
        try:
            self.by_action[self.current].append((sent.decode("utf-8"), ()))
        except UnicodeDecodeError:
            self.tainted.add(self.current)
