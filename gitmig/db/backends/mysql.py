"""MariaDB/MySQL: DDL that commits itself, a named lock, indexes that serve foreign keys.

Each DDL statement commits on its own, so a migration cannot be rolled back whole
(gitmig.db.executor tracks its progress instead). MySQL backs every foreign key with an
index: it refuses to drop one a key uses, and keeps the one it made when the key goes;
so drops here first give a key an index of its own, and take away MySQL's own after.
ALTER rewrites a column's whole definition, so autoincrement is restated every time;
AUTO_INCREMENT is allowed only on a key column, so it comes off before the key goes.
Every primary key is called PRIMARY; indexes (unique constraints too) are renamed in
place, foreign keys and checks dropped and added again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

from gitmig import ops
from gitmig.db import ddl_keys
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.backends.base import Backend
from gitmig.schema import materialize
from gitmig.schema.state import (
    Check,
    Column,
    Constraint,
    ForeignKey,
    Table,
    Unique,
    constraint_identity,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

    from gitmig.config import Timeouts

WAIT_SECONDS = 2


class MySQLBackend(Backend):
    name = "mysql"
    label = "MariaDB/MySQL"
    identifier_limit = 64  # longer names are refused
    transactional_ddl = False
    _lift_read_timeout = False

    def session_timeouts(self, conn: Connection, lock: float | None,
                         statement: float | None) -> AbstractContextManager[None]:
        """lock_wait_timeout (whole seconds) for the migration's session; MariaDB/MySQL
        have no statement timeout for DDL."""
        return _lock_wait(conn, lock)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """Error 1205: Lock wait timeout exceeded."""
        args: tuple[Any, ...] = getattr(getattr(exc, "orig", exc), "args", ())
        return bool(args) and args[0] == 1205

    def timeout_args(self, url: URL, timeouts: Timeouts) -> dict[str, Any]:
        """The drivers' own socket timeouts, in whole seconds."""
        if url.get_driver_name() not in ("pymysql", "mysqldb", "mariadbconnector"):
            return {}
        args: dict[str, Any] = {}
        if timeouts.connect is not None:
            args["connect_timeout"] = max(1, math.ceil(timeouts.connect))
        read = timeouts.read
        if read is None and timeouts.connect is not None and url.get_driver_name() == "pymysql":
            # PyMySQL reads the server's greeting under its read timeout, not the connect
            # timeout: a server that accepts and never answers would hang the connect.
            # prepare_engine lifts it again once connected.
            read = timeouts.connect
            self._lift_read_timeout = True
        if read is not None:
            args["read_timeout"] = args["write_timeout"] = max(1, math.ceil(read))
        return args

    def prepare_engine(self, engine: Engine) -> None:
        if not self._lift_read_timeout:
            return

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection._read_timeout = dbapi_connection._write_timeout = None

    @contextmanager
    def lock(self, conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
        """A named lock (GET_LOCK), named after the database; the connection holds it."""
        name = f"gitmig:{conn.dialect.default_schema_name or ''}"[:64]
        got = conn.scalar(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": name})
        if got != 1:
            on_wait()
            while got != 1:
                got = conn.scalar(sa.text("SELECT GET_LOCK(:n, :t)"),
                                  {"n": name, "t": WAIT_SECONDS})
        with self._holding(conn, "SELECT RELEASE_LOCK(:n)", {"n": name}):
            yield

    def default_constraint_name(self, table: Table, c: Constraint) -> str:
        if isinstance(c, ForeignKey):
            return f"{table.name}_ibfk_1"
        if isinstance(c, Unique):
            return c.columns[0]
        return "CONSTRAINT_1"

    def refused_column(self, col: Column) -> str | None:
        if col.computed is not None and not col.nullable:
            return ("MariaDB refuses NOT NULL on a generated column (MySQL 8 accepts it); "
                    "declare the Computed column nullable")
        return None

    def drop_column(self, op: ops.DropColumn, ctx: ddl.Context) -> None:
        """MySQL refuses to drop a column under a foreign key, and shrinks (rather than
        drops) indexes over several columns; the state drops them whole."""
        if self.drop_key_column(op, ctx):
            return
        before = ctx.before.table(op.key)
        name = op.column_name
        for fk in sorted(before.foreign_keys, key=repr):
            if name in fk.columns:
                self.drop_constraint(ctx, before, fk)
        for u in sorted(before.uniques, key=repr):
            if name in u.columns and len(u.columns) > 1:
                self.drop_constraint(ctx, before, u)
        for ix in sorted(before.indexes, key=lambda i: i.name):
            if name in ix.columns and len(ix.columns) > 1:
                ctx.operations.drop_index(ix.name, table_name=op.table_name, schema=op.schema)
        super().drop_column(op, ctx)

    def alter_column_extra(self, old: Column, new: Column, after: Table) -> dict[str, Any]:
        if old.autoincrement != new.autoincrement:
            return {"autoincrement": _is_autoincrement(after, new.name)}
        return {}

    def existing_extra(self, table: Table, col: Column) -> dict[str, Any]:
        return {"existing_autoincrement": _is_autoincrement(table, col.name)}

    def drop_index(self, op: ops.DropIndex, ctx: ddl.Context) -> None:
        _keep_foreign_keys_indexed(ctx, ctx.after.table(op.key), op.name)
        super().drop_index(op, ctx)

    # -- checks declared on a column: part of its definition, as MariaDB keeps them --------

    def add_constraint(self, op: ops.AddConstraint, ctx: ddl.Context) -> None:
        c = op.constraint
        if isinstance(c, Check) and c.column is not None:
            _restate_column(ctx, ctx.after.table(op.key), c.column)
            return
        super().add_constraint(op, ctx)

    def after_operation(self, op: ops.Operation, ctx: ddl.Context) -> None:
        """ALTER TABLE ... MODIFY/CHANGE rewrites a column's whole definition and so drops
        the checks declared on it: they are written back."""
        column = (op.column_name if isinstance(op, ops.AlterColumn)
                  else op.new if isinstance(op, ops.RenameColumn) else None)
        if column is not None and isinstance(op, (ops.AlterColumn, ops.RenameColumn)):
            after = ctx.after.table(op.key)
            if any(c.column == column for c in after.checks):
                _restate_column(ctx, after, column)
        super().after_operation(op, ctx)

    def drop_constraint(self, ctx: ddl.Context, table: Table, c: Constraint) -> None:
        if isinstance(c, Check) and c.column is not None:
            if table.has_column(c.column):
                _restate_column(ctx, table.without_constraint(constraint_identity(c)),
                                c.column)
            return
        implicit_index = None
        if isinstance(c, ForeignKey):
            implicit_index = _foreign_key_index(ctx, table, c)
        name = ddl.constraint_name(ctx, table, c)
        if isinstance(c, Unique):
            # A unique constraint is an index in MySQL, and may be serving a foreign key.
            _keep_foreign_keys_indexed(ctx, table.without_constraint(constraint_identity(c)),
                                       name)
        self.drop_named_constraint(ctx, table, c, name)
        if implicit_index:
            # MySQL made this index for the foreign key and keeps it when the key goes;
            # the models never declared it.
            ctx.operations.drop_index(implicit_index, table_name=table.name,
                                      schema=table.schema)

    # -- primary keys: PRIMARY, and AUTO_INCREMENT only on a key column ----------------

    def primary_key_name(self, ctx: ddl.Context, table: Table) -> str:
        return "PRIMARY"

    def drop_primary_key(self, ctx: ddl.Context, table: Table) -> None:
        auto = ddl_keys.auto_column(table)
        if auto is not None:
            # MySQL keeps AUTO_INCREMENT only on a key column: take it off first.
            _set_auto_increment(ctx, table, auto, False)
        super().drop_primary_key(ctx, table)

    def add_column_to_key(self, op: ops.AddColumn, ctx: ddl.Context, new: sa.Column[Any]) -> None:
        """One ALTER TABLE: MySQL refuses an AUTO_INCREMENT column that is not yet a key."""
        before, after = ctx.before.table(op.key), ctx.after.table(op.key)
        auto = ddl_keys.auto_column(before)
        if before.primary_key and auto is not None:
            _set_auto_increment(ctx, before, auto, False)
        sa.Table(after.name, sa.MetaData(), new, schema=after.schema)
        spec = str(sa.schema.CreateColumn(new).compile(dialect=ctx.dialect))
        drop = "DROP PRIMARY KEY, " if before.primary_key else ""
        cols = ", ".join(ctx.quote(c) for c in after.primary_key)
        ctx.operations.execute(
            f"ALTER TABLE {ctx.qualified(after.name, after.schema)} {drop}"
            f"ADD COLUMN {spec}, ADD PRIMARY KEY ({cols})"
        )

    def key_recreated(self, ctx: ddl.Context, before: Table, after: Table) -> None:
        auto = ddl_keys.auto_column(after)
        if auto is not None and auto == ddl_keys.auto_column(before):
            _set_auto_increment(ctx, after, auto, True)  # taken off to drop the key
        else:
            super().key_recreated(ctx, before, after)

    def number_key_column(self, ctx: ddl.Context, table: Table, column: str) -> None:
        _set_auto_increment(ctx, table, column, True)

    # -- renames -----------------------------------------------------------------------

    def rename_constraint(self, op: ops.RenameConstraint, ctx: ddl.Context) -> None:
        before_t, c = op.find(ctx.before)
        if c is None:
            ctx.note(f"{op.describe()}: MySQL names every primary key PRIMARY")
            return
        if not isinstance(c, Unique):
            # MySQL cannot rename a foreign key or a check: drop it and add it renamed.
            after_t = ctx.after.table(op.key)
            renamed = ddl_keys.renamed(op, c, after_t)
            self.drop_constraint(ctx, before_t, c)
            ddl_keys.add_constraint(ctx, after_t, renamed)
            return
        super().rename_constraint(op, ctx)

    def rename_named_constraint(self, op: ops.RenameConstraint, ctx: ddl.Context, old: str,
                                new: str) -> None:
        _rename_index(ctx, op.table_name, op.schema, old, new)  # a unique one is an index

    def rename_index(self, op: ops.RenameIndex, ctx: ddl.Context) -> None:
        _rename_index(ctx, op.table_name, op.schema, op.old, op.new)

    # -- table options: ENGINE= and the character set ----------------------------------

    def alter_table_options(self, op: ops.AlterTableOptions, ctx: ddl.Context,
                            changed: set[str]) -> None:
        """ENGINE= and CONVERT TO CHARACTER SET (the columns follow the table's character
        set, as they do in CREATE TABLE); an option taken away goes back to the server's."""
        kw = materialize.dialect_kwargs(op.options)

        def option(name: str) -> object:
            return kw.get(f"mysql_{name}", kw.get(f"mariadb_{name}"))

        parts = []
        if {"mysql_engine", "mariadb_engine"} & changed:
            engine = option("engine") or ctx.select("@@default_storage_engine", "InnoDB")
            parts.append(f"ENGINE={engine}")
        charset_keys = {f"{p}_{n}" for p in ("mysql", "mariadb")
                        for n in ("charset", "default_charset", "collate")}
        if charset_keys & changed:
            charset = (option("charset") or option("default_charset")
                       or ctx.select("@@character_set_database", "utf8mb4"))
            text = f"CONVERT TO CHARACTER SET {charset}"
            collate = option("collate")
            if collate:
                text += f" COLLATE {collate}"
            parts.append(text)
        if not parts:
            ctx.note(f"{op.describe()}: nothing changes on MySQL")
            return
        ctx.operations.execute(
            f"ALTER TABLE {ctx.qualified(op.table_name, op.schema)} {', '.join(parts)}"
        )

    # -- the catalog and scratch databases (gitmig.db.catalog, gitmig.db.scratch) ------

    scratch_privilege = "CREATE and DROP on the server (GRANT CREATE, DROP ON *.* TO ...)"

    def read_catalog(self, conn: Connection) -> dict[str, Any]:
        from gitmig.db.backends import catalog_mysql

        return catalog_mysql.read(conn)

    def create_database(self, conn: Connection, name: str) -> None:
        """With the character set and collation of the database `conn` is on, which its
        tables' columns inherit."""
        charset, collation = self.made_like(conn)
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET {charset} "
                             f"COLLATE {collation}"))

    def made_like(self, conn: Connection) -> tuple[Any, ...]:
        """The database's default character set and collation: its tables inherit them."""
        charset, collation = conn.execute(sa.text(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME"
            " FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()")).one()
        return (charset, collation)

    def database_names(self, conn: Connection, prefix: str) -> list[str]:
        return [n for n in conn.scalars(sa.text("SHOW DATABASES")) if n.startswith(prefix)]

    def drop_everything(self, conn: Connection, catalog: dict[str, Any]) -> None:
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
        try:
            for table in catalog["tables"]:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS `{table}`"))
        finally:
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 1"))


