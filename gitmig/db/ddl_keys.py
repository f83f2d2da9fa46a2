"""How primary keys change and constraints and indexes are renamed, on each database.

Kept apart from gitmig.db.ddl (registered into its dispatcher) while the per-database
backend classes are being built; each function says what one database needs:

- PostgreSQL renames in place (RENAME CONSTRAINT, ALTER INDEX ... RENAME) and numbers an
  integer key column with a sequence, as SERIAL would.
- MySQL/MariaDB name every primary key PRIMARY, rename indexes (and so unique
  constraints) in place, drop and add foreign keys and checks to rename them, and accept
  an AUTO_INCREMENT column only as a key: such a column is added in the same ALTER TABLE
  as the key it belongs to.
- SQLite writes names into CREATE TABLE, so its tables are rebuilt from the state after
  the operation.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.ddlhelpers import Context
from gitmig.schema import materialize
from gitmig.schema.state import Check, Constraint, ForeignKey, Table, Unique


def _qualified(ctx: Context, name: str, schema: str | None) -> str:
    return f"{ctx.quote(schema)}.{ctx.quote(name)}" if schema else ctx.quote(name)


def _auto_column(table: Table) -> str | None:
    """The column the database numbers by itself (SERIAL, AUTO_INCREMENT), if any."""
    auto = materialize.table(table, indexes=False, constraints=False).autoincrement_column
    return str(auto.name) if auto is not None else None


def primary_key_name(ctx: Context, table: Table) -> str:
    """The key's name in the database: the models', or the one the database gave it."""
    if ctx.family == "mysql":
        return "PRIMARY"
    if table.pk_name:
        return table.pk_name
    if ctx.connection is not None and not ctx.as_sql:
        found = sa.inspect(ctx.connection).get_pk_constraint(table.name, schema=table.schema)
        if found.get("name"):
            return str(found["name"])
    return f"{table.name}_pkey"[:63]


# -- primary keys ------------------------------------------------------------------------


def _drop_primary_key(ctx: Context, before: Table) -> None:
    if ctx.family == "mysql":
        auto = _auto_column(before)
        if auto is not None:
            # MySQL keeps AUTO_INCREMENT only on a key column: take it off first.
            col = before.column(auto)
            ctx.operations.alter_column(
                before.name, auto, autoincrement=False, schema=before.schema,
                **{**ddl.existing(ctx, before, col), "existing_autoincrement": True},
            )
    ctx.operations.drop_constraint(
        primary_key_name(ctx, before), before.name, type_="primary", schema=before.schema
    )


def _number_existing_column(ctx: Context, before: Table, after: Table) -> None:
    """An integer column that becomes the numbered key gets what create_all gives it."""
    auto = _auto_column(after)
    if auto is None or auto == _auto_column(before):
        return
    col = after.column(auto)
    if col.server_default is not None:
        return
    if ctx.family == "postgresql":
        seq = f"{after.name}_{auto}_seq"[:63]
        qseq = _qualified(ctx, seq, after.schema)
        table = _qualified(ctx, after.name, after.schema)
        literal = qseq.replace("'", "''")
        ctx.operations.execute(f"CREATE SEQUENCE {qseq} OWNED BY {table}.{ctx.quote(auto)}")
        ctx.operations.execute(
            f"SELECT setval('{literal}', COALESCE(MAX({ctx.quote(auto)}), 0) + 1, false) "
            f"FROM {table}"
        )
        ctx.operations.execute(
            f"ALTER TABLE {table} ALTER COLUMN {ctx.quote(auto)} "
            f"SET DEFAULT nextval('{literal}'::regclass)"
        )
    elif ctx.family == "mysql":
        _restore_auto_increment(ctx, after, auto)


def _restore_auto_increment(ctx: Context, after: Table, auto: str) -> None:
    ctx.operations.alter_column(
        after.name, auto, autoincrement=True, schema=after.schema,
        **{**ddl.existing(ctx, after, after.column(auto)), "existing_autoincrement": False},
    )


@ddl._run.register
def _create_primary_key(op: ops.CreatePrimaryKey, ctx: Context) -> None:
    if ctx.family == "sqlite":
        ddl.rebuild(ctx, op.key)
        return
    before, after = ctx.before.table(op.key), ctx.after.table(op.key)
    ctx.operations.create_primary_key(op.name, op.table_name, list(after.primary_key),
                                      schema=op.schema)
    _number_existing_column(ctx, before, after)


@ddl._run.register
def _drop_primary_key_op(op: ops.DropPrimaryKey, ctx: Context) -> None:
    if ctx.family == "sqlite":
        ddl.rebuild(ctx, op.key)
        return
    _drop_primary_key(ctx, ctx.before.table(op.key))


def add_key_column(
    op: ops.AddColumn, ctx: Context, typ: sa.types.TypeEngine[Any], backfill: Any
) -> None:
    """A new column of the primary key: the key is rebuilt around it, rows numbered.

    PostgreSQL and MySQL fill existing rows of a numbered key column themselves (SERIAL,
    AUTO_INCREMENT); any other key column takes the one-off value, like any NOT NULL one.
    """
    before, after = ctx.before.table(op.key), ctx.after.table(op.key)
    col = op.column
    auto = _auto_column(after) == col.name
    default = materialize.server_default(col.server_default)
    new = sa.Column(
        col.name, typ, primary_key=auto, nullable=False, autoincrement=col.autoincrement,
        server_default=default if backfill is None else backfill, comment=col.comment,
    )
    ddl.no_type_events([new])
    if ctx.family == "mysql":
        _add_key_column_mysql(ctx, before, after, new)
    else:
        if before.primary_key:
            _drop_primary_key(ctx, before)
        ctx.operations.add_column(op.table_name, new, schema=op.schema)
        ctx.operations.create_primary_key(after.pk_name, op.table_name,
                                          list(after.primary_key), schema=op.schema)
    if backfill is not None:
        ctx.operations.alter_column(
            op.table_name, col.name, server_default=None, schema=op.schema,
            **ddl.existing(ctx, after, col, server_default=backfill),
        )


def drop_key_column(op: ops.DropColumn, ctx: Context) -> None:
    """A column leaves a key of several: the rest stay the key, as the state says.

    PostgreSQL would drop the whole key with the column, MySQL refuse to; so the key
    goes first and comes back over the remaining columns.
    """
    before, after = ctx.before.table(op.key), ctx.after.table(op.key)
    _drop_primary_key(ctx, before)
    ctx.operations.drop_column(op.table_name, op.column_name, schema=op.schema)
    if after.primary_key:
        ctx.operations.create_primary_key(after.pk_name, op.table_name,
                                          list(after.primary_key), schema=op.schema)
        auto = _auto_column(after)
        if ctx.family == "mysql" and auto is not None and auto == _auto_column(before):
            _restore_auto_increment(ctx, after, auto)  # taken off to drop the key
        else:
            _number_existing_column(ctx, before, after)


def _add_key_column_mysql(ctx: Context, before: Table, after: Table, new: sa.Column[Any]) -> None:
    """One ALTER TABLE: MySQL refuses an AUTO_INCREMENT column that is not yet a key."""
    if before.primary_key and _auto_column(before) is not None:
        auto = before.column(str(_auto_column(before)))
        ctx.operations.alter_column(
            before.name, auto.name, autoincrement=False, schema=before.schema,
            **{**ddl.existing(ctx, before, auto), "existing_autoincrement": True},
        )
    sa.Table(after.name, sa.MetaData(), new, schema=after.schema)
    spec = str(sa.schema.CreateColumn(new).compile(dialect=ctx.dialect))
    drop = "DROP PRIMARY KEY, " if before.primary_key else ""
    cols = ", ".join(ctx.quote(c) for c in after.primary_key)
    ctx.operations.execute(
        f"ALTER TABLE {_qualified(ctx, after.name, after.schema)} {drop}"
        f"ADD COLUMN {spec}, ADD PRIMARY KEY ({cols})"
    )


# -- renames -----------------------------------------------------------------------------


@ddl._run.register
def _rename_constraint(op: ops.RenameConstraint, ctx: Context) -> None:
    if ctx.family == "sqlite":
        ddl.rebuild(ctx, op.key)
        return
    before_t, c = op.find(ctx.before)
    after_t = ctx.after.table(op.key)
    if c is None:
        if ctx.family == "mysql":
            ctx.note(f"{op.describe()}: MySQL names every primary key PRIMARY")
            return
        old = primary_key_name(ctx, before_t)
        new = after_t.pk_name or f"{after_t.name}_pkey"[:63]
    else:
        renamed = after_t.find_constraint(
            ("name", op.new) if op.new else _unnamed_identity(c)
        )
        assert renamed is not None
        if ctx.family == "mysql" and not isinstance(c, Unique):
            # MySQL cannot rename a foreign key or a check: drop it and add it renamed.
            ctx.backend.drop_constraint(ctx, before_t, c)
            _add_constraint(ctx, after_t, renamed)
            return
        old = ddl.constraint_name(ctx, before_t, c)
        new = renamed.name or ctx.backend.default_constraint_name(after_t, renamed)
    if old == new:
        ctx.note(f"{op.describe()}: the database already calls it {new}")
        return
    table = _qualified(ctx, op.table_name, op.schema)
    if ctx.family == "mysql":
        ctx.operations.execute(
            f"ALTER TABLE {table} RENAME INDEX {ctx.quote(old)} TO {ctx.quote(new)}"
        )
    else:
        ctx.operations.execute(
            f"ALTER TABLE {table} RENAME CONSTRAINT {ctx.quote(old)} TO {ctx.quote(new)}"
        )


def _unnamed_identity(c: Constraint) -> tuple[str, ...]:
    if isinstance(c, Check):
        return ("check", c.sqltext)
    return ({ForeignKey: "foreignkey", Unique: "unique"}[type(c)], *c.columns)


def _add_constraint(ctx: Context, table: Table, c: Constraint) -> None:
    if isinstance(c, ForeignKey):
        ddl.create_foreign_key(ctx, table.name, table.schema, c)
    elif isinstance(c, Check):
        ctx.operations.create_check_constraint(c.name, table.name, sa.text(c.sqltext),
                                               schema=table.schema)
    else:
        ctx.operations.create_unique_constraint(c.name, table.name, list(c.columns),
                                                schema=table.schema)


@ddl._run.register
def _rename_index(op: ops.RenameIndex, ctx: Context) -> None:
    if ctx.family == "sqlite":
        table = ctx.after.table(op.key)
        ix = next(i for i in table.indexes if i.name == op.new)
        ctx.operations.drop_index(op.old, table_name=op.table_name, schema=op.schema)
        ctx.operations.create_index(
            ix.name, op.table_name,
            materialize.index_elements(ix, (c.name for c in table.columns)),
            unique=ix.unique, schema=op.schema,
        )
    elif ctx.family == "mysql":
        ctx.operations.execute(
            f"ALTER TABLE {_qualified(ctx, op.table_name, op.schema)} "
            f"RENAME INDEX {ctx.quote(op.old)} TO {ctx.quote(op.new)}"
        )
    else:
        ctx.operations.execute(
            f"ALTER INDEX {_qualified(ctx, op.old, op.schema)} RENAME TO {ctx.quote(op.new)}"
        )


__all__ = ["add_key_column", "primary_key_name"]
