"""PostgreSQL: transactional DDL, an advisory lock, enum types of its own, USING casts.

An enum column needs its type created before the table and dropped after the last
column using it goes (CREATE/DROP TABLE do neither, gitmig makes them explicit). A type
change converts the rows with a USING cast. An enum whose values are only added gets
ALTER TYPE ... ADD VALUE, which rewrites nothing (PostgreSQL 12 and later run it in a
transaction, but the value is usable only once that commits); any other change of
values replaces the type under its columns, since PostgreSQL cannot remove or reorder
values. An integer column that becomes the key is numbered by a sequence, as SERIAL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CreateEnumType, DropEnumType

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.backends import pgsafe
from gitmig.db.backends.base import Backend
from gitmig.db.history.rows import SCHEMA_INFO
from gitmig.errors import GitmigError
from gitmig.ops.enums import users
from gitmig.schema import materialize
from gitmig.schema.state import Column, ForeignKey, Table, Unique

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Dialect

    from gitmig.config import Timeouts

LOCK_KEY = 0x676974_6D6967  # "gitmig"


def lock_key(schema: str | None) -> int:
    """The database's key, or one derived from it and the schema (a signed 64-bit int)."""
    if schema is None:
        return LOCK_KEY
    import hashlib

    digest = hashlib.sha256(f"{LOCK_KEY}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# Statements PostgreSQL refuses inside a transaction block, looked for once comments and
# quoted text are taken out (a word in a comment must not make a migration non-atomic).
_NO_TRANSACTION = re.compile(
    r"\b(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|DETACH\s+PARTITION\s+\S+|"
    r"REINDEX\s+(?:\([^)]*\)\s*)?\w+)\s+CONCURRENTLY\b"
    r"|(?:^|;)\s*(?:VACUUM|(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)|ALTER\s+SYSTEM)\b",
    re.IGNORECASE)
_NOT_CODE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", re.DOTALL)


def _refuses_transaction(sql: str) -> bool:
    return _NO_TRANSACTION.search(_NOT_CODE.sub(" ", sql)) is not None


class PostgreSQLBackend(Backend):
    name = "postgresql"
    label = "PostgreSQL"
    transactional_ddl = True
    identifier_limit = 63  # longer names are cut silently
    online_ddl = True

    def timeout_args(self, url: URL, timeouts: Timeouts) -> dict[str, Any]:
        """libpq's connect_timeout (whole seconds, at least 2); a read timeout is the
        server's statement_timeout (libpq has no socket read timeout)."""
        if url.get_driver_name() not in ("psycopg", "psycopg2"):
            return {}
        args: dict[str, Any] = {}
        if timeouts.connect is not None:
            args["connect_timeout"] = max(2, math.ceil(timeouts.connect))
        if timeouts.read is not None:
            args["options"] = f"-c statement_timeout={math.ceil(timeouts.read * 1000)}"
        return args

    def use_schema(self, conn: Connection, schema: str, create: bool) -> bool:
        """search_path for what gitmig's DDL leaves unqualified (Alembic's ALTERs, RunSQL)
        and schema_translate_map for SQLAlchemy's tables, so both land in the tenant's
        schema; public stays on the path for the extensions' types and functions. The
        history table is looked up in the schema itself (gitmig.db.history.recorder)."""
        exists = bool(conn.scalar(
            sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}))
        quoted = conn.dialect.identifier_preparer.quote_identifier(schema)
        if not exists and create:
            try:
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
                conn.commit()
            except sa.exc.IntegrityError:  # another run made it at the same moment
                conn.rollback()
            exists = True
        conn.execute(sa.text(f"SET search_path TO {quoted}, public"))
        conn.commit()
        conn.execution_options(schema_translate_map={None: schema})
        conn.info[SCHEMA_INFO] = schema
        return exists

    @contextmanager
    def lock(self, conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
        """A session-level advisory lock: released when the connection closes. Advisory
        locks belong to one database; a tenant's schema has a key of its own, so tenants
        of one database migrate side by side."""
        key = lock_key(conn.info.get(SCHEMA_INFO))
        got = conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        if not got:
            on_wait()
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        with self._holding(conn, "SELECT pg_advisory_unlock(:k)", {"k": key}):
            yield

    # -- the safe forms (gitmig.db.backends.pgsafe) ----------------------------------------

    def create_index(self, op: ops.CreateIndex, ctx: ddl.Context, **kw: Any) -> None:
        if op.concurrently and not pgsafe.before_concurrent_build(op, ctx):
            return
        super().create_index(op, ctx, **({"postgresql_concurrently": True}
                                         if op.concurrently else {}), **kw)

    def drop_index(self, op: ops.DropIndex, ctx: ddl.Context) -> None:
        if not op.concurrently:
            return super().drop_index(op, ctx)
        ctx.operations.drop_index(op.name, table_name=op.table_name, schema=op.schema,
                                  postgresql_concurrently=True, if_exists=True)

    def add_constraint(self, op: ops.AddConstraint, ctx: ddl.Context) -> None:
        c = op.constraint
        if op.validate or isinstance(c, Unique):
            return super().add_constraint(op, ctx)
        if isinstance(c, ForeignKey):
            ddl.create_foreign_key(ctx, op.table_name, op.schema, c, postgresql_not_valid=True)
        else:
            ctx.operations.create_check_constraint(c.name, op.table_name, sa.text(c.sqltext),
                                                   schema=op.schema, postgresql_not_valid=True)

    def validate_constraint(self, op: ops.ValidateConstraint, ctx: ddl.Context) -> None:
        pgsafe.validate(op, ctx)

    def may_batch(self, conn: Connection, schemas: Collection[str]) -> bool:
        """Only into a database with no table yet but the history's (in the search path
        and the schemas the migrations name): a fresh database, a test database, a new
        tenant. Elsewhere a quick change followed by a slow index build would keep the
        first table locked for the whole build."""
        from gitmig.db.history.rows import TABLE_NAME

        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            found = conn.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'f', 'm') AND c.relname <> %(history)s "
                "AND (n.nspname = ANY (current_schemas(false)) "
                "OR n.nspname = ANY (%(schemas)s)))",
                {"history": TABLE_NAME, "schemas": sorted(schemas)}).scalar()
        return not found

    def outside_transaction(self, op: ops.Operation) -> bool:
        """An index built or dropped CONCURRENTLY by the operation, or RunSQL holding, in
        either direction, a statement of _NO_TRANSACTION: PostgreSQL refuses them inside a
        transaction block, so the migration runs operation by operation, these in
        autocommit, as a Django user's RunSQL of them runs in a non-atomic migration."""
        if isinstance(op, (ops.CreateIndex, ops.DropIndex)):
            return op.concurrently
        if isinstance(op, ops.RunSQL):
            return any(map(_refuses_transaction, (*op.sql, *(op.reverse_sql or ()))))
        return False

    def autocommit(self, conn: Connection) -> AbstractContextManager[None]:
        return pgsafe.autocommit(conn)

    def session_timeouts(self, conn: Connection, lock: float | None,
                         statement: float | None) -> AbstractContextManager[None]:
        return pgsafe.session_timeouts(conn, lock, statement)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return pgsafe.is_lock_timeout(exc)

    def refused_in_transaction(self, exc: BaseException) -> bool:
        return pgsafe.refused_in_transaction(exc)

    def mark_transaction(self, conn: Connection) -> object | None:
        """The transaction's id: PostgreSQL says afterwards whether it committed."""
        return conn.scalar(sa.text("SELECT txid_current()"))

    def committed_since(self, conn: Connection, mark: object) -> bool:
        try:
            if conn.in_transaction():
                conn.rollback()
            status = conn.scalar(sa.text("SELECT txid_status(:x)"), {"x": mark})
            conn.rollback()
            return bool(status == "committed")
        except Exception:  # the connection is gone: nobody can tell
            return False

    def before_operation(self, op: ops.Operation, ctx: ddl.Context) -> None:
        """Create the enum types the operation brings into use (CREATE TABLE does not)."""
        for enum in ddl.brought_in(op, ctx, _enums):
            ctx.operations.execute(CreateEnumType(enum))

    def after_operation(self, op: ops.Operation, ctx: ddl.Context) -> None:
        """Drop the enum types nothing uses any more (DROP TABLE leaves them behind)."""
        for enum in ddl.left_unused(op, ctx, _enums):
            ctx.operations.execute(DropEnumType(enum))

    def alter_identity(self, ctx: ddl.Context, op: ops.AlterColumn, table: Table,
                       old: Column, new: Column) -> None:
        """ADD GENERATED ... AS IDENTITY, SET its options, or DROP IDENTITY."""
        def identity(c: Column) -> sa.Identity | None:
            return next((g for g in materialize.generated(c) if isinstance(g, sa.Identity)),
                        None)

        existing = ddl.existing(ctx, table, old)
        existing["existing_server_default"] = identity(old)
        ctx.operations.alter_column(op.table_name, old.name, server_default=identity(new),
                                    schema=op.schema, **existing)

    def alter_column_type(self, ctx: ddl.Context, op: ops.AlterColumn, table: Table,
                          old: Column, new: Column, kw: dict[str, Any]) -> None:
        if _alter_enum_values(ctx, op, old, new):
            return
        _alter_type(ctx, op, table, old, new)
        kw.pop("server_default", None)

    def number_key_column(self, ctx: ddl.Context, table: Table, column: str) -> None:
        """A sequence owned by the column, started past its rows, as SERIAL makes."""
        seq = f"{table.name}_{column}_seq"[:63]
        qseq = ctx.qualified(seq, table.schema)
        qtable = ctx.qualified(table.name, table.schema)
        literal = qseq.replace("'", "''")
        ctx.operations.execute(f"CREATE SEQUENCE {qseq} OWNED BY {qtable}.{ctx.quote(column)}")
        ctx.operations.execute(
            f"SELECT setval('{literal}', COALESCE(MAX({ctx.quote(column)}), 0) + 1, false) "
            f"FROM {qtable}"
        )
        ctx.operations.execute(
            f"ALTER TABLE {qtable} ALTER COLUMN {ctx.quote(column)} "
            f"SET DEFAULT nextval('{literal}'::regclass)"
        )

    def alter_enum(self, op: ops.AlterEnum, ctx: ddl.Context, old: tuple[str, ...]) -> None:
        """Values renamed in place, added in place where only added, else a new type."""
        type_name = ctx.qualified(op.name, op.schema)
        for was, now in op.renames.items():
            ctx.operations.execute(
                f"ALTER TYPE {type_name} RENAME VALUE {_literal(was)} TO {_literal(now)}"
            )
        old = tuple(op.renames.get(v, v) for v in old)
        if old == op.values:
            return
        added = _additions(old, op.values) if op.in_place else None
        if added is not None:
            for value, where, neighbour in added:
                ctx.operations.execute(
                    f"ALTER TYPE {type_name} ADD VALUE {_literal(value)} {where} "
                    f"{_literal(neighbour)}"
                )
            return
        _replace_enum(op, ctx, type_name)

    def set_table_schema(self, op: ops.SetTableSchema, ctx: ddl.Context) -> None:
        source = ctx.qualified(op.table_name, op.schema)
        target = op.new_schema or ctx.select("current_schema()", "public")
        ctx.operations.execute(f"ALTER TABLE {source} SET SCHEMA {ctx.quote(target)}")

    # -- the catalog and scratch databases (gitmig.db.catalog, gitmig.db.scratch) ------

    scratch_privilege = "CREATEDB (ALTER ROLE ... CREATEDB)"

    def read_catalog(self, conn: Connection) -> dict[str, Any]:
        from gitmig.db.backends import catalog_postgresql

        return catalog_postgresql.read(conn)

    def drop_database(self, conn: Connection, name: str) -> None:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def database_names(self, conn: Connection, prefix: str) -> list[str]:
        return list(conn.scalars(sa.text(
            "SELECT datname FROM pg_database WHERE starts_with(datname, :p)"), {"p": prefix}))

    def drop_everything(self, conn: Connection, catalog: dict[str, Any]) -> None:
        quote = conn.dialect.identifier_preparer.quote
        for table in catalog["tables"]:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {quote(table)} CASCADE"))
        for sequence in catalog["sequences"]:
            conn.execute(sa.text(f"DROP SEQUENCE IF EXISTS {quote(sequence)} CASCADE"))
        for name in catalog["types"]:
            conn.execute(sa.text(f"DROP TYPE IF EXISTS {quote(name)} CASCADE"))