def _restate_column(ctx: ddl.Context, table: Table, column: str) -> None:
    """MODIFY the column to its whole definition in `table`, the checks declared on it too."""
    whole = materialize.table(table, indexes=False, constraints=False)
    ddl.no_type_events(list(whole.columns))
    spec = str(sa.schema.CreateColumn(whole.c[column]).compile(dialect=ctx.dialect))
    ctx.operations.execute(
        f"ALTER TABLE {ctx.qualified(table.name, table.schema)} MODIFY COLUMN {spec}"
    )


def _set_auto_increment(ctx: ddl.Context, table: Table, column: str, on: bool) -> None:
    ctx.operations.alter_column(
        table.name, column, autoincrement=on, schema=table.schema,
        **{**ddl.existing(ctx, table, table.column(column)), "existing_autoincrement": not on},
    )


def _rename_index(ctx: ddl.Context, table: str, schema: str | None, old: str,
                  new: str) -> None:
    ctx.operations.execute(
        f"ALTER TABLE {ctx.qualified(table, schema)} "
        f"RENAME INDEX {ctx.quote(old)} TO {ctx.quote(new)}"
    )


def _is_autoincrement(table: Table, column: str) -> bool:
    auto = materialize.table(table, indexes=False, constraints=False).autoincrement_column
    return auto is not None and auto.name == column


