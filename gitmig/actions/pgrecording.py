"""What a full `migrate` from an empty PostgreSQL database leaves for gitmig.actions.warmpg.

Only a run that starts from nothing (gitmig.db.pgrecord's ENV_SQL finds no object but
schemas, extensions and at most an empty history table) on a URL the libpq path can open,
with no fleet schema, records: the history table's DDL as SQLAlchemy compiles it for this
connection (what Recorder.ensure_table sends), and the statements of the longest prefix of
the plan whose migrations ran in the batch's savepoints and import nothing the key does
not cover (gitmig.actions.sqlrecording.replayable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.db import pgrecord, sqlrecord
from gitmig.db.history import pgreader
from gitmig.db.history.rows import SCHEMA_INFO, TABLE_NAME

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gitmig.db.executor import Prepared


@dataclass
class Recording:
    capture: pgrecord.PgCapture
    env: pgrecord.Environment
    history_ddl: str


def from_empty(config: Config, conn: Connection, url: str) -> Recording | None:
    """A capture listening on `conn` when this run starts from an empty database whose
    replay the warm path could run; None otherwise."""
    if (conn.dialect.name != "postgresql" or not sqlrecord.enabled()
            or conn.info.get(SCHEMA_INFO) is not None
            or pgreader._target(url, config.timeouts) is None):
        return None
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.schema import CreateTable

    from gitmig.db.history.recorder import history

    try:
        facts = conn.exec_driver_sql(pgrecord.FACTS_SQL).fetchall()
        rows = conn.exec_driver_sql(pgrecord.ENV_SQL).fetchall()
        env = pgrecord.environment(facts, rows)
        if env is None or not env.empty:
            return None
        if env.history and conn.exec_driver_sql(
                f"SELECT EXISTS (SELECT 1 FROM {TABLE_NAME})").scalar():
            return None
    except DBAPIError:  # a server without these catalogs' columns: no recording, no harm
        conn.rollback()  # only these reads were in the transaction (the lock is the session's)
        return None
    ddl = str(CreateTable(history).compile(dialect=conn.dialect))
    if "%" in ddl:  # psycopg would rewrite it: not the text sent
        return None
    capture = pgrecord.PgCapture()
    capture.listen(conn)
    return Recording(capture, env, ddl)


def record(config: Config, url: str, prepared: list[Prepared], rec: Recording) -> None:
    """Store the plan's entry: the recorded prefix of its migrations."""
    from gitmig.actions.sqlrecording import replayable

    plan: list[list[str]] = []
    steps: list[sqlrecord.Step] = []
    recording = True
    for p in prepared:
        f = p.file
        if p.step.backwards or not f.digest:
            return
        plan.append([f.app, f.name, f.checksum, f.digest])
        step = replayable(p, rec.capture) if recording else None
        if step is None:
            recording = False
            continue
        steps.append(step)
    if steps:
        pgrecord.remember(config, url, rec.env,
                          pgrecord.Bundle(plan, rec.history_ddl, tuple(steps)))
