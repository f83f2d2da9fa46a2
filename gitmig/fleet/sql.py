"""`sqlmigrate --fleet`: a migration's SQL for each kind of database the fleet holds.

The SQL does not depend on which target of one dialect runs it (a tenant schema is the
connection's search path, not part of the SQL), so it is rendered once per dialect,
without connecting to any target.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitmig.config import Config
from gitmig.fleet.spec import Target


@dataclass(frozen=True)
class DialectSQL:
    dialect: str
    targets: int
    sql: str


def by_dialect(config: Config, targets: list[Target], app: str, migration: str,
               backwards: bool) -> list[DialectSQL]:
    from gitmig.db.sqlrender import render_sql

    counts: dict[str, int] = {}
    for t in targets:
        counts[t.dialect] = counts.get(t.dialect, 0) + 1
    return [DialectSQL(d, n, render_sql(config, app, migration, backwards=backwards, dialect=d))
            for d, n in counts.items()]