def _keep_foreign_keys_indexed(ctx: ddl.Context, after: Table, dropping: str) -> None:
    """MySQL will not drop the index a foreign key uses: give the key its own first.

    MySQL picks any index that starts with a foreign key's columns to back the key, and
    creates one only when none exists; so before such an index goes, the key gets the
    plain index MySQL would have made for it (create_all of the same schema has it too).
    """
    for fk in sorted(after.foreign_keys, key=repr):
        n = len(fk.columns)
        if after.primary_key[:n] == fk.columns:
            continue
        if any(ix.columns[:n] == fk.columns for ix in after.indexes if ix.name != dropping):
            continue
        if any(u.columns[:n] == fk.columns for u in after.uniques if u.name != dropping):
            continue
        existing = _index_names(ctx, after, fk.columns, dropping)
        if existing is None:  # another index, made by MySQL or by hand, already serves
            continue
        base = name = fk.name or fk.columns[0]
        number = 1
        while name in existing or name == dropping:  # MySQL's own way: title, title_2...
            number += 1
            name = f"{base}_{number}"
        ctx.operations.create_index(name, after.name, list(fk.columns), schema=after.schema)


def _index_names(
    ctx: ddl.Context, table: Table, columns: tuple[str, ...], dropping: str
) -> set[str] | None:
    """Names of the table's indexes, or None if one besides `dropping` covers columns."""
    if ctx.connection is None or ctx.as_sql:
        return {ix.name for ix in table.indexes}
    names = set()
    for ix in sa.inspect(ctx.connection).get_indexes(table.name, schema=table.schema):
        cols = tuple(ix["column_names"][: len(columns)])
        if ix["name"] != dropping and cols == columns:
            return None
        names.add(str(ix["name"]))
    return names