def _alter_type(ctx: ddl.Context, op: ops.AlterColumn, table: Table, old: Column,
                new: Column) -> None:
    """ALTER ... TYPE with a USING cast, the default lifted off and put back around it.

    PostgreSQL converts the rows with USING but not the column's default, which often
    cannot be cast (text to an enum); so the default goes first and the new one after.
    """
    typ = materialize.type_of(new.type)
    existing = ddl.existing(ctx, table, old)
    if old.server_default is not None:
        ctx.operations.alter_column(op.table_name, old.name, server_default=None,
                                    schema=op.schema, **existing)
    using = f"{ctx.quote(old.name)}::{_cast_target(typ, ctx.dialect)}"
    ctx.operations.alter_column(op.table_name, old.name, type_=typ, schema=op.schema,
                                postgresql_using=using, **existing)
    if new.server_default is not None:
        ctx.operations.alter_column(
            op.table_name, old.name, schema=op.schema,
            server_default=materialize.server_default(new.server_default),
            **ddl.existing(ctx, table, old, type_=new.type),
        )


def _cast_target(typ: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    if isinstance(typ, sa.Enum) and typ.native_enum and typ.name:
        # an enum accepts text, not every type it might come from (integer, boolean)
        return f"text::{typ.compile(dialect=dialect)}"
    return str(typ.compile(dialect=dialect))


def _enums(tables: Iterable[Table | None]) -> dict[tuple[str | None, str], sa.Enum]:
    out: dict[tuple[str | None, str], sa.Enum] = {}
    for t in tables:
        if t is not None:
            for _, e in materialize.enum_types(t):
                out[materialize.enum_key(e)] = e
    return out


def _alter_enum_values(ctx: ddl.Context, op: ops.AlterColumn, old: Column,
                       new: Column) -> bool:
    """An enum type whose values change keeps its name: replace it under the column.

    PostgreSQL cannot remove or reorder an enum's values, so the column goes to text,
    the old type is dropped, the new one created, and the column converted back.
    """
    old_t, new_t = materialize.type_of(old.type), materialize.type_of(new.type)
    if not (
        isinstance(old_t, sa.Enum) and isinstance(new_t, sa.Enum)
        and old_t.native_enum and new_t.native_enum and old_t.name
        and materialize.enum_key(old_t) == materialize.enum_key(new_t)
    ):
        return False
    users = [
        (t.key, col) for t in ctx.before.tables.values()
        for col, e in materialize.enum_types(t)
        if materialize.enum_key(e) == materialize.enum_key(old_t)
    ]
    if users != [(op.key, old.name)]:
        names = ", ".join(f"{k}.{c}" for k, c in users)
        raise GitmigError(
            f"enum type {old_t.name} changes its values but is shared by {names}; "
            "give the new values a new type name"
        )
    table = ctx.before.table(op.key)
    existing = ddl.existing(ctx, table, old)
    if old.server_default is not None:
        ctx.operations.alter_column(op.table_name, old.name, server_default=None,
                                    schema=op.schema, **existing)
    ctx.operations.alter_column(op.table_name, old.name, type_=sa.Text(), schema=op.schema,
                                **existing)
    ctx.operations.execute(DropEnumType(old_t))
    ctx.operations.execute(CreateEnumType(new_t))
    using = f"{ctx.quote(old.name)}::{_cast_target(new_t, ctx.dialect)}"
    ctx.operations.alter_column(op.table_name, old.name, type_=new_t, schema=op.schema,
                                postgresql_using=using,
                                **ddl.existing(ctx, table, old, type_="sa.Text()",
                                               server_default=None))
    if new.server_default is not None:
        ctx.operations.alter_column(
            op.table_name, old.name, schema=op.schema,
            server_default=materialize.server_default(new.server_default),
            **ddl.existing(ctx, table, old, type_=new.type, server_default=None),
        )
    return True


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _additions(old: tuple[str, ...], new: tuple[str, ...]) -> list[tuple[str, str, str]] | None:
    """(value, BEFORE|AFTER, neighbour) for each new value, or None if not only additions."""
    if not old or [v for v in new if v in old] != list(old):
        return None
    first = next(i for i, v in enumerate(new) if v in old)
    # Values ahead of the first old one go in from the back, each before its successor.
    lead = [(new[i], "BEFORE", new[i + 1]) for i in reversed(range(first))]
    rest = [(v, "AFTER", new[i - 1]) for i, v in enumerate(new) if i > first and v not in old]
    return lead + rest


def _replace_enum(op: ops.AlterEnum, ctx: ddl.Context, type_name: str) -> None:
    """A new type under the old name; every column cast to it through text, rows kept.

    A row holding a removed value stops the migration (PostgreSQL names the value).
    """
    retired = f"{op.name}__gitmig_old"[:63]
    ctx.operations.execute(f"ALTER TYPE {type_name} RENAME TO {ctx.quote(retired)}")
    columns = users(ctx.after, op.name, op.schema)
    new_type = next(
        e for t, _ in columns[:1] for _, e in materialize.enum_types(t)
        if materialize.enum_key(e) == (op.schema, op.name)
    )
    ctx.operations.execute(CreateEnumType(new_type))
    for table, column in columns:
        before = ctx.before.table(table.key).column(column)
        after = ctx.after.table(table.key).column(column)
        target = materialize.type_of(after.type)
        qtable = ctx.qualified(table.name, table.schema)
        qcol = ctx.quote(column)
        if before.server_default is not None:
            ctx.operations.execute(f"ALTER TABLE {qtable} ALTER COLUMN {qcol} DROP DEFAULT")
        compiled = target.compile(dialect=ctx.dialect)
        through = "text[]" if isinstance(target, sa.ARRAY) else "text"
        ctx.operations.execute(
            f"ALTER TABLE {qtable} ALTER COLUMN {qcol} TYPE {compiled} "
            f"USING {qcol}::{through}::{compiled}"
        )
        if after.server_default is not None:
            ctx.operations.alter_column(
                table.name, column, schema=table.schema,
                server_default=materialize.server_default(after.server_default),
                **ddl.existing(ctx, table, after, server_default=None),
            )
    ctx.operations.execute(f"DROP TYPE {ctx.qualified(retired, op.schema)}")
