"""SQLite: transactional DDL, a file lock, and tables rebuilt where ALTER cannot reach.

SQLite cannot alter columns or constraints, so those changes rebuild the table from the
state after the operation (gitmig.db.ddl.rebuild); it adds only some columns in place.
The migration lock is gitmig.db.sqlitelock: the database's own write lock, held from one
transaction to the next by the EXCLUSIVE locking mode (nobody else can read or write the
file meanwhile), or in WAL mode a lock file beside it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.backends.base import Backend
from gitmig.errors import GitmigError
from gitmig.schema import materialize
from gitmig.schema.state import Check, Table

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

    from gitmig.config import Timeouts

_MARK = "gitmig_open_transaction"


class SQLiteBackend(Backend):
    name = "sqlite"
    label = "SQLite"
    transactional_ddl = True

    def may_batch(self, conn: Connection, schemas: Collection[str]) -> bool:
        """Always: a write transaction locks the whole file, batched or not."""
        return True

    def timeout_args(self, url: URL, timeouts: Timeouts) -> dict[str, Any]:
        # A file needs no connecting; reading may wait for another's lock on it.
        return {} if timeouts.read is None else {"timeout": timeouts.read}

    def prepare_engine(self, engine: Engine) -> None:
        """pysqlite's own transaction handling off, so that DDL runs inside real
        transactions (SQLAlchemy's documented recipe)."""

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    def mark_transaction(self, conn: Connection) -> object | None:
        """A temporary table: it outlives the rollback only if a COMMIT kept it."""
        conn.exec_driver_sql(f"CREATE TEMP TABLE {_MARK} (x INTEGER)")
        return _MARK

    def unmark_transaction(self, conn: Connection, mark: object) -> None:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_MARK}")

    def committed_since(self, conn: Connection, mark: object) -> bool:
        try:
            if conn.in_transaction():
                conn.rollback()
            found = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_temp_master WHERE name = ?", (_MARK,)).first()
            if found:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_MARK}")
            if conn.in_transaction():
                conn.commit()
            return found is not None
        except Exception:  # the connection is gone: nobody can tell
            return False

    @contextmanager
    def lock(self, conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
        """gitmig.db.sqlitelock, on the connection's sqlite3 connection."""
        from gitmig.db import sqlitelock

        raw: Any = conn.connection.driver_connection
        if conn.in_transaction():
            conn.commit()
        with sqlitelock.held(raw, on_wait):
            try:
                yield
            finally:
                if conn.in_transaction():
                    conn.rollback()

    def alter_table_comment(self, op: ops.AlterTableComment, ctx: ddl.Context) -> None:
        ctx.note(f"{op.describe()}: SQLite keeps no comments")

    def add_column(self, op: ops.AddColumn, ctx: ddl.Context) -> None:
        """ALTER TABLE ADD COLUMN where SQLite allows it, then a rebuild where it does not.

        SQLite adds only nullable columns or ones with a constant default, and never with
        a foreign key; so the column is added in a form it accepts, existing rows are
        filled, and the table is rebuilt into its final form (NOT NULL, no one-off
        default, the foreign key).
        """
        col = op.column
        if col.computed is not None:
            ddl.rebuild(ctx, op.key)  # SQLite adds no STORED column; the rebuild computes it
            return
        typ = materialize.type_of(col.type)
        backfill = ddl.backfill_default(op, typ, ctx.dialect)
        nullable = col.nullable
        default: Any = materialize.server_default(col.server_default)
        fill: Any = None
        # A CHECK made by the type (Boolean, non-native Enum) comes only with CREATE TABLE.
        rebuild = bool(op.foreign_keys) or col.primary_key or _type_check(typ)
        if col.server_default is not None and col.server_default.kind in ("sql", "expr"):
            # now(), CURRENT_TIMESTAMP...: SQLite refuses non-constant defaults in ALTER.
            nullable, default, fill, rebuild = True, None, default, True
        elif col.server_default is None and not col.nullable:
            if backfill is not None:
                default = backfill
            else:
                nullable = True  # the rebuild fails if rows exist, as it must
            rebuild = True
        new = sa.Column(col.name, typ, nullable=nullable, server_default=default)
        ctx.operations.add_column(op.table_name, new, schema=op.schema)
        if fill is not None:
            target = sa.table(op.table_name, sa.column(col.name), schema=op.schema)
            ctx.operations.execute(target.update().values({col.name: fill}))
        if rebuild:
            ddl.rebuild(ctx, op.key)

    def drop_column(self, op: ops.DropColumn, ctx: ddl.Context) -> None:
        before = ctx.before.table(op.key)
        version = ctx.dialect.server_version_info
        if _can_drop(before, op.column_name) and (version is None or version >= (3, 35)):
            ctx.operations.drop_column(op.table_name, op.column_name, schema=op.schema)
        else:
            ddl.rebuild(ctx, op.key)

    def alter_column(self, op: ops.AlterColumn, ctx: ddl.Context) -> None:
        old = ctx.before.table(op.key).column(op.column_name)
        new = ctx.after.table(op.key).column(op.column_name)
        if any(getattr(old, f) != getattr(new, f) for f in ("type", "nullable",
                                                            "server_default", "identity")):
            ddl.rebuild(ctx, op.key)
        else:
            ctx.note(f"{op.describe()}: nothing to do on SQLite")

    def add_constraint(self, op: ops.AddConstraint, ctx: ddl.Context) -> None:
        ddl.rebuild(ctx, op.key)

    def drop_constraint_op(self, op: ops.DropConstraint, ctx: ddl.Context) -> None:
        ddl.rebuild(ctx, op.key)

    # Keys and constraint names live in CREATE TABLE: the table is rebuilt.

    def create_primary_key(self, op: ops.CreatePrimaryKey, ctx: ddl.Context) -> None:
        ddl.rebuild(ctx, op.key)

    def drop_primary_key_op(self, op: ops.DropPrimaryKey, ctx: ddl.Context) -> None:
        ddl.rebuild(ctx, op.key)

    def rename_constraint(self, op: ops.RenameConstraint, ctx: ddl.Context) -> None:
        ddl.rebuild(ctx, op.key)

    def rename_index(self, op: ops.RenameIndex, ctx: ddl.Context) -> None:
        """SQLite cannot rename an index: it is dropped and created under its new name."""
        table = ctx.after.table(op.key)
        ix = next(i for i in table.indexes if i.name == op.new)
        ctx.operations.drop_index(op.old, table_name=op.table_name, schema=op.schema)
        ctx.operations.create_index(
            ix.name, op.table_name,
            materialize.index_elements(ix, (c.name for c in table.columns)),
            unique=ix.unique, schema=op.schema,
        )

    def alter_table_options(self, op: ops.AlterTableOptions, ctx: ddl.Context,
                            changed: set[str]) -> None:
        """AUTOINCREMENT and WITHOUT ROWID live in CREATE TABLE: a rebuild."""
        if any(k.startswith("sqlite_") for k in changed):
            ddl.rebuild(ctx, op.key)
        else:
            ctx.note(f"{op.describe()}: nothing changes on SQLite")

    def set_table_schema(self, op: ops.SetTableSchema, ctx: ddl.Context) -> None:
        raise GitmigError(
            f"table {op.table_name}: SQLite has no schemas to move it between (only attached "
            "databases); copy it with ops.RunSQL in a migration from "
            "`gitmig makemigrations --empty`"
        )

    # -- the catalog and scratch databases (gitmig.db.catalog, gitmig.db.scratch) ------

    def read_catalog(self, conn: Connection) -> dict[str, Any]:
        from gitmig.db.backends import catalog_sqlite

        return catalog_sqlite.read(conn)

    scratch_in_folder = True

    def server_version(self, conn: Connection) -> tuple[Any, ...]:
        return (sqlite3.sqlite_version,)

    def drop_everything(self, conn: Connection, catalog: dict[str, Any]) -> None:
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        for table in catalog["tables"]:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))


def _type_check(typ: sa.types.TypeEngine[Any]) -> bool:
    return isinstance(typ, sa.types.SchemaType) and bool(getattr(typ, "create_constraint", False))


def _can_drop(table: Table, name: str) -> bool:
    """SQLite's own DROP COLUMN refuses columns that anything else refers to."""
    if table.column(name).primary_key or _type_check(materialize.type_of(table.column(name).type)):
        return False
    for c in table.constraints:
        if isinstance(c, Check):
            if re.search(rf"\b{re.escape(name)}\b", c.sqltext):
                return False
        elif name in c.columns:
            return False
    return not any(name in ix.columns for ix in table.indexes)