def _foreign_key_index(ctx: ddl.Context, table: Table, fk: ForeignKey) -> str | None:
    """The index MySQL created to back a foreign key, if the schema has no use for it."""
    declared = {ix.name for ix in table.indexes}
    n = len(fk.columns)
    if (
        table.primary_key[:n] == fk.columns
        or any(ix.columns[:n] == fk.columns for ix in table.indexes)
        or any(u.columns[:n] == fk.columns for u in table.uniques)
        or any(o != fk and o.columns[:n] == fk.columns for o in table.foreign_keys)
    ):
        return None  # MySQL made no index of its own, or another key still needs it
    candidates = {fk.name, fk.columns[0]} - {None}
    if ctx.connection is None or ctx.as_sql:
        return fk.name or fk.columns[0]
    for ix in sa.inspect(ctx.connection).get_indexes(table.name, schema=table.schema):
        if (
            ix["name"] in candidates
            and ix["name"] not in declared
            and tuple(ix["column_names"]) == fk.columns
            and not ix["unique"]
        ):
            return str(ix["name"])
    return None


@contextmanager
def _lock_wait(conn: Connection, lock: float | None) -> Iterator[None]:
    if not lock:
        yield
        return
    before = conn.scalar(sa.text("SELECT @@SESSION.lock_wait_timeout"))
    conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {max(1, math.ceil(lock))}")
    conn.commit()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {int(before)}")
        conn.commit()
