"""PostgreSQL's safe forms: indexes built and dropped CONCURRENTLY, constraints added
NOT VALID and validated later, and lock_timeout / statement_timeout for one migration.

CREATE INDEX CONCURRENTLY cannot run in a transaction, and a run killed (or failed) in
the middle of it leaves an INVALID index behind: the index exists but is never used.
The migration is then not recorded as applied, so the next migrate runs it again, finds
that index invalid, drops it (concurrently) and builds it anew; a valid one of the same
definition means the build finished before the history row could be written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gitmig import ops
from gitmig.db import ddlhelpers as ddl

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def index_validity(ctx: ddl.Context, name: str, schema: str | None) -> bool | None:
    """True: a valid index of that name exists; False: an invalid one; None: none."""
    if ctx.connection is None or ctx.as_sql:
        return None
    row = ctx.connection.execute(sa.text(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = :name AND n.nspname = COALESCE(:schema, current_schema())"
    ), {"name": name, "schema": schema}).first()
    return None if row is None else bool(row[0])


def before_concurrent_build(op: ops.CreateIndex, ctx: ddl.Context) -> bool:
    """Clear what a killed earlier run left; False when the index is already built."""
    found = index_validity(ctx, op.index.name, op.schema)
    if found is None:
        return True
    if found:
        ctx.note(f"index {op.index.name} is already built (an earlier run stopped after it)")
        return False
    ctx.operations.execute(
        f"DROP INDEX CONCURRENTLY IF EXISTS {ctx.qualified(op.index.name, op.schema)}")
    return True


def validate(op: ops.ValidateConstraint, ctx: ddl.Context) -> None:
    ctx.operations.execute(
        f"ALTER TABLE {ctx.qualified(op.table_name, op.schema)} "
        f"VALIDATE CONSTRAINT {ctx.quote(op.name)}")


@contextmanager
def autocommit(conn: Connection) -> Iterator[None]:
    if conn.in_transaction():
        conn.commit()
    level = conn.get_isolation_level()
    conn.execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield
    finally:
        if conn.in_transaction():  # SQLAlchemy's own bookkeeping; nothing is pending
            conn.commit()
        conn.execution_options(isolation_level=level)


@contextmanager
def session_timeouts(conn: Connection, lock: float | None,
                     statement: float | None) -> Iterator[None]:
    """SET for the session (a non-atomic migration spans transactions), RESET after."""
    settings = [(name, value) for name, value in
                (("lock_timeout", lock), ("statement_timeout", statement)) if value]
    if not settings:
        yield
        return
    with _outside(conn):
        for name, value in settings:
            conn.exec_driver_sql(f"SET {name} = {max(1, math.ceil(value * 1000))}")
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        with _outside(conn):
            for name, _ in settings:
                conn.exec_driver_sql(f"RESET {name}")


@contextmanager
def _outside(conn: Connection) -> Iterator[None]:
    """In a transaction of its own (committing one SQLAlchemy began by itself)."""
    if conn.in_transaction():
        conn.commit()
    with conn.begin():
        yield


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_lock_timeout(exc: BaseException) -> bool:
    """SQLSTATE 55P03 (lock_not_available): lock_timeout ran out."""
    return _sqlstate(exc) == "55P03"


def refused_in_transaction(exc: BaseException) -> bool:
    """SQLSTATE 25001 (active_sql_transaction): a statement that runs only outside a
    transaction block (CREATE INDEX CONCURRENTLY, VACUUM...) was sent inside one."""
    return _sqlstate(exc) == "25001"
