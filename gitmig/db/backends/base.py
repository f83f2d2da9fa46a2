"""What every database does the same way; the subclasses say where theirs differ.

A method here is the plain form of an operation (as PostgreSQL runs it, through Alembic's
operations layer); SQLite, PostgreSQL and MariaDB/MySQL override the ones they do their
own way. gitmig.db.ddl calls these methods through the Context it hands every operation,
so no code outside this package asks which database it is talking to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gitmig import ops
from gitmig.db import ddl_enums, ddl_keys
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.errors import GitmigError
from gitmig.schema import materialize
from gitmig.schema.state import Check, Column, Constraint, ForeignKey, Table, Unique

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

    from gitmig.config import Timeouts

_KINDS = {ForeignKey: "foreignkey", Unique: "unique", Check: "check"}


class Backend:
    """A database gitmig knows nothing special about: transactional DDL, no lock."""

    name = "generic"
    label = "the database"  # as a sentence names it
    transactional_ddl = True  # a migration's DDL and its history row commit together
    identifier_limit: int | None = None  # the longest name, in bytes (None: no limit)
    # Builds indexes without blocking writes and adds constraints NOT VALID: the safe
    # forms makemigrations --safe writes mean something here.
    online_ddl = False

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name

    # -- connections (gitmig.db.connection) ---------------------------------------------

    def timeout_args(self, url: URL, timeouts: Timeouts) -> dict[str, Any]:
        """The driver's arguments for giving up: on connecting, on waiting for an answer."""
        return {}

    def prepare_engine(self, engine: Engine) -> None:
        """Anything the engine needs before its first connection."""

    # -- a tenant's schema (gitmig.fleet) -------------------------------------------------

    def use_schema(self, conn: Connection, schema: str, create: bool) -> bool:
        """Point the connection at a tenant's schema: unqualified names (the models'
        tables, the history table) mean that schema's. Returns whether the schema exists
        (`create`: make it first). Only databases with schemas inside a database do this."""
        raise GitmigError(
            f"{self.label} has no schemas inside a database: a fleet of schemas "
            "(`url` with `schemas` or `query`) needs PostgreSQL",
            hint="list the databases with `databases = [...]` instead")

    # -- the migration lock (gitmig.db.lock) ---------------------------------------------

    @contextmanager
    def lock(self, conn: Connection, on_wait: Callable[[], None]) -> Iterator[None]:
        """Hold the database's migration lock; on_wait is called once if another has it."""
        yield  # no known lock: migrate as Django does, trusting one run at a time

    @staticmethod
    @contextmanager
    def _holding(conn: Connection, release: str, params: dict[str, Any]) -> Iterator[None]:
        """Hold a lock just taken on conn until the block ends. The migrations inside run in
        transactions of their own, so the lock's transaction ends first; whatever a failed
        one left open is rolled back before the release, so the release itself commits."""
        conn.commit()
        try:
            yield
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(sa.text(release), params)
            conn.commit()

    # -- a migration that commits its own transaction (gitmig.db.executor) -------------

    def mark_transaction(self, conn: Connection) -> object | None:
        """Something, made in the migration's transaction, that shows later whether that
        transaction was committed; None where the database cannot tell."""
        return None

    def unmark_transaction(self, conn: Connection, mark: object) -> None:
        """The migration succeeded: take the mark away before its transaction commits."""

    def committed_since(self, conn: Connection, mark: object) -> bool:
        """After the rollback of a failed migration: had its transaction committed?"""
        return False

    # -- names -------------------------------------------------------------------------

    def default_constraint_name(self, table: Table, c: Constraint) -> str:
        """The name the database gives an unnamed constraint (PostgreSQL's rules)."""
        if isinstance(c, ForeignKey):
            return f"{table.name}_{'_'.join(c.columns)}_fkey"[:63]
        if isinstance(c, Unique):
            return f"{table.name}_{'_'.join(c.columns)}_key"[:63]
        # PostgreSQL names a check after the first column its expression mentions.
        names = {col.name for col in table.columns}
        words = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", c.sqltext) if w in names]
        return (f"{table.name}_{words[0]}_check" if words else f"{table.name}_check")[:63]

    def refused_column(self, col: Column) -> str | None:
        """Why the server refuses a column SQLAlchemy compiles for it (create_all fails
        too), for makemigrations to warn about; None when it is accepted."""
        return None

    # -- around every operation ----------------------------------------------------------

    def before_operation(self, op: ops.Operation, ctx: ddl.Context) -> None:
        """Create what the operation needs that CREATE/ALTER do not make themselves."""

    def after_operation(self, op: ops.Operation, ctx: ddl.Context) -> None:
        """Drop what the operation left unused."""

    # -- operations each database may do its own way -----------------------------------

    def alter_table_comment(self, op: ops.AlterTableComment, ctx: ddl.Context) -> None:
        existing = ctx.before.table(op.key).comment
        if op.comment is None:
            ctx.operations.drop_table_comment(op.table_name, existing_comment=existing,
                                              schema=op.schema)
        else:
            ctx.operations.create_table_comment(op.table_name, op.comment,
                                                existing_comment=existing, schema=op.schema)

    def add_column(self, op: ops.AddColumn, ctx: ddl.Context) -> None:
        col = op.column
        typ = materialize.type_of(col.type)
        backfill = ddl.backfill_default(op, typ, ctx.dialect)
        if col.primary_key:
            ddl_keys.add_key_column(op, ctx, typ, backfill)
            for fk in op.foreign_keys:
                ddl.create_foreign_key(ctx, op.table_name, op.schema, fk)
            return
        new = sa.Column(
            col.name,
            typ,
            *(g for g in materialize.generated(col) if not isinstance(g, sa.Sequence)),
            nullable=col.nullable,
            server_default=(materialize.server_default(col.server_default)
                            if backfill is None else backfill),
            comment=col.comment,
            autoincrement=col.autoincrement,
        )
        ddl.no_type_events([new])
        ctx.operations.add_column(op.table_name, new, schema=op.schema)
        if backfill is not None:
            # Existing rows got the one-off value; new rows must name one, as the models say.
            after = ctx.after.table(op.key)
            ctx.operations.alter_column(
                op.table_name,
                col.name,
                server_default=None,
                schema=op.schema,
                **ddl.existing(ctx, after, col, server_default=backfill),
            )
        for fk in op.foreign_keys:
            ddl.create_foreign_key(ctx, op.table_name, op.schema, fk)

    def drop_column(self, op: ops.DropColumn, ctx: ddl.Context) -> None:
        if not self.drop_key_column(op, ctx):
            ctx.operations.drop_column(op.table_name, op.column_name, schema=op.schema)

    def drop_key_column(self, op: ops.DropColumn, ctx: ddl.Context) -> bool:
        """A column of a composite primary key goes with the key rebuilt without it."""
        before = ctx.before.table(op.key)
        if op.column_name in before.primary_key and len(before.primary_key) > 1:
            ddl_keys.drop_key_column(op, ctx)
            return True
        return False

    def alter_column(self, op: ops.AlterColumn, ctx: ddl.Context) -> None:
        """Change a column's definition (rows already filled where it becomes NOT NULL)."""
        before_t, after_t = ctx.before.table(op.key), ctx.after.table(op.key)
        old, new = before_t.column(op.column_name), after_t.column(op.column_name)
        kw: dict[str, Any] = {}
        if old.nullable != new.nullable:
            kw["nullable"] = new.nullable
        if old.server_default != new.server_default:
            kw["server_default"] = materialize.server_default(new.server_default)
        if old.comment != new.comment:
            kw["comment"] = new.comment
        kw.update(self.alter_column_extra(old, new, after_t))
        if old.identity != new.identity:
            self.alter_identity(ctx, op, before_t, old, new)
        if old.type != new.type:
            self.alter_column_type(ctx, op, before_t, old, new, kw)
        if not kw:
            if old.type == new.type:
                ctx.note(f"{op.describe()}: nothing to do on {self.name}")
            return
        ctx.operations.alter_column(
            op.table_name,
            op.column_name,
            schema=op.schema,
            **kw,
            **ddl.existing(ctx, before_t, old, nullable=new.nullable, type_=new.type),
        )

    def alter_identity(self, ctx: ddl.Context, op: ops.AlterColumn, table: Table,
                       old: Column, new: Column) -> None:
        """GENERATED ... AS IDENTITY added, changed or dropped: only PostgreSQL keeps it."""

    def alter_column_extra(self, old: Column, new: Column, after: Table) -> dict[str, Any]:
        """More of alter_column's arguments this database needs."""
        return {}

    def alter_column_type(self, ctx: ddl.Context, op: ops.AlterColumn, table: Table,
                          old: Column, new: Column, kw: dict[str, Any]) -> None:
        """A new type: by default one more argument to ALTER COLUMN (kw, updated here)."""
        kw["type_"] = materialize.type_of(new.type)

    def existing_extra(self, table: Table, col: Column) -> dict[str, Any]:
        """More of what Alembic needs restated about an existing column."""
        return {}

    def create_index(self, op: ops.CreateIndex, ctx: ddl.Context, **kw: Any) -> None:
        """CREATE INDEX; `concurrently` means nothing to a database that blocks no writes
        building one (or cannot avoid it)."""
        table = ctx.after.table(op.key)
        ctx.operations.create_index(
            op.index.name,
            op.table_name,
            materialize.index_elements(op.index, (c.name for c in table.columns)),
            unique=op.index.unique,
            schema=op.schema,
            **materialize.index_kwargs(op.index),
            **kw,
        )

    def drop_index(self, op: ops.DropIndex, ctx: ddl.Context) -> None:
        ctx.operations.drop_index(op.name, table_name=op.table_name, schema=op.schema)

    def validate_constraint(self, op: ops.ValidateConstraint, ctx: ddl.Context) -> None:
        """Nothing: only PostgreSQL adds a constraint without checking the rows."""
        ctx.note(f"{op.describe()}: nothing to do, the rows were checked when it was added")

    # -- migrations run outside a transaction, and how long DDL may wait -----------------

    def outside_transaction(self, op: ops.Operation) -> bool:
        """Whether `op` must run on its own, outside any transaction."""
        return False

    def may_batch(self, conn: Connection, schemas: Collection[str]) -> bool:
        """Whether migrations may share a commit (gitmig.db.batch): a batch holds every
        lock its migrations took until it commits, so only where no one else can be
        using the tables. Here: never."""
        return False

    def autocommit(self, conn: Connection) -> AbstractContextManager[None]:
        """Run what comes with every statement committed on its own."""
        return nullcontext()

    def session_timeouts(self, conn: Connection, lock: float | None,
                         statement: float | None) -> AbstractContextManager[None]:
        """How long a statement may wait for a lock (and run), for one migration."""
        return nullcontext()

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """Whether `exc` is the database giving up waiting for a lock (worth a retry)."""
        return False

    def refused_in_transaction(self, exc: BaseException) -> bool:
        """Whether `exc` is a statement the database runs only outside a transaction."""
        return False

    def add_constraint(self, op: ops.AddConstraint, ctx: ddl.Context) -> None:
        c = op.constraint
        if isinstance(c, ForeignKey):
            ddl.create_foreign_key(ctx, op.table_name, op.schema, c)
        elif isinstance(c, Unique):
            ctx.operations.create_unique_constraint(c.name, op.table_name, list(c.columns),
                                                    schema=op.schema,
                                                    **materialize.dialect_kwargs(c.options))
        else:
            ctx.operations.create_check_constraint(c.name, op.table_name, sa.text(c.sqltext),
                                                   schema=op.schema)

    def drop_constraint_op(self, op: ops.DropConstraint, ctx: ddl.Context) -> None:
        self.drop_constraint(ctx, ctx.before.table(op.key), op.find(ctx.before))

    def drop_constraint(self, ctx: ddl.Context, table: Table, c: Constraint) -> None:
        name = ddl.constraint_name(ctx, table, c)
        self.drop_named_constraint(ctx, table, c, name)

    def drop_named_constraint(self, ctx: ddl.Context, table: Table, c: Constraint,
                              name: str) -> None:
        ctx.operations.drop_constraint(name, table.name, type_=_KINDS[type(c)],
                                       schema=table.schema)

    # -- primary keys (gitmig.db.ddl_keys) ---------------------------------------------

    def primary_key_name(self, ctx: ddl.Context, table: Table) -> str:
        """The key's name in the database: the models', or the one the database gave it."""
        if table.pk_name:
            return table.pk_name
        if ctx.connection is not None and not ctx.as_sql:
            found = sa.inspect(ctx.connection).get_pk_constraint(table.name, schema=table.schema)
            if found.get("name"):
                return str(found["name"])
        return f"{table.name}_pkey"[:63]

    def create_primary_key(self, op: ops.CreatePrimaryKey, ctx: ddl.Context) -> None:
        before, after = ctx.before.table(op.key), ctx.after.table(op.key)
        ctx.operations.create_primary_key(op.name, op.table_name, list(after.primary_key),
                                          schema=op.schema)
        ddl_keys.number_existing_column(ctx, before, after)

    def drop_primary_key_op(self, op: ops.DropPrimaryKey, ctx: ddl.Context) -> None:
        self.drop_primary_key(ctx, ctx.before.table(op.key))

    def drop_primary_key(self, ctx: ddl.Context, table: Table) -> None:
        ctx.operations.drop_constraint(self.primary_key_name(ctx, table), table.name,
                                       type_="primary", schema=table.schema)

    def add_column_to_key(self, op: ops.AddColumn, ctx: ddl.Context, new: sa.Column[Any]) -> None:
        """Add a primary key column: the old key goes, the new one comes over it."""
        before, after = ctx.before.table(op.key), ctx.after.table(op.key)
        if before.primary_key:
            self.drop_primary_key(ctx, before)
        ctx.operations.add_column(op.table_name, new, schema=op.schema)
        ctx.operations.create_primary_key(after.pk_name, op.table_name,
                                          list(after.primary_key), schema=op.schema)

    def key_recreated(self, ctx: ddl.Context, before: Table, after: Table) -> None:
        """The key came back without a dropped column: number its column if it now has one."""
        ddl_keys.number_existing_column(ctx, before, after)

    def number_key_column(self, ctx: ddl.Context, table: Table, column: str) -> None:
        """Number an existing column that becomes the key (nothing known to do here)."""

    # -- renames (gitmig.db.ddl_keys) --------------------------------------------------

    def rename_constraint(self, op: ops.RenameConstraint, ctx: ddl.Context) -> None:
        before_t, c = op.find(ctx.before)
        after_t = ctx.after.table(op.key)
        if c is None:
            old = self.primary_key_name(ctx, before_t)
            new = after_t.pk_name or f"{after_t.name}_pkey"[:63]
        else:
            renamed = ddl_keys.renamed(op, c, after_t)
            old = ddl.constraint_name(ctx, before_t, c)
            new = renamed.name or self.default_constraint_name(after_t, renamed)
        if old == new:
            ctx.note(f"{op.describe()}: the database already calls it {new}")
            return
        self.rename_named_constraint(op, ctx, old, new)

    def rename_named_constraint(self, op: ops.RenameConstraint, ctx: ddl.Context, old: str,
                                new: str) -> None:
        ctx.operations.execute(
            f"ALTER TABLE {ctx.qualified(op.table_name, op.schema)} "
            f"RENAME CONSTRAINT {ctx.quote(old)} TO {ctx.quote(new)}"
        )

    def rename_index(self, op: ops.RenameIndex, ctx: ddl.Context) -> None:
        ctx.operations.execute(
            f"ALTER INDEX {ctx.qualified(op.old, op.schema)} RENAME TO {ctx.quote(op.new)}"
        )

    # -- enums and tables (gitmig.db.ddl_enums, gitmig.db.ddl_tables) -------------------

    def alter_enum(self, op: ops.AlterEnum, ctx: ddl.Context, old: tuple[str, ...]) -> None:
        """New values for an enum: with no enum types, each column using it changes."""
        ddl_enums.alter_columns(op, ctx, old)

    def alter_table_options(self, op: ops.AlterTableOptions, ctx: ddl.Context,
                            changed: set[str]) -> None:
        """PostgreSQL's options (WITH, TABLESPACE...) are left to hand-written SQL."""
        if any(k.startswith("postgresql_") for k in changed):
            raise GitmigError(
                f"table {op.key}: gitmig cannot change PostgreSQL table options "
                f"({', '.join(sorted(changed))}) of an existing table; write the ALTER TABLE "
                "with ops.RunSQL in a migration from `gitmig makemigrations --empty`"
            )
        ctx.note(f"{op.describe()}: nothing changes on PostgreSQL")

    def set_table_schema(self, op: ops.SetTableSchema, ctx: ddl.Context) -> None:
        """RENAME TABLE into the other schema (MySQL's form, whose schemas are databases)."""
        old = op.schema or ctx.select("DATABASE()", "")
        new = op.new_schema or ctx.select("DATABASE()", "")
        ctx.operations.execute(
            f"RENAME TABLE {ctx.quote(old)}.{ctx.quote(op.table_name)} "
            f"TO {ctx.quote(new)}.{ctx.quote(op.table_name)}"
        )

    # -- the catalog and scratch databases (gitmig.db.catalog, gitmig.db.scratch) ------

    scratch_privilege = "the privilege to create a database"

    def read_catalog(self, conn: Connection) -> dict[str, Any]:
        """The schema as the database's own catalog says it (gitmig.db.compare's shape)."""
        raise GitmigError(f"gitmig cannot read the catalog of {self.label} ({self.name})")

    def create_database(self, conn: Connection, name: str) -> None:
        """A new empty database beside the one `conn` is on, made like it."""
        conn.execute(sa.text(f"CREATE DATABASE {name}"))

    def drop_database(self, conn: Connection, name: str) -> None:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))

    scratch_in_folder = False  # its scratch database is a file in a scratch folder

    def server_version(self, conn: Connection) -> tuple[Any, ...]:
        """The server's version, as the remembered catalogs are keyed by it."""
        return tuple(conn.dialect.server_version_info or ())

    def made_like(self, conn: Connection) -> tuple[Any, ...]:
        """What a database made beside this one (create_database) takes from it, and so
        what the catalogs its migrations make depend on besides the server: remembered
        catalogs are keyed by it too."""
        return ()

    def database_names(self, conn: Connection, prefix: str) -> list[str]:
        """The databases on the server whose name starts with `prefix`."""
        return []

    def drop_everything(self, conn: Connection, catalog: dict[str, Any]) -> None:
        """Empty a database gitmig was given as its scratch: drop what the catalog lists."""
        quote = conn.dialect.identifier_preparer.quote
        for table in catalog["tables"]:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {quote(table)} CASCADE"))
